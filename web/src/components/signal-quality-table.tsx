import type { SignalEvaluation, SignalQualityRow } from '@aegis/shared/schemas/signal-quality';
import { createMemo, For, Show } from 'solid-js';
import { formatBp, formatCount, formatPercent, formatRatio } from '../lib/metric-format.ts';
import './data-table/data-table.css';

/** How each signal source is named on screen. */
export const SOURCE_LABELS: Record<SignalQualityRow['source'], string> = {
  engine: 'Engine',
  momentum: 'Momentum rule',
  mean_reversion_rule: 'Mean-reversion rule',
  random: 'Random',
};
const SOURCE_ORDER: readonly SignalQualityRow['source'][] = [
  'engine',
  'momentum',
  'mean_reversion_rule',
  'random',
];

interface Column {
  readonly key: string;
  readonly label: string;
  readonly title: string;
  readonly value: (r: SignalQualityRow) => number | null;
  readonly format: (v: number | null) => string;
}

/**
 * The harness's results for one model version: the engine against the momentum rule, the
 * mean-reversion rule and random signals holding the same number of signals in the same run,
 * overall and per pattern. In each group the best value of every measure is marked (bold and,
 * for screen readers, "best"), so "does the engine beat its baselines" is read at a glance.
 */
export function SignalQualityTable(props: { evaluation: SignalEvaluation }) {
  const columns = createMemo((): Column[] => {
    const horizons = props.evaluation.horizonsTicks;
    return [
      {
        key: 'precisionDirection',
        label: 'Dir. precision',
        title: 'Share of signals inside a labelled event window and in its direction',
        value: (r) => r.precisionDirection,
        format: (v) => formatPercent(v, 1),
      },
      {
        key: 'precisionLocation',
        label: 'Loc. precision',
        title: 'Share of signals inside a labelled event window, any direction',
        value: (r) => r.precisionLocation,
        format: (v) => formatPercent(v, 1),
      },
      {
        key: 'recall',
        label: 'Recall',
        title: 'Share of labelled events with at least one signal in their window',
        value: (r) => r.recall,
        format: (v) => formatPercent(v, 1),
      },
      ...horizons.map(
        (h): Column => ({
          key: `fwd-${h}`,
          label: `Fwd ${formatCount(h)}t`,
          title: `Mean forward mid return over the next ${h} ticks, signed by the signal's direction`,
          value: (r) => r.forwardReturnBp[String(h)] ?? null,
          format: (v) => formatBp(v, 2),
        }),
      ),
      {
        key: 'hitRate',
        label: 'Hit rate',
        title: `Share of signals with a positive signed forward return at ${horizons[0]} ticks`,
        value: (r) => r.hitRate,
        format: (v) => formatPercent(v, 1),
      },
      {
        key: 'auc',
        label: 'AUC',
        title: 'AUC of the score against a positive signed forward return (scored sources only)',
        value: (r) => r.auc,
        format: (v) => formatRatio(v, 3),
      },
    ];
  });

  /** Groups of rows compared with each other: overall, then each pattern. */
  const groups = createMemo(() => {
    const byPattern = new Map<string, SignalQualityRow[]>();
    for (const r of props.evaluation.rows) {
      const list = byPattern.get(r.pattern) ?? [];
      list.push(r);
      byPattern.set(r.pattern, list);
    }
    const names = [...byPattern.keys()].sort((a, b) =>
      a === 'all' ? -1 : b === 'all' ? 1 : a.localeCompare(b),
    );
    return names.map((pattern) => ({
      pattern,
      rows: byPattern
        .get(pattern)!
        .slice()
        .sort((a, b) => SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source)),
    }));
  });

  const bestIn = (rows: readonly SignalQualityRow[], column: Column): SignalQualityRow | null => {
    const scored = rows
      .map((r) => ({ r, v: column.value(r) }))
      .filter((x): x is { r: SignalQualityRow; v: number } => x.v !== null && Number.isFinite(x.v));
    if (scored.length < 2) return null;
    scored.sort((a, b) => b.v - a.v);
    return scored[0]!.v === scored[1]!.v ? null : scored[0]!.r;
  };

  return (
    <div class="dt-scroll">
      <table class="table dt rt sq-table">
        <caption class="visually-hidden">
          {`Signal quality of model ${props.evaluation.modelVersion} on the ${props.evaluation.split} split, engine against baselines with equal signal counts`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col" class="num">
              Signals
            </th>
            <For each={columns()}>
              {(c) => (
                <th scope="col" class="num" title={c.title}>
                  {c.label}
                </th>
              )}
            </For>
          </tr>
        </thead>
        <For each={groups()}>
          {(g) => (
            <tbody data-pattern={g.pattern}>
              <tr class="sq-group">
                <th scope="colgroup" colSpan={columns().length + 2}>
                  {g.pattern === 'all' ? 'All patterns' : g.pattern.replaceAll('_', ' ')}
                </th>
              </tr>
              <For each={g.rows}>
                {(r) => (
                  <tr data-source={r.source} classList={{ 'sq-engine': r.source === 'engine' }}>
                    <th scope="row">{SOURCE_LABELS[r.source]}</th>
                    <td class="num">{formatCount(r.signals)}</td>
                    <For each={columns()}>
                      {(c) => {
                        const best = () => bestIn(g.rows, c) === r;
                        const v = c.value(r);
                        return (
                          <td
                            class="num"
                            classList={{
                              'bt-best': best(),
                              pos: c.key.startsWith('fwd-') && v !== null && v > 0,
                              neg: c.key.startsWith('fwd-') && v !== null && v < 0,
                            }}
                          >
                            {c.format(v)}
                            <Show when={best()}>
                              <span class="visually-hidden"> (best)</span>
                            </Show>
                          </td>
                        );
                      }}
                    </For>
                  </tr>
                )}
              </For>
            </tbody>
          )}
        </For>
      </table>
    </div>
  );
}

/** The target, checked on this run: each check with its detail. */
export function TargetChecks(props: { target: SignalEvaluation['target'] }) {
  return (
    <div class="sq-target">
      <p class="sq-target-head">
        <span class={`tag ${props.target.met ? 'tag-ok' : 'tag-bad'}`}>
          {props.target.met ? 'Target met' : 'Target not met'}
        </span>
        <span class="dim">
          {props.target.checks.filter((c) => c.passed).length} of {props.target.checks.length} checks passed
        </span>
      </p>
      <ul class="stack-list sq-checks">
        <For each={props.target.checks}>
          {(c) => (
            <li data-passed={c.passed ? 'true' : 'false'}>
              <span class={`tag ${c.passed ? 'tag-ok' : 'tag-bad'}`}>{c.passed ? 'passed' : 'failed'}</span>
              <span class="sq-check-name">{c.name}</span>
              <span class="dim sq-check-detail">{c.detail}</span>
            </li>
          )}
        </For>
      </ul>
    </div>
  );
}
