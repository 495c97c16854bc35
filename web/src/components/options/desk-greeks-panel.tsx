import type { DeskGreeksView } from '@aegis/shared/schemas/greeks';
import { createSignal, onCleanup, onMount, Show } from 'solid-js';
import { formatDecimal, utcTime } from '../../lib/decimal-format.ts';
import { formatQuantity } from '../../lib/instrument-sizes.ts';
import { priceDecimals, toNumber } from '../../lib/live-quotes.ts';
import { formatExposure, formatGreek, formatVol, limitUsage, usageTone } from '../../lib/option-format.ts';
import { errorMessageOf, trpc } from '../../lib/trpc.ts';
import { type Column, DataTable } from '../data-table/data-table.tsx';
import { EmptyState } from '../panel.tsx';
import { HedgerStatus } from './hedger-status.tsx';

/**
 * The desk's live Greeks (`greeks.updates`, SSE): totals against the governor's limits (net
 * dollar delta vs max net delta, open legs vs max open legs) with usage bars, then per
 * underlying (with the hedger's band) and per position. The last good view stays on screen
 * while the stream reconnects.
 */
export function DeskGreeksPanel() {
  const [view, setView] = createSignal<DeskGreeksView>();
  const [error, setError] = createSignal<string>();
  onMount(() => {
    const sub = trpc.greeks.updates.subscribe(
      {},
      {
        onData: (data) => {
          setView(data as DeskGreeksView);
          setError(undefined);
        },
        onError: (e) => setError(errorMessageOf(e)),
        onConnectionStateChange: (c) => {
          if (c.state === 'connecting' && c.error) setError('Connection to the server lost; reconnecting');
        },
      },
    );
    onCleanup(() => sub.unsubscribe());
  });

  return (
    <Show
      when={view()}
      fallback={
        <Show
          when={error()}
          fallback={
            <div class="skeleton" role="status" aria-busy="true">
              <span class="visually-hidden">Loading the desk's Greeks</span>
            </div>
          }
        >
          <EmptyState title="No live Greeks" tone="error">
            {error()}
          </EmptyState>
        </Show>
      }
    >
      {(v) => <GreeksBody view={v()} note={error()} />}
    </Show>
  );
}

