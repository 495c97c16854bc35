import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { Coefficients } from '../features/params.ts';
import {
  copyFeatures,
  F,
  type FeatureState,
  HALF0,
  PRICES_OFFSET,
  STATE_STRIDE,
  STATE_WORDS,
} from '../features/state.ts';
import { computeTick } from '../features/update.ts';
import { detectionDirection, detectionPattern, detectPatterns } from '../patterns/detectors.ts';
import type { Doorbells } from '../ring/doorbell.ts';
import { CANDIDATE, TICK } from '../ring/layout.ts';
import { RingBuffer } from '../ring/ring-buffer.ts';
import type { SpinBudget } from '../ring/spin-wait.ts';
import { SHARD, type ShardControl, STOP } from './shard-control.ts';

const TWO_POW_32 = 4294967296;

/** What the shard owner does when the candidate ring is full. */
export type CandidatePolicy = 'block' | 'drop';

export interface ShardProcessorOptions {
  shard: number;
  shards: number;
  /** The consumer index of the feature worker in the tick ring (the writer has another). */
  consumer: number;
  tickRing: SharedArrayBuffer;
  candidateRing: SharedArrayBuffer;
  state: FeatureState;
  control: ShardControl;
  coefficients: Coefficients;
  candidatePolicy: CandidatePolicy;
  /**
   * Longest delay (µs) between a candidate's publish and the wake-up of the sleeping inference
   * thread while this shard stays busy (default 0: wake at the end of every batch). The owner
   * always wakes it before it goes idle itself (`wakeCandidateConsumer`), so a delay only ever
   * applies under load, where it turns one wake-up per batch into one per interval.
   */
  candidateWakeUs?: number;
  /** The candidate ring's consumer's doorbells (this processor produces into that ring). */
  candidateDoorbell?: Doorbells | undefined;
}

/**
 * The whole per-shard hot path, independent of the thread that runs it (the pool's owner worker,
 * the per-batch task shape of the benchmark, or a test's single-threaded reference):
 * tick ring → per-symbol features → detectors → candidate ring.
 *
 * Exactly once across crashes (a worker can be terminated at any instruction):
 *   per tick:  skip it if the symbol's APPLIED_END is past its absolute position (applied before a
 *              crash); else compute the symbol's next half, run the detectors on it, publish the
 *              candidate (if any), then flip the symbol's ACTIVE half (Atomics.store: the commit
 *              point of the tick, features/state.ts);
 *   per batch: store ABS_HINT, then commit the tick-ring cursor (Atomics.store).
 * A crash before the flip leaves the tick unapplied (its next half is rewritten from scratch on
 * replay). A crash between the candidate publish and the flip replays the tick, recomputes the
 * same candidate and finds it as the last record of the candidate ring (candidateId = low word of
 * the tick's absolute position, same symbol): it is not written twice. That check only runs for
 * ticks below the ring head seen when this processor took the shard over.
 */
export class ShardProcessor {
  readonly shard: number;
  private readonly shards: number;
  /** shards - 1 when shards is a power of two (symbol → shard by mask), else -1 (by modulo). */
  private readonly shardMask: number;
  private readonly consumer: number;
  readonly ticks: RingBuffer;
  readonly candidates: RingBuffer;
  private readonly state: FeatureState;
  private readonly control: ShardControl;
  private readonly k: Coefficients;
  private readonly blockOnFull: boolean;
  private readonly hintIndex: number;
  private readonly counters: number;
  /** Ticks below this absolute position may have been half-processed by a previous owner. */
  private readonly recoveryEndAbs: number;
  /** Candidates published (HEAD stored) whose consumer has not been woken for them yet. */
  private unwoken = 0;
  /** performance.now() of the first of them. */
  private unwokenSince = 0;
  private readonly wakeAfterMs: number;

