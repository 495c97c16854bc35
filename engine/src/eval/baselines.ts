import { Xoshiro128 } from '../random/seeded-random.ts';
import type { MarketRun } from './market-run.ts';
import type { Signal } from './signal-metrics.ts';

/**
 * The baselines the engine must beat, each asked for exactly as many signals as the engine gave
 * (in the same run, on the same mids):
 *  - momentum: the sign of the N-tick mid return, at its strongest |return| moments;
 *  - mean reversion: fade the mid's deviation from its EWMA, at its strongest |z| moments;
 *  - random: uniform (run, symbol, tick) after warm-up, a fair coin for the direction.
 * A rule fires causally, like a detector: at a tick whose strength is at least a threshold, unless
 * it fired on the symbol within the last COOLDOWN_TICKS ticks (the engine's detectors have a
 * cooldown for the same reason). The threshold is the highest one that gives at least K signals;
 * if it gives more, the K strongest are kept. Nothing after a signal's tick decides whether it
 * fires (choosing a peak by looking at the ticks after it would bias its forward return).
 */

export const MOMENTUM_LOOKBACK_TICKS = 50;
export const MEAN_REVERSION_SPAN_TICKS = 200;
/** Span of the EWMA variance of the deviation (the z's denominator). */
export const MEAN_REVERSION_VAR_SPAN_TICKS = 1000;
/** Ticks of the symbol after a rule's signal during which the rule does not fire again. */
export const COOLDOWN_TICKS = 20;
/** No baseline signal in a symbol's first ticks (the engine's detectors warm up too). */
export const BASELINE_WARMUP_TICKS = 200;

/** A rule's strength (≥ 0) and direction (±1, 0 = none) at every tick of every symbol of every run. */
export interface RuleSeries {
  readonly name: string;
  /** [run][symbol] → per tick. */
  readonly strength: readonly (readonly Float64Array[])[];
  readonly direction: readonly (readonly Int8Array[])[];
}

/** Builds a rule's series: `fill` writes one symbol's per-tick strength and direction from its mids. */
function ruleSeries(
  name: string,
  runs: readonly MarketRun[],
  fill: (mids: ArrayLike<number>, st: Float64Array, di: Int8Array) => void,
): RuleSeries {
  const strength = runs.map((run) => run.mids.map((mids) => new Float64Array(mids.length)));
  const direction = runs.map((run) => run.mids.map((mids) => new Int8Array(mids.length)));
  runs.forEach((run, r) => {
    run.mids.forEach((mids, sym) => {
      fill(mids, strength[r]![sym]!, direction[r]![sym]!);
    });
  });
  return { name, strength, direction };
}

export function momentumSeries(runs: readonly MarketRun[], lookback = MOMENTUM_LOOKBACK_TICKS): RuleSeries {
  return ruleSeries('momentum', runs, (mids, st, di) => {
    for (let t = lookback; t < mids.length; t++) {
      const ret = Math.log(mids[t]! / mids[t - lookback]!);
      st[t] = Math.abs(ret);
      di[t] = ret > 0 ? 1 : ret < 0 ? -1 : 0;
    }
  });
}

export function meanReversionSeries(
  runs: readonly MarketRun[],
  span = MEAN_REVERSION_SPAN_TICKS,
  varSpan = MEAN_REVERSION_VAR_SPAN_TICKS,
): RuleSeries {
  const a = 2 / (span + 1);
  const av = 2 / (varSpan + 1);
  return ruleSeries('mean_reversion_rule', runs, (mids, st, di) => {
    let mean = mids.length > 0 ? Math.log(mids[0]!) : 0;
    let variance = 0;
    for (let t = 1; t < mids.length; t++) {
      const x = Math.log(mids[t]!);
      const d = x - mean;
      // z against the variance before this tick, like the engine's own mean-reversion detector.
      if (variance > 0) {
        st[t] = Math.abs(d) / Math.sqrt(variance);
        di[t] = d > 0 ? -1 : d < 0 ? 1 : 0;
      }
      variance += av * (d * d - variance);
      mean += a * d;
    }
  });
}

/** Ticks where a rule could fire (after warm-up, a direction, strength > floor), in tick order. */
interface Exceedances {
  readonly run: Int32Array;
  readonly symbol: Int32Array;
  readonly tick: Int32Array;
  readonly strength: Float64Array;
  readonly n: number;
}

function exceedances(series: RuleSeries, floor: number): Exceedances {
  let n = 0;
  series.strength.forEach((sr, r) => {
    sr.forEach((st, sym) => {
      const di = series.direction[r]![sym]!;
      for (let t = BASELINE_WARMUP_TICKS; t < st.length; t++) if (st[t]! > floor && di[t] !== 0) n++;
    });
  });
  const e = {
    run: new Int32Array(n),
    symbol: new Int32Array(n),
    tick: new Int32Array(n),
    strength: new Float64Array(n),
    n,
  };
  let i = 0;
  series.strength.forEach((sr, r) => {
    sr.forEach((st, sym) => {
      const di = series.direction[r]![sym]!;
      for (let t = BASELINE_WARMUP_TICKS; t < st.length; t++) {
        if (st[t]! > floor && di[t] !== 0) {
          e.run[i] = r;
          e.symbol[i] = sym;
          e.tick[i] = t;
          e.strength[i] = st[t]!;
          i++;
        }
      }
    });
  });
  return e;
}

