/**
 * `npm run bench:engine` — the engine's headline numbers in one run (a benchmark, not a test):
 *
 *   ring      the SAB ring alone: producer thread → consumer thread (engine/bench/lib/ring-bench.ts)
 *   pipeline  the whole engine at full speed, 1000 symbols: replay feed (binary .ticks file) →
 *             tick rings → feature pool (features + patterns) → inference thread (ONNX) →
 *             scored ring → signal publisher (in-process bus); ticks/s from first tick to the last
 *             signal published (drained), after a 500k-tick warm-up
 *   latency   tick-to-signal at a paced 100,000 ticks/s from the synthetic feed (wall-clock event
 *             time): tick generated → signal published on the bus; every candidate is published
 *             (min score 0) so percentiles have enough samples
 *   persist   ticks/s committed to PostgreSQL by the writer (COPY, fresh migrated database), the
 *             whole engine running (the writer is the slowest consumer, the feed waits on it)
 *   baseline  the naive shape: one postMessage per tick to a worker thread
 *   waiting   pipeline and latency run twice in the same process: `park` (the engine: bounded
 *             spin sized from the measured wake-up cost, then Atomics.wait) and `poll` (the naive
 *             baseline: the inference thread re-checks its rings until its batching deadline,
 *             the feature worker re-reads its head 64 times before sleeping, the feed re-tries
 *             a full ring on a 1 ms timer); plus the Atomics.notify → wake-up cost itself
 *
 * Prints a table and writes bench/results/engine.json. Bounded to about two minutes.
 * Env: BENCH_PIPELINE_TICKS (default 3,000,000), BENCH_LATENCY_SECONDS (10), BENCH_PERSIST_TICKS
 * (1,000,000), BENCH_SKIP_PERSIST=1 (no database), BENCH_WAIT_ROUNDS (1: park/poll pairs; the
 * best of the rounds is reported per mode, the machine being shared), BENCH_SKIP_POLL=1.
 */

import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { createMigratedTestDatabase } from '@aegis/shared/testing/database';
import { loadEngineConfig } from '../src/config.ts';
import { wallClockUs } from '../src/feeds/feed.ts';
import { startEngine } from '../src/index.ts';
import { measureWakeLatency, setEngineWaitMode, spinBudgetUs, type WaitMode } from '../src/ring/spin-wait.ts';
import { writeSyntheticTape } from '../tests/fixtures/make-replay-fixture.ts';
import { measurePersistCeiling } from './lib/persist-ceiling.ts';
import { runPoolRunPerTickBench } from './lib/pool-run-baseline.ts';
import { runPostMessageBench, runRingBench } from './lib/ring-bench.ts';

