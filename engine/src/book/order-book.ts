import { ASK, BID, type BookSide } from './book-sink.ts';

/**
 * One instrument's L2 book: price levels per side in sorted typed arrays.
 *
 * Memory: per side a `keys` and a `sizes` Float64Array of the same capacity (grown by doubling, so
 * a book allocates only when it reaches a depth it never had; never per update) and a count.
 *
 *   index    0 ........................................ count-1
 *   keys     worst ───────── sorted ascending ─────────► best
 *
 * A level's key is `dir · price` with dir = +1 for bids and −1 for asks (negation is exact in
 * IEEE 754, so a price goes in and comes out bit-identical). Keys ascend, so both sides keep their
 * BEST level LAST: almost all venue traffic lands near the touch, and an insert or removal at
 * index i shifts the `count − i` levels above it — a handful near the touch, where a best-first
 * array would shift the whole side on every touch change. Removing the best level (a cancel at
 * the touch, a crossed-book correction) is a plain `count−−`.
 *
 * Crossed books (best bid ≥ best ask after an update). Within one venue a bid at or above the
 * best ask cannot rest (the matching engine would have filled it), so a crossed book is stale
 * data: a delete missed or delivered out of order across the two sides. The rule, as mature book
 * builders do it (e.g. Hummingbot's `truncateOverlapEntries` drops the older of the crossing
 * entries): the level just updated is the venue's newest word and wins; the opposite levels at or
 * through its price are dropped, and the drop is counted (`lastCrossedDropped`, summed by the
 * registry) so a venue that keeps producing them shows up in /metrics. A locked book (bid == ask)
 * is treated as crossed for the same reason. A SNAPSHOT is applied as the venue sent it, even when
 * crossed or locked: it has no newer side to prefer, and consolidated quotes (Alpaca's, which the
 * feed applies as one-level snapshots) can legitimately be locked or crossed across exchanges; the
 * next update on either side uncrosses it by the rule above.
 */
export class OrderBook {
  readonly bids: BookSideLevels;
  readonly asks: BookSideLevels;
  /** Set by `update`: the level's size before the update (0 when it did not exist). */
  lastPrevSize = 0;
  /** Set by `update`: how many levels of that side were better than the updated price before it. */
  lastRank = 0;
  /** Set by `update`: opposite levels dropped to uncross the book (0 normally). */
  lastCrossedDropped = 0;

  constructor(initialLevels = 64) {
    this.bids = new BookSideLevels(BID, initialLevels);
    this.asks = new BookSideLevels(ASK, initialLevels);
  }

  side(side: BookSide): BookSideLevels {
    return side === BID ? this.bids : this.asks;
  }

  /**
   * Replaces both sides with flat [price, size, …] pairs in any order. Pairs with a size of 0 (or
   * an invalid price or size) are skipped; a price given twice keeps the later size.
   */
  snapshot(bids: ArrayLike<number>, bidPairs: number, asks: ArrayLike<number>, askPairs: number): void {
    this.bids.load(bids, bidPairs);
    this.asks.load(asks, askPairs);
  }

  /**
   * Sets one level to `size` (0 removes it; removing a missing level is a no-op), then uncrosses
   * the book (see the class comment). Returns 1 when the book changed, 0 when it did not, −1 when
   * price or size is invalid (not finite, price ≤ 0, size < 0): the book is left as it was.
   */
  update(side: BookSide, price: number, size: number): -1 | 0 | 1 {
    this.lastCrossedDropped = 0;
    if (!(price > 0 && price < Number.POSITIVE_INFINITY && size >= 0 && size < Number.POSITIVE_INFINITY)) {
      this.lastPrevSize = 0;
      this.lastRank = 0;
      return -1;
    }
    const s = side === BID ? this.bids : this.asks;
    const changed = s.set(price, size);
    this.lastPrevSize = s.lastPrevSize;
    this.lastRank = s.lastRank;
    if (size > 0) {
      // Uncross: drop opposite levels at or through the price just set (best first, O(1) each).
      const o = side === BID ? this.asks : this.bids;
      const through = -s.dir * price; // the opposite side's key of this price
      let dropped = 0;
      while (o.count > 0 && (o.keys[o.count - 1] as number) >= through) {
        o.count--;
        dropped++;
      }
      this.lastCrossedDropped = dropped;
      if (dropped > 0) return 1;
    }
    return changed ? 1 : 0;
  }

  clear(): void {
    this.bids.count = 0;
    this.asks.count = 0;
  }

  /** Best bid price, NaN when the side is empty. */
  get bestBid(): number {
    return this.bids.bestPrice();
  }
  get bestAsk(): number {
    return this.asks.bestPrice();
  }
  /** Size at the best bid, 0 when the side is empty. */
  get bestBidSize(): number {
    return this.bids.bestSize();
  }
  get bestAskSize(): number {
    return this.asks.bestSize();
  }

  /** Best bid ≥ best ask (both sides present): only possible after a crossed snapshot. */
  get crossed(): boolean {
    return this.bids.count > 0 && this.asks.count > 0 && this.bestBid >= this.bestAsk;
  }

  /** Up to `n` best levels of one side into `out` as [price, size] pairs, best first. */
  levels(side: BookSide, n: number, out: Float64Array): number {
    return this.side(side).copyBest(n, out);
  }
}

