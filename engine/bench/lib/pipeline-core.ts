import { createLogger } from '@aegis/shared/logging';
import { FeatureState } from '../../src/features/state.ts';
import { startFeaturePool } from '../../src/pool/feature-pool.ts';
import { CANDIDATE, TICK } from '../../src/ring/layout.ts';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';
import { copyTick, generateTape, type TickTape, tapeSymbol } from '../../tests/support/tick-tape.ts';

/**
 * The feature half of the pipeline at full speed: this thread feeds a pre-generated tape into the
 * shards' TICK rings (one record copy per tick, HEAD published per batch), the feature pool's
 * workers compute features and patterns and write candidates, and this thread drains the
 * candidate rings (standing in for the inference thread). Exported for engine/bench/engine.ts.
 */
export interface PipelineCoreOptions {
  symbols?: number;
  shards?: number;
  workers?: number;
  ticks?: number;
  /** Ticks per claim/publish on the feed side. */
  publishEvery?: number;
  /** Ticks per cursor commit in the workers. */
  maxBatch?: number;
  ringCapacity?: number;
}
export interface PipelineCoreResult {
  symbols: number;
  shards: number;
  workers: number;
  ticks: number;
  candidates: number;
  seconds: number;
  ticksPerSec: number;
}

const tapes = new Map<number, TickTape>();

export async function runPipelineCore(o: PipelineCoreOptions = {}): Promise<PipelineCoreResult> {
  const symbols = o.symbols ?? 1000;
  const shards = o.shards ?? 1;
  const workers = o.workers ?? 1;
  const ticks = o.ticks ?? 5_000_000;
  const publishEvery = o.publishEvery ?? 256;
  let t = tapes.get(symbols);
  if (!t) {
    t = generateTape({ seed: 5, symbols, ticks: 1 << 20, stepUs: 20 });
    tapes.set(symbols, t);
  }
  const tape = t;
  const tickRings = Array.from({ length: shards }, () =>
    RingBuffer.create({ capacity: o.ringCapacity ?? 1 << 16, recordBytes: TICK.bytes, consumers: 1 }),
  );
  const candidateRings = Array.from({ length: shards }, () =>
    RingBuffer.create({ capacity: 1 << 14, recordBytes: CANDIDATE.bytes, consumers: 1 }),
  );
  const state = FeatureState.create(symbols);
  const pool = startFeaturePool({
    shards,
    symbolsPerShard: Math.floor(symbols / shards),
    tickRings: tickRings.map((r) => r.sab),
    candidateRings: candidateRings.map((r) => r.sab),
    featureStateSab: state.sab,
    workers,
    maxBatch: o.maxBatch ?? 256,
    candidatePolicy: 'drop',
    log: createLogger({ name: 'bench', level: 'warn' }),
  });
  let candidates = 0;
  const drain = () => {
    for (const r of candidateRings) {
      const n = r.readable(0);
      if (n > 0) {
        candidates += n;
        r.commit(0, (r.cursor(0) + n) >>> 0);
      }
    }
  };
  const pending = new Int32Array(shards);
  // Tape positions are taken modulo its length: the tape is replayed with a time offset of zero,
  // which the features treat as more ticks of the same symbols (no allocation, same work).
  const mask = tape.count - 1;
  const feed = (from: number, count: number) => {
    for (let i = from; i < from + count; i++) {
      const r = i & mask;
      const shard = tapeSymbol(tape, r) % shards;
      const ring = tickRings[shard]!;
      let seq = ring.tryClaim(1);
      if (seq === -1) {
        for (let s = 0; s < shards; s++) flush(s);
        drain();
        seq = ring.claim(1);
      }
      copyTick(tape, r, ring, seq);
      if (++pending[shard]! >= publishEvery) flush(shard);
    }
    for (let s = 0; s < shards; s++) flush(s);
  };
  const flush = (s: number) => {
    if (pending[s] === 0) return;
    pending[s] = 0;
    tickRings[s]!.publish(tickRings[s]!.claimed());
  };
  const settled = async () => {
    while (tickRings.some((r) => r.readable(0) > 0)) {
      drain();
      await new Promise((r) => setImmediate(r));
    }
    drain();
  };

  // Warm-up (threads start, code gets optimised), not timed.
  const warm = Math.min(500_000, ticks);
  feed(0, warm);
  await settled();
  candidates = 0;
  const t0 = performance.now();
  feed(warm, ticks);
  await settled();
  const seconds = (performance.now() - t0) / 1000;
  await pool.stop({ drain: false });
  return { symbols, shards, workers, ticks, candidates, seconds, ticksPerSec: ticks / seconds };
}
