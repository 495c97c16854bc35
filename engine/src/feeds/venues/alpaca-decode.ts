import { instrumentSymbolFor } from '@aegis/shared/market/instrument-symbols';
import { z } from 'zod';
import type { BookSink } from '../../book/book-sink.ts';
import { wallClockUs } from '../feed.ts';
import type { MalformedRecords } from '../malformed.ts';
import type { SymbolTable } from '../symbol-table.ts';
import { createTickRecord, MALFORMED, type MalformedKind, type TickSink } from '../tick.ts';
import { parseRfc3339Us } from './rfc3339-time.ts';
import { TickOutlet } from './tick-outlet.ts';

/**
 * Alpaca market data stream v2 (stocks: wss://stream.data.alpaca.markets/v2/{iex|sip|test}) into
 * the book and the tick ring, without a socket: the feed (alpaca-feed.ts) hands it each frame, the
 * feed benchmark hands it recorded frames.
 *
 * Every frame is a JSON array batching several messages, each tagged by `T`:
 *   t  trade  {S, i, x, p, s, t, c, z}           → a trade tick (with the current best bid/ask)
 *   q  quote  {S, bx, bp, bs, ax, ap, as, t, c, z} → the book replaced by one level per side (the
 *                                                   NBBO, or IEX's top for the iex feed) + a quote tick
 *   c  trade correction, x  trade cancel          → counted, not applied (the ring is append-only)
 *   b d u s l i n …  bars, statuses, LULD, …       → counted as ignored (never subscribed here)
 *   success / error / subscription                → handed to `onControl` (zod-checked: rare)
 * `t` is RFC 3339 with up to nanoseconds; rfc3339-time.ts parses it to µs (no Date objects per tick).
 *
 * Aggressor (Lee–Ready's quote rule against the quote in force when the trade arrives): a trade at
 * or above the ask is buyer-initiated (+1), at or below the bid seller-initiated (−1); inside the
 * spread, with no quote yet, or on a locked quote (bid = ask) it is unknown (0). The tick test
 * Lee–Ready uses for midpoint trades is not applied: consolidated trade and quote feeds are not
 * synchronised finely enough for it to mean much, and 0 is honest.
 *
 * What can and cannot be detected (Alpaca numbers nothing across the stream):
 * - A message lost inside one open connection: NOT detectable. There is no stream sequence number;
 *   trade ids `i` are per exchange (and per feed), so consecutive trades of a symbol legitimately
 *   jump. TCP delivers a connection's frames in order and whole, so loss happens only when the
 *   connection ends (the feed counts each reconnect as a gap and clears the books) or when Alpaca
 *   drops a slow client (error 407, counted as a gap by the feed).
 * - Out-of-order messages: detectable per symbol and channel — an event time earlier than the
 *   last one seen for that symbol's trades (or quotes) is counted in `outOfOrder`. A stale quote
 *   is dropped (it would replace a newer top of book); a late trade still printed, so it is kept
 *   as a tick with its own event time. Trades and quotes are not compared with each other: they
 *   come from separate SIP feeds and interleave legitimately.
 * - Clock skew: event time − local receive time is measured per message (`clockSkewMs`, the latest);
 *   one dated beyond `maxFutureSkewMs` ahead is refused and counted in `skewed`. Past-dated messages
 *   are latency, not skew, and pass.
 */

export type AlpacaControl =
  | { readonly kind: 'success'; readonly msg: string }
  | { readonly kind: 'error'; readonly code: number; readonly msg: string }
  | { readonly kind: 'subscription'; readonly trades: readonly string[]; readonly quotes: readonly string[] };

const controlSchema = z.discriminatedUnion('T', [
  z.object({ T: z.literal('success'), msg: z.string() }),
  z.object({ T: z.literal('error'), code: z.number().int(), msg: z.string().default('') }),
  z.object({
    T: z.literal('subscription'),
    trades: z.array(z.string()).default([]),
    quotes: z.array(z.string()).default([]),
  }),
]);

export interface AlpacaDecoderOptions {
  /** MalformedRecords source and log label (the feed name). */
  readonly source?: string;
  readonly symbolTable: SymbolTable;
  readonly malformed: MalformedRecords;
  readonly books: BookSink;
  readonly maxFutureSkewMs: number;
  /** Local wall clock in µs (tests pin it). */
  readonly nowUs?: () => number;
  /** success / error / subscription messages, in stream order. */
  readonly onControl?: (control: AlpacaControl) => void;
  /**
   * Intern tickers first seen in the stream (default true). The feed interns its subscribed
   * tickers up front and passes false: Alpaca may still send a few messages for a symbol just
   * unsubscribed, and nothing the venue sends may fill the fixed-capacity symbol table.
   */
  readonly internNewSymbols?: boolean;
}