/** One side's levels (see OrderBook for the layout). */
export class BookSideLevels {
  /** +1 bids, −1 asks: key = dir · price. */
  readonly dir: BookSide;
  keys: Float64Array;
  sizes: Float64Array;
  count = 0;
  /** Set by `set`: the previous size at the price (0 if absent) and its rank from the best. */
  lastPrevSize = 0;
  lastRank = 0;

  constructor(dir: BookSide, initialLevels: number) {
    this.dir = dir;
    const cap = Math.max(4, initialLevels | 0);
    this.keys = new Float64Array(cap);
    this.sizes = new Float64Array(cap);
  }

  bestPrice(): number {
    return this.count > 0 ? this.dir * (this.keys[this.count - 1] as number) : Number.NaN;
  }

  bestSize(): number {
    return this.count > 0 ? (this.sizes[this.count - 1] as number) : 0;
  }

  /** Price of the level `rank` places from the best (0 = best); NaN past the end. */
  priceAt(rank: number): number {
    const i = this.count - 1 - rank;
    return i >= 0 && rank >= 0 ? this.dir * (this.keys[i] as number) : Number.NaN;
  }

  sizeAt(rank: number): number {
    const i = this.count - 1 - rank;
    return i >= 0 && rank >= 0 ? (this.sizes[i] as number) : 0;
  }

  /** Sum of the sizes of the `n` best levels. */
  depth(n: number): number {
    const stop = Math.max(0, this.count - n);
    let sum = 0;
    for (let i = this.count - 1; i >= stop; i--) sum += this.sizes[i] as number;
    return sum;
  }

  copyBest(n: number, out: Float64Array): number {
    const k = Math.min(n, this.count, out.length >> 1);
    for (let j = 0; j < k; j++) {
      const i = this.count - 1 - j;
      out[2 * j] = this.dir * (this.keys[i] as number);
      out[2 * j + 1] = this.sizes[i] as number;
    }
    return k;
  }

  /** First index whose key is ≥ `key` (count when none). */
  lowerBound(key: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sets the level at `price` (validated by the caller) to `size`; true when something changed. */
  set(price: number, size: number): boolean {
    const key = this.dir * price;
    const n = this.count;
    const i = this.lowerBound(key);
    const found = i < n && this.keys[i] === key;
    // Levels with a greater key are better: indexes i..n-1 (i+1..n-1 when the price is there).
    this.lastRank = found ? n - 1 - i : n - i;
    this.lastPrevSize = found ? (this.sizes[i] as number) : 0;
    if (size === 0) {
      if (!found) return false;
      if (i < n - 1) {
        this.keys.copyWithin(i, i + 1, n);
        this.sizes.copyWithin(i, i + 1, n);
      }
      this.count = n - 1;
      return true;
    }
    if (found) {
      if (this.sizes[i] === size) return false;
      this.sizes[i] = size;
      return true;
    }
    if (n === this.keys.length) this.#grow(n * 2);
    if (i < n) {
      this.keys.copyWithin(i + 1, i, n);
      this.sizes.copyWithin(i + 1, i, n);
    }
    this.keys[i] = key;
    this.sizes[i] = size;
    this.count = n + 1;
    return true;
  }

  /** Replaces the side with `pairs` [price, size] pairs from `flat`, in any order. */
  load(flat: ArrayLike<number>, pairs: number): void {
    const want = Math.max(0, Math.min(pairs | 0, flat.length >> 1));
    if (want > this.keys.length) this.#grow(want);
    // Venues send snapshots sorted (best first, usually): copy straight in, and fall back to one
    // binary insert per level only when the order is anything else (or has duplicates).
    let n = 0;
    let ascending = true;
    let descending = true;
    for (let j = 0; j < want; j++) {
      const price = flat[2 * j] as number;
      const size = flat[2 * j + 1] as number;
      if (!(price > 0 && price < Number.POSITIVE_INFINITY && size > 0 && size < Number.POSITIVE_INFINITY))
        continue;
      const key = this.dir * price;
      if (n > 0) {
        const prev = this.keys[n - 1] as number;
        if (!(key > prev)) ascending = false;
        if (!(key < prev)) descending = false;
      }
      this.keys[n] = key;
      this.sizes[n] = size;
      n++;
    }
    if (ascending) {
      this.count = n;
      return;
    }
    if (descending) {
      this.keys.subarray(0, n).reverse();
      this.sizes.subarray(0, n).reverse();
      this.count = n;
      return;
    }
    this.count = 0;
    for (let j = 0; j < want; j++) {
      const price = flat[2 * j] as number;
      const size = flat[2 * j + 1] as number;
      if (!(price > 0 && price < Number.POSITIVE_INFINITY && size > 0 && size < Number.POSITIVE_INFINITY))
        continue;
      this.set(price, size);
    }
  }

  #grow(atLeast: number): void {
    let cap = this.keys.length;
    while (cap < atLeast) cap *= 2;
    const keys = new Float64Array(cap);
    const sizes = new Float64Array(cap);
    keys.set(this.keys.subarray(0, this.count));
    sizes.set(this.sizes.subarray(0, this.count));
    this.keys = keys;
    this.sizes = sizes;
  }
}
