import type { BacktestMetrics } from '@aegis/shared/schemas/backtest';

/**
 * Performance statistics of an equity curve, in floats (statistics, not money; the money itself
 * is decimal). Definitions (docs/backtests.md):
 * - totalReturn = E_last / E_first − 1;
 * - annualizedReturn = (1 + totalReturn)^(year / span) − 1 over the simulated span, a 365-day
 *   year of continuous trading (the simulated market trades around the clock); null for a span
 *   under one day, where compounding a few hours to a year says nothing;
 * - per-period returns r_k = E_k / E_{k−1} − 1 between consecutive (evenly spaced) points;
 *   Sharpe = mean(r) / sd(r) × √(periods per year) (sample sd, risk-free rate 0); Sortino = mean(r)
 *   / downside deviation × √(periods per year), downside deviation = √(Σ min(r, 0)² / n); null
 *   with fewer than 3 points or no dispersion;
 * - maxDrawdown = max over time of (running peak − E) / running peak (a fraction ≥ 0); its
 *   duration = the longest simulated time from a peak to the point where equity first gets back
 *   to it (or to the end, if it never does);
 * - calmar = annualizedReturn / maxDrawdown (null when either is missing or the drawdown is 0);
 * - winRate = winning round trips / round trips; profitFactor = Σ wins / |Σ losses| (null
 *   without losses); trades = round trips closed.
 */
export interface CurveInput {
  /** Point times, µs, increasing. */
  readonly tsUs: readonly number[];
  readonly equity: readonly number[];
  /** Net P&L of each closed round trip. */
  readonly tradePnls: readonly number[];
  /** Share of simulated time with a position open. */
  readonly exposure: number;
  readonly turnover: number;
  readonly fees: string;
}

const YEAR_S = 365 * 86_400;
const DAY_S = 86_400;

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function performanceMetrics(c: CurveInput): BacktestMetrics {
  const n = c.equity.length;
  const e0 = n > 0 ? c.equity[0]! : 0;
  const eN = n > 0 ? c.equity[n - 1]! : 0;
  const totalReturn = e0 > 0 ? eN / e0 - 1 : 0;
  const spanS = n > 1 ? (c.tsUs[n - 1]! - c.tsUs[0]!) / 1e6 : 0;
  const annualizedReturn =
    spanS >= DAY_S && totalReturn > -1 ? finiteOrNull((1 + totalReturn) ** (YEAR_S / spanS) - 1) : null;

  let sharpe: number | null = null;
  let sortino: number | null = null;
  if (n >= 3 && spanS > 0) {
    const m = n - 1;
    let sum = 0;
    const r = new Float64Array(m);
    for (let k = 1; k < n; k++) {
      const prev = c.equity[k - 1]!;
      r[k - 1] = prev > 0 ? c.equity[k]! / prev - 1 : 0;
      sum += r[k - 1]!;
    }
    const mean = sum / m;
    let ss = 0;
    let down = 0;
    for (let k = 0; k < m; k++) {
      const d = r[k]! - mean;
      ss += d * d;
      if (r[k]! < 0) down += r[k]! * r[k]!;
    }
    const sd = Math.sqrt(ss / (m - 1));
    const dd = Math.sqrt(down / m);
    const perYear = Math.sqrt(YEAR_S / (spanS / m));
    sharpe = sd > 0 ? finiteOrNull((mean / sd) * perYear) : null;
    sortino = dd > 0 ? finiteOrNull((mean / dd) * perYear) : null;
  }

  const { maxDrawdown, durationS } = drawdownStats(c.tsUs, c.equity);
  const calmar =
    annualizedReturn !== null && maxDrawdown > 0 ? finiteOrNull(annualizedReturn / maxDrawdown) : null;

  let wins = 0;
  let grossWin = 0;
  let grossLoss = 0;
  for (const p of c.tradePnls) {
    if (p > 0) {
      wins++;
      grossWin += p;
    } else if (p < 0) grossLoss -= p;
  }
  const trades = c.tradePnls.length;
  return {
    totalReturn,
    annualizedReturn,
    sharpe,
    sortino,
    maxDrawdown,
    maxDrawdownDurationSeconds: durationS,
    calmar,
    winRate: trades > 0 ? wins / trades : null,
    profitFactor: grossLoss > 0 ? grossWin / grossLoss : null,
    exposure: c.exposure,
    turnover: c.turnover,
    fees: c.fees,
    trades,
  };
}

/** Drawdown of each point ((peak − E) / peak) and the worst one with its duration (seconds). */
export function drawdownStats(
  tsUs: readonly number[],
  equity: readonly number[],
): { maxDrawdown: number; durationS: number; drawdowns: number[] } {
  let peak = Number.NEGATIVE_INFINITY;
  let peakTs = 0;
  let maxDrawdown = 0;
  let longestUs = 0;
  let underwater = false;
  const drawdowns: number[] = [];
  for (let k = 0; k < equity.length; k++) {
    const e = equity[k]!;
    const t = tsUs[k]!;
    if (e >= peak) {
      // Back at (or above) the peak: the time under water since the peak has ended.
      if (underwater) longestUs = Math.max(longestUs, t - peakTs);
      underwater = false;
      peak = e;
      peakTs = t;
      drawdowns.push(0);
      continue;
    }
    underwater = true;
    const d = peak > 0 ? (peak - e) / peak : 0;
    drawdowns.push(d);
    if (d > maxDrawdown) maxDrawdown = d;
  }
  if (underwater) {
    longestUs = Math.max(longestUs, tsUs[tsUs.length - 1]! - peakTs);
  }
  return { maxDrawdown, durationS: longestUs / 1e6, drawdowns };
}
