import type { BacktestResult } from '@aegis/shared/schemas/backtest';
import { createMemo, createSignal, Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal-format.ts';
import { formatQuantity } from '../lib/instrument-sizes.ts';
import { formatCount, formatPercent, formatRatio } from '../lib/metric-format.ts';
import { DataTable } from './data-table/data-table.tsx';
import { pnlColumn } from './data-table/pnl-column.ts';
import { priceColumn } from './data-table/price-column.ts';
import { sideColumn } from './data-table/side-column.ts';

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
    <DataTable
      label="Per-pattern attribution"
      class="rt"
      rows={props.rows}
      empty="No signals in this run"
      rowAttrs={(r) => ({ 'data-pattern': r.pattern })}
      columns={[
        { id: 'pattern', header: 'Pattern', rowHeader: true, cell: (r) => r.pattern.replaceAll('_', ' ') },
        { id: 'signals', header: 'Signals', numeric: true, priority: 2, cell: (r) => formatCount(r.signals) },
        { id: 'trades', header: 'Trades', numeric: true, cell: (r) => formatCount(r.trades) },
        { id: 'winRate', header: 'Win rate', numeric: true, cell: (r) => formatPercent(r.winRate, 1) },
        pnlColumn('pnl', 'P&L', (r: BacktestResult['attribution'][number]) => r.pnl),
      ]}
    />
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
  const tabButton = (t: 'orders' | 'fills', label: string) => (
    <button
      type="button"
      role="tab"
      id={`bt-tab-${t}`}
      aria-selected={tab() === t}
      aria-controls="bt-tabpanel"
      class="btn btn-sm"
      classList={{ 'btn-ghost': tab() !== t }}
      onClick={() => select(t)}
    >
      {label} ({formatCount(props[t].length)})
    </button>
  );
  return (
    <div class="bt-trades">
      <div class="bt-tabs" role="tablist" aria-label="Trades">
        {tabButton('fills', 'Fills')}
        {tabButton('orders', 'Orders')}
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
            <DataTable
              label="Fills in simulated time order"
              rows={fills()}
              empty="No fills in this run"
              rowAttrs={(f) => ({ title: `order ${f.orderId}` })}
              columns={[
                { id: 'time', header: 'Time (sim, UTC)', class: 'mono', cell: (f) => simTime(f.ts) },
                { id: 'symbol', header: 'Symbol', class: 'mono', cell: (f) => f.symbol },
                sideColumn((f: Fill) => f.side),
                {
                  id: 'qty',
                  header: 'Qty',
                  numeric: true,
                  cell: (f) => formatQuantity(f.quantity, f.symbol),
                },
                priceColumn(
                  'price',
                  'Price',
                  (f: Fill) => f.price,
                  (f) => f.symbol,
                ),
                {
                  id: 'fee',
                  header: 'Fee',
                  numeric: true,
                  priority: 2,
                  cell: (f) => formatDecimal(f.fee, 4),
                },
                { id: 'liquidity', header: 'Liquidity', class: 'dim', priority: 3, cell: (f) => f.liquidity },
              ]}
            />
          }
        >
          <DataTable
            label="Orders in simulated time order"
            rows={orders()}
            empty="No orders in this run"
            columns={[
              {
                id: 'decided',
                header: 'Decided (sim, UTC)',
                class: 'mono',
                cell: (o) => simTime(o.tsDecision),
              },
              { id: 'symbol', header: 'Symbol', class: 'mono', cell: (o) => o.symbol },
              sideColumn((o: Order) => o.side),
              { id: 'type', header: 'Type', priority: 3, cell: (o) => o.orderType.replace('_', ' ') },
              { id: 'role', header: 'Role', priority: 3, cell: (o) => <span class="tag">{o.role}</span> },
              { id: 'qty', header: 'Qty', numeric: true, cell: (o) => formatQuantity(o.quantity, o.symbol) },
              priceColumn(
                'limit',
                'Limit',
                (o: Order) => o.limitPrice,
                (o) => o.symbol,
                2,
              ),
              priceColumn(
                'stop',
                'Stop',
                (o: Order) => o.stopPrice,
                (o) => o.symbol,
                3,
              ),
              {
                id: 'status',
                header: 'Status',
                cell: (o) => (
                  <span
                    class="tag"
                    classList={{
                      'tag-ok': o.status === 'filled',
                      'tag-bad': o.status === 'rejected' || o.status === 'denied',
                    }}
                  >
                    {o.status.replaceAll('_', ' ')}
                  </span>
                ),
              },
              {
                id: 'pattern',
                header: 'Pattern',
                class: 'dim',
                priority: 3,
                cell: (o) => o.pattern?.replaceAll('_', ' ') ?? '—',
              },
              { id: 'score', header: 'Score', numeric: true, priority: 3, cell: (o) => formatRatio(o.score) },
              {
                id: 'denied',
                header: 'Denied by',
                class: 'dim',
                wrap: true,
                priority: 2,
                title: (o) => o.denials.join(', '),
                cell: (o) => (o.denials.length > 0 ? o.denials.join(', ') : '—'),
              },
            ]}
          />
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
