import type { EngineConfig } from '../config.ts';
import { FeatureState } from '../features/state.ts';
import { CANDIDATE, SCORED, TICK } from '../ring/layout.ts';
import { RingBuffer } from '../ring/ring-buffer.ts';

const CANDIDATE_RING_CAPACITY = 1 << 14;
export const SCORED_RING_CAPACITY = 1 << 14;

/** The shared memory every thread attaches to; it outlives any one worker (crash-only). */
export interface EngineMemory {
  /** One per shard. Consumer 0: the feature pool; consumer 1: the writer (with a database). */
  readonly tickRings: readonly RingBuffer[];
  /** One per shard; consumer 0: the inference thread. */
  readonly candidateRings: readonly RingBuffer[];
  /** Consumer 0: the signal publisher. */
  readonly scoredRing: RingBuffer;
  readonly featureState: FeatureState;
}

/** Stage 3: allocate the rings and the per-symbol feature state. */
export function allocateMemory(
  config: EngineConfig,
  symbolsPerShard: number,
  withWriter: boolean,
): EngineMemory {
  const shards = config.shards;
  const tickConsumers = withWriter ? 2 : 1;
  return {
    tickRings: Array.from({ length: shards }, () =>
      RingBuffer.create({ capacity: config.ringCapacity, recordBytes: TICK.bytes, consumers: tickConsumers }),
    ),
    candidateRings: Array.from({ length: shards }, () =>
      RingBuffer.create({ capacity: CANDIDATE_RING_CAPACITY, recordBytes: CANDIDATE.bytes, consumers: 1 }),
    ),
    scoredRing: RingBuffer.create({
      capacity: SCORED_RING_CAPACITY,
      recordBytes: SCORED.bytes,
      consumers: 1,
    }),
    featureState: FeatureState.create(symbolsPerShard * shards),
  };
}
