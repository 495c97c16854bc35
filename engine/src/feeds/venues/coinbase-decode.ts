// Over 400 lines on purpose: one venue protocol (envelope, books, trades, sequence gaps) decoded
// over one per-product state.

import { instrumentSymbolFor } from '@aegis/shared/market/instrument-symbols';
import { ASK, BID, type BookSink } from '../../book/book-sink.ts';
import { wallClockUs } from '../feed.ts';
import type { MalformedRecords } from '../malformed.ts';
import type { SymbolTable } from '../symbol-table.ts';
import {
  createTickRecord,
  MALFORMED,
  type MalformedKind,
  parseDecimal,
  type TickRecord,
  type TickSink,
  validateTick,
} from '../tick.ts';
import { parseRfc3339Us } from './rfc3339-time.ts';

/**
 * Decodes Coinbase Advanced Trade market-data messages (wss://advanced-trade-ws.coinbase.com,
 * https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels)
 * into the book sink and tick records, without a socket: the feed hands it each text frame, the
 * feed benchmark calls `onMessage` directly.
 *
 * Every message has the envelope `{channel, client_id, timestamp, sequence_num, events: [...]}`:
 *
 *   l2_data        events [{type: snapshot|update, product_id, updates: [{side: bid|offer,
 *                  event_time, price_level, new_quantity}]}]; new_quantity is the level's new size
 *                  (not a delta), "0" removes the level.
 *   market_trades  events [{type: snapshot|update, trades: [{trade_id, product_id, price, size,
 *                  side: BUY|SELL, time}]}]
 *   heartbeats     events [{current_time, heartbeat_counter}]
 *   subscriptions  events [{subscriptions: {channel: [product ids]}}]
 *   errors         {type: "error", message} (no envelope)
 *
 * `sequence_num` counts every message on the connection, whatever its channel, so a missing
 * number means SOME message was lost and no book of this connection can be trusted: a gap clears
 * every book the decoder knows and asks for a level2 resubscription (Coinbase sends a fresh
 * snapshot on subscribe). A number at or below the last one is a late or repeated message: it is
 * counted (`outOfOrder`) and dropped — applying an old level on top of newer ones would corrupt the
 * book, and the gap its absence caused has already triggered the resync.
 *
 * Hot path: one `JSON.parse` per message (the format forces it), then typed checks by hand — no
 * zod per message (house rule: zod at the edges, typed checks per tick). Levels are parsed into
 * reused Float64Arrays before anything touches the book, so a malformed level leaves the book as
 * it was (and resyncs the product instead of applying half an event).
 */

/**
 * Coinbase reports the MAKER's side on public trades: on the Exchange feed's `match` messages the
 * docs say so outright ("The side field indicates the maker order side. If the side is sell this
 * indicates the maker was a sell order and the match is considered an up-tick"), and Advanced
 * Trade's `market_trades` carries the same field from the same matching engine — NautilusTrader's
 * Coinbase Advanced Trade adapter (`coinbase_side_to_aggressor`: "Coinbase reports the maker side
 * on public market trades, so the aggressor is the opposite side") and bbgo (PR #2509, "correct
 * market trade side to taker side") both invert it. So BUY (a resting buy was hit) = seller
 * aggressed (-1), SELL = buyer aggressed (+1). One constant, should Coinbase ever change it.
 */
const AGGRESSOR_OF_BUY = -1;
const AGGRESSOR_OF_SELL = 1;

export const COINBASE_VENUE = 'COINBASE';

export interface CoinbaseDecoderContext {
  readonly symbolTable: SymbolTable;
  readonly malformed: MalformedRecords;
  readonly books: BookSink;
  /** Ticks dated beyond this many ms ahead of local time are refused (counted as `skewed`). */
  readonly maxFutureSkewMs: number;
  /** MalformedRecords source label (default `coinbase`). */
  readonly source?: string;
  /** Wall clock, µs since the epoch (default `wallClockUs`); tests pass their own. */
  readonly nowUs?: () => number;
  /**
   * The books of these products were cleared (a sequence gap, a malformed level) and need a
   * fresh snapshot: the feed unsubscribes and resubscribes level2 for them.
   */
  readonly onResync?: (productIds: readonly string[], reason: 'gap' | 'malformed') => void;
}

