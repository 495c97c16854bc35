import {
  type Coefficients,
  coefficients,
  DEFAULT_FEATURE_PARAMS,
  DEFAULT_PATTERN_PARAMS,
} from '../../src/features/params.ts';
import { FeatureState } from '../../src/features/state.ts';
import { ShardControl } from '../../src/pool/shard-control.ts';
import { type CandidatePolicy, ShardProcessor } from '../../src/pool/shard-processor.ts';
import { CANDIDATE, TICK, usFromWords } from '../../src/ring/layout.ts';
import { RingBuffer } from '../../src/ring/ring-buffer.ts';
import { feedTape, type TickTape } from './tick-tape.ts';

export interface CandidateRow {
  shard: number;
  candidateId: number;
  symbolId: number;
  tsEventUs: number;
  pattern: number;
  direction: number;
  price: number;
  features: number[];
}

export function nextPow2(n: number): number {
  let c = 2;
  while (c < n) c *= 2;
  return c;
}

/** Everything a pipeline over `shards` shards needs, sized so a whole tape fits if asked. */
export function makeRings(shards: number, tickCapacity: number, candidateCapacity: number, consumers = 1) {
  return {
    ticks: Array.from({ length: shards }, () =>
      RingBuffer.create({ capacity: tickCapacity, recordBytes: TICK.bytes, consumers }),
    ),
    candidates: Array.from({ length: shards }, () =>
      RingBuffer.create({ capacity: candidateCapacity, recordBytes: CANDIDATE.bytes, consumers: 1 }),
    ),
  };
}

export type PipelineRings = ReturnType<typeof makeRings>;

/**
 * A ShardProcessor for `shard` of `rings` (tick consumer 0) over `state` and `control`; the
 * default parameters' coefficients and the block policy unless given.
 */
export function processorOn(
  rings: PipelineRings,
  shard: number,
  options: {
    shards: number;
    state: FeatureState;
    control: ShardControl;
    coefficients?: Coefficients;
    candidatePolicy?: CandidatePolicy;
  },
): ShardProcessor {
  return new ShardProcessor({
    shard,
    shards: options.shards,
    consumer: 0,
    tickRing: rings.ticks[shard]!.sab,
    candidateRing: rings.candidates[shard]!.sab,
    state: options.state,
    control: options.control,
    coefficients: options.coefficients ?? coefficients(DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS),
    candidatePolicy: options.candidatePolicy ?? 'block',
  });
}

/** Read (and commit) every published candidate of a ring. */
export function drainCandidates(ring: RingBuffer, shard: number, out: CandidateRow[]): number {
  const n = ring.readable(0);
  const from = ring.cursor(0);
  for (let k = 0; k < n; k++) {
    const seq = (from + k) >>> 0;
    const b32 = ring.base32(seq);
    const b8 = ring.base8(seq);
    const b64 = ring.base64(seq);
    out.push({
      shard,
      candidateId: ring.u32[b32 + CANDIDATE.u32.candidateId]!,
      symbolId: ring.u32[b32 + CANDIDATE.u32.symbolId]!,
      tsEventUs: usFromWords(
        ring.u32[b32 + CANDIDATE.u32.tsEventHi]!,
        ring.u32[b32 + CANDIDATE.u32.tsEventLo]!,
      ),
      pattern: ring.u8[b8 + CANDIDATE.u8.pattern]!,
      direction: ring.i8[b8 + CANDIDATE.i8.direction]!,
      price: ring.f64[b64 + CANDIDATE.f64.price]!,
      features: Array.from(ring.f64.subarray(b64 + CANDIDATE.f64.features, b64 + CANDIDATE.f64.features + 8)),
    });
  }
  ring.commit(0, (from + n) >>> 0);
  return n;
}

/**
 * The single-threaded reference: the same ShardProcessor code driven from this thread, whole tape
 * in, every candidate out. Returns the candidates in ring order per shard, and the final state.
 */
export function runReference(tape: TickTape, shards: number) {
  const rings = makeRings(shards, nextPow2(tape.count), nextPow2(tape.count));
  const state = FeatureState.create(tape.symbols);
  const control = ShardControl.create(shards);
  const k = coefficients(DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS);
  feedTape(tape, rings.ticks);
  const candidates: CandidateRow[] = [];
  for (let s = 0; s < shards; s++) {
    const p = processorOn(rings, s, { shards, state, control, coefficients: k });
    while (p.processBatch(256) > 0);
    drainCandidates(rings.candidates[s]!, s, candidates);
  }
  return { candidates, state };
}
