/**
 * The pool's control SharedArrayBuffer: a stop word for all workers and, per shard, the words a
 * shard's owner keeps beside its cursor. Everything here survives the worker (crash-only).
 *
 *   Int32 words                              Float64 words (from byte SHARD_BASE_BYTES)
 *   ┌──────┬───────┬─────────────┐           ┌─ shard s: 8 f64 (one 64-byte line) ──────────────────┐
 *   │ STOP │ spare │ ... (64 B)  │           │ ABS_HINT │ DROPPED │ DUPLICATES │ REPLAYED │ MISROUTED│…
 *   └──────┴───────┴─────────────┘           └──────────────────────────────────────────────────────┘
 *
 * ABS_HINT: an absolute tick position (exact below 2^53) at or after the shard's committed cursor,
 * stored before each cursor commit. The ring's cursor is a wrapping u32 (layout.ts); the owner
 * recovers the cursor's absolute position as hint - ((hint mod 2^32) - cursor mod 2^32), which is
 * exact because the hint is never behind the cursor and never more than one batch ahead of it.
 * Absolute positions are what the per-symbol LAST_APPLIED_ABS markers compare against.
 */
export const STOP = { RUN: 0, DRAIN: 1, NOW: 2 } as const;
export const CONTROL_INT_STOP = 0;
const SHARD_BASE_BYTES = 64;
const SHARD_WORDS = 8;
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
  /** Worker (re)starts that took this shard over. */
  TAKEOVERS: 5,
} as const;

export class ShardControl {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly shards: number;

  static create(shards: number): ShardControl {
    return new ShardControl(new SharedArrayBuffer(SHARD_BASE_BYTES + shards * SHARD_WORDS * 8));
  }
  static attach(sab: SharedArrayBuffer): ShardControl {
    return new ShardControl(sab);
  }
  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.shards = (sab.byteLength - SHARD_BASE_BYTES) / (SHARD_WORDS * 8);
    this.i32 = new Int32Array(sab, 0, SHARD_BASE_BYTES / 4);
    this.f64 = new Float64Array(sab, SHARD_BASE_BYTES, this.shards * SHARD_WORDS);
  }

  /** Float64 index of a shard's word. */
  at(shard: number, word: number): number {
    return shard * SHARD_WORDS + word;
  }
  get(shard: number, word: number): number {
    return this.f64[shard * SHARD_WORDS + word]!;
  }
  stop(): number {
    return Atomics.load(this.i32, CONTROL_INT_STOP);
  }
  setStop(mode: number): void {
    Atomics.store(this.i32, CONTROL_INT_STOP, mode);
  }
}
