import type { TickSink } from './tick.ts';

/**
 * A source of ticks. One `run()` at a time; it resolves when the source ends (a replay reaches
 * the end of its file) or after `stop()`. Feeds run on the engine's main thread, the single
 * producer of the tick rings.
 *
 * Durable positions: `position()` names the point just after the last tick handed to the sink,
 * as an opaque string (a record index, a byte offset, a stream id). The engine stores it in the
 * same transaction as the ticks it covers (writer/cursor-store.ts) and calls `commit()` once it
 * is durable; a restart passes it back as `resumeFrom`.
 */
export interface Feed {
  /** Metric label and cursor name: `synthetic`, `replay`, `orderflow`. */
  readonly name: string;
  run(sink: TickSink): Promise<void>;
  stop(): void;
  position(): string | null;
  /** Everything up to `position` is persisted (or, without a database, accepted). */
  commit(position: string): Promise<void>;
  /** Ticks handed to the sink and accepted. */
  readonly ticksIn: number;
  /** Ticks the sink dropped under the `drop` backpressure policy. */
  readonly ticksDropped: number;
}

/** Ticks produced per event-loop turn at most: keeps HTTP, timers and SIGTERM responsive. */
export const FEED_BATCH = 4096;

export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Wall clock in integer microseconds since the epoch, without allocation. */
export function wallClockUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
