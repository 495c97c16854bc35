import type { SignalQualityRow } from '@aegis/shared/schemas/signal-quality';
import { rocAuc } from '../model/metrics.ts';
import type { MarketRun } from './market-run.ts';

/**
 * Signal quality against the market's labels and its mids: the metrics of one SignalQualityRow.
 * Pure functions over the runs and a list of signals; no randomness.
 *
 * Definitions (docs/signal-evaluation.md):
 *  - a signal is "inside" an event when its tick lies in the window [startTick, endTick] of a
 *    tradable event (direction ±1) of its symbol; "right" when also in the event's direction;
 *  - forward return at horizon h: direction × ln(mid[tick + h] / mid[tick]) in bp, mids of the
 *    signal's symbol; signals too close to the end for h are left out of that horizon's mean;
 *  - hit: forward return at the main (first) horizon > 0 (a flat mid is not a hit);
 *  - recall: share of tradable events with at least one signal inside their window.
 */

export type CalibrationBin = SignalQualityRow['calibration'][number];

export interface Signal {
  /** Index of the run (seed) in the evaluated list. */
  readonly run: number;
  /** Market symbol index. */
  readonly symbol: number;
  /** Index of the tick among the symbol's ticks. */
  readonly tick: number;
  readonly tsUs: number;
  /** Pattern name for the engine's signals; the rule's name for a baseline's. */
  readonly pattern: string;
  readonly direction: number;
  /** Engine: the model's probability. Baselines: the rule's strength (only its order matters). */
  readonly score: number;
}

/** Per run and symbol: the tradable event (index into run.events) covering each tick, or -1. */
export interface EventIndex {
  readonly byRun: readonly (readonly Int32Array[])[];
  /** Tradable events over all runs. */
  readonly tradable: number;
}

export function indexEvents(runs: readonly MarketRun[]): EventIndex {
  let tradable = 0;
  const byRun = runs.map((run) => {
    const at = run.mids.map((m) => new Int32Array(m.length).fill(-1));
    for (const ev of run.events) {
      if (ev.direction === 0) continue;
      tradable++;
      const col = at[ev.symbol]!;
      const end = Math.min(ev.endTick, col.length - 1);
      for (let k = ev.startTick; k <= end; k++) col[k] = ev.id;
    }
    return at;
  });
  return { byRun, tradable };
}

/** Signed forward mid return in bp over `h` ticks of the signal's symbol, or NaN past the end. */
export function forwardReturnBp(
  run: MarketRun,
  symbol: number,
  tick: number,
  direction: number,
  h: number,
): number {
  const mids = run.mids[symbol]!;
  const j = tick + h;
  if (j >= mids.length) return Number.NaN;
  return direction * Math.log(mids[j]! / mids[tick]!) * 1e4;
}

export const CALIBRATION_BINS = 10;

/** Reliability bins of width 1 / bins over [0, 1] (the last one includes 1). */
export function calibrationBins(
  scores: ArrayLike<number>,
  hits: ArrayLike<number>,
  bins = CALIBRATION_BINS,
): CalibrationBin[] {
  const n = new Float64Array(bins);
  const sumScore = new Float64Array(bins);
  const sumHit = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s)) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(s * bins)));
    n[b]! += 1;
    sumScore[b]! += s;
    sumHit[b]! += hits[i]! > 0 ? 1 : 0;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    out.push({
      from: round(b / bins),
      to: round((b + 1) / bins),
      n: n[b]!,
      meanScore: n[b]! > 0 ? round(sumScore[b]! / n[b]!) : null,
      hitRate: n[b]! > 0 ? round(sumHit[b]! / n[b]!) : null,
    });
  }
  return out;
}

export interface RowOptions {
  readonly source: SignalQualityRow['source'];
  readonly pattern: string;
  /** Horizons in ticks; the first is the main one. */
  readonly horizons: readonly number[];
  /** Compute the AUC of the score (false: null). */
  readonly auc: boolean;
  /** Compute calibration bins (only meaningful for probabilities). */
  readonly calibration: boolean;
}

/** One SignalQualityRow for `signals` over `runs`. */
export function qualityRow(
  runs: readonly MarketRun[],
  events: EventIndex,
  signals: readonly Signal[],
  o: RowOptions,
): SignalQualityRow {
  const n = signals.length;
  let inside = 0;
  let right = 0;
  const found = new Set<number>();
  const sums = new Float64Array(o.horizons.length);
  const counts = new Float64Array(o.horizons.length);
  const mainScores: number[] = [];
  const mainHits: number[] = [];
  for (const s of signals) {
    const run = runs[s.run]!;
    const id = events.byRun[s.run]![s.symbol]![s.tick]!;
    if (id >= 0) {
      inside++;
      // Event ids are per run: key them by run so two runs' events stay apart.
      found.add(s.run * 1_000_000_000 + id);
      if (run.events[id]!.direction === s.direction) right++;
    }
    for (let h = 0; h < o.horizons.length; h++) {
      const r = forwardReturnBp(run, s.symbol, s.tick, s.direction, o.horizons[h]!);
      if (Number.isNaN(r)) continue;
      sums[h]! += r;
      counts[h]! += 1;
      if (h === 0) {
        mainScores.push(s.score);
        mainHits.push(r > 0 ? 1 : 0);
      }
    }
  }
  const forward: Record<string, number | null> = {};
  for (let h = 0; h < o.horizons.length; h++) {
    forward[String(o.horizons[h])] = counts[h]! > 0 ? round(sums[h]! / counts[h]!) : null;
  }
  let hitSum = 0;
  for (const x of mainHits) hitSum += x;
  const auc = o.auc && mainHits.length > 0 ? rocAuc(mainScores, mainHits) : Number.NaN;
  return {
    source: o.source,
    pattern: o.pattern,
    signals: n,
    precisionLocation: n > 0 ? round(inside / n) : null,
    precisionDirection: n > 0 ? round(right / n) : null,
    recall: events.tradable > 0 ? round(found.size / events.tradable) : null,
    forwardReturnBp: forward,
    hitRate: mainHits.length > 0 ? round(hitSum / mainHits.length) : null,
    auc: Number.isNaN(auc) ? null : round(auc),
    calibration: o.calibration ? calibrationBins(mainScores, mainHits) : [],
  };
}

/** Rounded to 6 significant decimals so the JSON is stable and short. */
export function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
