import type { RuleVerdictView } from '@aegis/shared/schemas/order';
import { For, Show } from 'solid-js';

const MARK: Record<RuleVerdictView['status'], string> = { passed: '✓', failed: '✕', not_applicable: '–' };
const LABEL: Record<RuleVerdictView['status'], string> = {
  passed: 'passed',
  failed: 'failed',
  not_applicable: 'not applicable',
};

/**
 * Every rule of a governor verdict, none hidden: failed ones first, then passed with their numbers,
 * then not-applicable ones marked as such with the reason (a market order has no price to collar;
 * a limit a desk admin removed), so "no check ran" never reads as "checked and passed".
 */
export function RuleVerdicts(props: { verdicts: readonly RuleVerdictView[] }) {
  const order = { failed: 0, passed: 1, not_applicable: 2 } as const;
  const sorted = () => [...props.verdicts].sort((a, b) => order[a.status] - order[b.status]);
  return (
    <ul class="verdicts" aria-label="Risk rules">
      <For each={sorted()}>
        {(v) => (
          <li class={v.status === 'failed' ? 'neg' : 'dim'} data-rule={v.rule} data-status={v.status}>
            <span aria-hidden="true">{MARK[v.status]}</span> {v.rule.replaceAll('_', ' ')}
            <span class="visually-hidden"> ({LABEL[v.status]})</span>
            <Show when={v.status === 'not_applicable'}>
              {' '}
              <span class="tag">n/a</span>
            </Show>
            <Show when={v.message}>
              <span>: {v.message}</span>
            </Show>
            <Show when={v.limit && v.status !== 'not_applicable'}>
              <span class="mono">
                {' '}
                (limit {v.limit}
                {v.requested ? `, requested ${v.requested}` : ''}
                {v.current ? `, current ${v.current}` : ''})
              </span>
            </Show>
          </li>
        )}
      </For>
    </ul>
  );
}
