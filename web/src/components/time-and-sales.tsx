import { For, Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal-format.ts';
import { createQuery } from '../lib/query.ts';
import { trpc } from '../lib/trpc.ts';
import { EmptyState, QueryView } from './panel.tsx';
import '../market.css';

/** `HH:MM:SS.mmm` UTC of an ISO time. */
function clockMs(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 23);
}

const AGGRESSOR: Record<string, { cls: string; word: string }> = {
  '1': { cls: 'pos', word: 'buyer-initiated' },
  '-1': { cls: 'neg', word: 'seller-initiated' },
  '0': { cls: '', word: 'aggressor unknown' },
};

/**
 * Time and sales: the instrument's latest venue trades, newest first, the price coloured by the
 * aggressor (green: a buyer lifted the offer, red: a seller hit the bid). Read every second from
 * `marketData.trades` (the stored ticks; the server has no trade stream).
 */
export function TimeAndSales(props: { symbol: string; decimals: number; limit?: number }) {
  const trades = createQuery(
    () => trpc.marketData.trades.query({ symbol: props.symbol, limit: props.limit ?? 60 }),
    {
      pollMs: 1_000,
    },
  );
  return (
    <QueryView query={trades} errorTitle="Could not load trades">
      {(list) => (
        <Show when={list.length > 0} fallback={<EmptyState title="No trades yet" />}>
          <div class="scroll">
            <table class="table tape" data-trades={list.length}>
              <caption class="visually-hidden">Time and sales, {props.symbol}, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time (UTC)</th>
                  <th scope="col" class="num">
                    Price
                  </th>
                  <th scope="col" class="num">
                    Size
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={list}>
                  {(t) => {
                    const a = AGGRESSOR[String(Math.sign(t.aggressor))] ?? AGGRESSOR['0']!;
                    return (
                      <tr data-aggressor={t.aggressor}>
                        <td class="mono">{clockMs(t.ts)}</td>
                        <td class={`num ${a.cls}`} title={a.word}>
                          {formatDecimal(t.price, props.decimals)}
                          <span class="visually-hidden">, {a.word}</span>
                        </td>
                        <td class="num">{formatDecimal(t.size, 4)}</td>
                      </tr>
                    );
                  }}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      )}
    </QueryView>
  );
}
