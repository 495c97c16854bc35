import type { Coefficients } from '../features/params.ts';
import { F, PRICE_SLOTS, PRICES_OFFSET } from '../features/state.ts';
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
 * Run the pattern detectors on a symbol's freshly computed next half (`nxt`), with the half before
 * the tick (`cur`) for the values the tick must be compared against. At most one candidate per
 * tick, by priority breakout > absorption > mean reversion; a pattern whose per-symbol cooldown
 * (event time) has not elapsed is passed over. On a detection the cooldown and the CANDIDATES
 * count are written into `nxt`, so they commit with the tick (and replay identically after a
 * crash). Deterministic: a function of the state and the tick only.
 *
 * - breakout: the reference price leaves the band of the previous W prices (above the high / below
 *   the low) while the order-flow imbalance agrees (OFI ≥ +min / ≤ −min) → long / short;
 * - absorption (trades only): short-horizon trade size ≥ ratio × its long-horizon level, flow one-
 *   sided (|imbalance| ≥ min), yet the price moved less than k per-tick sigmas × sqrt(M) over the
 *   last M prices: the passive side is absorbing → trade against the aggressors;
 * - mean reversion: |(p − emaSlow) / sd| ≥ z → trade back toward the mean.
 */
export function detectPatterns(
  f64: Float64Array,
  block: number,
  cur: number,
  nxt: number,
  kind: number,
  tsUs: number,
  k: Coefficients,
): number {
  const prices = f64[nxt + F.PRICES]!;
  // Only ticks that produced a reference price, and only after warm-up.
  if (prices === f64[cur + F.PRICES] || f64[nxt + F.TICKS]! <= k.warmupTicks) return NO_DETECTION;
  const p = f64[nxt + F.LAST_PRICE]!;

  if (prices > k.bandWindow && tsUs >= f64[nxt + F.COOLDOWN_BREAKOUT]!) {
    const ofi = f64[nxt + F.OFI]!;
    let dir = 0;
    if (p > f64[cur + F.BAND_HI]! && ofi >= k.breakoutMinOfi) dir = 1;
    else if (p < f64[cur + F.BAND_LO]! && ofi <= -k.breakoutMinOfi) dir = -1;
    if (dir !== 0) {
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
        const past = f64[block + PRICES_OFFSET + ((prices - 1 - k.absorptionTicks) & PRICE_MASK)]!;
        const move = Math.abs(Math.log(p / past));
        const limit = k.absorptionMaxMoveSigmas * f64[nxt + F.REALIZED_VOL]! * k.absorptionSqrtTicks;
        if (limit > 0 && move <= limit) {
          f64[nxt + F.COOLDOWN_ABSORPTION] = tsUs + k.cooldownUs;
          f64[nxt + F.CANDIDATES] = f64[nxt + F.CANDIDATES]! + 1;
          return encode(PATTERN.absorption, imbalance > 0 ? -1 : 1);
        }
      }
    }
  }

  if (tsUs >= f64[nxt + F.COOLDOWN_MEAN_REVERSION]!) {
    const z = f64[nxt + F.PRICE_Z]!;
    if (z >= k.meanReversionZ || z <= -k.meanReversionZ) {
      f64[nxt + F.COOLDOWN_MEAN_REVERSION] = tsUs + k.cooldownUs;
      f64[nxt + F.CANDIDATES] = f64[nxt + F.CANDIDATES]! + 1;
      return encode(PATTERN.mean_reversion, z > 0 ? -1 : 1);
    }
  }
  return NO_DETECTION;
}