/** Indices of the exceedances that fire at threshold `theta` with the cooldown. */
function fire(e: Exceedances, theta: number, cooldown: number, out: number[] | null): number {
  let count = 0;
  let lastRun = -1;
  let lastSym = -1;
  let lastTick = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < e.n; i++) {
    if (e.strength[i]! < theta) continue;
    if (e.run[i] !== lastRun || e.symbol[i] !== lastSym) {
      lastRun = e.run[i]!;
      lastSym = e.symbol[i]!;
      lastTick = Number.NEGATIVE_INFINITY;
    }
    if (e.tick[i]! - lastTick <= cooldown) continue;
    lastTick = e.tick[i]!;
    count++;
    out?.push(i);
  }
  return count;
}

const preparedCache = new WeakMap<RuleSeries, { e: Exceedances; sorted: Float64Array }>();

/** Every tick where the series could fire, and its strengths sorted highest first (cached). */
function prepared(series: RuleSeries): { e: Exceedances; sorted: Float64Array } {
  let p = preparedCache.get(series);
  if (!p) {
    const e = exceedances(series, 0);
    p = { e, sorted: e.strength.slice().sort().reverse() };
    preparedCache.set(series, p);
  }
  return p;
}

/**
 * `k` signals of a rule (fewer only if it cannot fire k times): the highest threshold that fires
 * at least k times (binary search over the observed strengths), then its k strongest signals
 * (ties: earlier run, symbol, tick), returned strongest first.
 */
export function ruleSignals(
  runs: readonly MarketRun[],
  series: RuleSeries,
  k: number,
  cooldown = COOLDOWN_TICKS,
): Signal[] {
  if (k <= 0) return [];
  // Candidate thresholds: the observed strengths, highest first (sorted once per series). Only
  // the top ones can matter when k is small, so start from a floor that keeps ~40 × k of them
  // and widen if needed.
  const all = prepared(series);
  let e = all.e;
  const keep = Math.min(all.sorted.length, 40 * k);
  if (keep < all.sorted.length) {
    const floor = all.sorted[keep]!;
    const narrow = exceedances(series, floor);
    if (fire(narrow, floor, cooldown, null) >= k) e = narrow;
  }
  const strengths = e === all.e ? all.sorted : e.strength.slice().sort().reverse();
  // Largest index whose threshold still fires fewer than k → the next one fires at least k.
  let lo = 0;
  let hi = strengths.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fire(e, strengths[mid]!, cooldown, null) >= k) hi = mid;
    else lo = mid + 1;
  }
  const fired: number[] = [];
  fire(e, strengths.length > 0 ? strengths[lo]! : 0, cooldown, fired);
  fired.sort(
    (a, b) =>
      e.strength[b]! - e.strength[a]! ||
      e.run[a]! - e.run[b]! ||
      e.symbol[a]! - e.symbol[b]! ||
      e.tick[a]! - e.tick[b]!,
  );
  return fired.slice(0, k).map((i) => {
    const r = e.run[i]!;
    const sym = e.symbol[i]!;
    const t = e.tick[i]!;
    return {
      run: r,
      symbol: sym,
      tick: t,
      tsUs: runs[r]!.tsUs[sym]![t]!,
      pattern: series.name,
      direction: series.direction[r]![sym]![t]!,
      score: e.strength[i]!,
    };
  });
}

/**
 * `k` random signals: run and symbol weighted by ticks (uniform over ticks after warm-up),
 * direction a fair coin, score uniform. Deterministic for the seed.
 */
export function randomSignals(runs: readonly MarketRun[], k: number, seed: number): Signal[] {
  const rng = new Xoshiro128(seed);
  const cells: { run: number; symbol: number; from: number; to: number }[] = [];
  let total = 0;
  runs.forEach((run, r) => {
    run.mids.forEach((mids, sym) => {
      const len = mids.length - BASELINE_WARMUP_TICKS;
      if (len <= 0) return;
      cells.push({ run: r, symbol: sym, from: total, to: total + len });
      total += len;
    });
  });
  const out: Signal[] = [];
  if (total === 0) return out;
  for (let i = 0; i < k; i++) {
    const x = Math.floor(rng.next() * total);
    let lo = 0;
    let hi = cells.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cells[mid]!.to <= x) lo = mid + 1;
      else hi = mid;
    }
    const c = cells[lo]!;
    const tick = BASELINE_WARMUP_TICKS + (x - c.from);
    out.push({
      run: c.run,
      symbol: c.symbol,
      tick,
      tsUs: runs[c.run]!.tsUs[c.symbol]![tick]!,
      pattern: 'random',
      direction: rng.next() < 0.5 ? 1 : -1,
      score: rng.next(),
    });
  }
  return out;
}
