import { ASK, BID, type BookSide, type BookSink } from '../../src/book/book-sink.ts';
import type { TickRecord } from '../../src/feeds/tick.ts';

/**
 * The plainest possible BookSink (a Map of price → size per side, sorted on read) for the venue
 * feed tests: obviously right, slow, and independent of the engine's BookRegistry, so a feed test
 * checks the feed and not the book. It also records every call, so tests can assert what the
 * feed did (cleared a book, applied a snapshot).
 */
interface Book {
  bids: Map<number, number>;
  asks: Map<number, number>;
  live: boolean;
}

export class MapBookSink implements BookSink {
  readonly #books = new Map<number, Book>();
  readonly calls = { snapshot: 0, update: 0, trade: 0, clear: 0 };

  #book(id: number): Book {
    let b = this.#books.get(id);
    if (!b) {
      b = { bids: new Map(), asks: new Map(), live: false };
      this.#books.set(id, b);
    }
    return b;
  }

  snapshot(
    symbolId: number,
    bids: ArrayLike<number>,
    bidPairs: number,
    asks: ArrayLike<number>,
    askPairs: number,
  ): void {
    this.calls.snapshot++;
    const b = this.#book(symbolId);
    b.bids.clear();
    b.asks.clear();
    for (let i = 0; i < bidPairs; i++) b.bids.set(bids[2 * i] as number, bids[2 * i + 1] as number);
    for (let i = 0; i < askPairs; i++) b.asks.set(asks[2 * i] as number, asks[2 * i + 1] as number);
    b.live = true;
  }

  update(symbolId: number, side: BookSide, price: number, size: number): void {
    this.calls.update++;
    const b = this.#book(symbolId);
    const m = side === BID ? b.bids : b.asks;
    if (size === 0) m.delete(price);
    else m.set(price, size);
  }

  trade(): void {
    this.calls.trade++;
  }

  clear(symbolId: number): void {
    this.calls.clear++;
    const b = this.#book(symbolId);
    b.bids.clear();
    b.asks.clear();
    b.live = false;
  }

  hasBook(symbolId: number): boolean {
    return this.#books.get(symbolId)?.live ?? false;
  }

  top(symbolId: number, out: TickRecord): boolean {
    const [bid] = this.side(symbolId, BID);
    const [ask] = this.side(symbolId, ASK);
    out.bid = bid?.[0] ?? 0;
    out.bidSize = bid?.[1] ?? 0;
    out.ask = ask?.[0] ?? 0;
    out.askSize = ask?.[1] ?? 0;
    return bid !== undefined && ask !== undefined;
  }

  levels(symbolId: number, side: BookSide, n: number, out: Float64Array): number {
    const lv = this.side(symbolId, side).slice(0, n);
    lv.forEach(([p, s], i) => {
      out[2 * i] = p;
      out[2 * i + 1] = s;
    });
    return lv.length;
  }

  /** One side best first, as [price, size] pairs. */
  side(symbolId: number, side: BookSide): [number, number][] {
    const b = this.#books.get(symbolId);
    if (!b?.live) return [];
    const m = side === BID ? b.bids : b.asks;
    return [...m.entries()].sort((x, y) => (side === BID ? y[0] - x[0] : x[0] - y[0]));
  }
}
