import type { RingBuffer } from '../ring/ring-buffer.ts';
import { engineWaitMode } from '../ring/spin-wait.ts';
import { TickRingWriter, writeTick } from '../ring/tick-ring-writer.ts';
import { copyTick, createTickRecord, type TickRecord, type TickSink } from './tick.ts';

/**
 * The feeds' sink: routes each tick to its shard's ring (shard = symbolId % shards) and applies
 * the configured backpressure policy WITHOUT blocking the main thread.
 *
 * - `drop`: a tick that finds its ring full is discarded and counted.
 * - `block`: a tick that finds its ring full goes to a small per-shard overflow queue (later
 *   ticks of that shard follow it there, keeping per-symbol order), and the feed is told to wait:
 *   feeds `await sink.backpressure()` at each yield point, which resolves once the queues are
 *   back in the rings. The main thread never sleeps in Atomics.wait — it also supervises the
 *   feature pool (a worker restart needs its event loop) and serves /health and /metrics.
 *   Only if a feed overruns a queue (it publishes more than `overflowCapacity` ticks without
 *   yielding) does the sink fall back to a bounded synchronous wait; a tick still without room
 *   after that is dropped and counted (`stalled`).
 */
export interface ShardedSinkOptions {
  readonly rings: readonly RingBuffer[];
  readonly policy: 'block' | 'drop';
  readonly publishEvery: number;
  /** Ticks per shard that may wait outside the ring under `block` (default 16384). */
  readonly overflowCapacity?: number;
  /** Called after each flush (the engine takes checkpoints there). */
  readonly afterFlush?: () => void;
}

const SYNC_WAIT_MS = 5000;
/**
 * A full ring is waited on until this fraction of it is free (or the queue fits): the producer
 * then writes a whole chunk per wake-up instead of being woken at every consumer commit.
 */
const LOW_WATER_FRACTION = 4;
/** Longest single async wait for room before the queues are re-examined (no polling period). */
const ASYNC_WAIT_MS = 1000;

export class ShardedTickSink implements TickSink {
  readonly writers: readonly TickRingWriter[];
  readonly #rings: readonly RingBuffer[];
  readonly #shards: number;
  readonly #policy: 'block' | 'drop';
  readonly #afterFlush: (() => void) | undefined;
  readonly #cap: number;
  /** Per shard overflow queue of preallocated records (ring buffer of TickRecords). */
  readonly #queues: TickRecord[][];
  readonly #qHead: Int32Array;
  readonly #qLen: Int32Array;
  #queued = 0;
  #waiting: Promise<void> | null = null;
  /** The benchmark's naive baseline: re-try a full ring on a short growing timer (ring/spin-wait.ts). */
  readonly #poll = engineWaitMode() === 'poll';
  /** Ticks dropped (drop policy, or a stall under block). */
  dropped = 0;
  /** Ticks that waited in an overflow queue (block policy). */
  overflowed = 0;
  /** Synchronous waits that timed out (the tick was dropped). */
  stalled = 0;

  constructor(o: ShardedSinkOptions) {
    this.#rings = o.rings;
    this.#shards = o.rings.length;
    this.#policy = o.policy;
    this.#afterFlush = o.afterFlush;
    // The ring writers never wait: this sink decides what a full ring means.
    this.writers = o.rings.map(
      (r) => new TickRingWriter(r, { policy: 'drop', publishEvery: o.publishEvery }),
    );
    this.#cap = o.overflowCapacity ?? 16_384;
    this.#queues = o.rings.map(() => []);
    this.#qHead = new Int32Array(this.#shards);
    this.#qLen = new Int32Array(this.#shards);
  }

  /** Ticks waiting in overflow queues (not yet in a ring). */
  get queued(): number {
    return this.#queued;
  }

