import { ASK, BID, type BookSink } from '../../book/book-sink.ts';
import { MALFORMED, type TickSink } from '../tick.ts';
import { aggressorOfSide, type VenueTickEmitter } from './ccxt-tick-emitter.ts';

/**
 * ccxt's unified structures into the book and the tick ring (docs.ccxt.com "order book
 * structure", "public trades", "ticker structure"): `applyCcxtOrderBook` (a snapshot first, then
 * level changes), `ccxtTradeTick` (ccxt's `side` of a public trade is the taker's side),
 * `ccxtTickerQuote`. Ticks leave through `VenueTickEmitter` (ccxt-tick-emitter.ts); the raw
 * Binance decoder the benchmark drives is in ccxt-binance-raw.ts (re-exported here).
 */
export { BinanceRawDecoder, type BinanceRawDecoderOptions, validLevels } from './ccxt-binance-raw.ts';
export { aggressorOfSide, type TickEmitterOptions, VenueTickEmitter } from './ccxt-tick-emitter.ts';

/** ccxt's OrderBook as the feed reads it (levels are [price, amount, …]). */
export interface CcxtOrderBookLike {
  readonly bids: ArrayLike<ArrayLike<unknown>>;
  readonly asks: ArrayLike<ArrayLike<unknown>>;
  readonly timestamp?: number | undefined;
}

/** ccxt's public Trade as the feed reads it. */
export interface CcxtTradeLike {
  readonly id?: string | undefined;
  readonly timestamp?: number | undefined;
  readonly price?: number | undefined;
  readonly amount?: number | undefined;
  readonly side?: string | undefined;
}

/** ccxt's Ticker as the feed reads it. */
export interface CcxtTickerLike {
  readonly timestamp?: number | undefined;
  readonly bid?: number | undefined;
  readonly ask?: number | undefined;
  readonly bidVolume?: number | undefined;
  readonly askVolume?: number | undefined;
}

/**
 * One symbol's book as last applied from ccxt (flat [price, size, …], best first, as ccxt sorts
 * them) and the reused buffers for the next one. Grown, never shrunk.
 */
export class LevelScratch {
  bids = new Float64Array(2 * 256);
  asks = new Float64Array(2 * 256);
  prevBids = new Float64Array(2 * 256);
  prevAsks = new Float64Array(2 * 256);
  prevBidPairs = 0;
  prevAskPairs = 0;
  /** False until a book was applied: the first one is a snapshot. */
  hasPrev = false;

  ensure(levels: number): void {
    if (this.bids.length < 2 * levels) {
      this.bids = new Float64Array(2 * levels);
      this.asks = new Float64Array(2 * levels);
    }
    if (this.prevBids.length < 2 * levels) {
      const grow = (old: Float64Array) => {
        const next = new Float64Array(2 * levels);
        next.set(old);
        return next;
      };
      this.prevBids = grow(this.prevBids);
      this.prevAsks = grow(this.prevAsks);
    }
  }

  /** The levels just applied become the previous ones (buffers swapped, nothing copied). */
  keep(nb: number, na: number): void {
    [this.bids, this.prevBids] = [this.prevBids, this.bids];
    [this.asks, this.prevAsks] = [this.prevAsks, this.asks];
    this.prevBidPairs = nb;
    this.prevAskPairs = na;
    this.hasPrev = true;
  }
}

/**
 * Applies a ccxt order book (ccxt already merged the venue's diffs and checked its sequence),
 * its `depth` best levels a side. The first book — and any after the BookSink lost the
 * instrument's book (a gap, a disconnect) — goes in as a snapshot; after that only the levels
 * that differ from the previous book go in, as level updates (removals first, so a level moving
 * across the touch never looks crossed): the book features see real depth changes (withdrawal)
 * instead of a replaced book, and an unchanged deep book costs a compare, not a reload.
 *
 * Returns the number of level changes applied (a snapshot counts its levels; 0 = nothing
 * changed), or -1 when a level is not a [price > 0, amount ≥ 0] pair (nothing applied).
 */
export function applyCcxtOrderBook(
  books: BookSink,
  symbolId: number,
  ob: CcxtOrderBookLike,
  depth: number,
  tsEventUs: number,
  scratch: LevelScratch,
): number {
  if (!ob || typeof ob.bids?.length !== 'number' || typeof ob.asks?.length !== 'number') return -1;
  const nb = Math.min(depth, ob.bids.length);
  const na = Math.min(depth, ob.asks.length);
  scratch.ensure(Math.max(nb, na));
  if (!copyLevels(ob.bids, nb, scratch.bids) || !copyLevels(ob.asks, na, scratch.asks)) return -1;
  let changes: number;
  if (!scratch.hasPrev || !books.hasBook(symbolId)) {
    books.snapshot(symbolId, scratch.bids, nb, scratch.asks, na, tsEventUs);
    changes = nb + na;
  } else {
    const pb = scratch.prevBidPairs;
    const pa = scratch.prevAskPairs;
    changes =
      diffSide(books, symbolId, BID, scratch.prevBids, pb, scratch.bids, nb, tsEventUs, true) +
      diffSide(books, symbolId, ASK, scratch.prevAsks, pa, scratch.asks, na, tsEventUs, true) +
      diffSide(books, symbolId, BID, scratch.prevBids, pb, scratch.bids, nb, tsEventUs, false) +
      diffSide(books, symbolId, ASK, scratch.prevAsks, pa, scratch.asks, na, tsEventUs, false);
  }
  scratch.keep(nb, na);
  return changes;
}

