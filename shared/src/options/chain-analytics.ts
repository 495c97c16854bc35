import type { ChainFilters } from '../schemas/option-chain.ts';

/**
 * Chain analytics (docs/option-chains.md): the liquidity score, IV rank and percentile, realized
 * volatility, the at-the-money IV of an expiry and the risk filters. Pure functions over numbers.
 */

// ---------------------------------------------------------------------------------------------
// Liquidity score
// ---------------------------------------------------------------------------------------------

/** Spread (in % of the mid) that scores half of the spread component. */
export const LIQUIDITY_SPREAD_HALF_PCT = 5;
/** Open interest that scores half of the open-interest component. */
export const LIQUIDITY_OI_HALF = 1_000;
/** Daily volume that scores half of the volume component. */
export const LIQUIDITY_VOLUME_HALF = 250;

/**
 * Liquidity score 0–100:
 *   100 · (0.5 · 1/(1 + spreadPct/5) + 0.25 · OI/(OI + 1000) + 0.25 · V/(V + 250)),
 * one decimal. No two-sided quote scores 0 on the spread part. Each component is monotone in its
 * input (narrower spread, more open interest, more volume never lower the score) and saturates,
 * so no single input can make an untradeable contract look liquid.
 */
export function liquidityScore(spreadPct: number | null, openInterest: number, volume: number): number {
  const s = spreadPct === null || !(spreadPct >= 0) ? 0 : 1 / (1 + spreadPct / LIQUIDITY_SPREAD_HALF_PCT);
  const oi = Math.max(0, openInterest);
  const v = Math.max(0, volume);
  const score =
    100 * (0.5 * s + 0.25 * (oi / (oi + LIQUIDITY_OI_HALF)) + 0.25 * (v / (v + LIQUIDITY_VOLUME_HALF)));
  return Math.round(score * 10) / 10;
}

// ---------------------------------------------------------------------------------------------
// IV rank and percentile
// ---------------------------------------------------------------------------------------------

export interface IvStanding {
  /** (current − min) / (max − min) · 100 over the history and the current value; null: flat or empty. */
  readonly rank: number | null;
  /** Share of history days with an IV below the current one · 100; null: empty history. */
  readonly percentile: number | null;
}

export function ivStanding(current: number | null, history: readonly number[]): IvStanding {
  if (current === null || history.length === 0) return { rank: null, percentile: null };
  let min = current;
  let max = current;
  let below = 0;
  for (const v of history) {
    if (v < min) min = v;
    if (v > max) max = v;
    if (v < current) below++;
  }
  const rank = max > min ? ((current - min) / (max - min)) * 100 : null;
  return { rank, percentile: (below / history.length) * 100 };
}

// ---------------------------------------------------------------------------------------------
// Realized volatility
// ---------------------------------------------------------------------------------------------

export interface RealizedVol {
  /** Annualized; null with fewer than 2 returns. */
  readonly vol: number | null;
  readonly returns: number;
}

/**
 * Close-to-close realized volatility: the sample standard deviation (n − 1) of log returns
 * between consecutive closes, times √(periods per year). Non-positive closes are skipped.
 */
export function realizedVolatility(closes: readonly number[], periodsPerYear: number): RealizedVol {
  const r: number[] = [];
  let prev: number | null = null;
  for (const c of closes) {
    if (!(c > 0)) continue;
    if (prev !== null) r.push(Math.log(c / prev));
    prev = c;
  }
  if (r.length < 2) return { vol: null, returns: r.length };
  const mean = r.reduce((a, b) => a + b, 0) / r.length;
  const variance = r.reduce((a, b) => a + (b - mean) ** 2, 0) / (r.length - 1);
  return { vol: Math.sqrt(variance * periodsPerYear), returns: r.length };
}

// ---------------------------------------------------------------------------------------------
// ATM IV at the forward
// ---------------------------------------------------------------------------------------------

export interface StrikeIv {
  readonly strike: number;
  readonly iv: number;
}

/**
 * The IV at the forward: linear in strike between the two strikes around it (each strike's IV
 * is the mean of its call's and put's where both solved); the nearest strike's when the forward
 * is outside the strikes; null without any IV.
 */
export function ivAtForward(points: readonly StrikeIv[], forward: number): number | null {
  const byStrike = new Map<number, { sum: number; n: number }>();
  for (const p of points) {
    if (!Number.isFinite(p.iv)) continue;
    const e = byStrike.get(p.strike) ?? { sum: 0, n: 0 };
    e.sum += p.iv;
    e.n++;
    byStrike.set(p.strike, e);
  }
  const pts = [...byStrike].map(([k, e]) => ({ k, iv: e.sum / e.n })).sort((a, b) => a.k - b.k);
  if (pts.length === 0) return null;
  if (forward <= pts[0]!.k) return pts[0]!.iv;
  const last = pts[pts.length - 1]!;
  if (forward >= last.k) return last.iv;
  for (let i = 1; i < pts.length; i++) {
    const hi = pts[i]!;
    if (hi.k >= forward) {
      const lo = pts[i - 1]!;
      return lo.iv + ((hi.iv - lo.iv) * (forward - lo.k)) / (hi.k - lo.k);
    }
  }
  return last.iv;
}

// ---------------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------------

export type ChainFilterName = 'minLiquidity' | 'maxSpreadPct' | 'deltaBand' | 'dteBand' | 'noQuote';

export interface FilterSubject {
  readonly quoted: boolean;
  readonly spreadPct: number | null;
  readonly liquidity: number;
  /** Null when no IV could be solved (then no delta). */
  readonly delta: number | null;
  readonly dte: number;
}

/**
 * The filters that exclude a contract, in a fixed order. `noQuote` (no two-sided quote) always
 * applies; the others only when set. A contract without a delta fails a delta band; a contract
 * without a quote is not also charged with the spread filter.
 */
export function excludedBy(c: FilterSubject, f: ChainFilters): ChainFilterName[] {
  const out: ChainFilterName[] = [];
  if (!c.quoted) out.push('noQuote');
  if (f.minLiquidity !== undefined && c.liquidity < f.minLiquidity) out.push('minLiquidity');
  if (f.maxSpreadPct !== undefined && c.quoted && (c.spreadPct === null || c.spreadPct > f.maxSpreadPct))
    out.push('maxSpreadPct');
  if (f.minAbsDelta !== undefined || f.maxAbsDelta !== undefined) {
    const d = c.delta === null ? null : Math.abs(c.delta);
    if (
      d === null ||
      (f.minAbsDelta !== undefined && d < f.minAbsDelta) ||
      (f.maxAbsDelta !== undefined && d > f.maxAbsDelta)
    )
      out.push('deltaBand');
  }
  if ((f.minDte !== undefined && c.dte < f.minDte) || (f.maxDte !== undefined && c.dte > f.maxDte))
    out.push('dteBand');
  return out;
}

/** Periods per year of bars `intervalSeconds` wide on a 24/7 market or an exchange calendar. */
export function periodsPerYear(intervalSeconds: number, around: 'clock' | 'exchange'): number {
  if (around === 'clock') return (365 * 86_400) / intervalSeconds;
  // Exchange hours: 252 sessions of 6.5 h; a daily bar is one session.
  return intervalSeconds >= 86_400 ? 252 : (252 * 6.5 * 3_600) / intervalSeconds;
}