/** Products in one message whose book changed (one quote tick each, after the whole message). */
const MAX_TOUCHED = 64;

export class CoinbaseDecoder {
  readonly #ctx: CoinbaseDecoderContext;
  readonly #source: string;
  readonly #nowUs: () => number;
  readonly #maxSkewUs: number;
  readonly #t: TickRecord = createTickRecord();
  /** product id → symbol id, so the hot path never re-interns. */
  readonly #ids = new Map<string, number>();
  readonly #products: string[] = [];
  /** Symbol ids whose book was cleared and which wait for a snapshot. */
  readonly #awaiting = new Set<number>();
  #lastSeq = -1;
  #tickSeq = 0;
  // Scratch for levels: [price, size] pairs per side, grown when a snapshot is larger.
  #bids = new Float64Array(2048);
  #asks = new Float64Array(2048);
  #updSide = new Int8Array(1024);
  #updPx = new Float64Array(1024);
  #updSz = new Float64Array(1024);
  readonly #touched = new Int32Array(MAX_TOUCHED);
  readonly #touchedTs = new Float64Array(MAX_TOUCHED);
  #touchedN = 0;
  /** The message being decoded: its sequence number (log offset) and skew state. */
  #msgSeq = 0;
  #msgSkewed = false;
  #nowAtMsgUs = 0;
  // Time-parse cache: many levels of one message share their event_time string.
  #lastTsText = '';
  #lastTsUs = Number.NaN;

  // Counters (VenueFeedStats and the feed's extras).
  messages = 0;
  malformedCount = 0;
  gaps = 0;
  outOfOrder = 0;
  resyncs = 0;
  skewed = 0;
  snapshots = 0;
  heartbeats = 0;
  venueErrors = 0;
  /** Updates for a book still waiting for its snapshot (after a gap): skipped, not applied. */
  updatesWithoutBook = 0;
  /** Trades in market_trades snapshot events: history from before this subscription, no ticks. */
  tradeHistorySkipped = 0;
  ticksIn = 0;
  ticksDropped = 0;
  /** Latest venue-minus-local clock offset (envelope timestamp − receive time), ms. */
  clockSkewMs = Number.NaN;
  /** The venue's last error message (`{type: "error"}`), for the log. */
  lastVenueError = '';

  constructor(ctx: CoinbaseDecoderContext) {
    this.#ctx = ctx;
    this.#source = ctx.source ?? 'coinbase';
    this.#nowUs = ctx.nowUs ?? wallClockUs;
    this.#maxSkewUs = ctx.maxFutureSkewMs * 1000;
  }

  /** A new connection numbers its messages afresh. */
  resetConnection(): void {
    this.#lastSeq = -1;
    this.#awaiting.clear();
  }

  /** The symbol id of a product id (interned on first sight), or -1 if the table refuses it. */
  symbolIdOf(productId: string): number {
    const known = this.#ids.get(productId);
    if (known !== undefined) return known;
    const id = this.#ctx.symbolTable.intern(instrumentSymbolFor(COINBASE_VENUE, productId));
    if (id >= 0) {
      this.#ids.set(productId, id);
      this.#products.push(productId);
    }
    return id;
  }

  /** Clears the books of these products (a disconnect); they wait for a snapshot again. */
  clearBooks(productIds: readonly string[]): void {
    for (const p of productIds) {
      const id = this.symbolIdOf(p);
      if (id < 0) continue;
      this.#ctx.books.clear(id);
      this.#awaiting.add(id);
    }
  }

  /** True while the product's book is cleared and waits for a snapshot. */
  awaitingSnapshot(productId: string): boolean {
    const id = this.#ids.get(productId);
    return id !== undefined && this.#awaiting.has(id);
  }

