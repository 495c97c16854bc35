import { type Accessor, createSignal, For, Show } from 'solid-js';
import { formatDecimal, pnlClass, utcTime } from '../lib/decimal-format.ts';
import { createQuery } from '../lib/query.ts';
import { useSubscription } from '../lib/subscription.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
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

export function PositionsTable(props: { positions: readonly Position[] }) {
  return (
    <table class="table">
      <caption class="visually-hidden">Positions</caption>
      <thead>
        <tr>
          <th scope="col">Symbol</th>
          <th scope="col" class="num">
            Quantity
          </th>
          <th scope="col" class="num">
            Avg cost
          </th>
          <th scope="col" class="num">
            Mark
          </th>
          <th scope="col" class="num">
            Market value
          </th>
          <th scope="col" class="num">
            Unrealized
          </th>
          <th scope="col" class="num">
            Realized
          </th>
          <th scope="col" class="num">
            Fees
          </th>
          <th scope="col">Updated (UTC)</th>
        </tr>
      </thead>
      <tbody>
        <For each={props.positions}>
          {(p) => (
            <tr>
              <td class="mono">{p.symbol}</td>
              <td class={`num ${pnlClass(p.quantity)}`}>{formatDecimal(p.quantity, 4, { sign: true })}</td>
              <td class="num">{formatDecimal(p.avgCost, 4)}</td>
              <td class="num">{formatDecimal(p.mark, 4)}</td>
              <td class="num">{formatDecimal(p.marketValue)}</td>
              <td class={`num ${pnlClass(p.unrealizedPnl)}`}>
                {formatDecimal(p.unrealizedPnl, 2, { sign: true })}
              </td>
              <td class={`num ${pnlClass(p.realizedPnl)}`}>
                {formatDecimal(p.realizedPnl, 2, { sign: true })}
              </td>
              <td class="num dim">{formatDecimal(p.fees)}</td>
              <td class="mono dim">{utcTime(p.updatedAt)}</td>
            </tr>
          )}
        </For>
      </tbody>
    </table>
  );
}

export function SignalsTable(props: {
  signals: readonly SignalRow[];
  compact?: boolean;
  /** Row selection (the Signals page): the selected row is marked and clicking selects. */
  selectedId?: string | undefined;
  onSelect?: (id: string) => void;
}) {
  return (
    <table class="table">
      <caption class="visually-hidden">Signals, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Time (UTC)</th>
          <th scope="col">Symbol</th>
          <th scope="col">Direction</th>
          <th scope="col">Pattern</th>
          <th scope="col" class="num">
            Score
          </th>
          <th scope="col" class="num">
            Price
          </th>
          <Show when={!props.compact}>
            <th scope="col">Model</th>
          </Show>
        </tr>
      </thead>
      <tbody>
        <For each={props.signals}>
          {(s) => (
            <tr
              data-signal-id={s.id}
              aria-selected={props.onSelect ? props.selectedId === s.id : undefined}
              class={props.onSelect ? 'selectable' : undefined}
              onClick={() => props.onSelect?.(s.id)}
            >
              <td class="mono" title={utcTime(s.tsSignal)}>
                {props.compact ? utcTime(s.tsSignal).slice(11) : utcTime(s.tsSignal)}
              </td>
              <td class="mono">{s.symbol}</td>
              <td>
                <span class={`tag ${s.direction === 'long' ? 'tag-ok' : 'tag-bad'}`}>{s.direction}</span>
              </td>
              <td>{s.pattern.replace('_', ' ')}</td>
              <td class="num">{s.score.toFixed(3)}</td>
              <td class="num">{formatDecimal(s.price, 4)}</td>
              <Show when={!props.compact}>
                <td class="mono dim">{s.modelVersion}</td>
              </Show>
            </tr>
          )}
        </For>
      </tbody>
    </table>
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
