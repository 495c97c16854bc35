import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REF_ASK, REF_BID, ReferenceBook } from '../../tests/support/book-reference.ts';
import { createTickRecord } from '../feeds/tick.ts';
import { BookRegistry } from './book-registry.ts';
import { ASK, BID, type BookSide } from './book-sink.ts';

const T0 = Date.UTC(2026, 11, 4, 12) * 1000;

describe('BookRegistry', () => {
  it('creates a book on the first snapshot and serves top of book and levels per symbol', () => {
    const r = new BookRegistry(4);
    const t = createTickRecord();
    expect(r.hasBook(2)).toBe(false);
    expect(r.top(2, t)).toBe(false);
    expect(r.book(2)).toBeUndefined();
    r.snapshot(2, [100, 1, 99, 2], 2, [101, 3], 1, T0);
    expect(r.hasBook(2)).toBe(true);
    expect(r.hasBook(1)).toBe(false);
    expect(r.top(2, t)).toBe(true);
    expect([t.bid, t.ask, t.bidSize, t.askSize]).toEqual([100, 101, 1, 3]);
    const out = new Float64Array(8);
    expect(r.levels(2, BID, 4, out)).toBe(2);
    expect([...out.subarray(0, 4)]).toEqual([100, 1, 99, 2]);
    // One side empty: top writes 0 for it and says false.
    r.update(2, ASK, 101, 0, T0 + 1);
    expect(r.top(2, t)).toBe(false);
    expect([t.bid, t.ask, t.bidSize, t.askSize]).toEqual([100, 0, 1, 0]);
    // Out-of-range ids are refused, never thrown on.
    r.update(9, BID, 1, 1, T0);
    r.snapshot(-1, [], 0, [], 0, T0);
    expect(r.rejectedUpdates).toBe(2);
    expect(r.hasBook(9)).toBe(false);
  });

  it('drops updates without a book (never snapshotted, or cleared) until the next snapshot', () => {
    const r = new BookRegistry(2);
    r.update(0, BID, 100, 1, T0);
    expect(r.updatesWithoutBook).toBe(1);
    expect(r.hasBook(0)).toBe(false);
    r.snapshot(0, [100, 1], 1, [101, 1], 1, T0);
    r.clear(0);
    expect(r.hasBook(0)).toBe(false);
    r.update(0, BID, 100.5, 1, T0 + 1);
    expect(r.updatesWithoutBook).toBe(2);
    expect(r.levels(0, BID, 5, new Float64Array(10))).toBe(0);
    expect(r.features(0)).toBeNull();
    r.snapshot(0, [99, 1], 1, [], 0, T0 + 2);
    expect(r.hasBook(0)).toBe(true);
    expect(r.book(0)?.bestBid).toBe(99);
  });

  it('bumps the version on every change only, and drains the changed set once per id', () => {
    const r = new BookRegistry(8);
    const ids = new Int32Array(8);
    r.snapshot(3, [100, 1], 1, [101, 1], 1, T0);
    r.snapshot(5, [10, 1], 1, [11, 1], 1, T0);
    r.update(3, BID, 100, 2, T0 + 1);
    expect(r.version(3)).toBe(2);
    r.update(3, BID, 100, 2, T0 + 2); // same size
    r.update(3, ASK, 105, 0, T0 + 3); // missing level
    expect(r.version(3)).toBe(2);
    expect(r.lastEventUs(3)).toBe(T0 + 1);
    expect(r.updatesApplied).toBe(3);
    expect(r.changedCount).toBe(2);
    expect([...ids.subarray(0, r.drainChanged(ids))]).toEqual([3, 5]);
    expect(r.drainChanged(ids)).toBe(0);
    r.clear(5);
    expect(r.version(5)).toBe(2);
    r.clear(5); // already empty: no change
    r.clear(6); // never had a book
    expect(r.version(5)).toBe(2);
    expect(r.clears).toBe(1);
    r.markChanged(3);
    expect([...ids.subarray(0, r.drainChanged(ids))]).toEqual([5, 3]);
    // A partial drain leaves the rest for the next call.
    r.markAll();
    const two = new Int32Array(1);
    expect(r.drainChanged(two)).toBe(1);
    expect(r.changedCount).toBe(1);
  });

  it('counts crossed-book corrections and crossed snapshots', () => {
    const r = new BookRegistry(1);
    r.snapshot(0, [100, 1], 1, [101, 1, 102, 1], 2, T0);
    r.update(0, BID, 101.5, 1, T0 + 1);
    expect(r.crossedCorrections).toBe(1);
    expect(r.crossedLevelsDropped).toBe(1);
    r.snapshot(0, [100, 1], 1, [100, 1], 1, T0 + 2); // locked snapshot, kept
    expect(r.crossedSnapshots).toBe(1);
    expect(r.book(0)?.bestAsk).toBe(100);
    expect(r.stats()).toMatchObject({
      books: 1,
      snapshotsApplied: 2,
      crossedCorrections: 1,
      crossedSnapshots: 1,
    });
  });

  it('matches the reference across symbols on random sequences', () => {
    const op = fc.oneof(
      {
        weight: 1,
        arbitrary: fc.record({
          op: fc.constant('snapshot' as const),
          id: fc.integer({ min: 0, max: 2 }),
          mid: fc.integer({ min: 20, max: 40 }),
          depth: fc.integer({ min: 0, max: 15 }),
        }),
      },
      {
        weight: 25,
        arbitrary: fc.record({
          op: fc.constant('update' as const),
          id: fc.integer({ min: 0, max: 2 }),
          side: fc.constantFrom<BookSide>(BID, ASK),
          tick: fc.integer({ min: 1, max: 60 }),
          size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ op: fc.constant('clear' as const), id: fc.integer({ min: 0, max: 2 }) }),
      },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (seq) => {
        const r = new BookRegistry(3, { initialLevels: 4 });
        const refs = [new ReferenceBook(), new ReferenceBook(), new ReferenceBook()];
        const has = [false, false, false];
        let crossed = 0;
        let ts = T0;
        for (const o of seq) {
          ts += 1000;
          const ref = refs[o.id] as ReferenceBook;
          if (o.op === 'snapshot') {
            const bids: number[] = [];
            const asks: number[] = [];
            for (let k = 0; k < o.depth; k++) {
              bids.push((o.mid - k) / 2, k + 1);
              asks.push((o.mid + 1 + k) / 2, k + 2);
            }
            r.snapshot(o.id, bids, o.depth, asks, o.depth, ts);
            ref.snapshot(bids, o.depth, asks, o.depth);
            has[o.id] = true;
          } else if (o.op === 'clear') {
            r.clear(o.id);
            ref.clear();
            has[o.id] = false;
          } else {
            const p = o.tick / 2;
            r.update(o.id, o.side, p, o.size, ts);
            if (has[o.id]) {
              const before = ref.crossedDropped;
              ref.update(o.side, p, o.size);
              if (ref.crossedDropped > before) crossed++;
            }
          }
        }
        const out = new Float64Array(400);
        const t = createTickRecord();
        for (let id = 0; id < 3; id++) {
          const ref = refs[id] as ReferenceBook;
          expect(r.hasBook(id)).toBe(has[id]);
          for (const [s, rs] of [
            [BID, REF_BID],
            [ASK, REF_ASK],
          ] as const) {
            const n = r.levels(id, s, 200, out);
            const got = Array.from({ length: n }, (_, j) => [out[2 * j], out[2 * j + 1]]);
            expect(got).toEqual(ref.levels(rs));
          }
          const both = ref.best(REF_BID) !== null && ref.best(REF_ASK) !== null;
          expect(r.top(id, t)).toBe(both);
          expect([t.bid, t.bidSize]).toEqual(ref.best(REF_BID) ?? [0, 0]);
          expect([t.ask, t.askSize]).toEqual(ref.best(REF_ASK) ?? [0, 0]);
        }
        expect(r.crossedCorrections).toBe(crossed);
      }),
      { numRuns: 200 },
    );
  });
});