/** Types Alpaca sends on channels this feed never subscribes to (or status): counted, skipped. */
const IGNORED_TYPES = new Set(['b', 'd', 'u', 's', 'l', 'i', 'n', 'o']);

export class AlpacaDecoder {
  readonly #source: string;
  readonly #o: AlpacaDecoderOptions;
  readonly #now: () => number;
  readonly #t = createTickRecord();
  readonly #ids = new Map<string, number>();
  /** Last event time (µs) per symbol id, per channel; 0 = none yet. */
  #lastTradeUs = new Float64Array(64);
  #lastQuoteUs = new Float64Array(64);
  /** One level per side: [price, size]. */
  readonly #bid = new Float64Array(2);
  readonly #ask = new Float64Array(2);
  readonly #out: TickOutlet;

  /** Venue messages (array elements) seen, control messages included. */
  messagesIn = 0;
  malformed = 0;
  skewed = 0;
  outOfOrder = 0;
  corrections = 0;
  cancels = 0;
  /** Messages of channels never subscribed, or of tickers not subscribed (feed mode). */
  ignored = 0;
  /** Latest venue-minus-local clock offset in ms (NaN until a dated message). */
  clockSkewMs = Number.NaN;

  constructor(options: AlpacaDecoderOptions) {
    this.#o = options;
    this.#source = options.source ?? 'alpaca';
    this.#now = options.nowUs ?? wallClockUs;
    this.#out = new TickOutlet(options.books, (kind) => this.#reject(kind));
  }

  get ticksIn(): number {
    return this.#out.ticksIn;
  }

  get ticksDropped(): number {
    return this.#out.ticksDropped;
  }

  /** Symbol ids this decoder has interned (the feed clears their books on a disconnect). */
  symbolIds(): IterableIterator<number> {
    return this.#ids.values();
  }

  /**
   * Forgets the last event time per symbol, so the next messages are not taken for out-of-order
   * ones (a benchmark replaying the same recorded frames again; never needed by the live feed).
   */
  forgetEventTimes(): void {
    this.#lastTradeUs.fill(0);
    this.#lastQuoteUs.fill(0);
  }

