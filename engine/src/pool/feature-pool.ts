import type { Worker } from 'node:worker_threads';
import { isDeadlineExceeded, withDeadline } from '@aegis/shared/deadline';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import { createLogger, type Logger } from '@aegis/shared/logging';
import { Piscina } from 'piscina';
import {
  DEFAULT_FEATURE_PARAMS,
  DEFAULT_PATTERN_PARAMS,
  type FeatureParams,
  type PatternParams,
} from '../features/params.ts';
import { F, FeatureState } from '../features/state.ts';
import { Doorbells } from '../ring/doorbell.ts';
import { CANDIDATE, TICK } from '../ring/layout.ts';
import { RingBuffer } from '../ring/ring-buffer.ts';
import type { WaitMode } from '../ring/spin-wait.ts';
import { type FeatureWorkerData, featureWorkerDataSchema, type OwnShardsResult } from './messages.ts';
import { SHARD, ShardControl, STOP } from './shard-control.ts';
import type { CandidatePolicy } from './shard-processor.ts';

export interface FeaturePoolOptions {
  shards: number;
  /** Symbols per shard: the feature state holds at least shards × symbolsPerShard symbols. */
  symbolsPerShard: number;
  /** One TICK ring per shard (shard = symbolId % shards). */
  tickRings: SharedArrayBuffer[];
  /** One CANDIDATE ring per shard; the pool is its only producer. */
  candidateRings: SharedArrayBuffer[];
  featureStateSab: SharedArrayBuffer;
  /** Worker threads; each owns shards s with s % workers === its index. Size to the cores. */
  workers: number;
  /** Consumer index of the feature pool in the tick rings (default 0; the writer has another). */
  tickConsumer?: number;
  featureParams?: Partial<FeatureParams>;
  patternParams?: Partial<PatternParams>;
  /** Candidate ring full: 'block' (default; backpressure reaches the feed) or 'drop' (counted). */
  candidatePolicy?: CandidatePolicy;
  /** Ticks per cursor commit (default 256). */
  maxBatch?: number;
  /** `poll` mode only: empty re-reads of the heads before a worker sleeps (default 64). */
  spinsBeforeSleep?: number;
  /** Spin before each park, µs (default 0: park at once); size it from measureWakeLatency. */
  spinUs?: number;
  /** Default `park`; `poll` is the benchmark's naive baseline (ring/spin-wait.ts). */
  waitMode?: WaitMode;
  /**
   * Doorbells with one slot per shard (ring/doorbell.ts) that the tick rings' producer holds
   * (`RingBuffer.attach(sab, { doorbells })`): a worker owning several shards then parks in
   * Atomics.wait. Without it, such a worker sleeps with Atomics.waitAsync on every head.
   */
  tickDoorbells?: SharedArrayBuffer;
  /** The candidate rings' consumer's doorbells (the inference thread's): the workers ring them. */
  candidateDoorbell?: SharedArrayBuffer;
  /**
   * While a shard stays busy, wake the sleeping inference thread at most once per this many µs
   * (default 0: once per batch that published a candidate). A worker always wakes it before it
   * idles, so this delays nothing at low load. The engine passes half the inference batch window.
   */
  candidateWakeUs?: number;
  /** Longest single sleep before a worker re-checks its stop word (default 250 ms). */
  sleepTimeoutMs?: number;
  /** Control memory of a previous pool over the same rings and state (resume after a stop). */
  controlSab?: SharedArrayBuffer;
  log?: Logger;
}

export interface FeaturePoolStats {
  workers: number;
  shards: number;
  /** Ticks applied to the feature state (exact across crashes: summed from the per-symbol state). */
  ticksProcessed: number;
  /** Candidates written to the candidate rings. */
  candidatesOut: number;
  candidatesDropped: number;
  /** Worker restarts after a crash (each takes its shards over from their durable cursors). */
  restarts: number;
  /** Shard takeovers by a running worker task (shards at start + those re-taken after crashes). */
  takeovers: number;
  /** Post-crash replay: ticks found already applied, candidates found already published. */
  replaySkipped: number;
  duplicatesSkipped: number;
  /** Ticks whose symbol does not belong to the ring's shard (skipped). */
  misrouted: number;
  /** Per shard: ticks published and not yet processed. */
  lag: number[];
}

export interface FeaturePoolHandle {
  /**
   * Stop the workers: with `drain` (default) they first process every tick already published
   * (SIGTERM path), giving up after `timeoutMs` (then they stop after their current batch).
   */
  stop(options?: { drain?: boolean; timeoutMs?: number }): Promise<void>;
  stats(): FeaturePoolStats;
  /** The pool's control memory (pass it as `controlSab` to resume with a new pool). */
  readonly controlSab: SharedArrayBuffer;
  /** The live worker threads (fault injection in tests, monitoring). */
  threads(): readonly Worker[];
}

