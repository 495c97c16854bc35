/**
 * Question: what does the SharedArrayBuffer ring carry between two threads, and how much does
 * publishing HEAD per batch instead of per tick matter? Baseline in the same run: one postMessage
 * per tick.
 *
 *   node engine/bench/ring.ts          (prints a table; writes bench/results/ring.json)
 */
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { type RingBenchResult, runPostMessageBench, runRingBench } from './lib/ring-bench.ts';

const machine = machineInfo();
const TICKS = Number(process.env.RING_BENCH_TICKS ?? 10_000_000);
const rows: { variant: string; result: RingBenchResult }[] = [];
// Warm-up run, not reported.
await runRingBench({ ticks: 1_000_000, publishEvery: 256 });
for (const publishEvery of [1, 16, 64, 256, 1024]) {
  rows.push({
    variant: `ring, HEAD published per ${publishEvery}`,
    result: await runRingBench({ ticks: TICKS, publishEvery }),
  });
}
rows.push({ variant: 'baseline: postMessage per tick', result: await runPostMessageBench(200_000) });

const baseline = rows.at(-1)!.result.ticksPerSec;
console.table(
  rows.map((r) => ({
    variant: r.variant,
    ticks: r.result.ticks.toLocaleString('en-US'),
    'ticks/s': Math.round(r.result.ticksPerSec).toLocaleString('en-US'),
    'ns/tick': (1e9 / r.result.ticksPerSec).toFixed(1),
    'x baseline': (r.result.ticksPerSec / baseline).toFixed(1),
  })),
);
writeBenchResult('ring', {
  question: 'SAB ring throughput by publish batch, vs postMessage per tick',
  machine,
  rows: rows.map((r) => ({ variant: r.variant, ...r.result })),
  at: new Date().toISOString(),
});