const log = createLogger({ name: 'bench-engine', level: 'warn' });
const SYMBOLS = 1000;
const PIPELINE_WARM_TICKS = 500_000;
const env = (name: string, d: number) => Number(process.env[name] ?? d);

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return {
    ENGINE_SYMBOLS: String(SYMBOLS),
    ENGINE_SHARDS: '1',
    // On 2 cores one feature worker beat two (the feed and inference threads need the other core);
    // more cores, more workers.
    ENGINE_WORKERS: String(Math.max(1, Math.min(4, availableParallelism() - 2))),
    ENGINE_EXECUTION_PROVIDER: 'auto',
    ENGINE_RING_CAPACITY: String(1 << 16),
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

function writeTape(path: string, ticks: number): void {
  writeSyntheticTape(path, { symbols: SYMBOLS, ticks, seed: 11 });
}

async function pipeline(tape: string, ticks: number) {
  const config = loadEngineConfig(
    baseEnv({ ENGINE_FEED: 'replay', ENGINE_REPLAY_FILE: tape, ENGINE_REPLAY_SPEED: '0' }),
  );
  const bus = new MemoryBus();
  const engine = await startEngine({ config, bus, log });
  // Steady state: the clock starts once the first WARM_TICKS are through the features (thread
  // start-up and JIT warm-up excluded) and stops when every tick is through the features, every
  // candidate scored and every signal published.
  const warm = Math.min(PIPELINE_WARM_TICKS, Math.floor(ticks / 5));
  while (engine.stats().pool.ticksProcessed < warm) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  const before = engine.stats().pool.ticksProcessed;
  await engine.feedsDone;
  for (;;) {
    const s = engine.stats();
    if (
      s.pool.ticksProcessed >= s.ticksIn &&
      s.inference.scored >= s.pool.candidatesOut &&
      s.signals.scored >= s.inference.scored &&
      s.signals.backlog() === 0
    ) {
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = engine.stats();
  const report = await engine.stop();
  await bus.close();
  if (report.ticksIn !== ticks) throw new Error(`pipeline: ${report.ticksIn} of ${ticks} ticks accepted`);
  return {
    ticksPerSec: (s.pool.ticksProcessed - before) / seconds,
    symbols: SYMBOLS,
    ticks,
    seconds,
    candidates: s.pool.candidatesOut,
    scored: s.inference.scored,
    signals: report.signalsOut,
    meanInferenceBatch: s.inference.meanBatchSize,
    provider: s.provider,
    workers: Number(config.workers),
    inferenceSpinHits: s.inference.spinHits,
    inferenceIdleWaits: s.inference.candidateWaits,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

async function latency(rate: number, seconds: number) {
  const config = loadEngineConfig(
    baseEnv({
      ENGINE_FEED: 'synthetic',
      ENGINE_TICK_RATE: String(rate),
      ENGINE_SIGNAL_MIN_SCORE: '0',
      ENGINE_MAX_WAIT_US: '100',
    }),
  );
  const bus = new MemoryBus();
  const samples: number[] = [];
  let measuring = false;
  const engine = await startEngine({
    config,
    bus,
    log,
    onSignal: (s) => {
      if (measuring) samples.push(wallClockUs() - s.tsEventUs);
    },
  });
  await new Promise((r) => setTimeout(r, 1500)); // warm-up: JIT, feature warm-up windows
  const ticks0 = engine.stats().ticksIn;
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const achieved = (engine.stats().ticksIn - ticks0) / ((performance.now() - t0) / 1000);
  await engine.stop();
  await bus.close();
  const sorted = Float64Array.from(samples).sort();
  return {
    rate,
    achievedRate: achieved,
    samples: samples.length,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    p999Us: percentile(sorted, 0.999),
    maxUs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

type PipelineRun = Awaited<ReturnType<typeof pipeline>>;
type LatencyRun = Awaited<ReturnType<typeof latency>>;

/** Runs `fn` under each wait mode, `rounds` times alternating; keeps each mode's best run. */
async function byMode<T>(
  modes: readonly WaitMode[],
  rounds: number,
  fn: () => Promise<T>,
  better: (a: T, b: T) => boolean,
): Promise<Partial<Record<WaitMode, T>>> {
  const best: Partial<Record<WaitMode, T>> = {};
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
      setEngineWaitMode(mode);
      try {
        const run = await fn();
        const prev = best[mode];
        if (prev === undefined || better(run, prev)) best[mode] = run;
      } finally {
        setEngineWaitMode('park');
      }
    }
  }
  return best;
}

async function persist(tape: string, ticks: number) {
  const db = await createMigratedTestDatabase();
  try {
    const config = loadEngineConfig(
      baseEnv({
        DATABASE_URL: db.appUrl,
        ENGINE_FEED: 'replay',
        ENGINE_REPLAY_FILE: tape,
        ENGINE_REPLAY_SPEED: '0',
        ENGINE_WRITER_BATCH: '65536',
        ENGINE_WRITER_FLUSH_MS: '50',
        ENGINE_RING_CAPACITY: String(1 << 18),
      }),
    );
    const bus = new MemoryBus();
    const engine = await startEngine({ config, bus, log });
    const t0 = performance.now();
    await engine.feedsDone;
    // Done = every accepted tick committed by the writer (thread shutdown not included).
    while ((engine.stats().writer?.ticksPersisted ?? 0) < engine.stats().ticksIn) {
      await new Promise((r) => setTimeout(r, 1));
    }
    const seconds = (performance.now() - t0) / 1000;
    const report = await engine.stop();
    await bus.close();
    if (report.ticksPersisted !== ticks)
      throw new Error(`persist: ${report.ticksPersisted} of ${ticks} ticks persisted`);
    // The same schema's raw ceiling (binary COPY of a prebuilt stream), beside the writer's rate.
    const ceiling = (await measurePersistCeiling(db.url, ticks, { symbols: SYMBOLS })).ticksPerSec;
    return {
      copyCeilingTicksPerSec: ceiling,
      ticksPerSec: report.ticksPersisted / seconds,
      ticks: report.ticksPersisted,
      seconds,
      lost: report.ticksLost,
    };
  } finally {
    await db.drop();
  }
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a';

async function main(): Promise<void> {
  const pipelineTicks = env('BENCH_PIPELINE_TICKS', 3_000_000);
  const persistTicks = env('BENCH_PERSIST_TICKS', 1_000_000);
  const latencySeconds = env('BENCH_LATENCY_SECONDS', 10);
  const dir = join(tmpdir(), `aegis-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const machine = machineInfo();
  try {
    console.log(`machine: ${machine.cores} cores (${machine.cpu}), load average ${machine.loadavg1m}`);
    const tape = join(dir, 'pipeline.ticks');
    writeTape(tape, Math.max(pipelineTicks, persistTicks));
    const persistTape = join(dir, 'persist.ticks');
    writeTape(persistTape, persistTicks);

    console.log('ring …');
    const ring = await runRingBench({ ticks: 20_000_000 });
    console.log('baseline (postMessage per tick) …');
    const baseline = await runPostMessageBench(300_000);
    console.log('baseline (piscina pool.run per tick) …');
    const poolBaseline = await runPoolRunPerTickBench(50_000);
    console.log('wake-up cost …');
    const wake = await measureWakeLatency(500);
    const { spinUs } = await spinBudgetUs();
    const rounds = Math.max(1, env('BENCH_WAIT_ROUNDS', 1));
    const modes: WaitMode[] = process.env.BENCH_SKIP_POLL === '1' ? ['park'] : ['park', 'poll'];
    console.log(`pipeline (${modes.join(' / ')}) …`);
    const pipes = await byMode<PipelineRun>(
      modes,
      rounds,
      () => pipeline(tape, Math.max(pipelineTicks, persistTicks)),
      (a, b) => a.ticksPerSec > b.ticksPerSec,
    );
    const pipe = pipes.park as PipelineRun;
    console.log(`latency (${modes.join(' / ')}) …`);
    const lats = await byMode<LatencyRun>(
      modes,
      rounds,
      () => latency(100_000, latencySeconds),
      (a, b) => a.p99Us < b.p99Us,
    );
    const lat = lats.park as LatencyRun;
    const pollPipe = pipes.poll;
    const pollLat = lats.poll;
    let per: Awaited<ReturnType<typeof persist>> | null = null;
    if (process.env.BENCH_SKIP_PERSIST !== '1') {
      console.log('persist …');
      per = await persist(persistTape, persistTicks);
    }

    const result = {
      ring: { ticksPerSec: Math.round(ring.ticksPerSec), publishEvery: ring.publishEvery },
      pipeline: {
        ticksPerSec: Math.round(pipe.ticksPerSec),
        symbols: pipe.symbols,
        ticks: pipe.ticks,
        candidates: pipe.candidates,
        signals: pipe.signals,
        meanInferenceBatch: Number(pipe.meanInferenceBatch.toFixed(1)),
        provider: pipe.provider,
        workers: pipe.workers,
        inferenceSpinHits: pipe.inferenceSpinHits,
        inferenceIdleWaits: pipe.inferenceIdleWaits,
      },
      waiting: {
        wakeLatencyMedianUs: wake.medianUs,
        wakeLatencyP90Us: wake.p90Us,
        spinUs,
        rounds,
        poll: {
          pipelineTicksPerSec: pollPipe ? Math.round(pollPipe.ticksPerSec) : null,
          meanInferenceBatch: pollPipe ? Number(pollPipe.meanInferenceBatch.toFixed(1)) : null,
          latencyP50Us: pollLat ? Math.round(pollLat.p50Us) : null,
          latencyP99Us: pollLat ? Math.round(pollLat.p99Us) : null,
          latencySamples: pollLat ? pollLat.samples : null,
        },
        park: {
          pipelineTicksPerSec: Math.round(pipe.ticksPerSec),
          meanInferenceBatch: Number(pipe.meanInferenceBatch.toFixed(1)),
          latencyP50Us: Math.round(lat.p50Us),
          latencyP99Us: Math.round(lat.p99Us),
          latencySamples: lat.samples,
        },
      },
      latency: {
        rate: lat.rate,
        achievedRate: Math.round(lat.achievedRate),
        samples: lat.samples,
        p50Us: Math.round(lat.p50Us),
        p99Us: Math.round(lat.p99Us),
        p999Us: Math.round(lat.p999Us),
        maxUs: Math.round(lat.maxUs),
      },
      persist: per
        ? {
            ticksPerSec: Math.round(per.ticksPerSec),
            ticks: per.ticks,
            lost: per.lost,
            rawCopyCeilingTicksPerSec: Math.round(per.copyCeilingTicksPerSec),
          }
        : { ticksPerSec: null },
      // The stricter of the two naive shapes (postMessage is the faster one).
      baseline: { ticksPerSec: Math.round(baseline.ticksPerSec), shape: 'one postMessage per tick' },
      baselinePoolRun: {
        ticksPerSec: Math.round(poolBaseline.ticksPerSec),
        shape: 'one pool.run() per tick',
      },
      ratio: {
        pipelineOverBaseline: Number((pipe.ticksPerSec / baseline.ticksPerSec).toFixed(1)),
        pipelineOverPoolRunBaseline: Number((pipe.ticksPerSec / poolBaseline.ticksPerSec).toFixed(1)),
      },
      targets: {
        pipelineTicksPerSec: 6_000_000,
        p99Us: 500,
        persistTicksPerSec: 250_000,
        pipelineOverBaseline: 100,
      },
      machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))) },
      date: new Date().toISOString(),
      wallSeconds: Math.round((Date.now() - started) / 1000),
    };
    const resultsPath = writeBenchResult('engine', result);

    const rows: [string, string, string, string][] = [
      ['ring (SAB, 1 producer → 1 consumer thread)', `${fmt(result.ring.ticksPerSec)} ticks/s`, '', ''],
      [
        `pipeline (replay → features → patterns → inference → signals, ${SYMBOLS} symbols)`,
        `${fmt(result.pipeline.ticksPerSec)} ticks/s`,
        '≥ 6,000,000',
        result.pipeline.ticksPerSec >= 6e6 ? 'met' : 'NOT met',
      ],
      [
        'pipeline, naive polling waits (same run)',
        pollPipe ? `${fmt(pollPipe.ticksPerSec)} ticks/s` : 'skipped',
        '',
        '',
      ],
      [
        `tick-to-signal at ${fmt(lat.rate)} ticks/s (achieved ${fmt(lat.achievedRate)}, ${lat.samples} signals)`,
        `p50 ${fmt(lat.p50Us)} µs, p99 ${fmt(lat.p99Us)} µs, p99.9 ${fmt(lat.p999Us)} µs`,
        'p99 ≤ 500 µs',
        lat.p99Us <= 500 ? 'met' : 'NOT met',
      ],
      [
        'tick-to-signal, naive polling waits (same run)',
        pollLat
          ? `p50 ${fmt(pollLat.p50Us)} µs, p99 ${fmt(pollLat.p99Us)} µs (${pollLat.samples} signals)`
          : 'skipped',
        '',
        '',
      ],
      [
        'Atomics.notify → wake-up (one way, parked thread)',
        `median ${wake.medianUs} µs, p90 ${wake.p90Us} µs → spin ${spinUs} µs`,
        '',
        '',
      ],
      [
        'persist (writer COPY → PostgreSQL, whole engine running)',
        per
          ? `${fmt(per.ticksPerSec)} ticks/s (raw COPY ceiling ${fmt(per.copyCeilingTicksPerSec)})`
          : 'skipped',
        '≥ 250,000',
        per ? (per.ticksPerSec >= 250_000 ? 'met' : 'NOT met') : '',
      ],
      ['baseline (one postMessage per tick)', `${fmt(result.baseline.ticksPerSec)} ticks/s`, '', ''],
      ['baseline (one pool.run() per tick)', `${fmt(result.baselinePoolRun.ticksPerSec)} ticks/s`, '', ''],
      [
        'pipeline / baseline (postMessage)',
        `${result.ratio.pipelineOverBaseline}×`,
        '≥ 100×',
        result.ratio.pipelineOverBaseline >= 100 ? 'met' : 'NOT met',
      ],
      [
        'pipeline / baseline (pool.run)',
        `${result.ratio.pipelineOverPoolRunBaseline}×`,
        '≥ 100×',
        result.ratio.pipelineOverPoolRunBaseline >= 100 ? 'met' : 'NOT met',
      ],
    ];
    const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i] as number)).join('  │  '));
    console.log(`\nwrote ${resultsPath} (${result.wallSeconds} s)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