  /**
   * Decodes one text frame into the books and `sink`. Returns the number of ticks handed to the
   * sink (the feed batches by it). Never throws on venue data: bad messages are counted.
   */
  onMessage(raw: string, sink: TickSink): number {
    this.messages++;
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      return this.#bad(MALFORMED.payload, `msg ${this.messages}`);
    }
    if (typeof msg !== 'object' || msg === null) return this.#bad(MALFORMED.shape, `msg ${this.messages}`);
    const m = msg as Record<string, unknown>;
    if (m.type === 'error') {
      this.venueErrors++;
      this.lastVenueError = typeof m.message === 'string' ? m.message.slice(0, 200) : 'error';
      return 0;
    }
    const seq = m.sequence_num;
    const channel = m.channel;
    const events = m.events;
    if (typeof channel !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      return this.#bad(MALFORMED.shape, `msg ${this.messages}`);
    }
    this.#msgSeq = seq;
    if (this.#lastSeq >= 0) {
      if (seq <= this.#lastSeq) {
        this.outOfOrder++;
        return 0;
      }
      if (seq !== this.#lastSeq + 1) {
        this.#lastSeq = seq;
        this.gaps++;
        this.#resync(this.#products, 'gap');
        // The message itself arrived whole: go on (a snapshot in it is fresh; updates to the
        // cleared books are skipped until their snapshot).
      }
    }
    this.#lastSeq = seq;
    if (!Array.isArray(events)) return this.#bad(MALFORMED.shape, `seq ${seq}`);
    const ts = typeof m.timestamp === 'string' ? this.#timeUs(m.timestamp) : Number.NaN;
    if (Number.isNaN(ts)) return this.#bad(MALFORMED.timestamp, `seq ${seq}`);
    this.#nowAtMsgUs = this.#nowUs();
    this.clockSkewMs = (ts - this.#nowAtMsgUs) / 1000;
    this.#msgSkewed = false;
    if (ts - this.#nowAtMsgUs > this.#maxSkewUs) this.#markSkewed();

    switch (channel) {
      case 'l2_data':
        return this.#l2(events, ts, sink);
      case 'market_trades':
        return this.#trades(events, sink);
      case 'heartbeats':
        this.heartbeats++;
        return 0;
      default:
        // subscriptions acknowledgements and channels this feed does not subscribe to.
        return 0;
    }
  }

  #l2(events: unknown[], msgTs: number, sink: TickSink): number {
    this.#touchedN = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as Record<string, unknown> | null;
      if (typeof e !== 'object' || e === null) {
        this.#bad(MALFORMED.shape, `seq ${this.#msgSeq}`);
        continue;
      }
      const productId = e.product_id;
      const updates = e.updates;
      if (typeof productId !== 'string' || !Array.isArray(updates)) {
        this.#bad(MALFORMED.shape, `seq ${this.#msgSeq}`);
        continue;
      }
      const id = this.symbolIdOf(productId);
      if (id < 0) {
        this.#bad(MALFORMED.symbol, `seq ${this.#msgSeq}`);
        continue;
      }
      if (e.type === 'snapshot') this.#snapshot(id, productId, updates, msgTs);
      else if (e.type === 'update') this.#update(id, productId, updates);
      else this.#bad(MALFORMED.kind, `seq ${this.#msgSeq}`);
    }
    // One quote tick per product per message, after all of its changes.
    let n = 0;
    const t = this.#t;
    for (let i = 0; i < this.#touchedN; i++) {
      const id = this.#touched[i] as number;
      if (!this.#ctx.books.top(id, t)) continue; // one side empty: no quote to give
      t.symbolId = id;
      t.kind = 2;
      t.aggressor = 0;
      t.price = (t.bid + t.ask) / 2;
      t.size = 0;
      t.tsEventUs = this.#touchedTs[i] as number;
      n += this.#emit(sink);
    }
    return n;
  }

