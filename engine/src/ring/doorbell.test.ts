import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Doorbells } from './doorbell.ts';
import { CTRL } from './layout.ts';
import { RingBuffer } from './ring-buffer.ts';

const CONSUMER = new URL('../../tests/unit/doorbell-consumer-worker.ts', import.meta.url);

/**
 * A consumer thread parked on its doorbell over several rings, a producer (this thread) publishing
 * into random rings at random paces: every record must arrive, in order per ring, with the
 * consumer's park bounded only by a 60 s timeout — a lost wake-up would hang the test.
 */
describe('Doorbells: one thread parked on several rings', () => {
  it('wakes the sleeper for every publish, whatever the interleaving (no lost wake-up)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rings: fc.integer({ min: 2, max: 4 }),
          slot: fc.integer({ min: 0, max: 3 }),
          seed: fc.integer(),
          spinUs: fc.constantFrom(0, 3),
          wakeAfter: fc.constantFrom(1, 1, 4),
          quiet: fc.boolean(),
        }),
        async (p) => {
          const total = 20_000;
          const bells = Doorbells.create(4);
          const rings = Array.from({ length: p.rings }, () =>
            RingBuffer.create({ capacity: 64, recordBytes: 8, consumers: 1 }, { doorbells: bells }),
          );
          const worker = new Worker(CONSUMER, {
            workerData: {
              rings: rings.map((r) => r.sab),
              doorbells: bells.sab,
              slot: p.slot,
              total,
              spinUs: p.spinUs,
              wakeAfter: p.wakeAfter,
            },
          });
          const done = new Promise<Record<string, number>>((resolve, reject) => {
            worker.once('message', resolve);
            worker.once('error', reject);
          });
          let state = p.seed >>> 0 || 1;
          const random = () => {
            state ^= state << 13;
            state ^= state >>> 17;
            state ^= state << 5;
            return (state >>> 0) / 2 ** 32;
          };
          const next = new Float64Array(p.rings);
          for (let sent = 0; sent < total; ) {
            const k = Math.floor(random() * p.rings);
            const r = rings[k]!;
            const n = Math.min(total - sent, 1 + Math.floor(random() * 8));
            const seq = r.claim(n, 60_000);
            expect(seq).not.toBe(-1);
            for (let j = 0; j < n; j++) r.f64[r.base64((seq + j) >>> 0)] = next[k]!++;
            // The quiet path: HEAD per record, one wake-up per burst (the shard processor's shape).
            if (p.quiet) {
              r.publishQuiet((seq + n) >>> 0);
              r.wake();
            } else r.publish((seq + n) >>> 0);
            sent += n;
            // Sometimes let the consumer fall asleep before the next burst.
            if (random() < 0.02) await new Promise((res) => setTimeout(res, 1));
          }
          // A wakeAfter > 1 consumer may be parked below its threshold: the last records are
          // found when its park ends — by a wake-all, as a stop would do it.
          if (p.wakeAfter > 1) {
            await new Promise((res) => setTimeout(res, 20));
            for (const r of rings) r.wakeAll();
          }
          const result = await done;
          await worker.terminate();
          expect(result).toMatchObject({ received: total, outOfOrder: 0, timedOut: 0 });
          for (const r of rings) expect(Atomics.load(r.ctrl, CTRL.SLEEPERS)).toBe(0);
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it('a ring without the producer-side doorbells still publishes; the listen word names the slot', () => {
    const bells = Doorbells.create(2);
    const ring = RingBuffer.create({ capacity: 8, recordBytes: 8, consumers: 1 });
    bells.listen(1, [ring]);
    expect(Atomics.load(ring.ctrl, CTRL.DOORBELL)).toBe(2);
    expect(() => bells.listen(2, [ring])).toThrow(/slot out of range/);
    ring.publish((ring.claim(1) + 1) >>> 0);
    expect(ring.readable(0)).toBe(1);
  });
});
