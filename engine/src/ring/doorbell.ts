import { AppError, ErrorCode } from '@aegis/shared/errors';
import { CACHE_LINE_BYTES, CTRL } from './layout.ts';
import type { RingBuffer } from './ring-buffer.ts';
import type { SpinBudget } from './spin-wait.ts';

/**
 * Doorbells: how one thread sleeps on several rings at once with a blocking Atomics.wait (a
 * thread can block on one address only). Each waiting thread owns a slot — one Int32 counter on
 * its own cache line in a small SharedArrayBuffer:
 *
 *   byte 0        64            128
 *   ┌─────────────┬─────────────┬───
 *   │ slot 0: i32 │ slot 1: i32 │ …     one cache line per slot (its sleeper and its producers
 *   └─────────────┴─────────────┴───     write only that line)
 *
 * The sleeper writes `slot + 1` into the DOORBELL word of every ring it consumes (0 = none), and
 * each ring's producer instance is given the same SharedArrayBuffer (`RingBuffer.attach(sab,
 * { doorbells })`). `RingBuffer.publish` already reads SLEEPERS after storing HEAD; when a sleeper
 * is announced it also bumps the slot's counter and notifies it. The sleeper reads the counter
 * BEFORE it announces itself on the rings and re-reads their heads, and parks on that counter
 * value: a publish it did not see in the heads changed the counter after that read (sequentially
 * consistent Atomics), so the park returns at once or is notified. No wake-up is lost, and a
 * producer pays the bell only while its consumer is actually asleep.
 */
const SLOT_WORDS = CACHE_LINE_BYTES / 4;

export class Doorbells {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly slots: number;

  static create(slots: number): Doorbells {
    if (!Number.isInteger(slots) || slots < 1 || slots > 4096) {
      throw new AppError(ErrorCode.BAD_INPUT, 'doorbells: slots must be an integer in 1..4096', { slots });
    }
    return new Doorbells(new SharedArrayBuffer(slots * CACHE_LINE_BYTES));
  }

  static attach(sab: SharedArrayBuffer): Doorbells {
    return new Doorbells(sab);
  }

  private constructor(sab: SharedArrayBuffer) {
    const slots = sab.byteLength / CACHE_LINE_BYTES;
    if (!Number.isInteger(slots) || slots < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'doorbells: buffer is not a whole number of slots', {
        byteLength: sab.byteLength,
      });
    }
    this.sab = sab;
    this.i32 = new Int32Array(sab);
    this.slots = slots;
  }

  /** Producer side: wake the thread sleeping on `slot` (a counter bump, then a notify). */
  ring(slot: number): void {
    const idx = slot * SLOT_WORDS;
    Atomics.add(this.i32, idx, 1);
    Atomics.notify(this.i32, idx);
  }

  /** Wake every slot (shutdown: sleepers re-check their stop word). */
  ringAll(): void {
    for (let s = 0; s < this.slots; s++) this.ring(s);
  }

  /** Consumer side: route the wake-ups of `rings` to `slot` (call once when taking the rings over). */
  listen(slot: number, rings: readonly RingBuffer[]): void {
    if (slot < 0 || slot >= this.slots) {
      throw new AppError(ErrorCode.BAD_INPUT, 'doorbells: slot out of range', { slot, slots: this.slots });
    }
    for (const r of rings) Atomics.store(r.ctrl, CTRL.DOORBELL, slot + 1);
  }

  /**
   * Sleep until one of `rings` has a record at or after `from[k]` (its head moved past it) or
   * `timeoutMs` passes; spins first when `spin` is given. Returns true if a ring has records.
   * `rings` must be listened to on this slot (`listen`), and their producers must hold this
   * SharedArrayBuffer — otherwise only the timeout ends the sleep.
   */
  sleep(
    slot: number,
    rings: readonly RingBuffer[],
    from: ArrayLike<number>,
    timeoutMs: number,
    spin?: SpinBudget,
    wakeAfter = 1,
  ): boolean {
    const any = (): boolean => {
      for (let k = 0; k < rings.length; k++) {
        if (Atomics.load(rings[k]!.ctrl, CTRL.HEAD) >>> 0 !== from[k]) return true;
      }
      return false;
    };
    if (spin ? spin.spin(any) : any()) return true;
    const idx = slot * SLOT_WORDS;
    const seen = Atomics.load(this.i32, idx);
    // wakeAfter > 1: a producer rings only once its ring alone holds that many (WAKE_AT, sole
    // sleeping consumer only); the timeout bounds the rest.
    // (Stored on every park: a threshold left by a thread that died asleep must not linger.)
    for (let k = 0; k < rings.length; k++) {
      Atomics.store(rings[k]!.ctrl, CTRL.WAKE_AT, wakeAfter > 1 ? (from[k]! + wakeAfter) | 0 || 1 : 0);
    }
    for (const r of rings) Atomics.add(r.ctrl, CTRL.SLEEPERS, 1);
    try {
      if (any()) return true;
      Atomics.wait(this.i32, idx, seen, timeoutMs);
    } finally {
      for (const r of rings) Atomics.sub(r.ctrl, CTRL.SLEEPERS, 1);
      if (wakeAfter > 1) for (const r of rings) Atomics.store(r.ctrl, CTRL.WAKE_AT, 0);
    }
    return any();
  }

  /** Like `sleep` for a thread that must keep its event loop running (Atomics.waitAsync, no spin). */
  async sleepAsync(
    slot: number,
    rings: readonly RingBuffer[],
    from: ArrayLike<number>,
    timeoutMs: number,
  ): Promise<boolean> {
    const any = (): boolean => {
      for (let k = 0; k < rings.length; k++) {
        if (Atomics.load(rings[k]!.ctrl, CTRL.HEAD) >>> 0 !== from[k]) return true;
      }
      return false;
    };
    if (any()) return true;
    const idx = slot * SLOT_WORDS;
    const seen = Atomics.load(this.i32, idx);
    for (const r of rings) Atomics.add(r.ctrl, CTRL.SLEEPERS, 1);
    try {
      if (any()) return true;
      const w = Atomics.waitAsync(this.i32, idx, seen, timeoutMs);
      if (w.async) await w.value;
    } finally {
      for (const r of rings) Atomics.sub(r.ctrl, CTRL.SLEEPERS, 1);
    }
    return any();
  }
}