/**
 * A ccxt order book (polled or watched) into the book, then a quote tick when it changed the
 * book (a change beyond `depth` levels changes nothing here); a malformed one is refused.
 * Timestamped by the venue, else by the clock.
 */
export function emitCcxtOrderBook(
  emitter: VenueTickEmitter,
  books: BookSink,
  sink: TickSink,
  sym: { readonly symbol: string; readonly symbolId: number },
  ob: CcxtOrderBookLike,
  depth: number,
  scratch: LevelScratch,
): void {
  const tsMs = typeof ob.timestamp === 'number' ? ob.timestamp : Date.now();
  const n = applyCcxtOrderBook(books, sym.symbolId, ob, depth, Math.round(tsMs * 1000), scratch);
  if (n < 0) emitter.reject(MALFORMED.payload, `book:${sym.symbol}`);
  else if (n > 0 && emitter.checkSkew(tsMs)) emitter.quote(sink, sym.symbolId, tsMs, `book:${sym.symbol}`);
}

/**
 * Merge-walks two best-first sides. `removals`: levels of the old side missing from the new one
 * go to size 0; otherwise levels new or resized are set. Returns the updates made.
 */
function diffSide(
  books: BookSink,
  symbolId: number,
  side: typeof BID | typeof ASK,
  old: Float64Array,
  nOld: number,
  neu: Float64Array,
  nNew: number,
  tsUs: number,
  removals: boolean,
): number {
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < nOld || j < nNew) {
    const po = old[2 * i] as number;
    const pn = neu[2 * j] as number;
    // "Better" is higher for bids, lower for asks: both lists are sorted best first.
    if (j >= nNew || (i < nOld && (side === BID ? po > pn : po < pn))) {
      if (removals) {
        books.update(symbolId, side, po, 0, tsUs);
        n++;
      }
      i++;
    } else if (i >= nOld || (side === BID ? pn > po : pn < po)) {
      if (!removals) {
        books.update(symbolId, side, pn, neu[2 * j + 1] as number, tsUs);
        n++;
      }
      j++;
    } else {
      const sn = neu[2 * j + 1] as number;
      if (!removals && sn !== old[2 * i + 1]) {
        books.update(symbolId, side, pn, sn, tsUs);
        n++;
      }
      i++;
      j++;
    }
  }
  return n;
}

function copyLevels(src: ArrayLike<ArrayLike<unknown>>, n: number, out: Float64Array): boolean {
  for (let i = 0; i < n; i++) {
    const lv = src[i];
    const p = lv?.[0];
    const q = lv?.[1];
    if (typeof p !== 'number' || typeof q !== 'number' || !(p > 0) || !(q >= 0)) return false;
    if (!Number.isFinite(p) || !Number.isFinite(q)) return false;
    out[2 * i] = p;
    out[2 * i + 1] = q;
  }
  return true;
}

/** A ccxt public trade into a trade tick; false when refused (malformed, skewed or dropped). */
export function ccxtTradeTick(
  emitter: VenueTickEmitter,
  sink: TickSink,
  symbolId: number,
  trade: CcxtTradeLike,
): boolean {
  const offset = trade?.id ?? 'trade';
  if (typeof trade?.price !== 'number' || typeof trade.amount !== 'number') {
    emitter.reject(MALFORMED.payload, offset);
    return false;
  }
  const ts = typeof trade.timestamp === 'number' ? trade.timestamp : Number.NaN;
  return emitter.trade(sink, symbolId, ts, trade.price, trade.amount, aggressorOfSide(trade.side), offset);
}

/** A ccxt ticker's best bid/ask into a quote tick (venues polled without an order book). */
export function ccxtTickerQuote(
  emitter: VenueTickEmitter,
  sink: TickSink,
  symbolId: number,
  ticker: CcxtTickerLike,
  nowMs: number,
): boolean {
  const { bid, ask } = ticker ?? {};
  if (typeof bid !== 'number' || typeof ask !== 'number') {
    emitter.reject(MALFORMED.quote, 'ticker');
    return false;
  }
  const ts = typeof ticker.timestamp === 'number' ? ticker.timestamp : nowMs;
  if (!emitter.checkSkew(ts)) return false;
  return emitter.quoteFrom(
    sink,
    symbolId,
    ts,
    bid,
    ask,
    ticker.bidVolume ?? 0,
    ticker.askVolume ?? 0,
    'ticker',
  );
}
