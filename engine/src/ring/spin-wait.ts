import { Worker } from 'node:worker_threads';

/**
 * How the engine's threads wait: a bounded, adaptive spin, then a park in `Atomics.wait` (workers)
 * or `Atomics.waitAsync` (a thread with an event loop to keep running).
 *
 * Why spin at all: a parked thread costs nothing while it sleeps, but waking it costs the
 * notifier a futex call and the sleeper a trip through the scheduler — the wake-up latency,
 * measured by `measureWakeLatency` (tens of µs on a virtual machine). If the data arrives sooner
 * than that, a spin would have seen it earlier and cheaper. Why bound it by that cost: spinning
 * longer than a wake-up costs can never win back more than the wake-up (the classic 2-competitive
 * rule for spin-then-block), and on a machine with fewer cores than busy threads every µs spun is
 * taken from a thread doing real work. Why adapt: a spin that keeps failing (the producer's
 * rhythm is slower than the budget) is pure waste, so the budget halves after each miss down to
 * nothing, and a spin is re-tried now and then to notice when the rhythm speeds up; a hit
 * restores the full budget.
 *
 * The spin re-reads a caller's condition and reads the clock only every 64 rounds (a clock read
 * costs far more than a shared-word load).
 */

/** Spins longer than this are never useful, whatever a noisy measurement says (µs). */
export const MAX_SPIN_US = 100;
/** Parks in a row, after the budget fell to zero, before a spin is tried again. */
const PROBE_EVERY = 32;
/** Rounds of the spin loop between two clock reads. */
const CLOCK_EVERY = 64;

export interface SpinStats {
  /** Waits that ended in the spin (the condition came true before the budget ran out). */
  spinHits: number;
  /** Waits that parked (the spin missed, or was skipped because it kept missing). */
  parks: number;
}

/**
 * Adaptive spin budget of one waiting thread (not shared: each waiter learns its own producer's
 * rhythm). `spin(cond)` runs the bounded spin; the caller parks if it returns false.
 */
export class SpinBudget implements SpinStats {
  /** Upper bound of one spin, ms (performance.now units). */
  readonly maxMs: number;
  private currentMs: number;
  private skipped = 0;
  spinHits = 0;
  parks = 0;

  /** `spinUs`: the budget (normally the measured wake-up cost); 0 = never spin, park at once. */
  constructor(spinUs: number) {
    const us = Number.isFinite(spinUs) && spinUs > 0 ? Math.min(spinUs, MAX_SPIN_US) : 0;
    this.maxMs = us / 1000;
    this.currentMs = this.maxMs;
  }

  /** Current budget in µs (after adaptation). */
  get currentUs(): number {
    return this.currentMs * 1000;
  }

  /**
   * Re-checks `cond` until it is true (returns true) or the current budget is spent (returns
   * false: the caller parks, and must re-check `cond` under its own sleep protocol before it does).
   */
  spin(cond: () => boolean): boolean {
    if (cond()) return true;
    const budget = this.begin();
    if (budget === 0) return false;
    const deadline = performance.now() + budget;
    for (let round = 1; ; round++) {
      if (cond()) return this.hit();
      if (round % CLOCK_EVERY === 0 && performance.now() >= deadline) return this.miss(budget);
    }
  }

  /** `spin` specialised to one shared word: true once `i32[index]` is no longer `value`. */
  spinUntilChanged(i32: Int32Array, index: number, value: number): boolean {
    if (Atomics.load(i32, index) !== value) return true;
    const budget = this.begin();
    if (budget === 0) return false;
    const deadline = performance.now() + budget;
    for (let round = 1; ; round++) {
      if (Atomics.load(i32, index) !== value) return this.hit();
      if (round % CLOCK_EVERY === 0 && performance.now() >= deadline) return this.miss(budget);
    }
  }

  /** The budget of this spin in ms; 0 = park now (counted). */
  private begin(): number {
    if (this.currentMs !== 0) return this.currentMs;
    if (this.maxMs === 0 || ++this.skipped < PROBE_EVERY) {
      this.parks++;
      return 0;
    }
    // Probe: a short spin to learn whether the producer got faster.
    this.skipped = 0;
    return this.maxMs / 4;
  }

  private hit(): true {
    this.spinHits++;
    this.currentMs = this.maxMs;
    return true;
  }

  private miss(budget: number): false {
    this.parks++;
    // Halve the next spin; below 1/16 of the budget it is not worth the clock reads.
    const next = budget / 2;
    this.currentMs = next < this.maxMs / 16 ? 0 : next;
    return false;
  }
}

