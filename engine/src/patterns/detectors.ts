import type { Coefficients } from '../features/params.ts';
import { F } from '../features/state.ts';
import { PATTERN } from '../ring/layout.ts';

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
 * with its current half (`f64[cur..]`, the fields before the tick). At most one candidate per
 * tick, by priority breakout > mean reversion > absorption. Detectors fire on EVENTS: a pattern
 * fires when its condition holds, it is armed and its per-symbol cooldown (event time) has
 * elapsed; firing disarms it until its condition lapses once (so a long-lasting condition gives
 * one candidate, not one per cooldown). On a detection the cooldown, the re-arm flags and the
 * CANDIDATES count are written into the next half, so they commit with the tick (and replay
 * identically after a crash). Deterministic: a function of the state and the tick. `_hist` and
 * `_kind` are kept for callers' signature stability.
 *
 * With ti = trade-sign imbalance (medium horizon), tf = the short-horizon one, di = depth
 * imbalance (bid − ask over both, smoothed), z = deviation of the mid from its slow EMA in sd:
 * - breakout (flow-led continuation): |ti| ≥ minFlow, the side being hit thinner (di · dir ≥
 *   minDepthImbalance) and the price not yet extended (|z| ≤ maxDeviationZ) → with the flow;
 * - mean reversion (exhaustion reversal): a fast move, |momentum| ≥ meanReversionZ sd of the
 *   mid over the momentum window (σ per tick before the tick × sqrt(N)), pushed by one-sided flow
 *   (tf · sign(move) ≥ minFlow) into a book leaning against it (−di · sign(move) ≥ minBookLean:
 *   passive liquidity builds where the move pushes) → against the move;
 * - absorption: one-sided short-horizon flow (|tf| ≥ minFlow) met by a side that holds (−di ·
 *   sign(tf) ≥ minBookLean) without the price giving way (|z| ≤ maxDeviationZ) → against the
 *   aggressors.
 * Squares are compared where a square root would be needed (no square root per tick).
 */
export function detectPatterns(
  f64: Float64Array,
  _hist: number,
  cur: number,
  nxt: number,
  _kind: number,
  k: Coefficients,
): number {
  // Event time from the next half rather than an argument: a double argument would be boxed.
  const tsUs = f64[nxt + F.LAST_TS_US]!;
  // Only ticks that produced a reference price, and only after warm-up.
  if (f64[nxt + F.PRICES]! === f64[cur + F.PRICES]! || f64[nxt + F.TICKS]! <= k.warmupTicks) {
    return NO_DETECTION;
  }
  const v = f64[cur + F.DEV_VAR]!;
  if (!(v > 0)) return NO_DETECTION;
  const d = f64[nxt + F.LAST_PRICE]! - f64[nxt + F.EMA_SLOW]!;
  const d2 = d * d;
  const bidDepth = f64[nxt + F.BID_DEPTH_FAST]!;
  const askDepth = f64[nxt + F.ASK_DEPTH_FAST]!;
  const depthSum = bidDepth + askDepth;
  const di = depthSum > 0 ? (bidDepth - askDepth) / depthSum : 0;
  let detection = NO_DETECTION;

  // Breakout: flow-led continuation.
  const fv = f64[nxt + F.FLOW_VOLUME]!;
  const ti = fv > 0 ? f64[nxt + F.FLOW_SIGNED]! / fv : 0;
  const bDir = ti >= k.breakoutMinFlow && ti > 0 ? 1 : ti <= -k.breakoutMinFlow && ti < 0 ? -1 : 0;
  if (
    firesNow(
      f64,
      nxt,
      F.FIRED_BREAKOUT,
      F.COOLDOWN_BREAKOUT,
      bDir !== 0 && di * bDir >= k.breakoutMinDepthImbalance && d2 <= k.breakoutMaxDeviationZ2 * v,
      detection,
    )
  ) {
    f64[nxt + F.COOLDOWN_BREAKOUT] = tsUs + k.breakoutCooldownUs;
    detection = encode(PATTERN.breakout, bDir);
  }

  // Mean reversion: exhaustion reversal, on the move over the momentum window.
  const mom = f64[nxt + F.MOMENTUM]!;
  const mSign = mom > 0 ? 1 : -1;
  const ffv = f64[nxt + F.FLOW_VOLUME_FAST]!;
  const tf = ffv > 0 ? f64[nxt + F.FLOW_SIGNED_FAST]! / ffv : 0;
  if (
    firesNow(
      f64,
      nxt,
      F.FIRED_MEAN_REVERSION,
      F.COOLDOWN_MEAN_REVERSION,
      mom !== 0 &&
        mom * mom >= k.meanReversionMomentum2 * f64[cur + F.RV_VAR]! &&
        tf * mSign >= k.meanReversionMinFlow &&
        -di * mSign >= k.meanReversionMinBookLean,
      detection,
    )
  ) {
    f64[nxt + F.COOLDOWN_MEAN_REVERSION] = tsUs + k.meanReversionCooldownUs;
    detection = encode(PATTERN.mean_reversion, -mSign);
  }

  // Absorption: one-sided flow that the book absorbs.
  const aDir = tf >= k.absorptionMinFlow && tf > 0 ? 1 : tf <= -k.absorptionMinFlow && tf < 0 ? -1 : 0;
  if (
    firesNow(
      f64,
      nxt,
      F.FIRED_ABSORPTION,
      F.COOLDOWN_ABSORPTION,
      aDir !== 0 && -di * aDir >= k.absorptionMinBookLean && d2 <= k.absorptionMaxDeviationZ2 * v,
      detection,
    )
  ) {
    f64[nxt + F.COOLDOWN_ABSORPTION] = tsUs + k.absorptionCooldownUs;
    detection = encode(PATTERN.absorption, -aDir);
  }

  if (detection !== NO_DETECTION) f64[nxt + F.CANDIDATES] = f64[nxt + F.CANDIDATES]! + 1;
  return detection;
}

/**
 * One detector's arming, written into the next half: while its condition `holds` it fires once —
 * when no higher-priority detector fired this tick and its cooldown (event time) has elapsed —
 * and stays disarmed; once the condition lapses it re-arms. True when it fires now: the caller
 * then sets its cooldown and the detection (doubles stay out of the arguments: they would be
 * boxed on the hot path).
 */
function firesNow(
  f64: Float64Array,
  nxt: number,
  fired: number,
  cooldown: number,
  holds: boolean,
  detection: number,
): boolean {
  if (!holds) {
    f64[nxt + fired] = 0;
    return false;
  }
  if (detection !== NO_DETECTION || f64[nxt + fired] !== 0) return false;
  if (!(f64[nxt + F.LAST_TS_US]! >= f64[nxt + cooldown]!)) return false;
  f64[nxt + fired] = 1;
  return true;
}
