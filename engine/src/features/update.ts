import { TICK, TICK_KIND } from '../ring/layout.ts';
import type { Coefficients } from './params.ts';
import { F, PRICE_SLOTS } from './state.ts';

const PRICE_MASK = PRICE_SLOTS - 1;
const US_PER_DAY = 86_400_000_000;
const TWO_POW_32 = 4294967296;
const INF = Number.POSITIVE_INFINITY;
const TICK_WORDS32 = TICK.bytes / 4;
const TICK_WORDS64 = TICK.bytes / 8;

/**
 * Typed views over TICK records (ring/layout.ts), record r at byte r × TICK.bytes: a RingBuffer
 * (its u32/u8/i8/f64 views, r = slot) or any array of records.
 */
export interface TickViews {
  readonly u32: Uint32Array;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly f64: Float64Array;
}

/**
 * Compute a symbol's fields after one tick (record `r` of `t`): reads the current half
 * `f64[cur..]`, writes every field of the next half `f64[nxt..]` but APPLIED_END (the caller sets
 * it, then flips ACTIVE, state.ts) and appends the log price to the history at `f64[hist..]`.
 * Each field is loaded once into a local and stored once: no allocation, no call that can throw,
 * one Math.log per tick.
 *
 * Definitions (each has a non-incremental reference in update.test.ts):
 * - reference price p: the trade price of a trade, the mid of a quote (ticks without a usable
 *   price leave every price feature unchanged; usable = positive and finite, for a quote also
 *   ask ≥ bid and some size on the book);
 * - emaFast / emaSlow: EMA of p seeded with the first p (alpha = 2 / (span + 1));
 * - vwap: SESSION-cumulative Σ price·size / Σ size over trades since 00:00 UTC of the session's
 *   day; the first trade at or after the next 00:00 UTC starts a new session; the last p until
 *   the first trade (event time is taken as non-decreasing per symbol);
 * - realizedVol: sqrt of the EWMA (from 0) of squared log returns of consecutive p, per tick;
 * - orderFlowImbalance: EWMA(aggressor·size) / EWMA(size) over trades, in [-1, 1];
 * - microPrice: (bid·askSize + ask·bidSize) / (bidSize + askSize) of the last usable quote (every
 *   tick carries the prevailing quote); the last p until the first quote;
 * - spreadZ: (spread − mean) / sd with the EWMA mean / variance of the spread BEFORE this quote
 *   (an outlier is not damped by itself); 0 while sd is 0;
 * - momentum: ln(p_t / p_{t−N}) over the last N reference prices; 0 until N + 1 prices;
 * - devVar (mean reversion): EWMA (from 0) of (p − emaSlow)^2.
 */
