import type { EventKind } from './labelled-market.ts';
import type { MarketRun } from './market-run.ts';
import { forwardReturnBp, type Signal } from './signal-metrics.ts';

/**
 * Where a source's signals fall, by the kind of event whose window holds them (or noise), with
 * their mean forward return at the main horizon and, for tradable kinds, how often they took the
 * event's direction. A diagnostic beside the SignalEvaluation (printed by the CLI, not part of the
 * stored contract): it shows *why* a source wins or loses, e.g. momentum trading exhaustion spikes.
 */

export type WindowKind = Exclude<EventKind, 'regime_change'> | 'noise';
export const WINDOW_KINDS: readonly WindowKind[] = [
  'ofi_drift',
  'exhaustion_reversion',
  'liquidity_withdrawal',
  'absorbed_flow',
  'noise',
];

export interface KindCell {
  readonly signals: number;
  /** Signals in the event's direction (tradable kinds only; 0 otherwise). */
  readonly right: number;
  /** Mean signed forward return at the main horizon, bp (null: no signal with that horizon). */
  readonly forwardBp: number | null;
}

export type Breakdown = Readonly<Record<WindowKind, KindCell>>;

/** Per run and symbol: the event (any kind but regime_change) covering each tick, or -1. */
export function indexAllWindows(runs: readonly MarketRun[]): Int32Array[][] {
  return runs.map((run) => {
    const at = run.mids.map((m) => new Int32Array(m.length).fill(-1));
    for (const ev of run.events) {
      if (ev.kind === 'regime_change') continue;
      const col = at[ev.symbol]!;
      const end = Math.min(ev.endTick, col.length - 1);
      for (let k = ev.startTick; k <= end; k++) col[k] = ev.id;
    }
    return at;
  });
}

export function breakdownByKind(
  runs: readonly MarketRun[],
  windows: readonly (readonly Int32Array[])[],
  signals: readonly Signal[],
  horizon: number,
): Breakdown {
  const acc = new Map<WindowKind, { signals: number; right: number; sum: number; n: number }>();
  for (const k of WINDOW_KINDS) acc.set(k, { signals: 0, right: 0, sum: 0, n: 0 });
  for (const s of signals) {
    const run = runs[s.run]!;
    const id = windows[s.run]![s.symbol]![s.tick]!;
    const ev = id >= 0 ? run.events[id]! : null;
    const cell = acc.get(ev ? (ev.kind as WindowKind) : 'noise')!;
    cell.signals++;
    if (ev && ev.direction !== 0 && ev.direction === s.direction) cell.right++;
    const r = forwardReturnBp(run, s.symbol, s.tick, s.direction, horizon);
    if (!Number.isNaN(r)) {
      cell.sum += r;
      cell.n++;
    }
  }
  const out = {} as Record<WindowKind, KindCell>;
  for (const [k, c] of acc) {
    out[k] = { signals: c.signals, right: c.right, forwardBp: c.n > 0 ? c.sum / c.n : null };
  }
  return out;
}

/** The breakdowns as text: one line per source, one column per window kind. */
export function formatBreakdown(
  rows: readonly { label: string; breakdown: Breakdown; total: number }[],
): string {
  const head = ['source', ...WINDOW_KINDS];
  const cells = rows.map((r) => [
    r.label,
    ...WINDOW_KINDS.map((k) => {
      const c = r.breakdown[k];
      const share = r.total > 0 ? ((100 * c.signals) / r.total).toFixed(1) : '0.0';
      const fwd = c.forwardBp === null ? 'n/a' : `${c.forwardBp >= 0 ? '+' : ''}${c.forwardBp.toFixed(1)}`;
      const right = k === 'ofi_drift' || k === 'exhaustion_reversion' ? ` ${c.right} right` : '';
      return `${share} % ${fwd} bp${right}`;
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
