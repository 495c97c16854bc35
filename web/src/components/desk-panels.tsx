import { type Accessor, createSignal, For, Show } from 'solid-js';
import { formatDecimal, pnlClass, utcTime } from '../lib/decimal-format.ts';
import { formatPrice, formatQuantity } from '../lib/instrument-sizes.ts';
import { createQuery } from '../lib/query.ts';
import { useSubscription } from '../lib/subscription.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { type Column, DataTable } from './data-table/data-table.tsx';
import { EquityChart } from './equity-chart.tsx';
import { EmptyState, QueryView } from './panel.tsx';

/** Panels of desk data (overview and section pages). All numbers come from the server. */

type Pnl = RouterOutputs['pnl']['summary'];
type Position = RouterOutputs['positions']['list'][number];
export type SignalRow = RouterOutputs['signals']['list']['items'][number];

/** Headline numbers of the desk: equity, P&L, exposure. */
export function PnlStrip() {
  const pnl = createQuery(() => trpc.pnl.summary.query(), { pollMs: 5_000 });
  const value = (pick: (p: Pnl) => string, signed = false) => {
    const s = pnl.state();
    return s.status === 'ready'
      ? formatDecimal(pick(s.data), 2, { sign: signed })
      : s.status === 'error'
        ? 'n/a'
        : '…';
  };
  const tone = (pick: (p: Pnl) => string) => {
    const s = pnl.state();
    return s.status === 'ready' ? pnlClass(pick(s.data)) : '';
  };
  const items: { label: string; pick: (p: Pnl) => string; signed?: boolean }[] = [
    { label: 'Equity', pick: (p) => p.equity },
    { label: 'Daily P&L', pick: (p) => p.dailyPnl, signed: true },
    { label: 'Net P&L', pick: (p) => p.netPnl, signed: true },
    { label: 'Unrealized', pick: (p) => p.unrealizedPnl, signed: true },
    { label: 'Realized', pick: (p) => p.realizedPnl, signed: true },
    { label: 'Fees', pick: (p) => p.fees },
    { label: 'Gross exposure', pick: (p) => p.grossExposure },
    { label: 'Net exposure', pick: (p) => p.netExposure, signed: true },
  ];
  return (
    <dl class="kpi-strip" aria-label="Desk P&L summary" title={failureTitle(pnl.state())}>
      <For each={items}>
        {(item) => (
          <div class="kpi">
            <dt>{item.label}</dt>
            <dd class={item.signed ? tone(item.pick) : ''}>{value(item.pick, item.signed)}</dd>
          </div>
        )}
      </For>
    </dl>
  );
}

function failureTitle(state: { status: string; message?: string }): string | undefined {
  return state.status === 'error' ? state.message : undefined;
}

export function EquityPanelBody() {
  const series = createQuery(() => trpc.equity.series.query({ limit: 2000 }), { pollMs: 15_000 });
  return (
    <QueryView query={series} errorTitle="Could not load equity">
      {(points) => (
        <Show
          when={points.length > 1}
          fallback={
            <EmptyState title="No equity history yet">
              Snapshots are recorded on fills and at intervals once the desk trades.
            </EmptyState>
          }
        >
          <EquityChart points={points} />
        </Show>
      )}
    </QueryView>
  );
}

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
            <ul class="exposure-list" aria-label="Market value by instrument">
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

const positionColumns: readonly Column<Position>[] = [
  { id: 'symbol', header: 'Symbol', class: 'mono', cell: (p) => p.symbol },
  {
    id: 'quantity',
    header: 'Quantity',
    numeric: true,
    class: (p) => pnlClass(p.quantity),
    cell: (p) => formatQuantity(p.quantity, p.symbol, { sign: true }),
  },
  {
    id: 'avgCost',
    header: 'Avg cost',
    numeric: true,
    priority: 2,
    cell: (p) => formatPrice(p.avgCost, p.symbol),
  },
  { id: 'mark', header: 'Mark', numeric: true, cell: (p) => formatPrice(p.mark, p.symbol) },
  {
    id: 'value',
    header: 'Market value',
    numeric: true,
    priority: 3,
    cell: (p) => formatDecimal(p.marketValue),
  },
  {
    id: 'unrealized',
    header: 'Unrealized',
    numeric: true,
    class: (p) => pnlClass(p.unrealizedPnl),
    cell: (p) => formatDecimal(p.unrealizedPnl, 2, { sign: true }),
  },
  {
    id: 'realized',
    header: 'Realized',
    numeric: true,
    priority: 2,
    class: (p) => pnlClass(p.realizedPnl),
    cell: (p) => formatDecimal(p.realizedPnl, 2, { sign: true }),
  },
  {
    id: 'fees',
    header: 'Fees',
    numeric: true,
    priority: 3,
    class: 'dim',
    cell: (p) => formatDecimal(p.fees),
  },
  {
    id: 'updated',
    header: 'Updated (UTC)',
    priority: 3,
    class: 'mono dim',
    cell: (p) => utcTime(p.updatedAt),
  },
];

export function PositionsTable(props: { positions: readonly Position[]; fill?: boolean }) {
  return (
    <DataTable
      label="Positions"
      rows={props.positions}
      columns={positionColumns}
      empty="No positions on this desk"
      fill={props.fill ?? false}
    />
  );
}

