/**
 * Question: should a feature worker own its shard and stay in its thread consuming the TICK ring
 * (sleeping on Atomics.wait when empty), or should the main thread hand it a piscina task per
 * batch? Same worker file, same per-tick code (pool/feature-worker.ts `own` vs `batch` tasks),
 * same tape, one shard, one worker thread.
 *
 *   node engine/bench/pool-shape.ts          (prints a table; writes bench/results/pool-shape.json)
 *
 * Throughput: 1M ticks are put in the ring and published at once, and the clock runs until the
 * worker has consumed them all — the consumer's capacity, free of the producer's. Both shapes
 * consume in batches of 256 ticks (one cursor commit each; the per-batch shape: one piscina task
 * each, as it would get one per feed publish). Best of 3. Latency: ticks published at a paced
 * 100,000 ticks/s; a tick's latency is the time from its publish to the moment this thread sees
 * the worker's cursor pass it (it includes this thread's polling period, equally for both).
 */
import { createLogger } from '@aegis/shared/logging';
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { Piscina } from 'piscina';
import { DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS } from '../src/features/params.ts';
import { FeatureState } from '../src/features/state.ts';
import { startFeaturePool } from '../src/pool/feature-pool.ts';
import { type BatchResult, featureWorkerDataSchema } from '../src/pool/messages.ts';
import { ShardControl } from '../src/pool/shard-control.ts';
import { CANDIDATE, TICK } from '../src/ring/layout.ts';
import { RingBuffer } from '../src/ring/ring-buffer.ts';
import { copyTick, generateTape } from '../tests/support/tick-tape.ts';

const machine = machineInfo();
const SYMBOLS = 1000;
const THROUGHPUT_TICKS = 1 << 20;
const BATCH = 256;
const PACED_RATE = 100_000;
const PACED_SECONDS = 2;
const tape = generateTape({ seed: 9, symbols: SYMBOLS, ticks: 1 << 20, stepUs: 10 });
const MASK = tape.count - 1;
const yieldNow = () => new Promise<void>((r) => setImmediate(r));

interface Shape {
  name: 'own' | 'batch';
  ticks: RingBuffer;
  candidates: RingBuffer;
  /** Called after each publish: the per-batch shape submits a task here. */
  kick(): void;
  stop(): Promise<void>;
}

function rings() {
  return {
    ticks: RingBuffer.create({ capacity: THROUGHPUT_TICKS, recordBytes: TICK.bytes, consumers: 1 }),
    candidates: RingBuffer.create({ capacity: 1 << 15, recordBytes: CANDIDATE.bytes, consumers: 1 }),
  };
}

function ownShape(): Shape {
  const r = rings();
  const state = FeatureState.create(SYMBOLS);
  const pool = startFeaturePool({
    shards: 1,
    symbolsPerShard: SYMBOLS,
    tickRings: [r.ticks.sab],
    candidateRings: [r.candidates.sab],
    featureStateSab: state.sab,
    workers: 1,
    maxBatch: BATCH,
    candidatePolicy: 'drop',
    log: createLogger({ name: 'bench', level: 'warn' }),
  });
  return { name: 'own', ...r, kick: () => {}, stop: () => pool.stop({ drain: false }) };
}

function batchShape(): Shape {
  const r = rings();
  const state = FeatureState.create(SYMBOLS);
  const control = ShardControl.create(1);
  const pool = new Piscina({
    filename: new URL('../src/pool/feature-worker.ts', import.meta.url).href,
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData: featureWorkerDataSchema.parse({
      shards: 1,
      tickConsumer: 0,
      tickRings: [r.ticks.sab],
      candidateRings: [r.candidates.sab],
      featureStateSab: state.sab,
      controlSab: control.sab,
      featureParams: DEFAULT_FEATURE_PARAMS,
      patternParams: DEFAULT_PATTERN_PARAMS,
      candidatePolicy: 'drop',
      maxBatch: BATCH,
      spinsBeforeSleep: 0,
      sleepTimeoutMs: 250,
    }),
  });
  let inFlight = false;
  const kick = () => {
    // One task in flight per shard at most: a shard has one consumer at a time.
    if (inFlight || r.ticks.readable(0) === 0) return;
    inFlight = true;
    void pool.run({ type: 'batch', shard: 0, maxTicks: BATCH }).then((_res: BatchResult) => {
      inFlight = false;
      kick();
    });
  };
  return {
    name: 'batch',
    ...r,
    kick,
    stop: async () => {
      while (inFlight) await yieldNow();
      await pool.destroy();
    },
  };
}

