import type { BookSink } from '../../book/book-sink.ts';
import type { MalformedRecords } from '../malformed.ts';
import { createTickRecord, MALFORMED, type MalformedKind, type TickSink } from '../tick.ts';
import { TickOutlet } from './tick-outlet.ts';

/**
 * The one path from a decoded venue event to the tick ring, shared by the ccxt feed and the
 * socket-free Binance decoder: one reused scratch TickRecord, the clock-skew check (venue event
 * time − local time; ticks dated beyond `maxFutureSkewMs` ahead are refused and counted), then
 * the TickOutlet (tick-outlet.ts: the feed's tick sequence, `validateTick`, the sink's accept/drop
 * count). Trade ticks carry the
 * book's current best bid/ask (and reach the book, for its features); quote ticks are the book's
 * top after a change.
 */
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
  readonly #out: TickOutlet;
  skewed = 0;
  malformed = 0;
  /** Latest venue-minus-local clock offset in ms (NaN until a timestamped message). */
  clockSkewMs = Number.NaN;

  constructor(options: TickEmitterOptions) {
    this.#o = options;
    this.#now = options.nowMs ?? Date.now;
    this.#out = new TickOutlet(options.books, (kind, offset) => this.reject(kind, offset));
  }

  get ticksIn(): number {
    return this.#out.ticksIn;
  }

  get ticksDropped(): number {
    return this.#out.ticksDropped;
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
    return this.#out.publish(t, sink, offset);
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
    return this.#out.publish(t, sink, offset);
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
    return this.#out.publish(t, sink, offset);
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
}
