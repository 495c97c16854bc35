import { ccxtVenueName, instrumentSymbolFor } from '@aegis/shared/market/instrument-symbols';
import { ASK, BID, type BookSink } from '../../book/book-sink.ts';
import type { MalformedRecords } from '../malformed.ts';
import type { SymbolTable } from '../symbol-table.ts';
import {
  createTickRecord,
  MALFORMED,
  type MalformedKind,
  parseDecimal,
  type TickSink,
  validateTick,
} from '../tick.ts';

/**
 * Conversions into the tick ring and the book, shared by the ccxt feed and the socket-free
 * Binance decoder the feed benchmark drives:
 *
 * - `VenueTickEmitter`: one reused scratch TickRecord, the feed's tick sequence, the clock-skew
 *   check (venue event time − local time; ticks dated beyond `maxFutureSkewMs` ahead are refused
 *   and counted), `validateTick`, and the sink's accept/drop count. Trade ticks carry the book's
 *   current best bid/ask; quote ticks are the book's top after a change.
 * - `applyCcxtOrderBook`, `ccxtTradeTick`, `ccxtTickerQuote`: ccxt's unified OrderBook, Trade and
 *   Ticker structures (docs.ccxt.com "order book structure", "public trades", "ticker structure")
 *   into the book and ticks. ccxt's trade `side` of a public trade is the taker's side.
 * - `BinanceRawDecoder`: raw Binance Spot WebSocket messages (`trade`, `depthUpdate`, raw or
 *   combined `{stream, data}`) with the documented U/u sequence rules, for the benchmark.
 */

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

/** +1 buyer-initiated, -1 seller-initiated, 0 unknown, from ccxt's taker side of a public trade. */
export function aggressorOfSide(side: string | undefined): number {
  return side === 'buy' ? 1 : side === 'sell' ? -1 : 0;
}

export interface TickEmitterOptions {
  /** MalformedRecords source (the feed name). */
  readonly source: string;
  readonly malformed: MalformedRecords;
  readonly books: BookSink;
  readonly maxFutureSkewMs: number;
  /** Local wall clock in ms (tests pin it). */
  readonly nowMs?: () => number;
}

export class VenueTickEmitter {
  readonly #o: TickEmitterOptions;
  readonly #t = createTickRecord();
  readonly #now: () => number;
  #seq = 0;
  ticksIn = 0;
  ticksDropped = 0;
  skewed = 0;
  malformed = 0;
  /** Latest venue-minus-local clock offset in ms (NaN until a timestamped message). */
  clockSkewMs = Number.NaN;

  constructor(options: TickEmitterOptions) {
    this.#o = options;
    this.#now = options.nowMs ?? Date.now;
  }

  /** Counts a malformed message (by kind, with an offset for the one log line per interval). */
  reject(kind: MalformedKind, offset: string | number): void {
    this.malformed++;
    this.#o.malformed.record(this.#o.source, kind, offset);
  }

  /**
   * Measures skew for a venue event time; false when it is beyond the allowed skew ahead of
   * local time (counted as skewed, to be refused).
   */
  checkSkew(tsEventMs: number): boolean {
    const skew = tsEventMs - this.#now();
    this.clockSkewMs = skew;
    if (skew > this.#o.maxFutureSkewMs) {
      this.skewed++;
      return false;
    }
    return true;
  }

  /** A trade print: into the book (features) and, with the current top, into the ring. */
  trade(
    sink: TickSink,
    symbolId: number,
    tsEventMs: number,
    price: number,
    size: number,
    aggressor: number,
    offset: string | number,
  ): boolean {
    if (!Number.isFinite(tsEventMs)) {
      this.reject(MALFORMED.timestamp, offset);
      return false;
    }
    if (!this.checkSkew(tsEventMs)) return false;
    const t = this.#t;
    t.symbolId = symbolId;
    t.tsEventUs = Math.round(tsEventMs * 1000);
    t.kind = 1;
    t.aggressor = aggressor;
    t.price = price;
    t.size = size;
    this.#topInto(symbolId);
    return this.#publish(sink, offset, true);
  }

  /** The book's top after a change, as a quote tick (nothing when a side is empty). */
  quote(sink: TickSink, symbolId: number, tsEventMs: number, offset: string | number): boolean {
    const t = this.#t;
    if (!this.#o.books.top(symbolId, t)) return false;
    t.symbolId = symbolId;
    t.tsEventUs = Math.round(tsEventMs * 1000);
    t.kind = 2;
    t.aggressor = 0;
    t.price = (t.bid + t.ask) / 2;
    t.size = 0;
    return this.#publish(sink, offset, false);
  }

  /** A quote from a venue's best bid/ask directly (a ticker, where no book is kept). */
  quoteFrom(
    sink: TickSink,
    symbolId: number,
    tsEventMs: number,
    bid: number,
    ask: number,
    bidSize: number,
    askSize: number,
    offset: string | number,
  ): boolean {
    const t = this.#t;
    t.symbolId = symbolId;
    t.tsEventUs = Math.round(tsEventMs * 1000);
    t.kind = 2;
    t.aggressor = 0;
    t.bid = bid;
    t.ask = ask;
    t.bidSize = bidSize;
    t.askSize = askSize;
    t.price = (bid + ask) / 2;
    t.size = 0;
    return this.#publish(sink, offset, false);
  }

  #topInto(symbolId: number): void {
    const t = this.#t;
    if (!this.#o.books.top(symbolId, t)) {
      // top() wrote what it had; a one-sided book is published as unknown (0) on both sides so
      // a trade tick never carries half a quote.
      t.bid = 0;
      t.ask = 0;
      t.bidSize = 0;
      t.askSize = 0;
    }
  }

