/**
 * Question: what does the SharedArrayBuffer ring carry between two threads, and how much does
 * publishing HEAD per batch instead of per tick matter? Baseline in the same run: one postMessage
 * per tick.
 *
 * Two producers, the same consumer thread:
 *   ring          claim + copy + publish in batches of `publishEvery` (the ring's own ceiling)
 *   TickRingWriter the feeds' producer (one claim per tick, HEAD per `publishEvery`), HEAD per
 *                 tick vs per 256 (the engine's setting), alternated over BENCH_RUNS runs and
 *                 compared by median: the difference is the cost of publishing per tick.
 *
 *   node engine/bench/ring.ts          (prints a table; writes bench/results/ring.json)
 *   RING_BENCH_TICKS=2000000 BENCH_RUNS=3 node engine/bench/ring.ts
 */
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import {
  type RingBenchResult,
  runPostMessageBench,
  runRingBench,
  runTickWriterBench,
} from './lib/ring-bench.ts';

const machine = machineInfo();
const TICKS = Number(process.env.RING_BENCH_TICKS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** The engine's publish batch (PUBLISH_EVERY in engine/src/stages/tick-intake.ts). */
const ENGINE_PUBLISH_EVERY = 256;
const rows: { variant: string; result: RingBenchResult }[] = [];
// Warm-up runs, not reported.
await runRingBench({ ticks: 1_000_000, publishEvery: 256 });
await runTickWriterBench({ ticks: 1_000_000, publishEvery: 1 });
await runTickWriterBench({ ticks: 1_000_000, publishEvery: ENGINE_PUBLISH_EVERY });
for (const publishEvery of [1, 16, 64, 256, 1024]) {
  rows.push({
    variant: `ring, HEAD published per ${publishEvery}`,
    result: await runRingBench({ ticks: TICKS, publishEvery }),
  });
}

// Alternated so that a burst of load from elsewhere on the machine hits both sides alike.
const perTick: RingBenchResult[] = [];
const perBatch: RingBenchResult[] = [];
for (let run = 0; run < RUNS; run++) {
  perTick.push(await runTickWriterBench({ ticks: TICKS, publishEvery: 1 }));
  perBatch.push(await runTickWriterBench({ ticks: TICKS, publishEvery: ENGINE_PUBLISH_EVERY }));
}
const median = (xs: RingBenchResult[]): RingBenchResult => {
  const sorted = [...xs].sort((a, b) => a.ticksPerSec - b.ticksPerSec);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const tickMedian = median(perTick);
const batchMedian = median(perBatch);
rows.push({ variant: `TickRingWriter, HEAD per tick (median of ${RUNS})`, result: tickMedian });
rows.push({
  variant: `TickRingWriter, HEAD per ${ENGINE_PUBLISH_EVERY} (median of ${RUNS})`,
  result: batchMedian,
});
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
const nsPerTick = (r: RingBenchResult) => 1e9 / r.ticksPerSec;
const publishPerTickExtraNs = Number((nsPerTick(tickMedian) - nsPerTick(batchMedian)).toFixed(1));
console.log(
  `TickRingWriter: publishing HEAD per tick costs ${publishPerTickExtraNs} ns/tick more than per ${ENGINE_PUBLISH_EVERY} (median of ${RUNS} runs each, ${machine.cores} cores, load ${machine.loadavg1m})`,
);
writeBenchResult('ring', {
  question: 'SAB ring throughput by publish batch, vs postMessage per tick',
  machine,
  rows: rows.map((r) => ({ variant: r.variant, ...r.result })),
  tickWriter: {
    runs: RUNS,
    perTickNs: perTick.map((r) => Number(nsPerTick(r).toFixed(1))),
    perBatchNs: perBatch.map((r) => Number(nsPerTick(r).toFixed(1))),
    publishEvery: ENGINE_PUBLISH_EVERY,
    publishPerTickExtraNs,
  },
  at: new Date().toISOString(),
});
