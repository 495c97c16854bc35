import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REF_ASK, REF_BID, ReferenceBook } from '../../tests/support/book-reference.ts';
import { ASK, BID, type BookSide } from './book-sink.ts';
import { OrderBook } from './order-book.ts';

/** Prices on a small tick grid so that updates hit existing levels often. */
const price = fc.integer({ min: 1, max: 60 }).map((t) => Math.round(t * 0.25 * 100) / 100 + 100);
const size = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1000 }).map((q) => q / 8) },
);
const side = fc.constantFrom<BookSide>(BID, ASK);
const pairs = fc.array(fc.tuple(price, size), { maxLength: 40 });

type Op =
  | { op: 'snapshot'; bids: [number, number][]; asks: [number, number][] }
  | { op: 'update'; side: BookSide; price: number; size: number }
  | { op: 'clear' };

const ops = fc.array(
  fc.oneof(
    { weight: 1, arbitrary: fc.record({ op: fc.constant('snapshot' as const), bids: pairs, asks: pairs }) },
    {
      weight: 30,
      arbitrary: fc.record({ op: fc.constant('update' as const), side, price, size }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  ),
  { maxLength: 300 },
) as fc.Arbitrary<Op[]>;

/** Spread a snapshot around a mid so it is mostly uncrossed, as venues send them. */
const flat = (levels: [number, number][]) => levels.flat();

function expectSame(book: OrderBook, ref: ReferenceBook, out: Float64Array): void {
  for (const [s, r] of [
    [BID, REF_BID],
    [ASK, REF_ASK],
  ] as const) {
    const n = book.levels(s, 1000, out);
    const got: [number, number][] = [];
    for (let j = 0; j < n; j++) got.push([out[2 * j] as number, out[2 * j + 1] as number]);
    expect(got).toEqual(ref.levels(r));
  }
  const bb = ref.best(REF_BID);
  const ba = ref.best(REF_ASK);
  expect(Number.isNaN(book.bestBid) ? null : [book.bestBid, book.bestBidSize]).toEqual(bb);
  expect(Number.isNaN(book.bestAsk) ? null : [book.bestAsk, book.bestAskSize]).toEqual(ba);
}

describe('OrderBook', () => {
  it('matches the reference book on random snapshot/update/clear sequences', () => {
    const out = new Float64Array(4000);
    fc.assert(
      fc.property(ops, (seq) => {
        const book = new OrderBook(4); // tiny: every sequence exercises growth
        const ref = new ReferenceBook();
        for (const o of seq) {
          if (o.op === 'snapshot') {
            const b = flat(o.bids);
            const a = flat(o.asks);
            book.snapshot(b, o.bids.length, a, o.asks.length);
            ref.snapshot(b, o.bids.length, a, o.asks.length);
          } else if (o.op === 'clear') {
            book.clear();
            ref.clear();
          } else {
            expect(book.update(o.side, o.price, o.size)).toBe(ref.update(o.side, o.price, o.size));
          }
          expectSame(book, ref, out);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('loads sorted, reverse-sorted, shuffled and duplicated snapshots alike', () => {
    fc.assert(
      fc.property(pairs, pairs, fc.constantFrom('asc', 'desc', 'as-is'), (bids, asks, order) => {
        const sortBy = (l: [number, number][], dir: number) =>
          order === 'as-is' ? l : [...l].sort((x, y) => dir * (x[0] - y[0]));
        const b = sortBy(bids, order === 'asc' ? 1 : -1);
        const a = sortBy(asks, order === 'asc' ? 1 : -1);
        const book = new OrderBook(2);
        const ref = new ReferenceBook();
        book.snapshot(flat(b), b.length, flat(a), a.length);
        ref.snapshot(flat(b), b.length, flat(a), a.length);
        expectSame(book, ref, new Float64Array(200));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the best level last, reports the previous size and the rank of an update', () => {
    const book = new OrderBook();
    book.snapshot([100, 1, 99, 2, 98, 3], 3, [101, 4, 102, 5], 2);
    expect([book.bestBid, book.bestBidSize, book.bestAsk, book.bestAskSize]).toEqual([100, 1, 101, 4]);
    expect(book.update(BID, 99, 7)).toBe(1);
    expect([book.lastPrevSize, book.lastRank]).toEqual([2, 1]);
    expect(book.update(BID, 99.5, 1)).toBe(1); // new level between the best and the second
    expect([book.lastPrevSize, book.lastRank]).toEqual([0, 1]);
    expect(book.update(ASK, 103, 0)).toBe(0); // removing a missing level is a no-op
    expect(book.update(ASK, 101, 4)).toBe(0); // same size: nothing changed
    expect(book.update(BID, Number.NaN, 1)).toBe(-1);
    expect(book.update(BID, 100, -1)).toBe(-1);
    expect(book.update(ASK, 0, 1)).toBe(-1);
    const out = new Float64Array(10);
    expect(book.levels(BID, 5, out)).toBe(4);
    expect([...out.subarray(0, 8)]).toEqual([100, 1, 99.5, 1, 99, 7, 98, 3]);
    expect(book.levels(ASK, 1, out)).toBe(1);
    expect([...out.subarray(0, 2)]).toEqual([101, 4]);
  });

  it('uncrosses after an update: the new level wins, the opposite levels through it are dropped', () => {
    const book = new OrderBook();
    book.snapshot([100, 1, 99, 2], 2, [101, 3, 102, 4, 103, 5], 3);
    expect(book.update(BID, 102, 6)).toBe(1); // a bid through two asks (a missed delete)
    expect(book.lastCrossedDropped).toBe(2);
    expect([book.bestBid, book.bestAsk, book.bestAskSize]).toEqual([102, 103, 5]);
    expect(book.update(ASK, 102, 1)).toBe(1); // locked counts as crossed: the bid at 102 goes
    expect(book.lastCrossedDropped).toBe(1);
    expect([book.bestBid, book.bestAsk]).toEqual([100, 102]);
    // A crossed snapshot is kept as the venue sent it (consolidated quotes may be crossed).
    book.snapshot([10, 1], 1, [9, 1], 1);
    expect(book.crossed).toBe(true);
    expect([book.bestBid, book.bestAsk]).toEqual([10, 9]);
  });
});