  #publish(sink: TickSink, offset: string | number, isTrade: boolean): boolean {
    const t = this.#t;
    t.seq = this.#seq;
    const bad = validateTick(t);
    if (bad) {
      this.reject(bad, offset);
      return false;
    }
    this.#seq++;
    if (isTrade) this.#o.books.trade(t.symbolId, t.price, t.size, t.tsEventUs);
    if (sink.publish(t)) {
      this.ticksIn++;
      return true;
    }
    this.ticksDropped++;
    return false;
  }
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

// ---------------------------------------------------------------------------------------------
// Raw Binance Spot WebSocket messages (the benchmark's decoder; the feed lets ccxt parse them)
// ---------------------------------------------------------------------------------------------

interface RawBookState {
  readonly symbolId: number;
  /** Last applied final update id `u`; -1 = no snapshot (events are not applied). */
  lastU: number;
  /** The first event after a snapshot may straddle it (U ≤ lastUpdateId+1 ≤ u). */
  first: boolean;
}

export interface BinanceRawDecoderOptions {
  readonly symbolTable: SymbolTable;
  readonly books: BookSink;
  readonly malformed: MalformedRecords;
  /** Binance market ids and ccxt unified symbols: `{ id: 'BTCUSDT', symbol: 'BTC/USDT' }`. */
  readonly markets: readonly { readonly id: string; readonly symbol: string }[];
  readonly maxFutureSkewMs?: number;
  readonly source?: string;
  readonly nowMs?: () => number;
}

/**
 * Decodes raw Binance Spot stream messages into a TickSink and the BookSink without a socket:
 * `trade` → trade tick (`m` true = buyer is maker = seller aggressed); `depthUpdate` → level
 * updates and a quote tick, applied only on a book synced by `snapshot()` and only in sequence
 * (Binance: drop u ≤ lastUpdateId; the first event has U ≤ lastUpdateId+1 ≤ u; then U = previous
 * u + 1). A break in the sequence is a gap: counted, the book cleared until the next snapshot.
 */
export class BinanceRawDecoder {
  readonly emitter: VenueTickEmitter;
  readonly #books: BookSink;
  readonly #byId = new Map<string, RawBookState>();
  readonly #levels = new LevelBuffer();
  messages = 0;
  gaps = 0;
  /** Depth events for a book with no snapshot yet (ignored, as Binance's recipe buffers them). */
  unsynced = 0;

  constructor(o: BinanceRawDecoderOptions) {
    const source = o.source ?? 'binance-raw';
    this.#books = o.books;
    this.emitter = new VenueTickEmitter({
      source,
      malformed: o.malformed,
      books: o.books,
      maxFutureSkewMs: o.maxFutureSkewMs ?? 5_000,
      ...(o.nowMs && { nowMs: o.nowMs }),
    });
    const venue = ccxtVenueName('binance');
    for (const m of o.markets) {
      const symbolId = o.symbolTable.intern(instrumentSymbolFor(venue, m.symbol));
      if (symbolId >= 0) this.#byId.set(m.id, { symbolId, lastU: -1, first: true });
    }
  }

  /** The symbol id a Binance market id decodes to (-1 when not configured). */
  symbolIdOf(marketId: string): number {
    return this.#byId.get(marketId)?.symbolId ?? -1;
  }

  /** A REST depth snapshot (`/api/v3/depth`): the book restarts from `lastUpdateId`. */
  snapshot(
    marketId: string,
    lastUpdateId: number,
    bids: readonly (readonly [string, string])[],
    asks: readonly (readonly [string, string])[],
    tsEventUs: number,
  ): boolean {
    const st = this.#byId.get(marketId);
    if (!st) return false;
    const b = new Float64Array(bids.length * 2);
    const a = new Float64Array(asks.length * 2);
    bids.forEach(([p, q], i) => {
      b[2 * i] = parseDecimal(p);
      b[2 * i + 1] = parseDecimal(q);
    });
    asks.forEach(([p, q], i) => {
      a[2 * i] = parseDecimal(p);
      a[2 * i + 1] = parseDecimal(q);
    });
    this.#books.snapshot(st.symbolId, b, bids.length, a, asks.length, tsEventUs);
    st.lastU = lastUpdateId;
    st.first = true;
    return true;
  }

