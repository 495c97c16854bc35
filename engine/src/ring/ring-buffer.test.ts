import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TickRecord } from '../feeds/tick.ts';
import { CTRL, ringHeaderBytes, TICK, usFromWords, usHi, usLo } from './layout.ts';
import { RingBuffer } from './ring-buffer.ts';
import { readTick, TickRingWriter } from './tick-ring-writer.ts';

/** Start a fresh ring with every sequence at `start` (to exercise the u32 wrap). */
function ringAt(capacity: number, consumers: number, start: number): RingBuffer {
  const r = RingBuffer.create({ capacity, recordBytes: 16, consumers });
  Atomics.store(r.ctrl, CTRL.HEAD, start | 0);
  for (let i = 0; i < consumers; i++)
    Atomics.store(r.ctrl, CTRL.CURSOR_BASE + i * CTRL.CURSOR_STRIDE, start | 0);
  return RingBuffer.attach(r.sab);
}

describe('RingBuffer params', () => {
  it('rejects bad params and foreign buffers', () => {
    expect(() => RingBuffer.create({ capacity: 6, recordBytes: 8, consumers: 1 })).toThrow(/invalid params/);
    expect(() => RingBuffer.create({ capacity: 8, recordBytes: 12, consumers: 1 })).toThrow(/invalid params/);
    expect(() => RingBuffer.create({ capacity: 8, recordBytes: 8, consumers: 0 })).toThrow(/invalid params/);
    expect(() => RingBuffer.attach(new SharedArrayBuffer(1024))).toThrow(/magic/);
  });

  it('attach reads params from the header and shares the memory', () => {
    const a = RingBuffer.create({ capacity: 64, recordBytes: TICK.bytes, consumers: 2 });
    expect(a.sab.byteLength).toBe(ringHeaderBytes(2) + 64 * TICK.bytes);
    const b = RingBuffer.attach(a.sab);
    expect([b.capacity, b.recordBytes, b.consumers]).toEqual([64, TICK.bytes, 2]);
    const s = a.tryClaim(1);
    a.f64[a.base64(s)] = 42.5;
    a.publish(s + 1);
    expect(b.readable(1)).toBe(1);
    expect(b.f64[b.base64(b.cursor(1))]).toBe(42.5);
  });
});

