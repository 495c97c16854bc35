import { createLogger } from '@aegis/shared/logging';
import { afterEach, describe, expect, it } from 'vitest';
import { FeatureState } from '../../src/features/state.ts';
import {
  type FeaturePoolHandle,
  type FeaturePoolOptions,
  startFeaturePool,
} from '../../src/pool/feature-pool.ts';
import { TICK } from '../../src/ring/layout.ts';
import type { RingBuffer } from '../../src/ring/ring-buffer.ts';
import {
  type CandidateRow,
  drainCandidates,
  makeRings,
  type PipelineRings,
  runReference,
} from '../support/pipeline-reference.ts';
import { copyTick, generateTape, rng, type TickTape, tapeSymbol } from '../support/tick-tape.ts';

/**
 * The feature pool across real piscina worker threads: any number of workers, and workers
 * terminated mid-batch, give exactly the single-threaded reference's candidates and feature state.
 */
const SHARDS = 4;
const tape = generateTape({ seed: 11, symbols: 40, ticks: 60_000, stepUs: 1000 });
const reference = runReference(tape, SHARDS);
const silent = createLogger({ name: 'feature-pool-test', level: 'silent' });
const pools: FeaturePoolHandle[] = [];

afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop({ drain: false });
});

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A feature pool over `rings` and `state` (SHARDS shards of the tape's symbols), stopped after each test. */
function poolOn(
  rings: PipelineRings,
  state: FeatureState,
  options: Pick<FeaturePoolOptions, 'workers' | 'maxBatch' | 'controlSab'>,
): FeaturePoolHandle {
  const pool = startFeaturePool({
    shards: SHARDS,
    symbolsPerShard: tape.symbols / SHARDS,
    tickRings: rings.ticks.map((r) => r.sab),
    candidateRings: rings.candidates.map((r) => r.sab),
    featureStateSab: state.sab,
    log: silent,
    ...options,
  });
  pools.push(pool);
  return pool;
}

/**
 * Feed the tape from this thread without ever blocking the event loop (the pool restarts
 * workers from it): tryClaim, and yield when a ring is full. `onChunk` runs every `chunk` ticks.
 */
async function feed(t: TickTape, rings: RingBuffer[], chunk: number, onChunk: (i: number) => Promise<void>) {
  const flush = () => {
    for (const r of rings) r.publish(r.claimed());
  };
  for (let i = 0; i < t.count; ) {
    const ring = rings[tapeSymbol(t, i) % rings.length]!;
    const seq = ring.tryClaim(1);
    if (seq === -1) {
      flush();
      await tick();
      continue;
    }
    copyTick(t, i, ring, seq);
    i++;
    if (i % 64 === 0) flush();
    if (i % chunk === 0) {
      flush();
      await onChunk(i);
    }
  }
  flush();
}

async function runPool(workers: number, kills: number, seed: number) {
  const rings = makeRings(SHARDS, 2048, 1 << 14);
  const state = FeatureState.create(tape.symbols);
  const pool = poolOn(rings, state, { workers, maxBatch: 512 });
  const random = rng(seed);
  const killEvery = kills > 0 ? Math.floor(tape.count / (kills + 1)) : 0;
  let killed = 0;
  await feed(tape, rings.ticks, 1000, async (i) => {
    if (killEvery > 0 && killed < kills && i % killEvery < 1000 && i >= killEvery) {
      // Only kill workers that are running their shards (a replacement still booting has no task
      // yet: killing it would test piscina, not the takeover): every earlier kill's shards must
      // have been taken over again first.
      while (pool.stats().takeovers < SHARDS + killed * (SHARDS / workers)) await tick();
      // Let the workers get into the backlog, then terminate one of them wherever it is.
      await new Promise((r) => setTimeout(r, random() * 3));
      const threads = pool.threads();
      await threads[Math.floor(random() * threads.length)]!.terminate();
      killed++;
    }
    await tick();
  });
  await pool.stop({ drain: true, timeoutMs: 30_000 });
  const candidates: CandidateRow[] = [];
  for (let s = 0; s < SHARDS; s++) drainCandidates(rings.candidates[s]!, s, candidates);
  return { candidates, state, stats: pool.stats(), killed };
}

function expectReference(r: Awaited<ReturnType<typeof runPool>>) {
  expect(r.stats.ticksProcessed).toBe(tape.count);
  expect(r.stats.candidatesOut).toBe(reference.candidates.length);
  expect(r.candidates).toEqual(reference.candidates);
  expect(Buffer.from(r.state.sab).equals(Buffer.from(reference.state.sab))).toBe(true);
}

describe('feature pool (piscina workers owning shards)', () => {
  it('1, 2 and 4 workers (4 shards: several per worker, or one each) produce the reference', async () => {
    expect(reference.candidates.length).toBeGreaterThan(100);
    for (const workers of [1, 2, 4]) {
      const r = await runPool(workers, 0, 1);
      expectReference(r);
      expect(r.stats.restarts).toBe(0);
      expect(r.stats.lag).toEqual([0, 0, 0, 0]);
    }
  }, 120_000);

  it('workers terminated mid-batch: shards taken over, nothing lost, nothing applied or emitted twice', async () => {
    for (const seed of [1, 2]) {
      const r = await runPool(2, 4, seed);
      expect(r.killed).toBe(4);
      expect(r.stats.restarts).toBe(4);
      expectReference(r);
    }
  }, 120_000);

  it('a new pool over the same rings and state resumes where a stopped one left off', async () => {
    for (const keepControl of [true, false]) {
      const rings = makeRings(SHARDS, 1 << 16, 1 << 14);
      const state = FeatureState.create(tape.symbols);
      const start = (controlSab?: SharedArrayBuffer) =>
        poolOn(rings, state, { workers: 2, ...(controlSab ? { controlSab } : {}) });
      const half = tape.count / 2;
      const first = start();
      const halfTape = { ...tape, count: half };
      await feed(halfTape, rings.ticks, 1000, tick);
      await first.stop({ drain: true });
      const second = start(keepControl ? first.controlSab : undefined);
      const rest = {
        ...tape,
        count: half,
        u32: tape.u32.subarray((half * TICK.bytes) / 4),
        f64: tape.f64.subarray((half * TICK.bytes) / 8),
        u8: tape.u8.subarray(half * TICK.bytes),
        i8: tape.i8.subarray(half * TICK.bytes),
      };
      await feed(rest, rings.ticks, 1000, tick);
      await second.stop({ drain: true });
      const candidates: CandidateRow[] = [];
      for (let s = 0; s < SHARDS; s++) drainCandidates(rings.candidates[s]!, s, candidates);
      expect(candidates).toEqual(reference.candidates);
      expect(Buffer.from(state.sab).equals(Buffer.from(reference.state.sab))).toBe(true);
    }
  }, 120_000);

  it('rejects invalid startup options before starting threads', () => {
    const rings = makeRings(SHARDS, 64, 64);
    const base = {
      shards: SHARDS,
      symbolsPerShard: 10,
      tickRings: rings.ticks.map((r) => r.sab),
      candidateRings: rings.candidates.map((r) => r.sab),
      featureStateSab: FeatureState.create(40).sab,
      workers: 1,
      log: silent,
    };
    expect(() => startFeaturePool({ ...base, maxBatch: 0 })).toThrow();
    expect(() => startFeaturePool({ ...base, symbolsPerShard: 11 })).toThrow(/fewer symbols/);
    expect(() => startFeaturePool({ ...base, tickConsumer: 1 })).toThrow(/tickConsumer/);
    expect(() => startFeaturePool({ ...base, featureParams: { momentumTicks: 100 } })).toThrow();
    expect(() => startFeaturePool({ ...base, candidateRings: base.tickRings })).toThrow(/CANDIDATE records/);
  });
});