const WORKER_URL = new URL('./feature-worker.ts', import.meta.url).href;

/**
 * Start the feature pool: a piscina pool of `workers` threads, each running one long `own` task
 * that keeps its shards for the pool's life (a piscina task per batch costs ~40–130 µs
 * of round trip, so the low-latency shape is a consumer that stays in its worker and sleeps on
 * Atomics.wait; engine/bench/pool-shape.ts measures both). If a worker dies, its task fails, and
 * the same task is run again on a fresh thread, which takes the shards over from their durable
 * cursors and per-symbol state (shard-processor.ts: nothing lost, nothing applied twice).
 */
export function startFeaturePool(options: FeaturePoolOptions): FeaturePoolHandle {
  const log = options.log ?? createLogger({ name: 'feature-pool' });
  const shards = options.shards;
  const workers = Math.max(1, Math.min(options.workers, shards));
  const state = FeatureState.attach(options.featureStateSab);
  if (state.symbols < shards * options.symbolsPerShard) {
    throw new AppError(
      ErrorCode.BAD_INPUT,
      'feature pool: feature state holds fewer symbols than shards × symbolsPerShard',
      {
        stateSymbols: state.symbols,
        needed: shards * options.symbolsPerShard,
      },
    );
  }
  const tickRings = options.tickRings.map((s) => RingBuffer.attach(s));
  const candidateRings = options.candidateRings.map((s) => RingBuffer.attach(s));
  const control = options.controlSab ? ShardControl.attach(options.controlSab) : ShardControl.create(shards);
  if (control.shards !== shards) {
    throw new AppError(ErrorCode.BAD_INPUT, 'feature pool: control memory is for another shard count', {
      controlShards: control.shards,
      shards,
    });
  }

  // Validated here (fail fast in the caller's thread) and again by each worker at startup.
  const data: FeatureWorkerData = featureWorkerDataSchema.parse({
    shards,
    tickConsumer: options.tickConsumer ?? 0,
    tickRings: options.tickRings,
    candidateRings: options.candidateRings,
    featureStateSab: options.featureStateSab,
    controlSab: control.sab,
    featureParams: { ...DEFAULT_FEATURE_PARAMS, ...options.featureParams },
    patternParams: { ...DEFAULT_PATTERN_PARAMS, ...options.patternParams },
    candidatePolicy: options.candidatePolicy ?? 'block',
    maxBatch: options.maxBatch ?? 256,
    spinsBeforeSleep: options.spinsBeforeSleep ?? 64,
    sleepTimeoutMs: options.sleepTimeoutMs ?? 250,
    ...(options.tickDoorbells ? { tickDoorbells: options.tickDoorbells } : {}),
    ...(options.candidateDoorbell ? { candidateDoorbell: options.candidateDoorbell } : {}),
    spinUs: options.spinUs ?? 0,
    candidateWakeUs: options.candidateWakeUs ?? 0,
    waitMode: options.waitMode ?? 'park',
  });
  const tickBells = options.tickDoorbells ? Doorbells.attach(options.tickDoorbells) : undefined;
  if (tickBells && tickBells.slots < shards) {
    throw new AppError(ErrorCode.BAD_INPUT, 'feature pool: tickDoorbells needs one slot per shard', {
      slots: tickBells.slots,
      shards,
    });
  }
  if (tickRings.length !== shards || candidateRings.length !== shards) {
    throw new AppError(ErrorCode.BAD_INPUT, 'feature pool: one tick ring and one candidate ring per shard');
  }
  for (const r of tickRings) {
    if (r.recordBytes !== TICK.bytes) {
      throw new AppError(ErrorCode.BAD_INPUT, 'feature pool: a tick ring does not hold TICK records');
    }
    if (data.tickConsumer >= r.consumers) {
      throw new AppError(ErrorCode.BAD_INPUT, 'feature pool: tickConsumer beyond the tick ring consumers');
    }
  }
  for (const r of candidateRings) {
    if (r.recordBytes !== CANDIDATE.bytes) {
      throw new AppError(
        ErrorCode.BAD_INPUT,
        'feature pool: a candidate ring does not hold CANDIDATE records',
      );
    }
  }

  if (!options.controlSab) {
    // Rings that a previous pool already consumed from, without its control memory: start the
    // absolute positions at the cursors (what they were if the rings never wrapped 2^32), so the
    // state's APPLIED_END markers keep their meaning.
    for (let s = 0; s < shards; s++) {
      control.f64[control.at(s, SHARD.ABS_HINT)] = tickRings[s]!.cursor(data.tickConsumer);
    }
  }
  control.setStop(STOP.RUN);

  const pool = new Piscina({
    filename: WORKER_URL,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData: data,
  });
  // A worker's death is reported through its task; this only catches pool-level errors.
  pool.on('error', (err: unknown) => log.error({ err }, 'feature pool error'));

  const groups: number[][] = Array.from({ length: workers }, () => []);
  for (let s = 0; s < shards; s++) groups[s % workers]!.push(s);

  let stopping = false;
  let restarts = 0;
  const running = new Map<number, Promise<void>>();

  /** Position (absolute ticks consumed) of a group's shards: progress between two crashes. */
  const groupPosition = (g: number): number => {
    let p = 0;
    for (const s of groups[g]!) p += control.get(s, SHARD.ABS_HINT);
    return p;
  };
  // A group whose worker dies is run again at once; if it keeps dying without consuming a tick
  // (a poison record, a broken build) the retries back off to one per second and log at error
  // level — crash-only: the pool never gives a shard up, and the metrics show the restarts.
  const runGroup = (g: number, attempt: number, startedAt: number): Promise<void> =>
    pool.run({ type: 'own', shards: groups[g]! }).then(
      (_result: OwnShardsResult) => undefined,
      async (err: unknown) => {
        if (stopping && control.stop() === STOP.NOW) return;
        restarts++;
        const position = groupPosition(g);
        const stuck = position === startedAt ? attempt + 1 : 0;
        const delayMs = stuck === 0 ? 0 : Math.min(1000, 10 * 2 ** stuck);
        const entry = { err, shards: groups[g], restarts, delayMs, failuresWithoutProgress: stuck };
        if (stuck >= 5) log.error(entry, 'feature worker keeps dying without progress; retrying');
        else log.warn(entry, 'feature worker died; shards taken over by a new worker');
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        if (stopping && control.stop() === STOP.NOW) return;
        return runGroup(g, stuck, position);
      },
    );
  for (let g = 0; g < workers; g++) running.set(g, runGroup(g, 0, groupPosition(g)));
  log.info(
    { workers, shards, maxBatch: data.maxBatch, candidatePolicy: data.candidatePolicy },
    'feature pool started',
  );

  return {
    controlSab: control.sab,
    threads: () => pool.threads,
    stats(): FeaturePoolStats {
      let ticks = 0;
      let candidates = 0;
      for (let sym = 0; sym < state.symbols; sym++) {
        ticks += state.get(sym, F.TICKS);
        candidates += state.get(sym, F.CANDIDATES);
      }
      let dropped = 0;
      let duplicates = 0;
      let replay = 0;
      let misrouted = 0;
      let takeovers = 0;
      const lag: number[] = [];
      for (let s = 0; s < shards; s++) {
        dropped += control.get(s, SHARD.CANDIDATES_DROPPED);
        duplicates += control.get(s, SHARD.DUPLICATES_SKIPPED);
        replay += control.get(s, SHARD.REPLAY_SKIPPED);
        misrouted += control.get(s, SHARD.MISROUTED);
        takeovers += control.get(s, SHARD.TAKEOVERS);
        lag.push(tickRings[s]!.readable(data.tickConsumer));
      }
      return {
        workers,
        shards,
        ticksProcessed: ticks,
        candidatesOut: candidates - dropped,
        candidatesDropped: dropped,
        restarts,
        replaySkipped: replay,
        duplicatesSkipped: duplicates,
        misrouted,
        takeovers,
        lag,
      };
    },
    async stop(opts?: { drain?: boolean; timeoutMs?: number }): Promise<void> {
      if (stopping) return;
      stopping = true;
      const drain = opts?.drain ?? true;
      control.setStop(drain ? STOP.DRAIN : STOP.NOW);
      for (const r of tickRings) r.wakeAll();
      tickBells?.ringAll();
      const all = Promise.all(running.values());
      if (drain) {
        const timedOut = await withDeadline(all, opts?.timeoutMs ?? 10_000, 'feature pool drain').then(
          () => false,
          (err: unknown) => {
            if (isDeadlineExceeded(err)) return true;
            throw err;
          },
        );
        if (timedOut) {
          log.warn(
            { lag: tickRings.map((r) => r.readable(data.tickConsumer)) },
            'feature pool drain timed out; stopping now',
          );
          control.setStop(STOP.NOW);
          for (const r of tickRings) r.wakeAll();
          tickBells?.ringAll();
          for (const r of candidateRings) r.wakeAll();
        }
      }
      await all;
      await pool.destroy();
      log.info({ restarts }, 'feature pool stopped');
    },
  };
}