describe('RingBuffer against a queue model (fast-check)', () => {
  type Op = { t: 'claim'; n: number } | { t: 'publish' } | { t: 'consume'; c: number; n: number };

  const op = (consumers: number): fc.Arbitrary<Op> =>
    fc.oneof(
      fc.record({ t: fc.constant('claim' as const), n: fc.integer({ min: 1, max: 9 }) }),
      fc.record({ t: fc.constant('publish' as const) }),
      fc.record({
        t: fc.constant('consume' as const),
        c: fc.integer({ min: 0, max: consumers - 1 }),
        n: fc.integer({ min: 1, max: 9 }),
      }),
    );

  it('full/empty, wrap-around of slots and of the u32 sequence: nothing lost, duplicated or reordered', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2, 4, 8, 16),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(0, 0xfffffff0, 0x7ffffff8),
        fc.array(op(3), { maxLength: 300 }),
        (capacity, consumers, start, ops) => {
          const ring = ringAt(capacity, consumers, start);
          let nextValue = 0; // values written, in order
          let published = 0; // values published
          let claimedUnpublished = 0;
          const read = Array.from({ length: consumers }, () => 0); // next value each consumer expects
          for (const o of ops) {
            if (o.t === 'claim') {
              const minRead = Math.min(...read);
              const free = capacity - (published + claimedUnpublished - minRead);
              const s = ring.tryClaim(o.n);
              if (o.n > free) {
                expect(s).toBe(-1);
              } else {
                expect(s).toBe((start + published + claimedUnpublished) >>> 0);
                for (let k = 0; k < o.n; k++) ring.u32[ring.base32((s + k) >>> 0)] = nextValue++;
                claimedUnpublished += o.n;
              }
            } else if (o.t === 'publish') {
              published += claimedUnpublished;
              claimedUnpublished = 0;
              ring.publish(ring.claimed());
            } else {
              const c = o.c % consumers;
              const avail = ring.readable(c);
              expect(avail).toBe(published - read[c]!);
              const n = Math.min(avail, o.n);
              const from = ring.cursor(c);
              for (let k = 0; k < n; k++) {
                expect(ring.u32[ring.base32((from + k) >>> 0)]).toBe(read[c]!);
                read[c]!++;
              }
              ring.commit(c, (from + n) >>> 0);
            }
            expect(ring.occupancy()).toBe(published - Math.min(...read));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('claim waits with a timeout when full and returns -1', () => {
    const ring = RingBuffer.create({ capacity: 4, recordBytes: 8, consumers: 1 });
    expect(ring.claim(4)).toBe(0);
    ring.publish(4);
    expect(ring.claim(1, 5)).toBe(-1);
    ring.commit(0, 1);
    expect(ring.claim(1, 5)).toBe(4);
  });

  it('waitForSpaceAsync resolves when the slowest consumer frees room, false on timeout', async () => {
    const ring = RingBuffer.create({ capacity: 4, recordBytes: 8, consumers: 2 });
    expect(await ring.waitForSpaceAsync(4, 1)).toBe(true);
    ring.publish(ring.tryClaim(4) + 4);
    expect(await ring.waitForSpaceAsync(1, 5)).toBe(false);
    ring.commit(0, 4); // consumer 1 is still the slowest
    const waiting = ring.waitForSpaceAsync(2, 5000);
    setTimeout(() => ring.commit(1, 2), 5);
    expect(await waiting).toBe(true);
    expect(ring.tryClaim(2)).toBe(4);
    expect(Atomics.load(ring.ctrl, CTRL.PRODUCER_WAITING)).toBe(0);
  });

  it('waitForData returns at once when data is there and after the timeout when not', async () => {
    const ring = RingBuffer.create({ capacity: 4, recordBytes: 8, consumers: 1 });
    expect(ring.waitForData(0, 1)).toBe(0);
    expect(await ring.waitForDataAsync(0, 1)).toBe(0);
    ring.publish(ring.tryClaim(2) + 2);
    expect(ring.waitForData(0, 1000)).toBe(2);
    expect(await ring.waitForDataAsync(0, 1000)).toBe(2);
    expect(Atomics.load(ring.ctrl, CTRL.SLEEPERS)).toBe(0);
  });
});

describe('TickRingWriter', () => {
  const tick = (i: number): TickRecord => ({
    symbolId: i % 7,
    seq: 2 ** 40 + i,
    tsEventUs: 1_764_000_000_000_000 + i,
    kind: 1 + (i % 2),
    aggressor: (i % 3) - 1,
    price: 100 + i / 8,
    size: i,
    bid: 99.5,
    ask: 100.5,
    bidSize: 3,
    askSize: 4,
  });

  it('drop policy counts drops, publishes per batch and on flush, round-trips every field', () => {
    const ring = RingBuffer.create({ capacity: 8, recordBytes: TICK.bytes, consumers: 1 });
    const w = new TickRingWriter(ring, { policy: 'drop', publishEvery: 3 });
    expect(w.publish(tick(0))).toBe(true);
    expect(w.publish(tick(1))).toBe(true);
    expect(ring.readable(0)).toBe(0);
    expect(w.publish(tick(2))).toBe(true);
    expect(ring.readable(0)).toBe(3);
    for (let i = 3; i < 8; i++) w.publish(tick(i));
    expect(w.publish(tick(8))).toBe(false); // full: flushed what it held, then dropped
    expect(ring.readable(0)).toBe(8);
    expect([w.accepted, w.dropped]).toEqual([8, 1]);
    const out = tick(0);
    for (let i = 0; i < 8; i++) expect(readTick(ring, i, out)).toEqual(tick(i));
  });

  it('block policy waits for a slot, and drops and counts a stall when no consumer moves in time', () => {
    const ring = RingBuffer.create({ capacity: 4, recordBytes: TICK.bytes, consumers: 1 });
    const w = new TickRingWriter(ring, { policy: 'block', publishEvery: 2, blockTimeoutMs: 5 });
    for (let i = 0; i < 4; i++) expect(w.publish(tick(i))).toBe(true);
    expect(w.publish(tick(4))).toBe(false);
    expect([w.accepted, w.dropped, w.stalls]).toEqual([4, 1, 1]);
    ring.commit(0, 1);
    expect(w.publish(tick(5))).toBe(true);
    expect(w.stalls).toBe(1);
  });
});

describe('timestamps as two u32 words', () => {
  it('split and join every integer below 2^53 exactly', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (us) => {
        const hi = usHi(us);
        const lo = usLo(us);
        expect(hi).toBe(Math.floor(us / 2 ** 32));
        expect(lo).toBe(us % 2 ** 32);
        expect(usFromWords(hi, lo)).toBe(us);
      }),
      { numRuns: 2000 },
    );
    for (const us of [0, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) expect(usFromWords(usHi(us), usLo(us))).toBe(us);
  });
});
