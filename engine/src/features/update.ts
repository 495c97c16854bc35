import { TICK_KIND } from '../ring/layout.ts';
import type { Coefficients } from './params.ts';
import { F, HALF_WORDS, PRICE_SLOTS, PRICES_OFFSET } from './state.ts';

const PRICE_MASK = PRICE_SLOTS - 1;
const US_PER_DAY = 86_400_000_000;

/**
 * Compute the state after one tick into the symbol's next half (`nxt`), reading the current half
 * (`cur`); the caller flips the ACTIVE flag afterwards (state.ts: that flip is the commit point).
 * Pure arithmetic on the Float64Array: no allocation, no call that can throw.
 *
 * Definitions (each has a non-incremental reference in update.test.ts):
 * - reference price p: the trade price of a trade, the mid of a quote (ticks without a usable
 *   price leave every price feature unchanged);
 * - emaFast / emaSlow: EMA of p, seeded with the first p;
 * - vwap: SESSION-cumulative Σ price·size / Σ size over trades since 00:00 UTC of the tick's event
 *   day (reset by the first trade of a new day); the last p until the first trade;
 * - realizedVol: sqrt of the EWMA (from 0) of squared log returns of consecutive p, per tick;
 * - orderFlowImbalance: EWMA(aggressor·size) / EWMA(size) over trades, in [-1, 1];
 * - microPrice: (bid·askSize + ask·bidSize) / (bidSize + askSize) of the last usable quote (every
 *   tick carries the prevailing quote); the last p until the first quote;
 * - spreadZ: (spread - mean) / sd with the EWMA mean / variance of the spread BEFORE this quote
 *   (an outlier is not damped by itself); 0 while sd is 0;
 * - momentum: ln(p_t / p_{t-N}) over the last N reference prices; 0 until N + 1 prices;
 * - band (breakout): max / min of the last W reference prices;
 * - priceZ (mean reversion): (p - emaSlow) / sqrt(EWMA of (p - emaSlow)^2 before this tick).
 */
