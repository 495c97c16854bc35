import type { BacktestResult } from '@aegis/shared/schemas/backtest';
import { createMemo, createSignal, For, Show } from 'solid-js';
import { formatDecimal, pnlClass } from '../lib/decimal-format.ts';
import { formatCount, formatPercent, formatRatio } from '../lib/metric-format.ts';
import { EmptyState } from './panel.tsx';

type Order = BacktestResult['orders'][number];
type Fill = BacktestResult['fills'][number];

/** Simulated event times keep their µs: a fill can be told from the tick that caused it. */
function simTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** How many rows a table shows before "show more" (results can hold tens of thousands). */
const PAGE = 200;

/** Per-pattern attribution: which detector's signals made or lost the money. */
export function AttributionTable(props: { rows: BacktestResult['attribution'] }) {
  return (
    <Show when={props.rows.length > 0} fallback={<EmptyState title="No signals in this run" />}>
      <div class="scroll-x">
        <table class="table rt">
          <caption class="visually-hidden">Per-pattern attribution</caption>
          <thead>
            <tr>
              <th scope="col">Pattern</th>
              <th scope="col" class="num">
                Signals
              </th>
              <th scope="col" class="num">
                Trades
              </th>
              <th scope="col" class="num">
                Win rate
              </th>
              <th scope="col" class="num">
                P&amp;L
              </th>
            </tr>
          </thead>
          <tbody>
            <For each={props.rows}>
              {(r) => (
                <tr data-pattern={r.pattern}>
                  <th scope="row">{r.pattern.replaceAll('_', ' ')}</th>
                  <td class="num">{formatCount(r.signals)}</td>
                  <td class="num">{formatCount(r.trades)}</td>
                  <td class="num">{formatPercent(r.winRate, 1)}</td>
                  <td class={`num ${pnlClass(r.pnl)}`}>{formatDecimal(r.pnl, 2, { sign: true })}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </Show>
  );
}

/**
 * The run's orders (with bracket role, pattern, score and the governor's denials) or its fills,
 * switched by tabs; the newest first is not assumed: simulated order is kept.
 */
export function TradesTable(props: { orders: readonly Order[]; fills: readonly Fill[] }) {
  const [tab, setTab] = createSignal<'orders' | 'fills'>('fills');
  const [limit, setLimit] = createSignal(PAGE);
  const orders = createMemo(() => props.orders.slice(0, limit()));
  const fills = createMemo(() => props.fills.slice(0, limit()));
  const total = () => (tab() === 'orders' ? props.orders.length : props.fills.length);
  const select = (t: 'orders' | 'fills') => {
    setTab(t);
    setLimit(PAGE);
  };
  return (
    <div class="bt-trades">
      <div class="bt-tabs" role="tablist" aria-label="Trades">
        <button
          type="button"
          role="tab"
          id="bt-tab-fills"
          aria-selected={tab() === 'fills'}
          aria-controls="bt-tabpanel"
          class="btn btn-sm"
          classList={{ 'btn-ghost': tab() !== 'fills' }}
          onClick={() => select('fills')}
        >
          Fills ({formatCount(props.fills.length)})
        </button>
        <button
          type="button"
          role="tab"
          id="bt-tab-orders"
          aria-selected={tab() === 'orders'}
          aria-controls="bt-tabpanel"
          class="btn btn-sm"
          classList={{ 'btn-ghost': tab() !== 'orders' }}
          onClick={() => select('orders')}
        >
          Orders ({formatCount(props.orders.length)})
        </button>
      </div>
      <div
        class="scroll-x bt-trades-body"
        id="bt-tabpanel"
        role="tabpanel"
        aria-labelledby={`bt-tab-${tab()}`}
      >
        <Show
          when={tab() === 'orders'}
          fallback={
            <Show when={props.fills.length > 0} fallback={<EmptyState title="No fills in this run" />}>
              <table class="table">
                <caption class="visually-hidden">Fills in simulated time order</caption>
                <thead>
                  <tr>
                    <th scope="col">Time (sim, UTC)</th>
                    <th scope="col">Symbol</th>
                    <th scope="col">Side</th>
                    <th scope="col" class="num">
                      Qty
                    </th>
                    <th scope="col" class="num">
                      Price
                    </th>
                    <th scope="col" class="num">
                      Fee
                    </th>
                    <th scope="col">Liquidity</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={fills()}>
                    {(f) => (
                      <tr title={`order ${f.orderId}`}>
                        <td class="mono">{simTime(f.ts)}</td>
                        <td class="mono">{f.symbol}</td>
                        <td class={f.side === 'buy' ? 'pos' : 'neg'}>{f.side}</td>
                        <td class="num">{formatDecimal(f.quantity, 4)}</td>
                        <td class="num">{formatDecimal(f.price, 4)}</td>
                        <td class="num">{formatDecimal(f.fee, 4)}</td>
                        <td class="dim">{f.liquidity}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </Show>
          }
        >
          <Show when={props.orders.length > 0} fallback={<EmptyState title="No orders in this run" />}>
            <table class="table">
              <caption class="visually-hidden">Orders in simulated time order</caption>
              <thead>
                <tr>
                  <th scope="col">Decided (sim, UTC)</th>
                  <th scope="col">Symbol</th>
                  <th scope="col">Side</th>
                  <th scope="col">Type</th>
                  <th scope="col">Role</th>
                  <th scope="col" class="num">
                    Qty
                  </th>
                  <th scope="col" class="num">
                    Limit
                  </th>
                  <th scope="col" class="num">
                    Stop
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">Pattern</th>
                  <th scope="col" class="num">
                    Score
                  </th>
                  <th scope="col">Denied by</th>
                </tr>
              </thead>
              <tbody>
                <For each={orders()}>
                  {(o) => (
                    <tr>
                      <td class="mono">{simTime(o.tsDecision)}</td>
                      <td class="mono">{o.symbol}</td>
                      <td class={o.side === 'buy' ? 'pos' : 'neg'}>{o.side}</td>
                      <td>{o.orderType.replace('_', ' ')}</td>
                      <td>
                        <span class="tag">{o.role}</span>
                      </td>
                      <td class="num">{formatDecimal(o.quantity, 4)}</td>
                      <td class="num">{formatDecimal(o.limitPrice, 4)}</td>
                      <td class="num">{formatDecimal(o.stopPrice, 4)}</td>
                      <td>
                        <span
                          class="tag"
                          classList={{
                            'tag-ok': o.status === 'filled',
                            'tag-bad': o.status === 'rejected' || o.status === 'denied',
                          }}
                        >
                          {o.status.replaceAll('_', ' ')}
                        </span>
                      </td>
                      <td class="dim">{o.pattern?.replaceAll('_', ' ') ?? '—'}</td>
                      <td class="num">{formatRatio(o.score)}</td>
                      <td class="dim" title={o.denials.join(', ')}>
                        {o.denials.length > 0 ? o.denials.join(', ') : '—'}
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </Show>
        </Show>
      </div>
      <Show when={total() > limit()}>
        <div class="table-foot">
          <button type="button" class="btn btn-sm" onClick={() => setLimit((n) => n + PAGE * 5)}>
            Show more ({formatCount(total() - limit())} left)
          </button>
        </div>
      </Show>
    </div>
  );
}
