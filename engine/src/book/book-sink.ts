import type { TickRecord } from '../feeds/tick.ts';

/**
 * What a venue feed does with depth: the L2 book per instrument (engine/src/book/). Implemented
 * by `BookRegistry` (book-registry.ts); feeds call it from the engine's main thread, per message,
 * never allocating per level on the hot path.
 *
 * Sides: 1 = bid, -1 = ask. Prices and sizes are floats decoded once at intake; size 0 removes a
 * level. Event times are µs since the epoch.
 */
export const BID = 1 as const;
export const ASK = -1 as const;
export type BookSide = typeof BID | typeof ASK;

export interface BookSink {
  /**
   * Replaces the instrument's book. `bids`/`asks` are flat [price0, size0, price1, size1, …] in
   * any order (the book sorts); `pairs` per side says how many pairs to read.
   */
  snapshot(
    symbolId: number,
    bids: ArrayLike<number>,
    bidPairs: number,
    asks: ArrayLike<number>,
    askPairs: number,
    tsEventUs: number,
  ): void;
  /** One level set to `size` (0 removes it). */
  update(symbolId: number, side: BookSide, price: number, size: number, tsEventUs: number): void;
  /**
   * A trade printed at `price` for `size`: depth removed at that price by the trade is not counted
   * as withdrawal (book features).
   */
  trade(symbolId: number, price: number, size: number, tsEventUs: number): void;
  /** Forgets the instrument's book (a sequence gap, a disconnect): empty until the next snapshot. */
  clear(symbolId: number): void;
  /** True once a snapshot was applied and not cleared since. */
  hasBook(symbolId: number): boolean;
  /**
   * Writes best bid/ask and their sizes into `out` (bid, ask, bidSize, askSize); a missing side
   * is 0. Returns false when either side is empty.
   */
  top(symbolId: number, out: TickRecord): boolean;
  /**
   * Copies up to `n` best levels of one side into `out` as flat [price, size] pairs, best first.
   * Returns the number of levels copied. (Checksums, publishing, tests.)
   */
  levels(symbolId: number, side: BookSide, n: number, out: Float64Array): number;
}