  onMessage(raw: string, sink: TickSink): void {
    this.messages++;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    if (msg === null || typeof msg !== 'object') {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    // Combined streams wrap the event: {"stream":"btcusdt@trade","data":{…}}.
    const data = typeof msg.stream === 'string' ? (msg.data as Record<string, unknown>) : msg;
    if (data === null || typeof data !== 'object') {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    const e = data.e;
    if (e === 'trade') this.#trade(data, sink);
    else if (e === 'depthUpdate') this.#depth(data, sink);
    else if ('result' in data && 'id' in data) {
      // A SUBSCRIBE acknowledgement: not market data.
    } else this.emitter.reject(MALFORMED.kind, this.messages);
  }

  #trade(m: Record<string, unknown>, sink: TickSink): void {
    const st = typeof m.s === 'string' ? this.#byId.get(m.s) : undefined;
    if (!st) {
      this.emitter.reject(MALFORMED.symbol, this.messages);
      return;
    }
    const price = typeof m.p === 'string' ? parseDecimal(m.p) : Number.NaN;
    const size = typeof m.q === 'string' ? parseDecimal(m.q) : Number.NaN;
    const ts = typeof m.T === 'number' ? m.T : Number.NaN;
    if (typeof m.m !== 'boolean') {
      this.emitter.reject(MALFORMED.aggressor, this.messages);
      return;
    }
    this.emitter.trade(sink, st.symbolId, ts, price, size, m.m ? -1 : 1, this.messages);
  }

  #depth(m: Record<string, unknown>, sink: TickSink): void {
    const st = typeof m.s === 'string' ? this.#byId.get(m.s) : undefined;
    if (!st) {
      this.emitter.reject(MALFORMED.symbol, this.messages);
      return;
    }
    const U = m.U;
    const u = m.u;
    const E = m.E;
    if (
      typeof U !== 'number' ||
      typeof u !== 'number' ||
      typeof E !== 'number' ||
      !Array.isArray(m.b) ||
      !Array.isArray(m.a)
    ) {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    if (st.lastU < 0) {
      this.unsynced++;
      return;
    }
    if (u <= st.lastU) return; // older than the book: dropped, as documented
    const inSequence = st.first ? U <= st.lastU + 1 && u >= st.lastU + 1 : U === st.lastU + 1;
    if (!inSequence) {
      this.gaps++;
      st.lastU = -1;
      this.#books.clear(st.symbolId);
      return;
    }
    // Validate every level before touching the book: a bad level must not leave half an event.
    const nb = parseLevels(m.b, this.#levels, 0);
    const na = nb < 0 ? -1 : parseLevels(m.a, this.#levels, nb);
    if (na < 0) {
      this.emitter.reject(MALFORMED.payload, this.messages);
      return;
    }
    if (!this.emitter.checkSkew(E)) return;
    const tsUs = Math.round(E * 1000);
    const lv = this.#levels.values;
    for (let i = 0; i < nb; i++)
      this.#books.update(st.symbolId, BID, lv[2 * i] as number, lv[2 * i + 1] as number, tsUs);
    for (let i = nb; i < na; i++)
      this.#books.update(st.symbolId, ASK, lv[2 * i] as number, lv[2 * i + 1] as number, tsUs);
    st.lastU = u;
    st.first = false;
    this.emitter.quote(sink, st.symbolId, E, this.messages);
  }
}

/** Binance depth levels: ["price", "qty"] decimal strings, price > 0, qty ≥ 0 (0 removes). */
export function validLevels(levels: unknown[]): boolean {
  for (const lv of levels) {
    if (!Array.isArray(lv) || typeof lv[0] !== 'string' || typeof lv[1] !== 'string') return false;
    const p = parseDecimal(lv[0]);
    const q = parseDecimal(lv[1]);
    if (!(p > 0) || !(q >= 0)) return false;
  }
  return true;
}

/** Reused parse buffer for one depth event's levels (grown, never shrunk). */
class LevelBuffer {
  values = new Float64Array(64);
}

/**
 * Parses Binance levels into `buf` from pair index `at`; returns the pair index after them, or -1
 * when a level is malformed. One parse per number: the buffer is what gets applied.
 */
function parseLevels(levels: unknown[], buf: LevelBuffer, at: number): number {
  if (buf.values.length < 2 * (at + levels.length)) {
    const grown = new Float64Array(Math.max(2 * buf.values.length, 2 * (at + levels.length)));
    grown.set(buf.values);
    buf.values = grown;
  }
  const v = buf.values;
  for (let i = 0; i < levels.length; i++) {
    const lv = levels[i];
    if (!Array.isArray(lv) || typeof lv[0] !== 'string' || typeof lv[1] !== 'string') return -1;
    const p = parseDecimal(lv[0]);
    const q = parseDecimal(lv[1]);
    if (!(p > 0) || !(q >= 0)) return -1;
    v[2 * (at + i)] = p;
    v[2 * (at + i) + 1] = q;
  }
  return at + levels.length;
}
