// One file over 400 lines: RingBuffer is one class over one SharedArrayBuffer layout; its
// producer, consumer and header paths share the private cursors and must be read together.
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { Doorbells } from './doorbell.ts';
import {
  CTRL,
  RING_MAGIC,
  RING_MAX_CAPACITY,
  RING_MAX_CONSUMERS,
  RING_VERSION,
  ringHeaderBytes,
} from './layout.ts';
import type { SpinBudget } from './spin-wait.ts';

/**
 * Disruptor-style ring over one SharedArrayBuffer: ONE producer, K consumers, fixed-size records.
 * The memory layout (control header, cache lines, wrap-safe u32 sequences) is drawn in layout.ts.
 *
 * Producer (one thread at a time):
 *   const seq = ring.tryClaim(n)            // -1 when full: the caller drops and counts
 *   const seq = ring.claim(n, timeoutMs)    // waits on the slowest consumer; -1 only on timeout
 *   await ring.waitForSpaceAsync(n, ms)     // the same wait without blocking an event loop
 *   write records at ring.base64(seq + k) / base32 / base16 / base8 with the field offsets of layout.ts
 *   ring.publish((seq + n) >>> 0)           // once per batch: one Atomics.store (+ notify if asleep)
 * Consumer i (one thread at a time per cursor):
 *   let n = ring.readable(i) || ring.waitForData(i, timeoutMs)   // Atomics.wait only when empty
 *   const from = ring.cursor(i); read records from .. from + n
 *   ring.commit(i, (from + n) >>> 0)       // once per batch; frees the slots for the producer
 *
 * Sequences are u32 values that wrap modulo 2^32 (see layout.ts): always add with `(a + n) >>> 0`
 * and compare by distance `(a - b) >>> 0`, never with `<`.
 *
 * Every control word is accessed with Atomics (sequentially consistent), which is what makes the
 * sleep protocol free of lost wake-ups: a consumer announces itself in SLEEPERS and re-reads HEAD
 * before it waits; the producer stores HEAD and then reads SLEEPERS. Whatever the interleaving,
 * either the consumer sees the new HEAD or the producer sees the sleeper and notifies (and
 * Atomics.wait itself returns at once if HEAD already moved). The producer side is symmetric with
 * PRODUCER_WAITING and the slowest cursor.
 */
export interface RingParams {
  /** Number of records; a power of two in [2, 2^30]. */
  capacity: number;
  /** Bytes per record; a positive multiple of 8. */
  recordBytes: number;
  /** Number of consumer cursors, 1..16. */
  consumers: number;
}

export interface RingAttachOptions {
  /**
   * The doorbells (ring/doorbell.ts) of the consumers that sleep on several rings at once. Give it
   * to the PRODUCER's instance: its publish then rings the slot named in the ring's DOORBELL word
   * while that consumer is asleep.
   */
  readonly doorbells?: Doorbells;
}

export class RingBuffer {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  readonly mask: number;
  readonly recordBytes: number;
  readonly consumers: number;
  /** Control header words (layout.ts CTRL). */
  readonly ctrl: Int32Array;
  /** Views over the data region; a record's base index in each is base64/base32/base16/base8(seq). */
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly u16: Uint16Array;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  private readonly stride64: number;
  private readonly stride32: number;
  private readonly stride16: number;
  // Producer-local state (meaningful only in the producer's thread).
  /** Next sequence to hand out by claim (claimed but unpublished records lie in [HEAD, next)). */
  private next: number;
  /** Cached lowest consumer cursor: the producer re-reads the cursors only when this says full. */
  private gate: number;
  /** Producer side: the doorbells to ring when the ring's sleeping consumer parks on one. */
  private readonly doorbells: Doorbells | undefined;

  /** Bytes of SharedArrayBuffer a ring with these params needs. */
  static byteLength(params: RingParams): number {
    validateParams(params);
    return ringHeaderBytes(params.consumers) + params.capacity * params.recordBytes;
  }

  /** A new ring in a fresh SharedArrayBuffer, all cursors at 0. */
  static create(params: RingParams, options?: RingAttachOptions): RingBuffer {
    const sab = new SharedArrayBuffer(RingBuffer.byteLength(params));
    const ctrl = new Int32Array(sab, 0, ringHeaderBytes(params.consumers) / 4);
    ctrl[CTRL.MAGIC] = RING_MAGIC;
    ctrl[CTRL.VERSION] = RING_VERSION;
    ctrl[CTRL.CAPACITY] = params.capacity;
    ctrl[CTRL.RECORD_BYTES] = params.recordBytes;
    ctrl[CTRL.CONSUMERS] = params.consumers;
    return new RingBuffer(sab, options);
  }