  publish(t: TickRecord): boolean {
    const shard = t.symbolId % this.#shards;
    if (this.#qLen[shard] === 0 && (this.writers[shard] as TickRingWriter).publish(t)) return true;
    if (this.#policy === 'drop') {
      this.dropped++;
      return false;
    }
    if ((this.#qLen[shard] as number) < this.#cap) {
      this.#enqueue(shard, t);
      return true;
    }
    // The feed overran the queue without yielding: wait synchronously (bounded) for room.
    this.#drainShard(shard, SYNC_WAIT_MS);
    if ((this.#qLen[shard] as number) < this.#cap) {
      this.#enqueue(shard, t);
      return true;
    }
    this.stalled++;
    this.dropped++;
    return false;
  }

  flush(): void {
    for (let s = 0; s < this.#shards; s++) {
      if (this.#qLen[s] !== 0) this.#drainShard(s, 0);
      (this.writers[s] as TickRingWriter).flush();
    }
    this.#afterFlush?.();
  }

  /** Publishes what the ring writers hold (no checkpoint hook). */
  flushRings(): void {
    for (const w of this.writers) w.flush();
  }

  /**
   * null when every tick is in a ring; otherwise a promise that resolves once the overflow
   * queues have drained into the rings (the feed awaits it before producing more).
   */
  backpressure(): Promise<void> | null {
    if (this.#queued === 0) return null;
    if (this.#waiting === null) {
      // The drain may finish without ever awaiting (the consumers freed room already). Its
      // promise is then settled at once; it is cleared in a reaction registered before any
      // caller's await, so a later call never gets a settled promise while ticks are queued.
      // (Resetting inside the drain itself ran BEFORE the assignment here and left a settled
      // promise behind for good: feeds stopped waiting, overran the queues and dropped ticks
      // under `block`, and a finished feed left ticks queued.)
      const waiting: Promise<void> = this.#drainUntilEmpty().finally(() => {
        if (this.#waiting === waiting) this.#waiting = null;
      });
      this.#waiting = waiting;
    }
    return this.#waiting;
  }

  async #drainUntilEmpty(): Promise<void> {
    while (this.#queued > 0) {
      let blocked = -1;
      for (let s = 0; s < this.#shards; s++) {
        if (this.#qLen[s] !== 0) this.#drainShard(s, 0);
        if (this.#qLen[s] !== 0 && blocked === -1) blocked = s;
      }
      this.flushRings();
      if (this.#queued === 0) break;
      if (this.#poll) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      // Park (Atomics.waitAsync on the slowest cursor) until the consumers freed a chunk of the
      // first blocked ring: one wake-up per chunk, no timer polling.
      await (this.#rings[blocked] as RingBuffer).waitForSpaceAsync(this.#lowWater(blocked), ASYNC_WAIT_MS);
    }
    this.#afterFlush?.();
  }

  /** Room to wait for in a full ring: its queue, or a quarter of the ring if the queue is larger. */
  #lowWater(shard: number): number {
    const ring = this.#rings[shard] as RingBuffer;
    return Math.max(1, Math.min(this.#qLen[shard] as number, ring.capacity / LOW_WATER_FRACTION));
  }

  #enqueue(shard: number, t: TickRecord): void {
    const q = this.#queues[shard] as TickRecord[];
    const idx = ((this.#qHead[shard] as number) + (this.#qLen[shard] as number)) % this.#cap;
    // Records are allocated once per slot, on first use, then reused.
    let slot = q[idx];
    if (!slot) {
      slot = createTickRecord();
      q[idx] = slot;
    }
    copyTick(t, slot);
    this.#qLen[shard]! += 1;
    this.#queued++;
    this.overflowed++;
  }

  /** Moves queued ticks of a shard into its ring while there is room (waiting up to waitMs). */
  #drainShard(shard: number, waitMs: number): void {
    const ring = this.#rings[shard] as RingBuffer;
    const writer = this.writers[shard] as TickRingWriter;
    const q = this.#queues[shard] as TickRecord[];
    while ((this.#qLen[shard] as number) > 0) {
      let seq = ring.tryClaim(1);
      if (seq === -1) {
        writer.flush();
        if (waitMs <= 0) return;
        if (!ring.waitForSpace(this.#lowWater(shard), waitMs)) return;
        seq = ring.tryClaim(1);
        if (seq === -1) return;
      }
      writeTick(ring, seq, q[this.#qHead[shard] as number] as TickRecord);
      ring.publish((seq + 1) >>> 0);
      this.#qHead[shard] = ((this.#qHead[shard] as number) + 1) % this.#cap;
      this.#qLen[shard]! -= 1;
      this.#queued--;
    }
  }
}