  constructor(o: ShardProcessorOptions) {
    this.shard = o.shard;
    this.shards = o.shards;
    this.shardMask = (o.shards & (o.shards - 1)) === 0 ? o.shards - 1 : -1;
    this.consumer = o.consumer;
    this.ticks = RingBuffer.attach(o.tickRing);
    this.candidates = RingBuffer.attach(
      o.candidateRing,
      o.candidateDoorbell ? { doorbells: o.candidateDoorbell } : undefined,
    );
    if (this.ticks.recordBytes !== TICK.bytes || this.candidates.recordBytes !== CANDIDATE.bytes) {
      throw new AppError(ErrorCode.BAD_INPUT, 'shard processor: rings are not TICK / CANDIDATE rings', {
        tickRecordBytes: this.ticks.recordBytes,
        candidateRecordBytes: this.candidates.recordBytes,
      });
    }
    this.state = o.state;
    this.control = o.control;
    this.k = o.coefficients;
    this.blockOnFull = o.candidatePolicy === 'block';
    this.wakeAfterMs = (o.candidateWakeUs ?? 0) / 1000;
    this.hintIndex = o.control.at(o.shard, SHARD.ABS_HINT);
    this.counters = o.control.at(o.shard, 0);
    const cursor = this.ticks.cursor(this.consumer);
    this.recoveryEndAbs = this.absoluteOf(cursor) + ((this.ticks.head() - cursor) >>> 0);
  }

  /**
   * Absolute position of the committed cursor `cursor`, from the ABS_HINT stored beside it
   * (shard-control.ts explains why this is exact). Derived per batch rather than cached, so any
   * thread that runs a batch of this shard agrees on it.
   */
  private absoluteOf(cursor: number): number {
    const hint = this.control.f64[this.hintIndex]!;
    return hint - (((hint % TWO_POW_32) - cursor) >>> 0);
  }

  /** Ticks published and not yet processed by this shard's feature consumer. */
  readable(): number {
    return this.ticks.readable(this.consumer);
  }

  /** Sleep until ticks arrive or the timeout passes (spin, then Atomics.wait on the tick ring's head). */
  waitForTicks(timeoutMs: number, spin?: SpinBudget): number {
    return this.ticks.waitForData(this.consumer, timeoutMs, spin);
  }

  /** The committed cursor of this shard's feature consumer. */
  cursor(): number {
    return this.ticks.cursor(this.consumer);
  }

  /**
   * Process up to `maxBatch` published ticks and commit the cursor once. Returns the number of
   * ticks consumed (0 when the ring was empty). Returns early, committing only the finished part,
   * when a blocking candidate claim is interrupted by a stop request.
   */
  processBatch(maxBatch: number): number {
    const ring = this.ticks;
    let n = ring.readable(this.consumer);
    if (n === 0) return 0;
    if (n > maxBatch) n = maxBatch;
    const from = ring.cursor(this.consumer);
    const u32 = ring.u32;
    const u8 = ring.u8;
    const mask = ring.mask;
    const state = this.state;
    const f64 = state.f64;
    const si32 = state.i32;
    const symbols = state.symbols;
    const shards = this.shards;
    const shardMask = this.shardMask;
    const shard = this.shard;
    const k = this.k;
    const ctl = this.control.f64;
    const counters = this.counters;
    const abs0 = this.absoluteOf(from);
    let done = 0;
    for (; done < n; done++) {
      const seq = (from + done) >>> 0;
      const abs = abs0 + done;
      const b32 = ring.base32(seq);
      const sym = u32[b32 + TICK.u32.symbolId]!;
      // A symbol's state must have one writer: a tick in the wrong shard's ring is skipped.
      if (sym >= symbols || (shardMask >= 0 ? sym & shardMask : sym % shards) !== shard) {
        ctl[counters + SHARD.MISROUTED]!++;
        continue;
      }
      const block = sym * STATE_STRIDE;
      const half = Atomics.load(si32, block * 2);
      const cur = block + HALF0 + half * STATE_WORDS;
      if (f64[cur + F.APPLIED_END]! > abs) {
        ctl[counters + SHARD.REPLAY_SKIPPED]!++;
        continue;
      }
      const nxt = block + HALF0 + (1 - half) * STATE_WORDS;
      const hist = block + PRICES_OFFSET;
      computeTick(f64, hist, cur, nxt, ring, seq & mask, k);
      f64[nxt + F.APPLIED_END] = abs + 1;
      const detection = detectPatterns(f64, hist, cur, nxt, u8[ring.base8(seq) + TICK.u8.kind]!, k);
      if (detection !== 0 && !this.emit(detection, sym, nxt, abs, b32)) break;
      Atomics.store(si32, block * 2, 1 - half); // the tick's commit point
    }
    // At most one wake-up of the inference thread per batch, not one per candidate, and under
    // load at most one per candidateWakeUs: a notify that finds it asleep costs this thread a few
    // µs (profiled at ~10% of it with one per candidate on 2 cores).
    if (this.unwoken !== 0 && performance.now() - this.unwokenSince >= this.wakeAfterMs) {
      this.wakeCandidateConsumer();
    }
    if (done === 0) return 0;
    ctl[this.hintIndex] = abs0 + done;
    ring.commit(this.consumer, (from + done) >>> 0);
    return done;
  }

