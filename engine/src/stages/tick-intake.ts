import type { EngineConfig } from '../config.ts';
import { ShardedTickSink } from '../feeds/sharded-sink.ts';
import type { RingBuffer } from '../ring/ring-buffer.ts';
import type { WriterThreadHandle } from '../writer/writer-thread.ts';
import type { FeedPositions } from './feed-positions.ts';

/**
 * Publish a ring's head every N ticks. Measured by engine/bench/ring.ts (bench/results/ring.json):
 * through TickRingWriter into a consumer thread, HEAD per tick cost ~27 ns/tick more than per 256
 * (96 vs 69 ns/tick, median of 5 runs on 2 cores): each publish is a sequentially consistent
 * store to HEAD plus a read of SLEEPERS, on the cache line the consumer keeps reading.
 */
const PUBLISH_EVERY = 256;
/** Minimum ms between two writer checkpoints (each is one postMessage). */
const CHECKPOINT_EVERY_MS = 5;
/** A checkpoint at least this often even when the feeds are quiet. */
const CHECKPOINT_TIMER_MS = 50;

export interface TickIntake {
  /** Where every feed's ticks enter the tick rings (sharded by symbol). */
  readonly sink: ShardedTickSink;
  /**
   * Publishes the rings and records the feeds' positions with them: to the writer (durable once
   * its flush commits) or, without a database, acknowledged at once.
   */
  checkpoint(): void;
  /** Stops the periodic checkpoint (shutdown calls checkpoint() itself). */
  stopTimer(): void;
}

/** Stage 6: the sink the feeds write to and the checkpoints that make their positions durable. */
export function startTickIntake(options: {
  config: EngineConfig;
  tickRings: readonly RingBuffer[];
  writer: WriterThreadHandle | null;
  positions: FeedPositions;
}): TickIntake {
  const { writer, positions } = options;
  let lastCheckpoint = 0;
  const checkpoint = () => {
    // Ticks still in the sink's overflow queues are not in a ring yet: their feed positions must
    // not become durable before they are; the next checkpoint will cover them.
    if (sink.queued > 0) return;
    lastCheckpoint = performance.now();
    sink.flushRings();
    const p = positions.positions();
    if (writer) writer.checkpoint(p);
    else positions.commit(p); // no database: acknowledge once accepted into the rings
  };
  const sink = new ShardedTickSink({
    rings: options.tickRings,
    policy: options.config.backpressure,
    publishEvery: PUBLISH_EVERY,
    afterFlush: () => {
      if (performance.now() - lastCheckpoint >= CHECKPOINT_EVERY_MS) checkpoint();
    },
  });
  const timer = setInterval(checkpoint, CHECKPOINT_TIMER_MS);
  return { sink, checkpoint, stopTimer: () => clearInterval(timer) };
}
