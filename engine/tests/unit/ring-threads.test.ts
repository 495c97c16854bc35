import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CTRL } from '../../src/ring/layout.ts';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';

/**
 * The ring across real threads: one producer thread and K consumer threads, each at a random pace
 * (fast-check picks the seeds, batch sizes, capacity, K, and where the u32 sequence starts so that
 * it wraps mid-run). Every consumer must see every record exactly once, in order per symbol.
 */
const WORKER = new URL('./ring-stress-worker.ts', import.meta.url);

function runThread(data: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: data });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited ${code}`)));
  });
}

describe('RingBuffer across threads', () => {
  it('producer and consumers at random paces: nothing lost, nothing duplicated, order kept per symbol', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          capacity: fc.constantFrom(8, 64, 1024),
          consumers: fc.integer({ min: 1, max: 3 }),
          start: fc.constantFrom(0, 0xffffff00, 0x7fffff00),
          seed: fc.integer(),
          maxBatch: fc.integer({ min: 1, max: 300 }),
          spinClaim: fc.boolean(),
        }),
        async (p) => {
          const total = 12_000;
          const symbols = 17;
          const ring = RingBuffer.create({ capacity: p.capacity, recordBytes: 16, consumers: p.consumers });
          Atomics.store(ring.ctrl, CTRL.HEAD, p.start | 0);
          for (let i = 0; i < p.consumers; i++) {
            Atomics.store(ring.ctrl, CTRL.CURSOR_BASE + i * CTRL.CURSOR_STRIDE, p.start | 0);
          }
          const common = { sab: ring.sab, total, symbols, maxBatch: p.maxBatch, spinClaim: p.spinClaim };
          const results = await Promise.all([
            runThread({ ...common, role: 'producer', consumer: 0, seed: p.seed }),
            ...Array.from({ length: p.consumers }, (_, c) =>
              runThread({ ...common, role: 'consumer', consumer: c, seed: p.seed + 1 + c }),
            ),
          ]);
          const [producer, ...consumers] = results;
          expect(producer!.sent).toBe(total);
          for (const c of consumers) {
            expect(c).toMatchObject({ received: total, outOfOrder: 0, badValue: 0 });
            expect(c.perSymbol).toEqual(producer!.perSymbol);
          }
          for (let i = 0; i < p.consumers; i++) expect(ring.cursor(i)).toBe((p.start + total) >>> 0);
          expect(ring.head()).toBe((p.start + total) >>> 0);
          expect(Atomics.load(ring.ctrl, CTRL.SLEEPERS)).toBe(0);
        },
      ),
      { numRuns: 10 },
    );
  }, 120_000);
});
