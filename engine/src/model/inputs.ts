/**
 * Raw candidate features -> the scale-free model input vector.
 *
 * One function, used identically by training (`train-cli.ts`, the evaluation harness) and by the
 * inference thread, so the model never sees a differently-scaled input in production than in
 * training.
 *
 * Raw features: the CANDIDATE record's features in FEATURE_NAMES order (ring/layout.ts; their
 * definitions in features/update.ts). Prices (emaFast, emaSlow, vwap, microPrice) are in the unit
 * of `price`; everything else is dimensionless.
 *
 * Model inputs (MODEL_INPUT_NAMES order). Price-like features become relative deviations in basis
 * points, so one model serves a $3 stock and a $60,000 coin. Every directional input is multiplied
 * by the candidate's direction: "the flow agrees with the trade" is then the same number for a
 * long and a short, and a small MLP does not have to learn the sign interaction itself. Each input
 * is divided by a typical magnitude (the *_SCALE constants, chosen so typical values are O(1)) and
 * clipped to ±INPUT_CLIP so a jump or a bad tick cannot saturate the hidden layer. Book-derived
 * inputs come with `book_availability`, so a feed without sizes is visible to the model as such
 * rather than as a book that happens to be balanced.
 */

import { FEATURE_COUNT, PATTERN } from '../ring/layout.ts';

/** Raw feature indices inside the CANDIDATE record's features (= layout.ts FEATURE_NAMES order). */
export const RawFeature = {
  emaFast: 0,
  emaSlow: 1,
  vwap: 2,
  realizedVol: 3,
  orderFlowImbalance: 4,
  microPrice: 5,
  spreadZ: 6,
  momentum: 7,
  tradeImbalanceFast: 8,
  tradeImbalance: 9,
  tradeImbalanceSlow: 10,
  depthImbalance: 11,
  depthChange: 12,
  volumeRatio: 13,
  deviationZ: 14,
  bookAvailability: 15,
  tradeRate: 16,
  volumeTrend: 17,
} as const;
export const RAW_FEATURE_COUNT = FEATURE_COUNT;

export const MODEL_INPUT_NAMES = [
  'trend_bps_dir', // (emaFast / emaSlow - 1) in bps, times direction
  'vwap_dev_bps_dir', // (price / vwap - 1) in bps, times direction
  'mid_vol_bps', // per-tick volatility of the mid in bps (direction-free)
  'ofi_dir', // Cont–Kukanov–Stoikov order-flow imbalance (over the usual depth), times direction
  'micro_dev_bps_dir', // (microPrice / price - 1) in bps, times direction: where the book leans
  'spread_z', // spread z-score (direction-free: a wide spread hurts both sides)
  'momentum_bps_dir', // momentum in bps, times direction
  'trade_imbalance_fast_dir', // trade-sign imbalance, three horizons, times direction
  'trade_imbalance_dir',
  'trade_imbalance_slow_dir',
  'depth_imbalance_dir', // (bid depth - ask depth) / both, times direction
  'depth_change', // ln(touch depth / its usual level)
  'volume_ratio', // short / medium trade volume - 1 (a burst is > 0)
  'deviation_z_dir', // mid's deviation from its slow EMA in sd, times direction
  'book_availability', // share of recent ticks with book sizes (0 = the book inputs carry nothing)
  'trade_rate', // share of recent ticks that are trades, minus one half
  'volume_trend', // ln(medium / long trade-size EWMA)
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
/** Per-tick mid log-return std: ~1 bp. */
export const VOL_SCALE_BPS = 1;
/** OFI per tick over the usual touch depth: tenths. */
export const OFI_SCALE = 0.2;
/** Micro-price lean relative to price: a fraction of the spread, ~1 bp. */
export const MICRO_SCALE_BPS = 1;
/** Spread z-score is already standardised. */
export const SPREAD_Z_SCALE = 1;
/** Momentum over the lookback: ~10 bps. */
export const MOMENTUM_SCALE_BPS = 10;
/** Deviation z: a few sd. */
export const DEVIATION_Z_SCALE = 2;
/** Share of ticks that trade: deviations of a tenth or two from one half. */
export const TRADE_RATE_SCALE = 0.2;
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
  out[offset + 3] = clip((features[f + RawFeature.orderFlowImbalance]! * dir) / OFI_SCALE);
  out[offset + 4] = clip((relBps(features[f + RawFeature.microPrice]!, price) * dir) / MICRO_SCALE_BPS);
  out[offset + 5] = clip(features[f + RawFeature.spreadZ]! / SPREAD_Z_SCALE);
  out[offset + 6] = clip((features[f + RawFeature.momentum]! * BPS * dir) / MOMENTUM_SCALE_BPS);
  out[offset + 7] = clip(features[f + RawFeature.tradeImbalanceFast]! * dir);
  out[offset + 8] = clip(features[f + RawFeature.tradeImbalance]! * dir);
  out[offset + 9] = clip(features[f + RawFeature.tradeImbalanceSlow]! * dir);
  out[offset + 10] = clip(features[f + RawFeature.depthImbalance]! * dir);
  out[offset + 11] = clip(features[f + RawFeature.depthChange]!);
  out[offset + 12] = clip(features[f + RawFeature.volumeRatio]! - 1);
  out[offset + 13] = clip((features[f + RawFeature.deviationZ]! * dir) / DEVIATION_Z_SCALE);
  out[offset + 14] = clip(features[f + RawFeature.bookAvailability]!);
  out[offset + 15] = clip((features[f + RawFeature.tradeRate]! - 0.5) / TRADE_RATE_SCALE);
  const trend = features[f + RawFeature.volumeTrend]!;
  out[offset + 16] = clip(trend > 0 ? Math.log(trend) : 0);
  out[offset + 17] = pattern === PATTERN.breakout ? 1 : 0;
  out[offset + 18] = pattern === PATTERN.mean_reversion ? 1 : 0;
  out[offset + 19] = pattern === PATTERN.absorption ? 1 : 0;
  out[offset + 20] = dir;
}
