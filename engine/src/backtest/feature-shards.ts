import { Worker } from 'node:worker_threads';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { Coefficients } from '../features/params.ts';
import { FeatureState } from '../features/state.ts';
import type { TickRecord } from '../feeds/tick.ts';
import { FEATURE_COUNT, TICK, usHi, usLo } from '../ring/layout.ts';

/**
 * Features and detectors of a backtest sharded by instrument across worker threads, decisions
 * kept on the runner's thread in event order. Exact: an instrument's features depend only on its
 * own ticks, in order, and each instrument belongs to one worker (inst % workers), so the
 * detections and the result are the same as in one thread (tested: equal digests).
 *
 * Chunks of ticks travel in two slots (double buffering): the runner fills one slot with TICK
 * records while the workers compute the other; a full slot is dispatched, then the runner waits
 * for the previous one and walks it tick by tick (book, venue, decisions) with its detections.
 *
 *   control (Int32, SharedArrayBuffer):
 *     [0] DISPATCHED  sequence number of the last dispatched chunk (workers wait on it)
 *     [1] STOP        1 = workers exit
 *     [2 + s] DONE[s] workers finished with the chunk in slot s (the runner waits on it)
 *     [4 + s] COUNT[s] ticks in slot s
 *   slot s: records (C × TICK.bytes, the instrument index in symbolId), detection per tick
 *     (Int32 × C, written by the owning worker), features and price after a detected tick
 *     (Float64 × C × FEATURE_COUNT, Float64 × C).
 * Chunk n lives in slot n % 2; workers take chunks strictly in order.
 */
const DISPATCHED = 0;
const STOP = 1;
const DONE = 2;
const COUNT = 4;

export interface ShardSlot {
  readonly u32: Uint32Array;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly f64: Float64Array;
  readonly detection: Int32Array;
  readonly features: Float64Array;
  readonly price: Float64Array;
}

export interface ShardStartup {
  readonly worker: number;
  readonly workers: number;
  readonly chunk: number;
  readonly state: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly slots: readonly SlotBuffers[];
  readonly coefficients: Coefficients;
}

export interface SlotBuffers {
  readonly records: SharedArrayBuffer;
  readonly detection: SharedArrayBuffer;
  readonly features: SharedArrayBuffer;
  readonly price: SharedArrayBuffer;
}

export function slotViews(b: SlotBuffers): ShardSlot {
  return {
    u32: new Uint32Array(b.records),
    u8: new Uint8Array(b.records),
    i8: new Int8Array(b.records),
    f64: new Float64Array(b.records),
    detection: new Int32Array(b.detection),
    features: new Float64Array(b.features),
    price: new Float64Array(b.price),
  };
}

export const SHARD_CONTROL = { DISPATCHED, STOP, DONE, COUNT } as const;

export class FeatureShards {
  readonly chunk: number;
  readonly slots: ShardSlot[];
  readonly #control: Int32Array;
  readonly #workers: Worker[];
  readonly #n: number;
  /** Chunks dispatched so far; chunk n is in slot n % 2 (n from 1). */
  #dispatched = 0;
  #failure: Error | null = null;
  #closing = false;

  constructor(instruments: number, coefficients: Coefficients, workers: number, chunk = 16_384) {
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
      throw new AppError(ErrorCode.BAD_INPUT, 'featureWorkers: 1 to 64');
    }
    this.chunk = chunk;
    this.#n = workers;
    const control = new SharedArrayBuffer(8 * 4);
    this.#control = new Int32Array(control);
    const buffers: SlotBuffers[] = [0, 1].map(() => ({
      records: new SharedArrayBuffer(chunk * TICK.bytes),
      detection: new SharedArrayBuffer(chunk * 4),
      features: new SharedArrayBuffer(chunk * FEATURE_COUNT * 8),
      price: new SharedArrayBuffer(chunk * 8),
    }));
    this.slots = buffers.map(slotViews);
    const state = FeatureState.create(instruments).sab;
    this.#workers = Array.from({ length: workers }, (_, w) => {
      const startup: ShardStartup = {
        worker: w,
        workers,
        chunk,
        state,
        control,
        slots: buffers,
        coefficients,
      };
      const worker = new Worker(new URL('./feature-shard-worker.ts', import.meta.url), {
        workerData: startup,
      });
      worker.on('error', (e) => this.#fail(e));
      worker.on('exit', (code) => {
        if (!this.#closing) this.#fail(new Error(`feature worker ${w} exited (code ${code})`));
      });
      return worker;
    });
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    // Wake a runner waiting on a chunk this worker will never finish.
    for (const s of [0, 1]) {
      Atomics.store(this.#control, DONE + s, -1_000_000);
      Atomics.notify(this.#control, DONE + s);
    }
  }

  /** Writes tick `k` of slot `s` (instrument index `inst`). */
  put(s: number, k: number, t: TickRecord, inst: number): void {
    const v = this.slots[s]!;
    const b32 = k * (TICK.bytes / 4);
    const b64 = k * (TICK.bytes / 8);
    const b8 = k * TICK.bytes;
    v.u32[b32 + TICK.u32.symbolId] = inst;
    v.u32[b32 + TICK.u32.tsEventHi] = usHi(t.tsEventUs);
    v.u32[b32 + TICK.u32.tsEventLo] = usLo(t.tsEventUs);
    v.u8[b8 + TICK.u8.kind] = t.kind;
    v.i8[b8 + TICK.i8.aggressor] = t.aggressor;
    v.f64[b64 + TICK.f64.price] = t.price;
    v.f64[b64 + TICK.f64.size] = t.size;
    v.f64[b64 + TICK.f64.bid] = t.bid;
    v.f64[b64 + TICK.f64.ask] = t.ask;
    v.f64[b64 + TICK.f64.bidSize] = t.bidSize;
    v.f64[b64 + TICK.f64.askSize] = t.askSize;
  }

  /** Hands the next chunk (its slot holds `count` ticks) to the workers; returns its slot. */
  dispatch(count: number): number {
    const n = ++this.#dispatched;
    const s = n % 2;
    Atomics.store(this.#control, DONE + s, 0);
    Atomics.store(this.#control, COUNT + s, count);
    Atomics.store(this.#control, DISPATCHED, n);
    Atomics.notify(this.#control, DISPATCHED);
    return s;
  }

  /** Blocks until every worker has finished the chunk in slot `s`. */
  wait(s: number): void {
    for (;;) {
      const done = Atomics.load(this.#control, DONE + s);
      if (this.#failure || done < 0) {
        throw new AppError(
          ErrorCode.INTERNAL,
          'backtest feature worker failed',
          {},
          { cause: this.#failure },
        );
      }
      if (done >= this.#n) return;
      Atomics.wait(this.#control, DONE + s, done, 1000);
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    Atomics.store(this.#control, STOP, 1);
    Atomics.store(this.#control, DISPATCHED, this.#dispatched + 1);
    Atomics.notify(this.#control, DISPATCHED);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
