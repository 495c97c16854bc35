import type { EngineConfig } from '../config.ts';
import { FeatureState } from '../features/state.ts';
import { Doorbells } from '../ring/doorbell.ts';
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
  /**
   * One slot per shard: a feature worker owning several shards parks on the slot of its first.
   * The tick rings above (the main thread's producer instances) ring them.
   */
  readonly tickDoorbells: Doorbells;
  /** Slot 0: the inference thread, which sleeps on every candidate ring at once. */
  readonly candidateDoorbell: Doorbells;
}

/** Stage 3: allocate the rings and the per-symbol feature state. */
export function allocateMemory(
  config: EngineConfig,
  symbolsPerShard: number,
  withWriter: boolean,
): EngineMemory {
  const shards = config.shards;
  const tickConsumers = withWriter ? 2 : 1;
  const tickDoorbells = Doorbells.create(shards);
  return {
    tickRings: Array.from({ length: shards }, () =>
      RingBuffer.create(
        { capacity: config.ringCapacity, recordBytes: TICK.bytes, consumers: tickConsumers },
        { doorbells: tickDoorbells },
      ),
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
    tickDoorbells,
    candidateDoorbell: Doorbells.create(1),
  };
}
