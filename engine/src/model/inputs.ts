/**
 * Raw candidate features -> the scale-free model input vector.
 *
 * One function, used identically by training (`dataset.ts`, `train-cli.ts`) and by the inference
 * thread, so the model never sees a differently-scaled input in production than in training.
 *
 * Raw features (contract §2, CANDIDATE record, fixed order):
 *   0 emaFast, 1 emaSlow, 2 vwap, 5 microPrice   prices, in the same unit as `price`
 *   3 realizedVol                                std of per-tick log returns (dimensionless)
 *   4 orderFlowImbalance                         (buyVol - sellVol) / (buyVol + sellVol), in [-1, 1]
 *   6 spreadZ                                    z-score of the current spread vs its running mean
 *   7 momentum                                   log return over the momentum lookback (dimensionless)
 *
 * Model inputs (MODEL_INPUT_NAMES order). Price-like features become relative deviations in basis
 * points, so one model serves a $3 stock and a $60,000 coin. Every directional input is multiplied
 * by the candidate's direction: "the trend agrees with the trade" is then the same number for a
 * long and a short, and a small MLP does not have to learn the sign interaction itself. Each input
 * is divided by a typical magnitude (the *_SCALE constants, chosen so typical values are O(1)) and
 * clipped to ±INPUT_CLIP so a jump or a bad tick cannot saturate the hidden layer.
 */

import { PATTERN } from '../ring/layout.ts';

/** Raw feature indices inside the CANDIDATE record's features f64[8] (= layout.ts FEATURE_NAMES order). */
export const RawFeature = {
  emaFast: 0,
  emaSlow: 1,
  vwap: 2,
  realizedVol: 3,
  orderFlowImbalance: 4,
  microPrice: 5,
  spreadZ: 6,
  momentum: 7,
} as const;

export const MODEL_INPUT_NAMES = [
  'trend_bps_dir', // (emaFast / emaSlow - 1) in bps, times direction
  'vwap_dev_bps_dir', // (price / vwap - 1) in bps, times direction
  'realized_vol_bps', // realizedVol in bps (direction-free)
  'ofi_dir', // order-flow imbalance times direction
  'micro_dev_bps_dir', // (microPrice / price - 1) in bps, times direction: where the book leans
  'spread_z', // spread z-score (direction-free: a wide spread hurts both sides)
  'momentum_bps_dir', // momentum in bps, times direction
  'pattern_breakout',
  'pattern_mean_reversion',
  'pattern_absorption',
  'direction', // +1 long, -1 short
] as const;
export const MODEL_INPUT_SIZE = MODEL_INPUT_NAMES.length;

const BPS = 1e4;
/** Typical |emaFast/emaSlow - 1| is a few bps on a liquid instrument. */
export const TREND_SCALE_BPS = 5;
/** Price distance from VWAP: tens of bps intraday. */
export const VWAP_SCALE_BPS = 20;
/** Per-tick log-return std: ~1 bp. */
export const VOL_SCALE_BPS = 1;
/** Micro-price lean relative to price: a fraction of the spread, ~1 bp. */
export const MICRO_SCALE_BPS = 1;
/** Spread z-score is already standardised. */
export const SPREAD_Z_SCALE = 1;
/** Momentum over the lookback: ~10 bps. */
export const MOMENTUM_SCALE_BPS = 10;
/** Inputs are clipped to ±INPUT_CLIP after scaling. */
export const INPUT_CLIP = 8;

function clip(x: number): number {
  // NaN (a degenerate feature, e.g. vwap 0 before the first trade) becomes 0 = "no information".
  if (Number.isNaN(x)) return 0;
  return Math.min(INPUT_CLIP, Math.max(-INPUT_CLIP, x));
}

function relBps(a: number, b: number): number {
  return b > 0 ? (a / b - 1) * BPS : 0;
}

/**
 * Writes MODEL_INPUT_SIZE inputs into `out` starting at `offset` (so the inference thread can fill
 * one row of its batch buffer in place). `features` is read from `featureOffset` (the CANDIDATE
 * record's features sit inside a larger Float64Array view). No allocation.
 */
export function toModelInputs(
  features: ArrayLike<number>,
  price: number,
  pattern: number,
  direction: number,
  out: Float32Array,
  offset = 0,
  featureOffset = 0,
): void {
  const f = featureOffset;
  const dir = direction < 0 ? -1 : 1;
  out[offset] = clip(
    (relBps(features[f + RawFeature.emaFast]!, features[f + RawFeature.emaSlow]!) * dir) / TREND_SCALE_BPS,
  );
  out[offset + 1] = clip((relBps(price, features[f + RawFeature.vwap]!) * dir) / VWAP_SCALE_BPS);
  out[offset + 2] = clip((features[f + RawFeature.realizedVol]! * BPS) / VOL_SCALE_BPS);
  out[offset + 3] = clip(features[f + RawFeature.orderFlowImbalance]! * dir);
  out[offset + 4] = clip((relBps(features[f + RawFeature.microPrice]!, price) * dir) / MICRO_SCALE_BPS);
  out[offset + 5] = clip(features[f + RawFeature.spreadZ]! / SPREAD_Z_SCALE);
  out[offset + 6] = clip((features[f + RawFeature.momentum]! * BPS * dir) / MOMENTUM_SCALE_BPS);
  out[offset + 7] = pattern === PATTERN.breakout ? 1 : 0;
  out[offset + 8] = pattern === PATTERN.mean_reversion ? 1 : 0;
  out[offset + 9] = pattern === PATTERN.absorption ? 1 : 0;
  out[offset + 10] = dir;
}
