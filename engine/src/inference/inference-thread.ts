/**
 * Main-thread side of the inference thread (its messages: inference/messages.ts): starts the
 * worker, hands it the rings, and exposes ready / stop / stats.
 *
 *   const inference = startInferenceThread({ candidateRings, scoredRing, maxBatch: 256, maxWaitUs: 200,
 *                                            executionProvider: 'auto' });
 *   const { provider, modelVersion } = await inference.ready;
 *   ...
 *   // stop the candidate producers (feature pool) first, then:
 *   await inference.stop();   // scores everything left in the candidate rings, then the thread exits
 *
 * The thread is the single consumer (cursor `candidateConsumer`, default 0) of every candidate
 * ring and the single producer of the scored ring.
 *
 * Supervision: this handle does not restart a thread that dies. `exited` resolves with its exit
 * code and an AppError (details.reason: InferenceErrorCode; RUN_FAILED for a failed session.run,
 * THREAD_EXITED for a death without a message), `stats().running` turns false, and a failed run
 * counts in `runErrors`. Candidate cursors are committed only after a batch is published
 * (candidate-batcher.ts): what the thread had not published stays in the candidate rings, and a
 * new thread on the same rings scores it. The engine is crash-only on top of this (index.ts): a
 * dead inference thread is fatal, readiness reports `inference: false`, and the daemon exits for
 * its supervisor to restart it from the durable cursors. inference-crash.test.ts drills both
 * through a test-only fault (messages.ts, faultSchema).
 *
 * Errors are the shared AppError, not a class of their own: an `error` message carries only the
 * reason string across the thread (structured clone drops classes), and both sides build the same
 * AppError from it (messages.ts, inferenceError; read back with inferenceReasonOf).
 */
import { Worker } from 'node:worker_threads';
import type { AppError } from '@aegis/shared/errors';
import { DEFAULT_ONNX_PATH } from '../model/model-file.ts';
import { Doorbells } from '../ring/doorbell.ts';
import { CTRL } from '../ring/layout.ts';
import type { WaitMode } from '../ring/spin-wait.ts';
import {
  CONTROL,
  type ExecutionProviderChoice,
  InferenceErrorCode,
  type InferenceFault,
  type InferenceStartup,
  inferenceError,
  type ScoringPathChoice,
  type WorkerToMain,
} from './messages.ts';
import { createStatsBuffer, type InferenceStats, readStats } from './stats.ts';

export interface InferenceThreadOptions {
  /** Defaults to the committed engine/models/signal-mlp.onnx. */
  readonly modelPath?: string;
  readonly candidateRings: readonly SharedArrayBuffer[];
  readonly scoredRing: SharedArrayBuffer;
  /** Largest micro-batch (rows per session.run); ≤ the scored ring's capacity. */
  readonly maxBatch: number;
  /**
   * How long a non-full batch may wait for more candidates, from its first candidate (µs).
   * 0 = run with whatever is there: batches still form on their own while a run is in flight.
   */
  readonly maxWaitUs: number;
  readonly executionProvider: ExecutionProviderChoice;
  /**
   * Default `auto`: batches of at most JS_MAX_BATCH rows through the JS forward pass of the
   * model's weights, larger ones through ORT (messages.ts, SCORING_PATHS; ENGINE_SCORING_PATH).
   */
  readonly scoringPath?: ScoringPathChoice;
  readonly candidateConsumer?: number;
  readonly intraOpThreads?: number;
  readonly logLevel?: string;
  /**
   * Doorbells whose slot 0 is the thread's (ring/doorbell.ts); the candidate rings' producers
   * must ring them (the feature pool's `candidateDoorbell`). Needed for a blocking sleep on
   * several candidate rings.
   */
  readonly candidateDoorbell?: SharedArrayBuffer;
  /** Spin before each park, µs (default 0: park at once); size it from measureWakeLatency. */
  readonly spinUs?: number;
  /** Default `park`; `poll` is the benchmark's naive baseline. */
  readonly waitMode?: WaitMode;
  /**
   * TEST ONLY: the crash drill's fault (messages.ts, faultSchema). Tests set it here, or for an
   * engine they start whole through StartEngineOptions.inferenceFault (index.ts); main.ts and the
   * engine configuration never set it.
   */
  readonly fault?: InferenceFault;
}

export interface InferenceReady {
  readonly provider: 'cpu' | 'cuda';
  readonly modelVersion: string;
}

