import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { BookFeatures } from '@aegis/shared/market/venue-books';
import { wallClockUs } from '../feeds/feed.ts';
import type { TickRecord } from '../feeds/tick.ts';
import { BookFeatureBook, type BookFeatureOptions, type MutableBookFeatures } from './book-features.ts';
import type { BookSide, BookSink } from './book-sink.ts';
import { OrderBook } from './order-book.ts';

export interface BookRegistryOptions extends BookFeatureOptions {
  /** Levels per side a new book is sized for before it first grows (default 64). */
  readonly initialLevels?: number;
}

export interface BookRegistryStats {
  /** Instruments with a book now (snapshotted, not cleared since). */
  readonly books: number;
  readonly snapshotsApplied: number;
  readonly updatesApplied: number;
  readonly crossedCorrections: number;
  readonly crossedLevelsDropped: number;
  readonly crossedSnapshots: number;
  readonly updatesWithoutBook: number;
  readonly rejectedUpdates: number;
  readonly tradesSeen: number;
  readonly clears: number;
}

/**
 * The engine's L2 books, one `OrderBook` per symbol id (created on its first snapshot), behind the
 * `BookSink` the venue feeds write to. Everything runs on the engine's main thread, per venue
 * message; nothing here allocates per update (a book allocates when it first reaches a depth).
 *
 * Per symbol it keeps a `version` (the `seq` readers see: +1 on every change applied — snapshot,
 * a level that changed, a clear — never on a no-op), the venue event time of the last change, and
 * a changed-set (a flag per id plus the list of flagged ids, so draining is O(changed)) that ONE
 * consumer drains: the venue's `BookPublisher`. A registry therefore serves one venue; an engine
 * with several venues gives each its own registry.
 *
 * Updates for an instrument without a book (never snapshotted, or cleared after a gap) are
 * dropped and counted: deltas only mean something on top of the snapshot they follow.
 */
export class BookRegistry implements BookSink {
  readonly capacity: number;
  readonly #books: (OrderBook | undefined)[];
  readonly #initialLevels: number;
  readonly #has: Uint8Array;
  readonly #version: Float64Array;
  readonly #eventUs: Float64Array;
  readonly #features: BookFeatureBook;
  readonly #scratch: MutableBookFeatures = { imbalance: 0, levels: 0, withdrawal: 0 };
  readonly #changedFlag: Uint8Array;
  readonly #changed: Int32Array;
  #changedCount = 0;

  // Counters (for /metrics).
  snapshotsApplied = 0;
  /** Level updates applied to a book (including ones that changed nothing). */
  updatesApplied = 0;
  /** Updates that crossed the book and dropped opposite levels (order-book.ts). */
  crossedCorrections = 0;
  /** Opposite levels those corrections dropped. */
  crossedLevelsDropped = 0;
  /** Snapshots that arrived crossed or locked (kept as sent). */
  crossedSnapshots = 0;
  /** Updates for an instrument with no book (dropped). */
  updatesWithoutBook = 0;
  /** Updates with an invalid price or size, or an unknown symbol id (dropped). */
  rejectedUpdates = 0;
  tradesSeen = 0;
  clears = 0;