  /** Applies a snapshot event; false when a level was unreadable (nothing applied). */
  #snapshot(id: number, productId: string, updates: unknown[], msgTs: number): boolean {
    const need = updates.length * 2;
    if (this.#bids.length < need) this.#bids = new Float64Array(need * 2);
    if (this.#asks.length < need) this.#asks = new Float64Array(need * 2);
    const bids = this.#bids;
    const asks = this.#asks;
    let nb = 0;
    let na = 0;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i] as Record<string, unknown> | null;
      if (typeof u !== 'object' || u === null) return this.#badLevel(id, productId, MALFORMED.shape);
      const px = typeof u.price_level === 'string' ? parseDecimal(u.price_level) : Number.NaN;
      const sz = typeof u.new_quantity === 'string' ? parseDecimal(u.new_quantity) : Number.NaN;
      if (!(px > 0) || !Number.isFinite(px)) return this.#badLevel(id, productId, MALFORMED.price);
      if (!(sz >= 0) || !Number.isFinite(sz)) return this.#badLevel(id, productId, MALFORMED.size);
      if (sz === 0) continue; // an empty level in a snapshot is no level
      if (u.side === 'bid') {
        bids[nb++] = px;
        bids[nb++] = sz;
      } else if (u.side === 'offer') {
        asks[na++] = px;
        asks[na++] = sz;
      } else return this.#badLevel(id, productId, MALFORMED.shape);
    }
    this.#ctx.books.snapshot(id, bids, nb / 2, asks, na / 2, msgTs);
    this.#awaiting.delete(id);
    this.snapshots++;
    this.#touch(id, msgTs);
    return true;
  }

  /** Applies an update event; false when it was skipped or unreadable. */
  #update(id: number, productId: string, updates: unknown[]): boolean {
    const books = this.#ctx.books;
    if (!books.hasBook(id)) {
      // Cleared after a gap or disconnect: nothing to apply these to until the snapshot.
      this.updatesWithoutBook++;
      return false;
    }
    if (this.#updPx.length < updates.length) {
      const cap = updates.length * 2;
      this.#updSide = new Int8Array(cap);
      this.#updPx = new Float64Array(cap);
      this.#updSz = new Float64Array(cap);
    }
    const sides = this.#updSide;
    const pxs = this.#updPx;
    const szs = this.#updSz;
    let latest = 0;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i] as Record<string, unknown> | null;
      if (typeof u !== 'object' || u === null) return this.#badLevel(id, productId, MALFORMED.shape);
      const px = typeof u.price_level === 'string' ? parseDecimal(u.price_level) : Number.NaN;
      const sz = typeof u.new_quantity === 'string' ? parseDecimal(u.new_quantity) : Number.NaN;
      const ts = typeof u.event_time === 'string' ? this.#timeUs(u.event_time) : Number.NaN;
      if (!(px > 0) || !Number.isFinite(px)) return this.#badLevel(id, productId, MALFORMED.price);
      if (!(sz >= 0) || !Number.isFinite(sz)) return this.#badLevel(id, productId, MALFORMED.size);
      if (Number.isNaN(ts)) return this.#badLevel(id, productId, MALFORMED.timestamp);
      if (u.side === 'bid') sides[i] = BID;
      else if (u.side === 'offer') sides[i] = ASK;
      else return this.#badLevel(id, productId, MALFORMED.shape);
      pxs[i] = px;
      szs[i] = sz;
      if (ts > latest) latest = ts;
    }
    for (let i = 0; i < updates.length; i++) {
      books.update(id, sides[i] === BID ? BID : ASK, pxs[i] as number, szs[i] as number, latest);
    }
    if (updates.length > 0) this.#touch(id, latest);
    return true;
  }

  #trades(events: unknown[], sink: TickSink): number {
    let n = 0;
    const t = this.#t;
    const books = this.#ctx.books;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as Record<string, unknown> | null;
      if (typeof e !== 'object' || e === null || !Array.isArray(e.trades)) {
        this.#bad(MALFORMED.shape, `seq ${this.#msgSeq}`);
        continue;
      }
      const trades = e.trades as unknown[];
      if (e.type === 'snapshot') {
        // Recent trades Coinbase replays on subscribe: printed before this connection (and
        // replayed again on every reconnect), so publishing them would duplicate ticks.
        this.tradeHistorySkipped += trades.length;
        continue;
      }
      // Coinbase lists a batch newest first (collected over 250 ms; ccxt's pro.coinbase reverses
      // it for the same reason): walk it backwards so ticks leave in time order.
      for (let j = trades.length - 1; j >= 0; j--) {
        const tr = trades[j] as Record<string, unknown> | null;
        if (typeof tr !== 'object' || tr === null || typeof tr.product_id !== 'string') {
          this.#bad(MALFORMED.shape, `seq ${this.#msgSeq}`);
          continue;
        }
        const px = typeof tr.price === 'string' ? parseDecimal(tr.price) : Number.NaN;
        const sz = typeof tr.size === 'string' ? parseDecimal(tr.size) : Number.NaN;
        const ts = typeof tr.time === 'string' ? this.#timeUs(tr.time) : Number.NaN;
        if (Number.isNaN(px) || Number.isNaN(sz)) {
          this.#bad(MALFORMED.number, `seq ${this.#msgSeq}`);
          continue;
        }
        if (Number.isNaN(ts)) {
          this.#bad(MALFORMED.timestamp, `seq ${this.#msgSeq}`);
          continue;
        }
        const side = tr.side;
        const aggressor = side === 'BUY' ? AGGRESSOR_OF_BUY : side === 'SELL' ? AGGRESSOR_OF_SELL : 2;
        if (aggressor === 2) {
          this.#bad(MALFORMED.aggressor, `seq ${this.#msgSeq}`);
          continue;
        }
        const id = this.symbolIdOf(tr.product_id);
        if (id < 0) {
          this.#bad(MALFORMED.symbol, `seq ${this.#msgSeq}`);
          continue;
        }
        // Best bid/ask as they stand when the trade prints (zeros while the book is cleared).
        books.top(id, t);
        t.symbolId = id;
        t.kind = 1;
        t.aggressor = aggressor;
        t.price = px;
        t.size = sz;
        t.tsEventUs = ts;
        t.seq = this.#tickSeq;
        // A trade the tick stream refuses (a non-positive price …) must not shape the book
        // features either; #emit counts it.
        if (validateTick(t) === null) books.trade(id, px, sz, ts);
        n += this.#emit(sink);
      }
    }
    return n;
  }

  /** Validates and publishes the scratch tick; 1 if the sink took it. */
  #emit(sink: TickSink): number {
    const t = this.#t;
    t.seq = this.#tickSeq;
    const bad = validateTick(t);
    if (bad !== null) {
      this.#bad(bad, `seq ${this.#msgSeq}`);
      return 0;
    }
    if (this.#msgSkewed || t.tsEventUs - this.#nowAtMsgUs > this.#maxSkewUs) {
      this.#markSkewed();
      return 0;
    }
    this.#tickSeq++;
    if (sink.publish(t)) {
      this.ticksIn++;
      return 1;
    }
    this.ticksDropped++;
    return 0;
  }

  /** Counts the message once as skewed; none of its ticks are published. */
  #markSkewed(): void {
    if (!this.#msgSkewed) this.skewed++;
    this.#msgSkewed = true;
  }

  #touch(id: number, ts: number): void {
    for (let i = 0; i < this.#touchedN; i++) {
      if (this.#touched[i] === id) {
        if (ts > (this.#touchedTs[i] as number)) this.#touchedTs[i] = ts;
        return;
      }
    }
    if (this.#touchedN === MAX_TOUCHED) return;
    this.#touched[this.#touchedN] = id;
    this.#touchedTs[this.#touchedN] = ts;
    this.#touchedN++;
  }

  #bad(kind: MalformedKind, offset: string): number {
    this.malformedCount++;
    this.#ctx.malformed.record(this.#source, kind, offset);
    return 0;
  }

  /** A level that cannot be read: the event is not applied and the product's book resyncs. */
  #badLevel(id: number, productId: string, kind: MalformedKind): false {
    this.#bad(kind, `seq ${this.#msgSeq} ${productId}`);
    if (!this.#awaiting.has(id)) this.#resync([productId], 'malformed');
    return false;
  }

  #resync(productIds: readonly string[], reason: 'gap' | 'malformed'): void {
    if (productIds.length === 0) return;
    for (const p of productIds) {
      const id = this.#ids.get(p);
      if (id === undefined) continue;
      this.#ctx.books.clear(id);
      this.#awaiting.add(id);
    }
    this.resyncs++;
    this.#ctx.onResync?.(productIds, reason);
  }

  /** Coinbase's RFC 3339 times (`2023-02-09T20:32:50.714964855Z`) → µs, or NaN. */
  #timeUs(s: string): number {
    if (s === this.#lastTsText) return this.#lastTsUs;
    const us = parseRfc3339Us(s);
    this.#lastTsText = s;
    this.#lastTsUs = us;
    return us;
  }
}