export interface InferenceThreadHandle {
  /**
   * Resolves once the session is loaded; rejects with an inference AppError (its reason:
   * messages.ts, inferenceReasonOf) if the thread cannot start.
   */
  readonly ready: Promise<InferenceReady>;
  /** Requests a drain-and-exit; resolves when the thread has exited. Idempotent. */
  stop(): Promise<void>;
  /**
   * Kills the thread at once, without draining (a supervisor's last resort after a stop that does
   * not finish; the engine never calls it). Candidates not yet committed stay in the candidate
   * rings, so a new thread on the same rings scores them: nothing is lost, and at most the one
   * batch that was being published when the thread died is scored twice (same shard +
   * candidateId). Killing a thread that holds an ORT session sometimes aborts the whole process
   * ("terminate called after throwing an instance of 'Napi::Error'", onnxruntime-node's teardown,
   * about once in 30 terminations): the crash drill (inference-crash.test.ts) fails the thread
   * from inside instead.
   */
  terminate(): Promise<void>;
  /** Synchronous snapshot of the counters (read from shared memory). */
  stats(): InferenceStats & { readonly running: boolean };
  /**
   * Resolves when the thread exits for any reason (crash-only supervisors watch this); `error`
   * is an inference AppError (messages.ts, inferenceReasonOf) unless the thread stopped cleanly.
   */
  readonly exited: Promise<{ readonly exitCode: number; readonly error?: AppError }>;
}

export function startInferenceThread(opts: InferenceThreadOptions): InferenceThreadHandle {
  const control = new SharedArrayBuffer(CONTROL.WORDS * 4);
  const stats = createStatsBuffer();
  const startup: InferenceStartup = {
    modelPath: opts.modelPath ?? DEFAULT_ONNX_PATH,
    candidateRings: [...opts.candidateRings],
    scoredRing: opts.scoredRing,
    candidateConsumer: opts.candidateConsumer ?? 0,
    maxBatch: opts.maxBatch,
    maxWaitUs: opts.maxWaitUs,
    executionProvider: opts.executionProvider,
    intraOpThreads: opts.intraOpThreads ?? 1,
    scoringPath: opts.scoringPath ?? 'auto',
    control,
    stats,
    logLevel: opts.logLevel ?? 'info',
    ...(opts.candidateDoorbell ? { candidateDoorbell: opts.candidateDoorbell } : {}),
    spinUs: opts.spinUs ?? 0,
    waitMode: opts.waitMode ?? 'park',
    ...(opts.fault ? { fault: opts.fault } : {}),
  };
  const worker = new Worker(new URL('./inference-worker.ts', import.meta.url), {
    workerData: startup,
    name: 'aegis-inference',
  });

  let running = true;
  let lastError: AppError | undefined;
  let resolveReady!: (r: InferenceReady) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<InferenceReady>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  // A failed start is reported through `ready` and `exited`; don't crash on an unobserved one.
  ready.catch(() => {});

  worker.on('message', (msg: WorkerToMain) => {
    if (msg.type === 'ready') resolveReady({ provider: msg.provider, modelVersion: msg.modelVersion });
    else if (msg.type === 'error') {
      lastError = inferenceError(msg.code, msg.message);
      rejectReady(lastError);
    }
  });
  worker.on('error', (e) => {
    lastError = inferenceError(InferenceErrorCode.THREAD_EXITED, `inference thread crashed: ${e.message}`);
    rejectReady(lastError);
  });
  const exited = new Promise<{ exitCode: number; error?: AppError }>((resolve) => {
    worker.on('exit', (exitCode) => {
      running = false;
      const error =
        lastError ??
        (exitCode !== 0
          ? inferenceError(InferenceErrorCode.THREAD_EXITED, `inference thread exited with code ${exitCode}`)
          : undefined);
      if (error) rejectReady(error);
      else
        rejectReady(inferenceError(InferenceErrorCode.THREAD_EXITED, 'inference thread exited before ready'));
      resolve(error ? { exitCode, error } : { exitCode });
    });
  });

  const ctrl = new Int32Array(control);
  const candidateCtrls = opts.candidateRings.map((sab) => new Int32Array(sab, 0, CTRL.CURSOR_BASE));
  const bells = opts.candidateDoorbell ? Doorbells.attach(opts.candidateDoorbell) : undefined;
  let stopping: Promise<void> | undefined;
  return {
    ready,
    exited,
    stats: () => ({ ...readStats(stats), running }),
    async terminate(): Promise<void> {
      await worker.terminate();
      await exited;
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        Atomics.store(ctrl, CONTROL.STOP, 1);
        // Wake the thread if it sleeps on a candidate ring's head; it then drains and exits.
        for (const c of candidateCtrls) Atomics.notify(c, CTRL.HEAD);
        bells?.ring(0);
        await exited;
      })();
      return stopping;
    },
  };
}