  constructor(capacity: number, options: BookRegistryOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'book registry: capacity must be a positive integer');
    }
    this.capacity = capacity;
    this.#books = new Array(capacity).fill(undefined);
    this.#initialLevels = options.initialLevels ?? 64;
    this.#has = new Uint8Array(capacity);
    this.#version = new Float64Array(capacity);
    this.#eventUs = new Float64Array(capacity);
    this.#features = new BookFeatureBook(capacity, options);
    this.#changedFlag = new Uint8Array(capacity);
    this.#changed = new Int32Array(capacity);
  }

  /** The counters, plus how many instruments have a book now (for /metrics). */
  stats(): BookRegistryStats {
    let books = 0;
    for (let id = 0; id < this.capacity; id++) books += this.#has[id] as number;
    return {
      books,
      snapshotsApplied: this.snapshotsApplied,
      updatesApplied: this.updatesApplied,
      crossedCorrections: this.crossedCorrections,
      crossedLevelsDropped: this.crossedLevelsDropped,
      crossedSnapshots: this.crossedSnapshots,
      updatesWithoutBook: this.updatesWithoutBook,
      rejectedUpdates: this.rejectedUpdates,
      tradesSeen: this.tradesSeen,
      clears: this.clears,
    };
  }

  /** Levels the features are taken over (N). */
  get featureLevels(): number {
    return this.#features.levels;
  }

  /** The features' shared memory (book-features.ts layout), for `BookFeaturesReader` in workers. */
  get featuresSab(): SharedArrayBuffer {
    return this.#features.sab;
  }

  // ---- BookSink ----------------------------------------------------------------------------------

  snapshot(
    symbolId: number,
    bids: ArrayLike<number>,
    bidPairs: number,
    asks: ArrayLike<number>,
    askPairs: number,
    tsEventUs: number,
  ): void {
    if (!this.#inRange(symbolId)) {
      this.rejectedUpdates++;
      return;
    }
    let book = this.#books[symbolId];
    if (!book) {
      book = new OrderBook(this.#initialLevels);
      this.#books[symbolId] = book;
    }
    book.snapshot(bids, bidPairs, asks, askPairs);
    if (book.crossed) this.crossedSnapshots++;
    this.#has[symbolId] = 1;
    this.snapshotsApplied++;
    this.#changedAt(symbolId, book, tsEventUs);
  }

  update(symbolId: number, side: BookSide, price: number, size: number, tsEventUs: number): void {
    if (!this.#inRange(symbolId)) {
      this.rejectedUpdates++;
      return;
    }
    const book = this.#books[symbolId];
    if (!book || this.#has[symbolId] === 0) {
      this.updatesWithoutBook++;
      return;
    }
    const r = book.update(side, price, size);
    if (r < 0) {
      this.rejectedUpdates++;
      return;
    }
    this.updatesApplied++;
    // Withdrawal: depth lost at a level that stood among the N best of its side.
    const prev = book.lastPrevSize;
    if (prev > size && book.lastRank < this.#features.levels) {
      this.#features.onDecrease(symbolId, price, prev - size, tsEventUs);
    }
    if (book.lastCrossedDropped > 0) {
      this.crossedCorrections++;
      this.crossedLevelsDropped += book.lastCrossedDropped;
    }
    if (r === 1) this.#changedAt(symbolId, book, tsEventUs);
  }

  trade(symbolId: number, price: number, size: number, tsEventUs: number): void {
    if (!this.#inRange(symbolId)) return;
    this.tradesSeen++;
    const book = this.#books[symbolId];
    if (!book || this.#has[symbolId] === 0) return;
    this.#features.onTrade(symbolId, price, size, tsEventUs);
    // A refund changes the withdrawal: keep the shared slot current (the book did not change, so
    // no new version).
    this.#storeFeatures(symbolId, book, tsEventUs);
  }

  clear(symbolId: number): void {
    if (!this.#inRange(symbolId)) return;
    const book = this.#books[symbolId];
    if (!book || (this.#has[symbolId] === 0 && book.bids.count === 0 && book.asks.count === 0)) return;
    book.clear();
    this.#has[symbolId] = 0;
    this.clears++;
    this.#features.reset(symbolId);
    this.#features.store(symbolId, Number.NaN, Number.NaN, 0);
    // A clear is the engine's decision (gap, disconnect), not a venue event: it is dated now, so
    // readers see the emptied book as newer than the last one published.
    this.#version[symbolId] = (this.#version[symbolId] as number) + 1;
    this.#eventUs[symbolId] = Math.max(wallClockUs(), this.#eventUs[symbolId] as number);
    this.markChanged(symbolId);
  }

  hasBook(symbolId: number): boolean {
    return this.#inRange(symbolId) && this.#has[symbolId] === 1;
  }

  top(symbolId: number, out: TickRecord): boolean {
    const book = this.#inRange(symbolId) && this.#has[symbolId] === 1 ? this.#books[symbolId] : undefined;
    if (!book) {
      out.bid = 0;
      out.ask = 0;
      out.bidSize = 0;
      out.askSize = 0;
      return false;
    }
    const hasBid = book.bids.count > 0;
    const hasAsk = book.asks.count > 0;
    out.bid = hasBid ? book.bestBid : 0;
    out.ask = hasAsk ? book.bestAsk : 0;
    out.bidSize = book.bestBidSize;
    out.askSize = book.bestAskSize;
    return hasBid && hasAsk;
  }

  levels(symbolId: number, side: BookSide, n: number, out: Float64Array): number {
    const book = this.#inRange(symbolId) && this.#has[symbolId] === 1 ? this.#books[symbolId] : undefined;
    return book ? book.levels(side, n, out) : 0;
  }

  // ---- beyond the sink ---------------------------------------------------------------------------

  /** The instrument's book (read only: change it through the sink methods), if ever created. */
  book(symbolId: number): OrderBook | undefined {
    return this.#inRange(symbolId) ? this.#books[symbolId] : undefined;
  }

  /** The book version (`seq`): 0 before the first change. */
  version(symbolId: number): number {
    return this.#inRange(symbolId) ? (this.#version[symbolId] as number) : 0;
  }

  /** Venue event time (µs) of the last change (a clear: the wall clock when it happened). */
  lastEventUs(symbolId: number): number {
    return this.#inRange(symbolId) ? (this.#eventUs[symbolId] as number) : 0;
  }

  /** Depth imbalance and withdrawal at the last change's event time; null without a book. */
  features(symbolId: number): BookFeatures | null {
    const f = this.featuresInto(symbolId, { imbalance: 0, levels: 0, withdrawal: 0 });
    return f ? { imbalance: f.imbalance, levels: f.levels, withdrawal: f.withdrawal } : null;
  }

  /** `features` without allocating: fills `out`, null without a book. */
  featuresInto(symbolId: number, out: MutableBookFeatures): MutableBookFeatures | null {
    const book = this.#inRange(symbolId) && this.#has[symbolId] === 1 ? this.#books[symbolId] : undefined;
    if (!book) return null;
    return this.#features.compute(symbolId, book, this.#eventUs[symbolId] as number, out);
  }

  /** Ids in the changed-set (not yet drained). */
  get changedCount(): number {
    return this.#changedCount;
  }

  /**
   * Moves up to `out.length` changed ids into `out` (in the order they first changed) and clears
   * their flags; returns how many. Ids that do not fit stay in the set for the next call.
   */
  drainChanged(out: Int32Array): number {
    const k = Math.min(out.length, this.#changedCount);
    for (let j = 0; j < k; j++) {
      const id = this.#changed[j] as number;
      out[j] = id;
      this.#changedFlag[id] = 0;
    }
    if (k < this.#changedCount) this.#changed.copyWithin(0, k, this.#changedCount);
    this.#changedCount -= k;
    return k;
  }

  /** Puts an id (back) in the changed-set: a failed publish round, a periodic full republish. */
  markChanged(symbolId: number): void {
    if (!this.#inRange(symbolId) || this.#changedFlag[symbolId] === 1) return;
    this.#changedFlag[symbolId] = 1;
    this.#changed[this.#changedCount++] = symbolId;
  }

  /** Marks every instrument that ever had a book (published again, empty if cleared). */
  markAll(): void {
    for (let id = 0; id < this.capacity; id++) {
      if ((this.#version[id] as number) > 0) this.markChanged(id);
    }
  }

  #changedAt(id: number, book: OrderBook, tsEventUs: number): void {
    this.#version[id] = (this.#version[id] as number) + 1;
    // The window of the features never runs backwards on an out-of-order event time.
    if (tsEventUs > (this.#eventUs[id] as number)) this.#eventUs[id] = tsEventUs;
    this.#storeFeatures(id, book, this.#eventUs[id] as number);
    this.markChanged(id);
  }

  #storeFeatures(id: number, book: OrderBook, tsEventUs: number): void {
    const f = this.#features.compute(id, book, tsEventUs, this.#scratch);
    this.#features.store(id, f.imbalance, f.withdrawal, tsEventUs);
  }

  #inRange(id: number): boolean {
    return id >= 0 && id < this.capacity && Number.isInteger(id);
  }
}
