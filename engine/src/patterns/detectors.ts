import type { Coefficients } from '../features/params.ts';
import { F, PRICE_SLOTS } from '../features/state.ts';
import { PATTERN, TICK_KIND } from '../ring/layout.ts';

const PRICE_MASK = PRICE_SLOTS - 1;

/**
 * A detection is one small integer so the hot path returns it without allocating:
 * 0 = none, else pattern * 4 + (direction + 1), with direction +1 (long) or -1 (short).
 */
export const NO_DETECTION = 0;
export const detectionPattern = (d: number): number => d >> 2;
export const detectionDirection = (d: number): number => (d & 3) - 1;
const encode = (pattern: number, direction: number): number => pattern * 4 + direction + 1;

/**
 * Run the pattern detectors on a symbol's next half (`f64[nxt..]`, just computed by computeTick)
 * with its current half (`f64[cur..]`, the fields before the tick) and its history (`f64[hist..]`,
 * already extended by the tick). At most one candidate per tick, by priority breakout > absorption > mean reversion;
 * a pattern whose per-symbol cooldown (event time) has not elapsed is passed over. On a detection
 * the cooldown and the CANDIDATES count are written into the next half, so they commit with the tick
 * (and replay identically after a crash). Deterministic: a function of the state and the tick.
 *
 * - breakout: the reference price leaves the band of the previous W prices (above the high / below
 *   the low) while the order-flow imbalance agrees (OFI ≥ +min / ≤ −min, and not 0) → long / short;
 * - absorption (trades only): short-horizon trade size ≥ ratio × its long-horizon level, flow
 *   one-sided (|imbalance| ≥ min), yet the price moved less than k per-tick sigmas × sqrt(M) over
 *   the last M prices: the passive side is absorbing → trade against the aggressors;
 * - mean reversion: |p − emaSlow| ≥ z × sd, sd from the deviation variance before the tick → trade
 *   back toward the mean (compared squared: no square root per tick).
 */
export function detectPatterns(
  f64: Float64Array,
  hist: number,
  cur: number,
  nxt: number,
  kind: number,
  k: Coefficients,
): number {
  // Event time from the next half rather than an argument: a double argument would be boxed.
  const tsUs = f64[nxt + F.LAST_TS_US]!;
  const prices = f64[nxt + F.PRICES]!;
  const prevPrices = f64[cur + F.PRICES]!;
  // Only ticks that produced a reference price, and only after warm-up.
  if (prices === prevPrices || f64[nxt + F.TICKS]! <= k.warmupTicks) return NO_DETECTION;
  const lp = f64[nxt + F.LAST_LOG_PRICE]!;

  if (prevPrices >= k.bandWindow && tsUs >= f64[nxt + F.COOLDOWN_BREAKOUT]!) {
    // The flow must agree before the band is looked at: one division, usually enough to stop.
    const ov = f64[nxt + F.OFI_VOLUME]!;
    const ofi = ov > 0 ? f64[nxt + F.OFI_SIGNED]! / ov : 0;
    const dir = ofi >= k.breakoutMinOfi && ofi > 0 ? 1 : ofi <= -k.breakoutMinOfi && ofi < 0 ? -1 : 0;
    if (dir !== 0 && beyondBand(f64, hist, prevPrices, k.bandWindow, dir * lp, dir)) {
      f64[nxt + F.COOLDOWN_BREAKOUT] = tsUs + k.cooldownUs;
      f64[nxt + F.CANDIDATES] = f64[nxt + F.CANDIDATES]! + 1;
      return encode(PATTERN.breakout, dir);
    }
  }

  if (kind === TICK_KIND.trade && prices > k.absorptionTicks && tsUs >= f64[nxt + F.COOLDOWN_ABSORPTION]!) {
    const volFast = f64[nxt + F.FLOW_VOLUME_FAST]!;
    if (volFast > 0 && volFast >= k.absorptionVolumeRatio * f64[nxt + F.OFI_VOLUME]!) {
      const imbalance = f64[nxt + F.FLOW_SIGNED_FAST]! / volFast;
      if (imbalance >= k.absorptionMinImbalance || imbalance <= -k.absorptionMinImbalance) {
        const past = f64[hist + ((prices - 1 - k.absorptionTicks) & PRICE_MASK)]!;
        const move = Math.abs(lp - past);
        const limit = k.absorptionMaxMoveSigmas * Math.sqrt(f64[nxt + F.RV_VAR]!) * k.absorptionSqrtTicks;
        if (limit > 0 && move <= limit) {
          f64[nxt + F.COOLDOWN_ABSORPTION] = tsUs + k.cooldownUs;
          f64[nxt + F.CANDIDATES] = f64[nxt + F.CANDIDATES]! + 1;
          return encode(PATTERN.absorption, imbalance > 0 ? -1 : 1);
        }
      }
    }
  }

  if (tsUs >= f64[nxt + F.COOLDOWN_MEAN_REVERSION]!) {
    const v = f64[cur + F.DEV_VAR]!;
    const d = f64[nxt + F.LAST_PRICE]! - f64[nxt + F.EMA_SLOW]!;
    if (v > 0 && d * d >= k.meanReversionZ2 * v) {
      f64[nxt + F.COOLDOWN_MEAN_REVERSION] = tsUs + k.cooldownUs;
      f64[nxt + F.CANDIDATES] = f64[nxt + F.CANDIDATES]! + 1;
      return encode(PATTERN.mean_reversion, d > 0 ? -1 : 1);
    }
  }
  return NO_DETECTION;
}

/**
 * Is the signed log price `x` (dir · ln p) strictly beyond every one of the W previous log prices
 * (indices n−W .. n−1 of the history), i.e. above the rolling high (dir +1) or below the rolling
 * low (dir −1)? Exact, with no band state to maintain: the scan walks back from the newest price
 * and stops at the first one that is not exceeded, which in a market that is not breaking out is
 * almost always within the first few.
 */
function beyondBand(f64: Float64Array, hist: number, n: number, W: number, x: number, dir: number): boolean {
  for (let i = n - 1; i >= n - W; i--) {
    if (dir * f64[hist + (i & PRICE_MASK)]! >= x) return false;
  }
  return true;
}