export interface WakeLatency {
  /** Median one-way cost, µs: Atomics.notify in one thread → the parked thread runs again. */
  readonly medianUs: number;
  /** 90th percentile, µs. */
  readonly p90Us: number;
  readonly samples: number;
}

/**
 * The partner thread of `measureWakeLatency` (plain JavaScript, evaluated: no module loading).
 * Word 0: ping (written by the caller); word 16: pong; word 32: 1 while the partner is about to
 * park; word 48: 1 if the last park really slept (Atomics.wait returned 'ok'). Each round it
 * parks on the ping word, then answers.
 */
const PARTNER_SOURCE = `
const { workerData } = require('node:worker_threads');
const a = new Int32Array(workerData.sab);
for (let i = 1; i <= workerData.rounds; i++) {
  Atomics.store(a, 32, 1);
  const r = Atomics.wait(a, 0, i - 1, 1000);
  Atomics.store(a, 32, 0);
  Atomics.store(a, 48, r === 'ok' ? 1 : 0);
  Atomics.store(a, 16, i);
}
`;

/**
 * Measures the wake-up cost on this machine, now: the caller notifies a fresh thread parked in
 * Atomics.wait and spins until that thread has run again (its answer is a store the caller sees
 * within ~0.1 µs), so a sample is the notify call + the sleeper's wake-up + its first store.
 * Rounds where the partner had not parked yet are discarded. Busy-waits the calling thread for
 * the rounds (~`rounds` × 30 µs); run it at startup or in a benchmark.
 */
export async function measureWakeLatency(rounds = 200): Promise<WakeLatency> {
  const sab = new SharedArrayBuffer(64 * 4);
  const a = new Int32Array(sab);
  const worker = new Worker(PARTNER_SOURCE, { eval: true, workerData: { sab, rounds } });
  const exited = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', () => resolve());
  });
  try {
    const samples: number[] = [];
    // Wait (without blocking: the thread is still starting) until the partner is parked.
    while (Atomics.load(a, 32) !== 1) await new Promise((r) => setTimeout(r, 1));
    for (let i = 1; i <= rounds; i++) {
      // Let the partner reach Atomics.wait after announcing it: a ~20 µs pause is far longer than
      // the few instructions between its store and its park.
      let limit = performance.now() + 1000;
      const settle = performance.now() + 0.02;
      while ((Atomics.load(a, 32) !== 1 || performance.now() < settle) && performance.now() < limit) {}
      const t0 = performance.now();
      Atomics.store(a, 0, i);
      Atomics.notify(a, 0);
      limit = t0 + 1000;
      while (Atomics.load(a, 16) !== i && performance.now() < limit) {}
      const us = (performance.now() - t0) * 1000;
      if (Atomics.load(a, 48) === 1) samples.push(us);
    }
    if (samples.length === 0) throw new Error('wake-up latency: the partner thread never parked');
    samples.sort((x, y) => x - y);
    return {
      medianUs: round2(samples[Math.floor(samples.length / 2)]!),
      p90Us: round2(samples[Math.floor(samples.length * 0.9)]!),
      samples: samples.length,
    };
  } finally {
    await exited;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * How waiting threads wait. `park` (the engine): bounded adaptive spin, then Atomics.wait. `poll`:
 * the naive shape kept for the benchmark's baseline — a consumer with a partial batch re-checks
 * its rings in a loop until its batching deadline, and the feature workers re-read the head 64
 * times before sleeping.
 */
export type WaitMode = 'park' | 'poll';

let processWaitMode: WaitMode = 'park';

/**
 * The wait mode the engine's stages give the threads they start (stages/threads.ts). Only the
 * benchmark changes it, to run the naive `poll` baseline beside `park` in the same process.
 */
export function setEngineWaitMode(mode: WaitMode): void {
  processWaitMode = mode;
}
export function engineWaitMode(): WaitMode {
  return processWaitMode;
}

let measured: Promise<WakeLatency> | undefined;

/**
 * The spin budget for this machine, µs: the measured median wake-up cost (measured once per
 * process, on first use), capped at MAX_SPIN_US. A measurement that fails gives 0 (park at once).
 */
export async function spinBudgetUs(): Promise<{ spinUs: number; wake: WakeLatency | null }> {
  measured ??= measureWakeLatency();
  try {
    const wake = await measured;
    return { spinUs: Math.min(MAX_SPIN_US, wake.medianUs), wake };
  } catch {
    return { spinUs: 0, wake: null };
  }
}
