import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';

/**
 * Baseline: one piscina task per tick, with a bounded number of tasks in flight (the way a naive
 * service would await `pool.run()` per tick without unbounded memory). Returns ticks/s.
 */
export async function runPoolRunPerTickBench(
  ticks = 50_000,
  inFlight = 256,
): Promise<{ ticksPerSec: number }> {
  const pool = new Piscina({
    filename: new URL('./pool-run-worker.ts', import.meta.url).href,
    minThreads: 1,
    maxThreads: Math.max(1, availableParallelism() - 1),
  });
  try {
    // Warm the worker once so thread start-up is not counted.
    await pool.run({ symbolId: 0, price: 0 });
    const t0 = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < ticks) {
        const i = next++;
        await pool.run({ symbolId: i & 1023, price: 100 + (i % 97) * 0.01 });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return { ticksPerSec: ticks / ((performance.now() - t0) / 1000) };
  } finally {
    await pool.destroy();
  }
}