export function computeNextHalf(
  f64: Float64Array,
  block: number,
  cur: number,
  nxt: number,
  abs: number,
  tsUs: number,
  kind: number,
  aggressor: number,
  price: number,
  size: number,
  bid: number,
  ask: number,
  bidSize: number,
  askSize: number,
  k: Coefficients,
): void {
  for (let i = 0; i < HALF_WORDS; i++) f64[nxt + i] = f64[cur + i]!;
  f64[nxt + F.LAST_APPLIED_ABS] = abs;
  f64[nxt + F.TICKS] = f64[cur + F.TICKS]! + 1;
  f64[nxt + F.LAST_TS_US] = tsUs;

  const quoteOk = bid > 0 && ask >= bid && bidSize >= 0 && askSize >= 0 && bidSize + askSize > 0;
  const isTrade = kind === TICK_KIND.trade;
  const p = isTrade ? price : quoteOk ? (bid + ask) * 0.5 : 0;

  if (p > 0 && p < Number.POSITIVE_INFINITY) {
    const n = f64[cur + F.PRICES]!;
    const prices = block + PRICES_OFFSET;
    if (n === 0) {
      f64[nxt + F.EMA_FAST] = p;
      f64[nxt + F.EMA_SLOW] = p;
      f64[nxt + F.BAND_HI] = p;
      f64[nxt + F.BAND_HI_IDX] = 0;
      f64[nxt + F.BAND_LO] = p;
      f64[nxt + F.BAND_LO_IDX] = 0;
    } else {
      const r = Math.log(p / f64[cur + F.LAST_PRICE]!);
      const rv = (1 - k.aRv) * f64[cur + F.RV_VAR]! + k.aRv * r * r;
      f64[nxt + F.RV_VAR] = rv;
      f64[nxt + F.REALIZED_VOL] = Math.sqrt(rv);
      const emaFast = f64[cur + F.EMA_FAST]!;
      f64[nxt + F.EMA_FAST] = emaFast + k.aFast * (p - emaFast);
      const emaSlowPrev = f64[cur + F.EMA_SLOW]!;
      const emaSlow = emaSlowPrev + k.aSlow * (p - emaSlowPrev);
      f64[nxt + F.EMA_SLOW] = emaSlow;
      const d = p - emaSlow;
      const devVar = f64[cur + F.DEV_VAR]!;
      f64[nxt + F.PRICE_Z] = devVar > 0 ? d / Math.sqrt(devVar) : 0;
      f64[nxt + F.DEV_VAR] = (1 - k.aDev) * devVar + k.aDev * d * d;
      updateBand(f64, nxt, prices, n, p, k.bandWindow);
    }
    // The slot of price n: outside every window the current half reads (PRICE_SLOTS > window + 1).
    f64[prices + (n & PRICE_MASK)] = p;
    f64[nxt + F.PRICES] = n + 1;
    f64[nxt + F.LAST_PRICE] = p;
    const N = k.momentumTicks;
    f64[nxt + F.MOMENTUM] = n >= N ? Math.log(p / f64[prices + ((n - N) & PRICE_MASK)]!) : 0;
  }

  if (isTrade && size > 0 && price > 0) {
    const day = Math.floor(tsUs / US_PER_DAY);
    let pv = f64[cur + F.VWAP_PV]!;
    let v = f64[cur + F.VWAP_V]!;
    if (day !== f64[cur + F.VWAP_DAY]) {
      pv = 0;
      v = 0;
      f64[nxt + F.VWAP_DAY] = day;
    }
    pv += price * size;
    v += size;
    f64[nxt + F.VWAP_PV] = pv;
    f64[nxt + F.VWAP_V] = v;
    f64[nxt + F.VWAP] = pv / v;

    const signed = aggressor * size;
    const os = (1 - k.aOfi) * f64[cur + F.OFI_SIGNED]! + k.aOfi * signed;
    const ov = (1 - k.aOfi) * f64[cur + F.OFI_VOLUME]! + k.aOfi * size;
    f64[nxt + F.OFI_SIGNED] = os;
    f64[nxt + F.OFI_VOLUME] = ov;
    f64[nxt + F.OFI] = os / ov;
    f64[nxt + F.FLOW_SIGNED_FAST] = (1 - k.aFlowFast) * f64[cur + F.FLOW_SIGNED_FAST]! + k.aFlowFast * signed;
    f64[nxt + F.FLOW_VOLUME_FAST] = (1 - k.aFlowFast) * f64[cur + F.FLOW_VOLUME_FAST]! + k.aFlowFast * size;
  } else if (f64[nxt + F.VWAP_V] === 0) {
    f64[nxt + F.VWAP] = f64[nxt + F.LAST_PRICE]!;
  }

  if (quoteOk) {
    f64[nxt + F.MICRO_PRICE] = (bid * askSize + ask * bidSize) / (bidSize + askSize);
    const spread = ask - bid;
    if (f64[cur + F.QUOTES] === 0) {
      f64[nxt + F.SPREAD_MEAN] = spread;
      f64[nxt + F.SPREAD_VAR] = 0;
      f64[nxt + F.SPREAD_Z] = 0;
    } else {
      const mean = f64[cur + F.SPREAD_MEAN]!;
      const sv = f64[cur + F.SPREAD_VAR]!;
      const diff = spread - mean;
      f64[nxt + F.SPREAD_Z] = sv > 0 ? diff / Math.sqrt(sv) : 0;
      f64[nxt + F.SPREAD_MEAN] = mean + k.aSpread * diff;
      f64[nxt + F.SPREAD_VAR] = (1 - k.aSpread) * (sv + k.aSpread * diff * diff);
    }
    f64[nxt + F.QUOTES] = f64[cur + F.QUOTES]! + 1;
  } else if (f64[nxt + F.QUOTES] === 0) {
    f64[nxt + F.MICRO_PRICE] = f64[nxt + F.LAST_PRICE]!;
  }
}

/**
 * Roll the max/min band so that it covers prices n-W+1 .. n once price n (= p) is appended. The
 * extreme is kept with the index where it occurred; only when it leaves the window is the window
 * rescanned (amortised O(1): a rescan happens at most once per W prices per side).
 */
function updateBand(f64: Float64Array, nxt: number, prices: number, n: number, p: number, W: number): void {
  const from = n - W + 1;
  if (p >= f64[nxt + F.BAND_HI]!) {
    f64[nxt + F.BAND_HI] = p;
    f64[nxt + F.BAND_HI_IDX] = n;
  } else if (f64[nxt + F.BAND_HI_IDX]! < from) {
    let hi = p;
    let hiIdx = n;
    for (let i = n - 1; i >= from; i--) {
      const q = f64[prices + (i & PRICE_MASK)]!;
      if (q > hi) {
        hi = q;
        hiIdx = i;
      }
    }
    f64[nxt + F.BAND_HI] = hi;
    f64[nxt + F.BAND_HI_IDX] = hiIdx;
  }
  if (p <= f64[nxt + F.BAND_LO]!) {
    f64[nxt + F.BAND_LO] = p;
    f64[nxt + F.BAND_LO_IDX] = n;
  } else if (f64[nxt + F.BAND_LO_IDX]! < from) {
    let lo = p;
    let loIdx = n;
    for (let i = n - 1; i >= from; i--) {
      const q = f64[prices + (i & PRICE_MASK)]!;
      if (q < lo) {
        lo = q;
        loIdx = i;
      }
    }
    f64[nxt + F.BAND_LO] = lo;
    f64[nxt + F.BAND_LO_IDX] = loIdx;
  }
}
