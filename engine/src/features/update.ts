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
 * one Math.log per tick (none when the price is unchanged).
 *
 * Definitions (each has a non-incremental reference in update.test.ts):
 * - usable quote: bid > 0, ask ≥ bid, ask finite; usable book: a usable quote with finite sizes
 *   ≥ 0 and some size on the book;
 * - reference price p: the mid (bid + ask) / 2 of the tick's usable quote (trades carry the
 *   prevailing quote too); a trade without a usable quote falls back to its price; any other tick
 *   leaves every price feature unchanged;
 * - emaFast / emaSlow: EMA of p seeded with the first p (alpha = 2 / (span + 1));
 * - vwap: SESSION-cumulative Σ price·size / Σ size over trades since 00:00 UTC of the session's
 *   day; the first trade at or after the next 00:00 UTC starts a new session; the last p until
 *   the first trade (event time is taken as non-decreasing per symbol);
 * - realizedVol: sqrt of the EWMA (from 0) of squared log returns of consecutive p (the mid's
 *   volatility, not the bid-ask bounce of prints);
 * - trade-sign imbalance (fast / medium / slow spans): EWMA(sign·size) / EWMA(size) over trades,
 *   in [-1, 1]; sign = the aggressor, or, when the feed does not say (0), the side of the mid the
 *   trade printed on (Lee–Ready's quote rule; 0 at the mid or without a quote);
 * - orderFlowImbalance (Cont, Kukanov & Stoikov 2014): per tick with a book after a previous book,
 *   e = 1{b ≥ b'}·q_b − 1{b ≤ b'}·q_b' − 1{a ≤ a'}·q_a + 1{a ≥ a'}·q_a' (primes: the previous
 *   book), 0 on ticks without a book; EWMA (from 0, every tick) of e over the usual touch depth;
 * - depth: per-side EWMAs (seeded) of the touch sizes; depthImbalance = (bid − ask) / (bid + ask)
 *   of those; depthChange = ln(mean of the two / EWMA of (bidSize + askSize) / 2 over a long span);
 * - bookAvailability: EWMA (from 0, every tick) of 1 for a tick with a usable book, else 0;
 * - tradeRate: EWMA (from 0, every tick, span ofiSpan) of 1 for a usable trade, else 0;
 *   volumeTrend: medium- over long-horizon EWMA of trade size (heavier trading lately is > 1);
 * - microPrice: (bid·askSize + ask·bidSize) / (bidSize + askSize) of the last usable quote (its mid
 *   when it had no sizes); the last p until the first usable quote;
 * - spreadZ: (spread − mean) / sd with the EWMA mean / variance of the spread BEFORE this quote
 *   (an outlier is not damped by itself); 0 while sd is 0;
 * - momentum: ln(p_t / p_{t−N}) over the last N reference prices; 0 until N + 1 prices;
 * - devVar (deviation z): EWMA (from 0) of (p − emaSlow)^2.
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
  let flowSigned = f64[cur + F.FLOW_SIGNED]!;
  let flowVolume = f64[cur + F.FLOW_VOLUME]!;
  let micro = f64[cur + F.MICRO_RAW]!;
  let quotes = f64[cur + F.QUOTES]!;
  let spreadMean = f64[cur + F.SPREAD_MEAN]!;
  let spreadVar = f64[cur + F.SPREAD_VAR]!;
  let spreadZ = f64[cur + F.SPREAD_Z]!;
  let momentum = f64[cur + F.MOMENTUM]!;
  let devVar = f64[cur + F.DEV_VAR]!;
  let fastSigned = f64[cur + F.FLOW_SIGNED_FAST]!;
  let fastVolume = f64[cur + F.FLOW_VOLUME_FAST]!;
  let slowSigned = f64[cur + F.FLOW_SIGNED_SLOW]!;
  let slowVolume = f64[cur + F.FLOW_VOLUME_SLOW]!;
  let prevBid = f64[cur + F.PREV_BID]!;
  let prevAsk = f64[cur + F.PREV_ASK]!;
  let prevBidSize = f64[cur + F.PREV_BID_SIZE]!;
  let prevAskSize = f64[cur + F.PREV_ASK_SIZE]!;
  let cks = f64[cur + F.CKS_OFI]!;
  let bidDepth = f64[cur + F.BID_DEPTH_FAST]!;
  let askDepth = f64[cur + F.ASK_DEPTH_FAST]!;
  let depthSlow = f64[cur + F.DEPTH_SLOW]!;
  let bookAvail = f64[cur + F.BOOK_AVAIL]!;
  let books = f64[cur + F.BOOKS]!;
  let tradeRate = f64[cur + F.TRADE_RATE]!;

  // Usable quote / book / trade: positive and finite (NaN fails every comparison). Feeds validate
  // at intake; this keeps one bad record from poisoning a symbol's EWMAs for good.
  const quoteOk = bid > 0 && ask >= bid && ask < INF;
  const depth = bidSize + askSize;
  const bookOk = quoteOk && bidSize >= 0 && askSize >= 0 && depth > 0 && depth < INF;
  const isTrade = kind === TICK_KIND.trade;
  const tradeOk = isTrade && size > 0 && size < INF && price > 0 && price < INF;
  const mid = (bid + ask) * 0.5;
  const p = quoteOk ? mid : tradeOk ? price : 0;

  if (p > 0 && p < INF) {
    // Unchanged price (a size-only quote update, a trade inside an unchanged quote): reuse its log.
    const lp = p === lastPrice ? lastLog : Math.log(p);
    const n = prices;
    if (n === 0) {
      emaFast = p;
      emaSlow = p;
    } else {
      const ret = lp - lastLog;
      rvVar = (1 - k.aRv) * rvVar + k.aRv * ret * ret;
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

  tradeRate = (1 - k.aOfi) * tradeRate + (tradeOk ? k.aOfi : 0);
  if (tradeOk) {
    if (tsUs >= sessionEnd) {
      pv = 0;
      vol = 0;
      sessionEnd = (Math.floor(tsUs / US_PER_DAY) + 1) * US_PER_DAY;
    }
    pv += price * size;
    vol += size;
    const sign = aggressor !== 0 ? aggressor : quoteOk ? (price > mid ? 1 : price < mid ? -1 : 0) : 0;
    const signed = sign * size;
    flowSigned = (1 - k.aOfi) * flowSigned + k.aOfi * signed;
    flowVolume = (1 - k.aOfi) * flowVolume + k.aOfi * size;
    fastSigned = (1 - k.aFlowFast) * fastSigned + k.aFlowFast * signed;
    fastVolume = (1 - k.aFlowFast) * fastVolume + k.aFlowFast * size;
    slowSigned = (1 - k.aFlowSlow) * slowSigned + k.aFlowSlow * signed;
    slowVolume = (1 - k.aFlowSlow) * slowVolume + k.aFlowSlow * size;
  }

  // Order flow at the touch (CKS) and depth: only from ticks with sizes; other ticks add 0 to the
  // OFI and to the availability, so both decay visibly instead of freezing at a stale value.
  let e = 0;
  if (bookOk) {
    if (books > 0) {
      e =
        (bid >= prevBid ? bidSize : 0) -
        (bid <= prevBid ? prevBidSize : 0) -
        (ask <= prevAsk ? askSize : 0) +
        (ask >= prevAsk ? prevAskSize : 0);
      bidDepth += k.aDepthFast * (bidSize - bidDepth);
      askDepth += k.aDepthFast * (askSize - askDepth);
      depthSlow += k.aDepthSlow * (depth * 0.5 - depthSlow);
    } else {
      bidDepth = bidSize;
      askDepth = askSize;
      depthSlow = depth * 0.5;
    }
    prevBid = bid;
    prevAsk = ask;
    prevBidSize = bidSize;
    prevAskSize = askSize;
    books += 1;
  }
  cks = (1 - k.aCks) * cks + k.aCks * e;
  bookAvail = (1 - k.aDepthFast) * bookAvail + (bookOk ? k.aDepthFast : 0);

  if (quoteOk) {
    micro = bookOk ? (bid * askSize + ask * bidSize) / depth : mid;
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
  f64[nxt + F.FLOW_SIGNED] = flowSigned;
  f64[nxt + F.FLOW_VOLUME] = flowVolume;
  f64[nxt + F.MICRO_RAW] = micro;
  f64[nxt + F.QUOTES] = quotes;
  f64[nxt + F.SPREAD_MEAN] = spreadMean;
  f64[nxt + F.SPREAD_VAR] = spreadVar;
  f64[nxt + F.SPREAD_Z] = spreadZ;
  f64[nxt + F.MOMENTUM] = momentum;
  f64[nxt + F.DEV_VAR] = devVar;
  f64[nxt + F.FLOW_SIGNED_FAST] = fastSigned;
  f64[nxt + F.FLOW_VOLUME_FAST] = fastVolume;
  f64[nxt + F.FLOW_SIGNED_SLOW] = slowSigned;
  f64[nxt + F.FLOW_VOLUME_SLOW] = slowVolume;
  f64[nxt + F.PREV_BID] = prevBid;
  f64[nxt + F.PREV_ASK] = prevAsk;
  f64[nxt + F.PREV_BID_SIZE] = prevBidSize;
  f64[nxt + F.PREV_ASK_SIZE] = prevAskSize;
  f64[nxt + F.CKS_OFI] = cks;
  f64[nxt + F.BID_DEPTH_FAST] = bidDepth;
  f64[nxt + F.ASK_DEPTH_FAST] = askDepth;
  f64[nxt + F.DEPTH_SLOW] = depthSlow;
  f64[nxt + F.BOOK_AVAIL] = bookAvail;
  f64[nxt + F.BOOKS] = books;
  f64[nxt + F.TRADE_RATE] = tradeRate;
  // Carried over unchanged here; the detectors update them in the next half when they fire.
  f64[nxt + F.COOLDOWN_BREAKOUT] = f64[cur + F.COOLDOWN_BREAKOUT]!;
  f64[nxt + F.COOLDOWN_MEAN_REVERSION] = f64[cur + F.COOLDOWN_MEAN_REVERSION]!;
  f64[nxt + F.COOLDOWN_ABSORPTION] = f64[cur + F.COOLDOWN_ABSORPTION]!;
  f64[nxt + F.FIRED_BREAKOUT] = f64[cur + F.FIRED_BREAKOUT]!;
  f64[nxt + F.FIRED_MEAN_REVERSION] = f64[cur + F.FIRED_MEAN_REVERSION]!;
  f64[nxt + F.FIRED_ABSORPTION] = f64[cur + F.FIRED_ABSORPTION]!;
  f64[nxt + F.CANDIDATES] = f64[cur + F.CANDIDATES]!;
}
