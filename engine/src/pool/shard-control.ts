import { AppError, ErrorCode } from '@aegis/shared/errors';

/**
 * The pool's control SharedArrayBuffer: a stop word for all workers and, per shard, the words the
 * shard's owner keeps beside its cursor. Everything here outlives the worker (crash-only).
 *
 *   byte 0        64                        128                       …
 *   ┌────────────┬─────────────────────────┬─────────────────────────┬───
 *   │ i32 STOP   │ shard 0: 8 f64 (SHARD.*)│ shard 1: 8 f64          │ …   one cache line per shard
 *   └────────────┴─────────────────────────┴─────────────────────────┴───
 *
 * ABS_HINT: an absolute tick position (exact below 2^53) at or after the shard's committed cursor,
 * stored before each cursor commit. The ring's cursor is a wrapping u32 (ring/layout.ts); the
 * owner recovers the cursor's absolute position as hint − ((hint mod 2^32) − cursor) mod 2^32,
 * exact because the hint is never behind the cursor and never a whole 2^32 ahead of it. Absolute
 * positions are what the per-symbol APPLIED_END markers (features/state.ts) are compared with.
 */
export const STOP = { RUN: 0, DRAIN: 1, NOW: 2 } as const;
const GLOBAL_BYTES = 64;
const SHARD_WORDS = 8;

/** Per-shard words (f64). */
export const SHARD = {
  ABS_HINT: 0,
  /** Candidates dropped because the candidate ring was full under the 'drop' policy. */
  CANDIDATES_DROPPED: 1,
  /** Candidates found already published during a post-crash replay, and not written again. */
  DUPLICATES_SKIPPED: 2,
  /** Ticks found already applied during a post-crash replay, and not applied again. */
  REPLAY_SKIPPED: 3,
  /** Ticks in this shard's ring whose symbol is not of the shard, or beyond the state (skipped). */
  MISROUTED: 4,
  /** Times a thread took this shard over (first start included). */
  TAKEOVERS: 5,
} as const;

export class ShardControl {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly shards: number;

  static byteLength(shards: number): number {
    return GLOBAL_BYTES + shards * SHARD_WORDS * 8;
  }
  static create(shards: number): ShardControl {
    return new ShardControl(new SharedArrayBuffer(ShardControl.byteLength(shards)));
  }
  static attach(sab: SharedArrayBuffer): ShardControl {
    return new ShardControl(sab);
  }
  private constructor(sab: SharedArrayBuffer) {
    const shards = (sab.byteLength - GLOBAL_BYTES) / (SHARD_WORDS * 8);
    if (!Number.isInteger(shards) || shards < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'shard control: buffer size does not match a shard count', {
        byteLength: sab.byteLength,
      });
    }
    this.sab = sab;
    this.shards = shards;
    this.i32 = new Int32Array(sab);
    this.f64 = new Float64Array(sab);
  }

  /** Float64 index of a shard's word (SHARD.*). */
  at(shard: number, word: number): number {
    return GLOBAL_BYTES / 8 + shard * SHARD_WORDS + word;
  }
  get(shard: number, word: number): number {
    return this.f64[this.at(shard, word)]!;
  }
  stop(): number {
    return Atomics.load(this.i32, 0);
  }
  setStop(mode: number): void {
    Atomics.store(this.i32, 0, mode);
  }
}