export function computeTick(
  f64: Float64Array,
  hist: number,
  cur: number,
  nxt: number,
  t: TickViews,
  r: number,
  k: Coefficients,
): void {
  // The tick is read here from its record rather than passed as numbers: a double argument to a
  // call that is not inlined is boxed (a heap allocation), and this function is too big to inline.
  const b32 = r * TICK_WORDS32;
  const b64 = r * TICK_WORDS64;
  const b8 = r * TICK.bytes;
  const tsUs = t.u32[b32 + TICK.u32.tsEventHi]! * TWO_POW_32 + t.u32[b32 + TICK.u32.tsEventLo]!;
  const kind = t.u8[b8 + TICK.u8.kind]!;
  const aggressor = t.i8[b8 + TICK.i8.aggressor]!;
  const price = t.f64[b64 + TICK.f64.price]!;
  const size = t.f64[b64 + TICK.f64.size]!;
  const bid = t.f64[b64 + TICK.f64.bid]!;
  const ask = t.f64[b64 + TICK.f64.ask]!;
  const bidSize = t.f64[b64 + TICK.f64.bidSize]!;
  const askSize = t.f64[b64 + TICK.f64.askSize]!;
  let prices = f64[cur + F.PRICES]!;
  let lastPrice = f64[cur + F.LAST_PRICE]!;
  let lastLog = f64[cur + F.LAST_LOG_PRICE]!;
  let emaFast = f64[cur + F.EMA_FAST]!;
  let emaSlow = f64[cur + F.EMA_SLOW]!;
  let pv = f64[cur + F.VWAP_PV]!;
  let vol = f64[cur + F.VWAP_V]!;
  let sessionEnd = f64[cur + F.VWAP_SESSION_END_US]!;
  let rvVar = f64[cur + F.RV_VAR]!;
  let ofiSigned = f64[cur + F.OFI_SIGNED]!;
  let ofiVolume = f64[cur + F.OFI_VOLUME]!;
  let micro = f64[cur + F.MICRO_RAW]!;
  let quotes = f64[cur + F.QUOTES]!;
  let spreadMean = f64[cur + F.SPREAD_MEAN]!;
  let spreadVar = f64[cur + F.SPREAD_VAR]!;
  let spreadZ = f64[cur + F.SPREAD_Z]!;
  let momentum = f64[cur + F.MOMENTUM]!;
  let devVar = f64[cur + F.DEV_VAR]!;
  let flowSigned = f64[cur + F.FLOW_SIGNED_FAST]!;
  let flowVolume = f64[cur + F.FLOW_VOLUME_FAST]!;

  // Usable quote / trade: positive and finite (NaN fails every comparison). Feeds validate at
  // intake; this keeps one bad record from poisoning a symbol's EWMAs for good.
  const depth = bidSize + askSize;
  const quoteOk =
    bid > 0 && ask >= bid && ask < INF && bidSize >= 0 && askSize >= 0 && depth > 0 && depth < INF;
  const isTrade = kind === TICK_KIND.trade;
  const p = isTrade ? price : quoteOk ? (bid + ask) * 0.5 : 0;

  if (p > 0 && p < INF) {
    // Unchanged price (a size-only quote update, a trade at the last price): reuse its log.
    const lp = p === lastPrice ? lastLog : Math.log(p);
    const n = prices;
    if (n === 0) {
      emaFast = p;
      emaSlow = p;
    } else {
      const r = lp - lastLog;
      rvVar = (1 - k.aRv) * rvVar + k.aRv * r * r;
      emaFast += k.aFast * (p - emaFast);
      emaSlow += k.aSlow * (p - emaSlow);
      const d = p - emaSlow;
      devVar = (1 - k.aDev) * devVar + k.aDev * d * d;
    }
    // Slot n: outside every window the current fields read (PRICE_SLOTS > window + 1), so a
    // replay of this tick after a crash reads the same history.
    f64[hist + (n & PRICE_MASK)] = lp;
    const N = k.momentumTicks;
    if (n >= N) momentum = lp - f64[hist + ((n - N) & PRICE_MASK)]!;
    prices = n + 1;
    lastPrice = p;
    lastLog = lp;
  }

  if (isTrade && size > 0 && size < INF && price > 0 && price < INF) {
    if (tsUs >= sessionEnd) {
      pv = 0;
      vol = 0;
      sessionEnd = (Math.floor(tsUs / US_PER_DAY) + 1) * US_PER_DAY;
    }
    pv += price * size;
    vol += size;
    const signed = aggressor * size;
    ofiSigned = (1 - k.aOfi) * ofiSigned + k.aOfi * signed;
    ofiVolume = (1 - k.aOfi) * ofiVolume + k.aOfi * size;
    flowSigned = (1 - k.aFlowFast) * flowSigned + k.aFlowFast * signed;
    flowVolume = (1 - k.aFlowFast) * flowVolume + k.aFlowFast * size;
  }

  if (quoteOk) {
    micro = (bid * askSize + ask * bidSize) / (bidSize + askSize);
    const spread = ask - bid;
    if (quotes === 0) {
      spreadMean = spread;
      spreadVar = 0;
      spreadZ = 0;
    } else {
      const diff = spread - spreadMean;
      spreadZ = spreadVar > 0 ? diff / Math.sqrt(spreadVar) : 0;
      spreadMean += k.aSpread * diff;
      spreadVar = (1 - k.aSpread) * (spreadVar + k.aSpread * diff * diff);
    }
    quotes += 1;
  }

  f64[nxt + F.TICKS] = f64[cur + F.TICKS]! + 1;
  f64[nxt + F.PRICES] = prices;
  f64[nxt + F.LAST_PRICE] = lastPrice;
  f64[nxt + F.LAST_LOG_PRICE] = lastLog;
  f64[nxt + F.LAST_TS_US] = tsUs;
  f64[nxt + F.EMA_FAST] = emaFast;
  f64[nxt + F.EMA_SLOW] = emaSlow;
  f64[nxt + F.VWAP_PV] = pv;
  f64[nxt + F.VWAP_V] = vol;
  f64[nxt + F.VWAP_SESSION_END_US] = sessionEnd;
  f64[nxt + F.RV_VAR] = rvVar;
  f64[nxt + F.OFI_SIGNED] = ofiSigned;
  f64[nxt + F.OFI_VOLUME] = ofiVolume;
  f64[nxt + F.MICRO_RAW] = micro;
  f64[nxt + F.QUOTES] = quotes;
  f64[nxt + F.SPREAD_MEAN] = spreadMean;
  f64[nxt + F.SPREAD_VAR] = spreadVar;
  f64[nxt + F.SPREAD_Z] = spreadZ;
  f64[nxt + F.MOMENTUM] = momentum;
  f64[nxt + F.DEV_VAR] = devVar;
  f64[nxt + F.FLOW_SIGNED_FAST] = flowSigned;
  f64[nxt + F.FLOW_VOLUME_FAST] = flowVolume;
  // Carried over unchanged here; the detectors update them in the next half when they fire.
  f64[nxt + F.COOLDOWN_BREAKOUT] = f64[cur + F.COOLDOWN_BREAKOUT]!;
  f64[nxt + F.COOLDOWN_MEAN_REVERSION] = f64[cur + F.COOLDOWN_MEAN_REVERSION]!;
  f64[nxt + F.COOLDOWN_ABSORPTION] = f64[cur + F.COOLDOWN_ABSORPTION]!;
  f64[nxt + F.CANDIDATES] = f64[cur + F.CANDIDATES]!;
}