function drainCandidates(s: Shape): void {
  const n = s.candidates.readable(0);
  if (n > 0) s.candidates.commit(0, (s.candidates.cursor(0) + n) >>> 0);
}

let tapePos = 0;
function publish(s: Shape, n: number, stamp?: Float64Array): void {
  const ring = s.ticks;
  let first = ring.tryClaim(n);
  while (first === -1) first = ring.tryClaim(n); // sized so this does not happen at these rates
  const now = stamp ? performance.now() : 0;
  for (let k = 0; k < n; k++) {
    const seq = (first + k) >>> 0;
    copyTick(tape, tapePos++ & MASK, ring, seq);
    if (stamp) stamp[seq & (stamp.length - 1)] = now;
  }
  ring.publish((first + n) >>> 0);
  s.kick();
}

async function throughput(s: Shape): Promise<number> {
  const run = async (ticks: number): Promise<number> => {
    const end = (s.ticks.cursor(0) + ticks) >>> 0;
    const t0 = performance.now();
    publish(s, ticks);
    while (s.ticks.cursor(0) !== end) {
      drainCandidates(s);
      await yieldNow();
    }
    return ticks / ((performance.now() - t0) / 1000);
  };
  await run(THROUGHPUT_TICKS / 4); // warm-up
  let best = 0;
  for (let i = 0; i < 3; i++) best = Math.max(best, await run(THROUGHPUT_TICKS));
  return best;
}

async function latency(s: Shape): Promise<{ p50Us: number; p99Us: number; p999Us: number; samples: number }> {
  const stamp = new Float64Array(1 << 16);
  const total = PACED_RATE * PACED_SECONDS;
  const lat = new Float64Array(total);
  let sent = 0;
  let seen = 0;
  const base = s.ticks.cursor(0);
  const t0 = performance.now();
  while (seen < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * PACED_RATE));
    if (due > sent) {
      publish(s, due - sent, stamp);
      sent = due;
    }
    const done = (s.ticks.cursor(0) - base) >>> 0;
    if (done > seen) {
      const t = performance.now();
      for (; seen < done; seen++) lat[seen] = (t - stamp[(base + seen) & (stamp.length - 1)]!) * 1000;
    }
    drainCandidates(s);
    await yieldNow();
  }
  lat.sort();
  const q = (p: number) => lat[Math.min(total - 1, Math.floor(p * total))]!;
  return { p50Us: q(0.5), p99Us: q(0.99), p999Us: q(0.999), samples: total };
}

const results: Record<string, { ticksPerSec: number; p50Us: number; p99Us: number; p999Us: number }> = {};
for (const make of [ownShape, batchShape]) {
  const s = make();
  const tps = await throughput(s);
  const lat = await latency(s);
  results[s.name] = { ticksPerSec: Math.round(tps), p50Us: lat.p50Us, p99Us: lat.p99Us, p999Us: lat.p999Us };
  await s.stop();
}

const faster =
  results.own!.ticksPerSec >= results.batch!.ticksPerSec && results.own!.p99Us <= results.batch!.p99Us
    ? 'own'
    : 'mixed';
const table = Object.entries(results).map(([shape, r]) => ({
  shape: shape === 'own' ? 'worker owns shard (Atomics.wait)' : 'piscina task per batch',
  'ticks/s (full speed)': r.ticksPerSec.toLocaleString('en-US'),
  'p50 µs @100k/s': r.p50Us.toFixed(1),
  'p99 µs @100k/s': r.p99Us.toFixed(1),
  'p99.9 µs @100k/s': r.p999Us.toFixed(1),
}));
console.table(table);
console.log(
  `kept: ${faster === 'own' ? 'the owner shape (faster on both counts)' : 'see table: neither shape wins both'}`,
);
const out = {
  question: 'feature worker shape: owner loop on the ring vs piscina task per batch',
  machine,
  symbols: SYMBOLS,
  throughputTicks: THROUGHPUT_TICKS,
  pacedRate: PACED_RATE,
  results,
  kept: faster,
  at: new Date().toISOString(),
};
writeBenchResult('pool-shape', out);
