import { For, Show } from 'solid-js';
import { formatDecimal, pnlClass, utcTime } from '../../lib/decimal-format.ts';
import { priceDecimals } from '../../lib/live-quotes.ts';
import { createQuery } from '../../lib/query.ts';
import { trpc } from '../../lib/trpc.ts';
import { EmptyState, QueryView } from '../panel.tsx';

/**
 * The desk's open strategies (positions.strategies): each combo with its legs, their average
 * price, mark and P&L, and the strategy's total. Polled: positions change on fills, marks with
 * the market.
 */
/** P&L colour of what is shown: an amount that rounds to 0.00 (a fee's fraction) is not red. */
const shownPnlClass = (v: string | null) => (formatDecimal(v, 2) === '0.00' ? '' : pnlClass(v));

const NUMERIC_HEADERS = ['Qty', 'Avg', 'Mark', 'Unrealized', 'Realized'] as const;

/** A signed P&L amount, coloured as shown. */
function PnlCell(props: { value: string | null }) {
  return <td class={`num ${shownPnlClass(props.value)}`}>{formatDecimal(props.value, 2, { sign: true })}</td>;
}

export function StrategyPositions() {
  const strategies = createQuery(() => trpc.positions.strategies.query({}), { pollMs: 5_000 });
  const d = (v: string | null) => Math.min(4, priceDecimals(v));
  return (
    <QueryView query={strategies} errorTitle="Could not load strategies">
      {(list) => (
        <Show when={list.length > 0} fallback={<EmptyState title="No open strategies" />}>
          <table class="table table-tight strategies-table" aria-label="Open strategies">
            <thead>
              <tr>
                <th scope="col">Strategy / leg</th>
                <For each={NUMERIC_HEADERS}>
                  {(h) => (
                    <th scope="col" class="num">
                      {h}
                    </th>
                  )}
                </For>
              </tr>
            </thead>
            <For each={list}>
              {(s) => (
                <tbody data-combo-id={s.comboId} data-unrealized={s.unrealizedPnl ?? ''}>
                  <tr class="strategy-row">
                    <th scope="row">
                      {s.strategy} <span class="dim">opened {utcTime(s.openedAt, false)} UTC</span>
                    </th>
                    <td />
                    <td />
                    <td />
                    <PnlCell value={s.unrealizedPnl} />
                    <PnlCell value={s.realizedPnl} />
                  </tr>
                  <For each={s.legs}>
                    {(leg) => (
                      <tr class="strategy-leg" data-symbol={leg.symbol}>
                        <td class="mono">
                          <span class={leg.side === 'buy' ? 'pos' : 'neg'}>{leg.side}</span> {leg.symbol}
                        </td>
                        <td class="num">{formatDecimal(leg.quantity, 0, { sign: true })}</td>
                        <td class="num">{formatDecimal(leg.avgPrice, d(leg.avgPrice))}</td>
                        <td class="num">{formatDecimal(leg.mark, d(leg.mark))}</td>
                        <PnlCell value={leg.unrealizedPnl} />
                        <PnlCell value={leg.realizedPnl} />
                      </tr>
                    )}
                  </For>
                </tbody>
              )}
            </For>
          </table>
        </Show>
      )}
    </QueryView>
  );
}