function GreeksBody(props: { view: DeskGreeksView; note: string | undefined }) {
  const v = () => props.view;
  const maxDelta = () => toNumber(v().limits.maxNetDelta);
  const deltaUsage = () => limitUsage(v().totals.dollarDelta, maxDelta());
  const legsUsage = () => limitUsage(v().limits.openLegs, v().limits.maxOpenLegs);
  return (
    <div class="greeks" data-as-of={v().asOf}>
      <dl class="greeks-totals" aria-label="Desk Greeks">
        <Total
          label="Net Δ"
          title="Delta in units of the underlying"
          field="delta"
          value={v().totals.delta}
        />
        <Total label="$Δ" title="Dollar delta" field="dollar-delta" value={v().totals.dollarDelta} />
        <Total label="Γ" title="Gamma" field="gamma" value={v().totals.gamma} digits={4} />
        <Total label="Vega" title="Vega per 1.00 of volatility" field="vega" value={v().totals.vega} />
        <Total label="Θ / day" title="Theta per calendar day" field="theta" value={v().totals.theta} />
      </dl>
      <div class="greeks-limits">
        <UsageBar
          label="Net delta"
          detail={
            maxDelta() === null
              ? 'no limit set'
              : `${formatExposure(Math.abs(v().totals.dollarDelta), 0).replace('+', '')} of ${formatDecimal(v().limits.maxNetDelta, 0)}`
          }
          usage={deltaUsage()}
          field="net-delta"
        />
        <UsageBar
          label="Open legs"
          detail={
            v().limits.maxOpenLegs === null
              ? `${v().limits.openLegs} open, no limit set`
              : `${v().limits.openLegs} of ${v().limits.maxOpenLegs}`
          }
          usage={legsUsage()}
          field="open-legs"
        />
      </div>
      <Show when={props.note}>
        <p class="dim greeks-note" role="status">
          {props.note}
        </p>
      </Show>
      <Show
        when={v().positions.length > 0}
        fallback={<p class="dim greeks-empty">No open positions: the desk is flat.</p>}
      >
        <div class="greeks-tables">
          <div class="greeks-table-box">
            <DataTable
              label="Greeks per underlying"
              tableAttrs={{ 'aria-label': 'Greeks per underlying' }}
              dense
              rows={v().byUnderlying}
              rowAttrs={(u) => ({ 'data-underlying': u.underlying, 'data-delta': String(u.totals.delta) })}
              columns={[
                {
                  id: 'underlying',
                  header: 'Underlying',
                  rowHeader: true,
                  class: 'mono',
                  cell: (u) => u.underlying,
                },
                {
                  id: 'price',
                  header: 'Price',
                  numeric: true,
                  priority: 2,
                  cell: (u) => formatDecimal(u.price, priceDecimals(u.price)),
                },
                { id: 'delta', header: 'Δ', numeric: true, cell: (u) => formatExposure(u.totals.delta) },
                {
                  id: 'dollarDelta',
                  header: '$Δ',
                  numeric: true,
                  cell: (u) => formatExposure(u.totals.dollarDelta, 0),
                },
                ...secondOrderColumns((u: View['byUnderlying'][number]) => u.totals),
                {
                  id: 'band',
                  header: 'Band',
                  numeric: true,
                  help: 'The hedger keeps net delta within ± this band',
                  cell: (u) => (u.band ? `±${formatDecimal(u.band, 0)}` : '—'),
                },
              ]}
            />
          </div>
          <div class="greeks-table-box">
            <DataTable
              label="Greeks per position"
              tableAttrs={{ 'aria-label': 'Greeks per position' }}
              dense
              rows={v().positions}
              rowAttrs={(p) => ({ 'data-symbol': p.symbol, 'data-delta': String(p.contribution.delta) })}
              columns={[
                {
                  id: 'position',
                  header: 'Position',
                  rowHeader: true,
                  class: 'mono',
                  title: (p) => `${p.assetClass}, multiplier ${p.multiplier}`,
                  cell: (p) => p.symbol,
                },
                {
                  id: 'qty',
                  header: 'Qty',
                  numeric: true,
                  cell: (p) => formatQuantity(p.quantity, p.symbol, { sign: true }),
                },
                {
                  id: 'mark',
                  header: 'Mark',
                  numeric: true,
                  priority: 2,
                  cell: (p) => formatDecimal(p.mark, Math.min(4, priceDecimals(p.mark))),
                },
                { id: 'iv', header: 'IV', numeric: true, priority: 2, cell: (p) => formatVol(p.iv, 1) },
                {
                  id: 'delta',
                  header: 'Δ',
                  numeric: true,
                  cell: (p) => formatExposure(p.contribution.delta),
                },
                ...secondOrderColumns((p: View['positions'][number]) => p.contribution),
              ]}
            />
          </div>
        </div>
      </Show>
      <Show when={v().missing.length > 0}>
        <p class="dim greeks-note">No price, left out of the totals: {v().missing.join(', ')}</p>
      </Show>
      <div class="greeks-foot">
        <HedgerStatus />
        <p class="greeks-asof dim">As of {utcTime(v().asOf)} UTC</p>
      </div>
    </div>
  );
}

type View = DeskGreeksView;

/** Γ, vega and Θ of a row (an underlying's totals, a position's contribution): shown alike in both tables. */
function secondOrderColumns<T>(
  greeks: (row: T) => { gamma: number; vega: number; theta: number },
): Column<T>[] {
  return [
    {
      id: 'gamma',
      header: 'Γ',
      numeric: true,
      priority: 2,
      cell: (row) => formatGreek(greeks(row).gamma, 4),
    },
    {
      id: 'vega',
      header: 'Vega',
      numeric: true,
      priority: 2,
      cell: (row) => formatGreek(greeks(row).vega, 2),
    },
    {
      id: 'theta',
      header: 'Θ',
      numeric: true,
      priority: 2,
      cell: (row) => formatGreek(greeks(row).theta, 2),
    },
  ];
}

function Total(props: { label: string; title: string; field: string; value: number; digits?: number }) {
  return (
    <div class="kpi" title={props.title}>
      <dt>{props.label}</dt>
      <dd
        data-field={props.field}
        data-value={String(props.value)}
        class={props.value > 0 ? 'pos' : props.value < 0 ? 'neg' : ''}
      >
        {props.digits ? formatGreek(props.value, props.digits) : formatExposure(props.value)}
      </dd>
    </div>
  );
}

function UsageBar(props: { label: string; detail: string; usage: number | null; field: string }) {
  const pct = () => (props.usage === null ? 0 : Math.min(100, props.usage * 100));
  return (
    <div
      class="usage"
      data-field={props.field}
      data-usage={props.usage === null ? '' : props.usage.toFixed(4)}
    >
      <div class="usage-head">
        <span>{props.label}</span>
        <span class="mono dim">
          {props.detail}
          {props.usage === null ? '' : ` · ${(props.usage * 100).toFixed(0)} %`}
        </span>
      </div>
      <div class="usage-track" aria-hidden="true">
        <span
          class={`usage-fill usage-${usageTone(props.usage)}`}
          style={{ width: `${pct().toFixed(1)}%` }}
        />
      </div>
    </div>
  );
}