  /** Write and publish one candidate. Returns false only when a stop interrupted a blocked claim. */
  private emit(detection: number, sym: number, nxt: number, abs: number, tickB32: number): boolean {
    const ring = this.candidates;
    const id = abs >>> 0;
    const ctl = this.control.f64;
    const f64 = this.state.f64;
    if (abs < this.recoveryEndAbs) {
      const head = ring.head();
      if (head !== 0) {
        const last = ring.base32((head - 1) >>> 0);
        if (
          ring.u32[last + CANDIDATE.u32.candidateId] === id &&
          ring.u32[last + CANDIDATE.u32.symbolId] === sym
        ) {
          ctl[this.counters + SHARD.DUPLICATES_SKIPPED]!++;
          return true;
        }
      }
    }
    let seq = ring.tryClaim(1);
    if (seq === -1) {
      if (!this.blockOnFull) {
        ctl[this.counters + SHARD.CANDIDATES_DROPPED]!++;
        return true;
      }
      // The consumer must be awake to free room: wake it for what this batch published so far.
      this.unwoken = 0;
      ring.wake();
      while (seq === -1) {
        if (this.control.stop() === STOP.NOW) return false;
        seq = ring.claim(1, 50);
      }
    }
    const c32 = ring.base32(seq);
    const u32 = ring.u32;
    const t32 = this.ticks.u32;
    u32[c32 + CANDIDATE.u32.candidateId] = id;
    u32[c32 + CANDIDATE.u32.symbolId] = sym;
    u32[c32 + CANDIDATE.u32.tsEventHi] = t32[tickB32 + TICK.u32.tsEventHi]!;
    u32[c32 + CANDIDATE.u32.tsEventLo] = t32[tickB32 + TICK.u32.tsEventLo]!;
    const c8 = ring.base8(seq);
    ring.u8[c8 + CANDIDATE.u8.pattern] = detectionPattern(detection);
    ring.i8[c8 + CANDIDATE.i8.direction] = detectionDirection(detection);
    const c64 = ring.base64(seq);
    ring.f64[c64 + CANDIDATE.f64.price] = f64[nxt + F.LAST_PRICE]!;
    copyFeatures(f64, nxt, ring.f64, c64 + CANDIDATE.f64.features);
    // Published per candidate, before the tick's flip: candidates are rare (cooldowns), and this
    // order is what makes a crash between the two detectable (see the class comment). The
    // consumer is woken once at the end of the batch (processBatch).
    ring.publishQuiet((seq + 1) >>> 0);
    if (this.unwoken++ === 0) this.unwokenSince = performance.now();
    return true;
  }

  /** Absolute position of the next tick to process. */
  position(): number {
    return this.absoluteOf(this.ticks.cursor(this.consumer));
  }
  /** Take-over bookkeeping: called once by the owner that constructed this processor. */
  /** Wake the candidate ring's consumer for what was published; call before this thread idles. */
  wakeCandidateConsumer(): void {
    if (this.unwoken === 0) return;
    this.unwoken = 0;
    this.candidates.wake();
  }

  countTakeover(): void {
    this.control.f64[this.counters + SHARD.TAKEOVERS]!++;
  }
}