  /** The instrument symbol id of an Alpaca ticker, interning it; -1 when it cannot be. */
  symbolIdOf(ticker: string): number {
    const known = this.#ids.get(ticker);
    if (known !== undefined) return known;
    const id = this.#o.symbolTable.intern(instrumentSymbolFor('ALPACA', ticker));
    if (id < 0) return -1;
    this.#ids.set(ticker, id);
    if (id >= this.#lastTradeUs.length) {
      const n = Math.max(id + 1, this.#lastTradeUs.length * 2);
      const grow = (a: Float64Array) => {
        const b = new Float64Array(n);
        b.set(a);
        return b;
      };
      this.#lastTradeUs = grow(this.#lastTradeUs);
      this.#lastQuoteUs = grow(this.#lastQuoteUs);
    }
    return id;
  }

  /** One frame as received. Never throws on venue data: bad messages are counted and skipped. */
  onMessage(raw: string, sink: TickSink): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      this.messagesIn++;
      this.#reject(MALFORMED.payload);
      return;
    }
    if (!Array.isArray(parsed)) {
      this.messagesIn++;
      this.#reject(MALFORMED.shape);
      return;
    }
    for (let i = 0; i < parsed.length; i++) {
      this.messagesIn++;
      const m = parsed[i] as Record<string, unknown> | null;
      if (typeof m !== 'object' || m === null) {
        this.#reject(MALFORMED.shape);
        continue;
      }
      const type = m.T;
      if (type === 'q') this.#quote(m, sink);
      else if (type === 't') this.#trade(m, sink);
      else if (type === 'c') this.corrections++;
      else if (type === 'x') this.cancels++;
      else if (type === 'success' || type === 'error' || type === 'subscription') this.#control(m);
      else if (typeof type === 'string' && IGNORED_TYPES.has(type)) this.ignored++;
      else this.#reject(MALFORMED.kind);
    }
  }

  #reject(kind: MalformedKind): void {
    this.malformed++;
    this.#o.malformed.record(this.#source, kind, this.messagesIn);
  }

  #control(m: Record<string, unknown>): void {
    const c = controlSchema.safeParse(m);
    if (!c.success) {
      this.#reject(MALFORMED.payload);
      return;
    }
    const v = c.data;
    const out: AlpacaControl =
      v.T === 'success'
        ? { kind: 'success', msg: v.msg }
        : v.T === 'error'
          ? { kind: 'error', code: v.code, msg: v.msg }
          : { kind: 'subscription', trades: v.trades, quotes: v.quotes };
    this.#o.onControl?.(out);
  }

  /** The symbol id and event time of a data message, or -1 (counted) when either is bad or skewed. */
  #head(m: Record<string, unknown>): number {
    const ticker = m.S;
    if (typeof ticker !== 'string') {
      this.#reject(MALFORMED.symbol);
      return -1;
    }
    let id = this.#ids.get(ticker) ?? -1;
    if (id < 0) {
      if (this.#o.internNewSymbols === false) {
        this.ignored++;
        return -1;
      }
      id = this.symbolIdOf(ticker);
      if (id < 0) {
        this.#reject(MALFORMED.symbol);
        return -1;
      }
    }
    const ts = typeof m.t === 'string' ? parseRfc3339Us(m.t) : Number.NaN;
    if (Number.isNaN(ts)) {
      this.#reject(MALFORMED.timestamp);
      return -1;
    }
    const skewMs = (ts - this.#now()) / 1000;
    this.clockSkewMs = skewMs;
    if (skewMs > this.#o.maxFutureSkewMs) {
      this.skewed++;
      return -1;
    }
    this.#t.tsEventUs = ts;
    return id;
  }

  #quote(m: Record<string, unknown>, sink: TickSink): void {
    const bp = m.bp;
    const bs = m.bs;
    const ap = m.ap;
    const as = m.as;
    if (
      typeof bp !== 'number' ||
      typeof bs !== 'number' ||
      typeof ap !== 'number' ||
      typeof as !== 'number'
    ) {
      this.#reject(MALFORMED.number);
      return;
    }
    const id = this.#head(m);
    if (id < 0) return;
    // A side with no price (0) is absent; anything negative, non-finite or crossed is bad data.
    if (
      !(bp >= 0 && ap >= 0 && bs >= 0 && as >= 0) ||
      !Number.isFinite(bp + ap + bs + as) ||
      (bp > 0 && ap > 0 && bp > ap)
    ) {
      this.#reject(MALFORMED.quote);
      return;
    }
    const t = this.#t;
    const ts = t.tsEventUs;
    if (ts < (this.#lastQuoteUs[id] as number)) {
      this.outOfOrder++;
      return;
    }
    this.#lastQuoteUs[id] = ts;
    this.#bid[0] = bp;
    this.#bid[1] = bs;
    this.#ask[0] = ap;
    this.#ask[1] = as;
    const books = this.#o.books;
    books.snapshot(id, this.#bid, bp > 0 && bs > 0 ? 1 : 0, this.#ask, ap > 0 && as > 0 ? 1 : 0, ts);
    // One-sided quotes update the book (the ladder shows the side) but make no quote tick.
    if (!books.top(id, t)) return;
    t.symbolId = id;
    t.kind = 2;
    t.aggressor = 0;
    t.price = (t.bid + t.ask) / 2;
    t.size = 0;
    this.#out.publish(t, sink, this.messagesIn);
  }

  #trade(m: Record<string, unknown>, sink: TickSink): void {
    const p = m.p;
    const s = m.s;
    if (typeof p !== 'number' || typeof s !== 'number') {
      this.#reject(MALFORMED.number);
      return;
    }
    const id = this.#head(m);
    if (id < 0) return;
    const t = this.#t;
    const ts = t.tsEventUs;
    if (ts < (this.#lastTradeUs[id] as number)) this.outOfOrder++;
    else this.#lastTradeUs[id] = ts;
    t.symbolId = id;
    t.kind = 1;
    t.price = p;
    t.size = s;
    if (this.#o.books.top(id, t)) {
      t.aggressor = t.bid === t.ask ? 0 : p >= t.ask ? 1 : p <= t.bid ? -1 : 0;
    } else {
      // No two-sided quote in force (none yet, or cleared by a disconnect): no half quotes.
      t.bid = 0;
      t.ask = 0;
      t.bidSize = 0;
      t.askSize = 0;
      t.aggressor = 0;
    }
    this.#out.publish(t, sink, this.messagesIn);
  }
}