  /** Attach to an existing ring (any thread): the params are read from its header. */
  static attach(sab: SharedArrayBuffer, options?: RingAttachOptions): RingBuffer {
    return new RingBuffer(sab, options);
  }

  private constructor(sab: SharedArrayBuffer, options?: RingAttachOptions) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < 128) {
      throw new AppError(ErrorCode.BAD_INPUT, 'ring: not a ring SharedArrayBuffer');
    }
    const head = new Int32Array(sab, 0, 8);
    if (head[CTRL.MAGIC] !== RING_MAGIC || head[CTRL.VERSION] !== RING_VERSION) {
      throw new AppError(ErrorCode.BAD_INPUT, 'ring: bad magic or version', {
        magic: head[CTRL.MAGIC],
        version: head[CTRL.VERSION],
      });
    }
    const params: RingParams = {
      capacity: head[CTRL.CAPACITY]!,
      recordBytes: head[CTRL.RECORD_BYTES]!,
      consumers: head[CTRL.CONSUMERS]!,
    };
    validateParams(params);
    const headerBytes = ringHeaderBytes(params.consumers);
    const dataBytes = params.capacity * params.recordBytes;
    if (sab.byteLength !== headerBytes + dataBytes) {
      throw new AppError(ErrorCode.BAD_INPUT, 'ring: buffer size does not match its header', {
        byteLength: sab.byteLength,
        expected: headerBytes + dataBytes,
      });
    }
    this.sab = sab;
    this.capacity = params.capacity;
    this.mask = params.capacity - 1;
    this.recordBytes = params.recordBytes;
    this.consumers = params.consumers;
    this.ctrl = new Int32Array(sab, 0, headerBytes / 4);
    this.f64 = new Float64Array(sab, headerBytes, dataBytes / 8);
    this.f32 = new Float32Array(sab, headerBytes, dataBytes / 4);
    this.u32 = new Uint32Array(sab, headerBytes, dataBytes / 4);
    this.i32 = new Int32Array(sab, headerBytes, dataBytes / 4);
    this.u16 = new Uint16Array(sab, headerBytes, dataBytes / 2);
    this.u8 = new Uint8Array(sab, headerBytes, dataBytes);
    this.i8 = new Int8Array(sab, headerBytes, dataBytes);
    this.stride64 = params.recordBytes / 8;
    this.stride32 = params.recordBytes / 4;
    this.stride16 = params.recordBytes / 2;
    // A producer attaching after another (e.g. a restarted feed thread) continues after the last
    // published record; records claimed but never published by the previous producer are reused.
    this.next = Atomics.load(this.ctrl, CTRL.HEAD) >>> 0;
    this.gate = this.minCursor();
    this.doorbells = options?.doorbells;
  }

  /* ------------------------------------------------------------------ record addressing */

  /** Slot index of a sequence. */
  slot(seq: number): number {
    return seq & this.mask;
  }
  /** Byte offset of a sequence's record within the data region. */
  slotOffset(seq: number): number {
    return (seq & this.mask) * this.recordBytes;
  }
  /** Base index of a sequence's record in the f64 view. */
  base64(seq: number): number {
    return (seq & this.mask) * this.stride64;
  }
  /** Base index of a sequence's record in the u32 / i32 / f32 views. */
  base32(seq: number): number {
    return (seq & this.mask) * this.stride32;
  }
  /** Base index of a sequence's record in the u16 view. */
  base16(seq: number): number {
    return (seq & this.mask) * this.stride16;
  }
  /** Base index of a sequence's record in the u8 / i8 views. */
  base8(seq: number): number {
    return (seq & this.mask) * this.recordBytes;
  }

  /* ------------------------------------------------------------------ producer */

  /**
   * Claim `n` consecutive records without waiting. Returns the first sequence, or -1 when the
   * slowest consumer has not freed `n` slots: the caller decides (drop and count, or `claim`).
   */
  tryClaim(n: number): number {
    const first = this.next;
    const end = (first + n) >>> 0;
    if ((end - this.gate) >>> 0 > this.capacity) {
      this.gate = this.minCursor();
      if ((end - this.gate) >>> 0 > this.capacity) return -1;
    }
    this.next = end;
    return first;
  }

  /**
   * Claim `n` consecutive records, waiting (Atomics.wait on the slowest consumer's cursor) while
   * the ring is full. Returns the first sequence, or -1 if `timeoutMs` passed first.
   */
  claim(n: number, timeoutMs = Number.POSITIVE_INFINITY): number {
    if (n > this.capacity) {
      throw new AppError(ErrorCode.BAD_INPUT, 'ring: claim larger than capacity', {
        n,
        capacity: this.capacity,
      });
    }
    let first = this.tryClaim(n);
    if (first !== -1) return first;
    for (;;) {
      if (!this.waitForSpace(n, timeoutMs)) return -1;
      first = this.tryClaim(n);
      if (first !== -1) return first;
    }
  }

  /**
   * Block until `n` records can be claimed (the slowest consumer freed them) or `timeoutMs`
   * passes; true when there is room. The producer announces PRODUCER_WAITING with the cursor it
   * needs (PRODUCER_WANTS), so consumers notify it once, when their commit reaches that cursor.
   * Claiming a low-water chunk rather than one record keeps a blocked producer's wake-ups to one
   * per chunk.
   */
  waitForSpace(n: number, timeoutMs = Number.POSITIVE_INFINITY): boolean {
    if (n > this.capacity) {
      throw new AppError(ErrorCode.BAD_INPUT, 'ring: wait for more room than capacity', {
        n,
        capacity: this.capacity,
      });
    }
    const deadline = timeoutMs === Number.POSITIVE_INFINITY ? 0 : performance.now() + timeoutMs;
    const ctrl = this.ctrl;
    for (;;) {
      const end = (this.next + n) >>> 0;
      if ((end - this.minCursor()) >>> 0 <= this.capacity) return true;
      const idx = CTRL.CURSOR_BASE + this.slowestConsumer() * CTRL.CURSOR_STRIDE;
      Atomics.store(ctrl, CTRL.PRODUCER_WANTS, (end - this.capacity) | 0);
      Atomics.store(ctrl, CTRL.PRODUCER_WAITING, 1);
      const cursor = Atomics.load(ctrl, idx);
      if ((end - (cursor >>> 0)) >>> 0 > this.capacity) {
        let wait = 100; // ms; bounded so a change of slowest consumer is re-evaluated
        if (deadline !== 0) {
          const left = deadline - performance.now();
          if (left <= 0) {
            Atomics.store(ctrl, CTRL.PRODUCER_WAITING, 0);
            return false;
          }
          wait = Math.min(wait, left);
        }
        Atomics.wait(ctrl, idx, cursor, wait);
      }
      Atomics.store(ctrl, CTRL.PRODUCER_WAITING, 0);
    }
  }

  /**
   * Resolve once `n` records can be claimed (the slowest consumer has freed them) or after
   * `timeoutMs`; true when there is room. For a producer on a thread that must not block (Node's
   * main thread with an event loop to run): Atomics.waitAsync on the slowest cursor, the same
   * PRODUCER_WAITING handshake as `claim`. Allocates a promise per wait, not per record.
   */
  async waitForSpaceAsync(n: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    const ctrl = this.ctrl;
    for (;;) {
      const end = (this.next + n) >>> 0;
      if ((end - this.minCursor()) >>> 0 <= this.capacity) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const idx = CTRL.CURSOR_BASE + this.slowestConsumer() * CTRL.CURSOR_STRIDE;
      Atomics.store(ctrl, CTRL.PRODUCER_WANTS, (end - this.capacity) | 0);
      Atomics.store(ctrl, CTRL.PRODUCER_WAITING, 1);
      try {
        const cursor = Atomics.load(ctrl, idx);
        if ((end - (cursor >>> 0)) >>> 0 > this.capacity) {
          const w = Atomics.waitAsync(ctrl, idx, cursor, Math.min(left, 100));
          if (w.async) await w.value;
        }
      } finally {
        Atomics.store(ctrl, CTRL.PRODUCER_WAITING, 0);
      }
    }
  }

  /**
   * Make every record before `seqEnd` readable (call once per batch, after writing them). Wakes
   * consumers only if one announced it is asleep.
   */
  publish(seqEnd: number): void {
    const ctrl = this.ctrl;
    Atomics.store(ctrl, CTRL.HEAD, seqEnd);
    if (Atomics.load(ctrl, CTRL.SLEEPERS) !== 0) this.wakeSleepers(seqEnd);
  }

  /**
   * `publish` without the wake-up: the caller calls `wake()` later, once for several publishes
   * (a producer that must store HEAD per record but need not pay a notify per record). It must
   * call `wake()` before it blocks itself, or a consumer it has not woken may never free room.
   */
  publishQuiet(seqEnd: number): void {
    Atomics.store(this.ctrl, CTRL.HEAD, seqEnd);
  }

  /** Wake the consumers asleep on this ring, if any (after `publishQuiet`). */
  wake(): void {
    if (Atomics.load(this.ctrl, CTRL.SLEEPERS) !== 0) this.wakeSleepers(Atomics.load(this.ctrl, CTRL.HEAD));
  }

  /**
   * A consumer announced it sleeps: unless it asked to sleep until a later HEAD (WAKE_AT), notify
   * HEAD, and ring its doorbell if it parks on one.
   */
  private wakeSleepers(head: number): void {
    const at = Atomics.load(this.ctrl, CTRL.WAKE_AT);
    if (at !== 0 && (head - at) >>> 0 >= 0x80000000) return;
    Atomics.notify(this.ctrl, CTRL.HEAD);
    const bell = Atomics.load(this.ctrl, CTRL.DOORBELL);
    if (bell !== 0 && this.doorbells !== undefined) this.doorbells.ring(bell - 1);
  }

  /** Sequence the next claim will return (the producer's view). */
  claimed(): number {
    return this.next;
  }

  /* ------------------------------------------------------------------ consumers */

  /** Published end (exclusive): records before it are readable. */
  head(): number {
    return Atomics.load(this.ctrl, CTRL.HEAD) >>> 0;
  }

  /** Consumer i's cursor: the next sequence it will read. */
  cursor(i: number): number {
    return Atomics.load(this.ctrl, CTRL.CURSOR_BASE + i * CTRL.CURSOR_STRIDE) >>> 0;
  }

  /** Number of published records consumer i has not committed yet. */
  readable(i: number): number {
    return (this.head() - this.cursor(i)) >>> 0;
  }

  /**
   * Consumer i is done with every record before `seqEnd` (call once per batch, after its effects
   * are durable): frees the slots, wakes the producer if it waits for them.
   */
  commit(i: number, seqEnd: number): void {
    const ctrl = this.ctrl;
    const idx = CTRL.CURSOR_BASE + i * CTRL.CURSOR_STRIDE;
    Atomics.store(ctrl, idx, seqEnd);
    // A waiting producer is woken once this cursor reaches the room it needs (distance compare:
    // wrap-safe), not at every commit on the way there.
    if (
      Atomics.load(ctrl, CTRL.PRODUCER_WAITING) !== 0 &&
      (seqEnd - Atomics.load(ctrl, CTRL.PRODUCER_WANTS)) >>> 0 < 0x80000000
    ) {
      Atomics.notify(ctrl, idx);
    }
  }

  /**
   * Block the calling thread (a worker: Node's main thread can too, but should use
   * waitForDataAsync) until consumer i has records or `timeoutMs` passes. Returns readable(i).
   * With `spin`, a bounded adaptive spin (ring/spin-wait.ts) comes before the park.
   */
  waitForData(i: number, timeoutMs: number, spin?: SpinBudget): number {
    const from = this.cursor(i);
    return this.waitBeyond(from, timeoutMs, spin);
  }

  /**
   * Block until HEAD is past `from` (records from `from` on are readable) or `timeoutMs` passes;
   * returns head − from. With `wakeAfter` > 1 the producers wake it only once `wakeAfter` records
   * are there (WAKE_AT); fewer may be there when it returns (spin, timeout, a race). For a consumer that has taken records it has not committed yet (a
   * batch being formed): waiting on its cursor would return at once.
   */
  waitBeyond(from: number, timeoutMs: number, spin?: SpinBudget, wakeAfter = 1): number {
    const ctrl = this.ctrl;
    let n = (this.head() - from) >>> 0;
    if (n !== 0) return n;
    if (spin?.spinUntilChanged(ctrl, CTRL.HEAD, from | 0)) return (this.head() - from) >>> 0;
    // wakeAfter > 1: the producers need not wake this consumer before HEAD reaches from + wakeAfter
    // (only a ring's sole sleeping consumer may ask; the timeout still bounds the sleep).
    // (Stored on every park: a threshold left by a thread that died asleep must not linger.)
    Atomics.store(ctrl, CTRL.WAKE_AT, wakeAfter > 1 ? (from + wakeAfter) | 0 || 1 : 0);
    Atomics.add(ctrl, CTRL.SLEEPERS, 1);
    const head = Atomics.load(ctrl, CTRL.HEAD);
    if (head >>> 0 === from) Atomics.wait(ctrl, CTRL.HEAD, head, timeoutMs);
    Atomics.sub(ctrl, CTRL.SLEEPERS, 1);
    if (wakeAfter > 1) Atomics.store(ctrl, CTRL.WAKE_AT, 0);
    n = (this.head() - from) >>> 0;
    return n;
  }

  /** Like waitForData without blocking the event loop (Atomics.waitAsync): for main-thread consumers. */
  async waitForDataAsync(i: number, timeoutMs: number): Promise<number> {
    const n = this.readable(i);
    if (n !== 0) return n;
    const ctrl = this.ctrl;
    Atomics.add(ctrl, CTRL.SLEEPERS, 1);
    try {
      const head = Atomics.load(ctrl, CTRL.HEAD);
      if (((head >>> 0) - this.cursor(i)) >>> 0 === 0) {
        const res = Atomics.waitAsync(ctrl, CTRL.HEAD, head, timeoutMs);
        if (res.async) await res.value;
      }
    } finally {
      Atomics.sub(ctrl, CTRL.SLEEPERS, 1);
    }
    return this.readable(i);
  }

  /* ------------------------------------------------------------------ observation */

  /** Lowest cursor over all consumers (the producer may not pass it by more than capacity). */
  minCursor(): number {
    const head = Atomics.load(this.ctrl, CTRL.HEAD) >>> 0;
    let min = this.cursor(0);
    for (let i = 1; i < this.consumers; i++) {
      const c = this.cursor(i);
      // The cursor farthest behind HEAD is the lowest (distance comparison: wrap-safe).
      if ((head - c) >>> 0 > (head - min) >>> 0) min = c;
    }
    return min;
  }

  /** Records published but not yet committed by the slowest consumer (for metrics). */
  occupancy(): number {
    return (this.head() - this.minCursor()) >>> 0;
  }

  /** Wake every thread sleeping on this ring (shutdown: they re-check their stop flag). */
  wakeAll(): void {
    Atomics.store(this.ctrl, CTRL.WAKE_AT, 0);
    Atomics.notify(this.ctrl, CTRL.HEAD);
    const bell = Atomics.load(this.ctrl, CTRL.DOORBELL);
    if (bell !== 0 && this.doorbells !== undefined) this.doorbells.ring(bell - 1);
    for (let i = 0; i < this.consumers; i++)
      Atomics.notify(this.ctrl, CTRL.CURSOR_BASE + i * CTRL.CURSOR_STRIDE);
  }

  private slowestConsumer(): number {
    const head = Atomics.load(this.ctrl, CTRL.HEAD) >>> 0;
    let slowest = 0;
    let lag = (head - this.cursor(0)) >>> 0;
    for (let i = 1; i < this.consumers; i++) {
      const l = (head - this.cursor(i)) >>> 0;
      if (l > lag) {
        lag = l;
        slowest = i;
      }
    }
    return slowest;
  }
}

function validateParams(p: RingParams): void {
  const ok =
    Number.isInteger(p.capacity) &&
    p.capacity >= 2 &&
    p.capacity <= RING_MAX_CAPACITY &&
    (p.capacity & (p.capacity - 1)) === 0 &&
    Number.isInteger(p.recordBytes) &&
    p.recordBytes > 0 &&
    p.recordBytes % 8 === 0 &&
    Number.isInteger(p.consumers) &&
    p.consumers >= 1 &&
    p.consumers <= RING_MAX_CONSUMERS;
  if (!ok) {
    throw new AppError(ErrorCode.BAD_INPUT, 'ring: invalid params', {
      capacity: p.capacity,
      recordBytes: p.recordBytes,
      consumers: p.consumers,
      rule: 'capacity power of two in [2, 2^30], recordBytes multiple of 8, consumers 1..16',
    });
  }
}
