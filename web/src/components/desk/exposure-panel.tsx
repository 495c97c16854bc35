import { For, Show } from 'solid-js';
import { formatDecimal } from '../../lib/decimal-format.ts';
import { createQuery } from '../../lib/query.ts';
import { type RouterOutputs, trpc } from '../../lib/trpc.ts';
import { EmptyState, QueryView } from '../panel.tsx';

type Position = RouterOutputs['positions']['list'][number];

/** Market value by instrument, longest bar = largest absolute exposure. */
export function ExposurePanelBody() {
  const positions = createQuery(() => trpc.positions.list.query(), { pollMs: 5_000 });
  return (
    <QueryView query={positions} errorTitle="Could not load positions">
      {(list) => {
        const open = list.filter((p) => !/^[+-]?0*(\.0*)?$/.test(p.quantity));
        const magnitude = (p: Position) => Math.abs(Number(p.marketValue ?? '0'));
        const largest = Math.max(1e-9, ...open.map(magnitude));
        return (
          <Show when={open.length > 0} fallback={<EmptyState title="No open positions" />}>
            <ul class="stack-list" aria-label="Market value by instrument">
              <For each={open}>
                {(p) => (
                  <li class="exposure-row">
                    <span class="mono">{p.symbol}</span>
                    <span class="exposure-bar" aria-hidden="true">
                      <span
                        style={{
                          width: `${Math.max(2, (magnitude(p) / largest) * 100)}%`,
                          background: p.quantity.startsWith('-') ? 'var(--neg)' : 'var(--pos)',
                        }}
                      />
                    </span>
                    <span class={`mono num ${p.quantity.startsWith('-') ? 'neg' : 'pos'}`}>
                      {p.marketValue === null ? 'no mark' : formatDecimal(p.marketValue)}
                    </span>
                  </li>
                )}
              </For>
            </ul>
          </Show>
        );
      }}
    </QueryView>
  );
}