function signalColumns(compact: boolean): readonly Column<SignalRow>[] {
  return [
    {
      id: 'time',
      header: 'Time (UTC)',
      class: 'mono',
      // On a phone the time folds into the details line: direction and score stay on screen.
      priority: 2,
      title: (s) => utcTime(s.tsSignal),
      cell: (s) => (compact ? utcTime(s.tsSignal).slice(11) : utcTime(s.tsSignal)),
    },
    { id: 'symbol', header: 'Symbol', class: 'mono', cell: (s) => s.symbol },
    {
      id: 'direction',
      header: 'Direction',
      cell: (s) => <span class={`tag ${s.direction === 'long' ? 'tag-ok' : 'tag-bad'}`}>{s.direction}</span>,
    },
    { id: 'pattern', header: 'Pattern', priority: 2, cell: (s) => s.pattern.replace('_', ' ') },
    { id: 'score', header: 'Score', numeric: true, cell: (s) => s.score.toFixed(3) },
    { id: 'price', header: 'Price', numeric: true, priority: 2, cell: (s) => formatPrice(s.price, s.symbol) },
    ...(compact
      ? []
      : [
          {
            id: 'model',
            header: 'Model',
            class: 'mono dim',
            priority: 3 as const,
            cell: (s: SignalRow) => s.modelVersion,
          },
        ]),
  ];
}

export function SignalsTable(props: {
  signals: readonly SignalRow[];
  compact?: boolean;
  /** Row selection (the Signals page): the selected row is marked and clicking selects. */
  selectedId?: string | undefined;
  onSelect?: (id: string) => void;
}) {
  const onSelect = props.onSelect;
  return (
    <DataTable
      label="Signals, newest first"
      rows={props.signals}
      columns={signalColumns(props.compact ?? false)}
      fill
      dense={props.compact ?? false}
      rowAttrs={(s) => ({
        'data-signal-id': s.id,
        'aria-selected': onSelect ? String(props.selectedId === s.id) : undefined,
      })}
      {...(onSelect ? { onRowClick: (s: SignalRow) => onSelect(s.id) } : {})}
    />
  );
}

/**
 * Signals for the desk: the latest page from the database, then new ones as they are stored
 * (signals.onNew over SSE), newest first, capped.
 */
export interface LiveSignalFeed {
  readonly rows: Accessor<readonly SignalRow[]>;
  readonly status: Accessor<'loading' | 'live' | 'error'>;
  readonly error: Accessor<string | undefined>;
  readonly connected: Accessor<boolean>;
}

export function useLiveSignals(limit: number): LiveSignalFeed {
  const [rows, setRows] = createSignal<readonly SignalRow[]>([]);
  const [status, setStatus] = createSignal<'loading' | 'live' | 'error'>('loading');
  const [error, setError] = createSignal<string>();
  const [connected, setConnected] = createSignal(false);

  // Newest first by production time, each signal once, at most `limit`.
  const merge = (a: readonly SignalRow[], b: readonly SignalRow[]) => {
    const byId = new Map<string, SignalRow>();
    for (const r of [...a, ...b]) byId.set(r.id, r);
    return [...byId.values()]
      .sort((x, y) => (x.tsSignal < y.tsSignal ? 1 : x.tsSignal > y.tsSignal ? -1 : 0))
      .slice(0, limit);
  };

  // Live first, then the list: the server confirms the stream only once it is following new
  // signals, so nothing stored between the list and the stream is missed (the same order as
  // `aegis signals tail`); what arrives twice is merged by id.
  useSubscription(() => {
    let cancelled = false;
    let listed = false;
    const list = () => {
      if (listed) return;
      listed = true;
      trpc.signals.list
        .query({ limit })
        .then((page) => {
          if (cancelled) return;
          setRows((current) => merge(current, page.items));
          setStatus('live');
        })
        .catch((e: unknown) => {
          setError(errorMessageOf(e));
          setStatus('error');
        });
    };
    const subscription = trpc.signals.onNew.subscribe(
      {},
      {
        onStarted: () => {
          setConnected(true);
          list();
        },
        onData: (event) => setRows((current) => merge(current, [event.data])),
        onError: () => {
          setConnected(false);
          // The stream could not open at all: the list is still worth showing.
          list();
        },
        onConnectionStateChange: (state) => setConnected(state.state === 'pending'),
      },
    );
    return {
      unsubscribe: () => {
        cancelled = true;
        subscription.unsubscribe();
      },
    };
  });
  return { rows, status, error, connected };
}

export function LiveSignals(props: {
  limit: number;
  compact?: boolean;
  feed?: LiveSignalFeed;
  selectedId?: string | undefined;
  onSelect?: (id: string) => void;
}) {
  const { rows, status, error, connected } = props.feed ?? useLiveSignals(props.limit);
  return (
    <Show
      when={status() !== 'error'}
      fallback={
        <EmptyState title="Could not load signals" tone="error">
          {error()}
        </EmptyState>
      }
    >
      <Show when={status() === 'live'} fallback={<div class="skeleton" aria-busy="true" />}>
        <Show
          when={rows().length > 0}
          fallback={
            <EmptyState title="No signals yet">
              <span class="live-dot" data-state={connected() ? 'on' : 'off'} aria-hidden="true" />
              {connected()
                ? 'Listening for new signals from the engine.'
                : 'Connecting to the signal stream…'}
            </EmptyState>
          }
        >
          <div class="scroll">
            <SignalsTable
              signals={rows()}
              compact={props.compact ?? false}
              selectedId={props.selectedId}
              {...(props.onSelect ? { onSelect: props.onSelect } : {})}
            />
          </div>
        </Show>
      </Show>
    </Show>
  );
}
