/**
 * What crosses the boundary between the main thread and the inference thread: the startup data
 * (validated once with zod in the worker), the few lifecycle messages, the control word the
 * main thread flips to stop the thread without waiting for the worker's event loop, and the
 * inference failures (an AppError whose `details.reason` is one of InferenceErrorCode).
 */
import { AppError, ErrorCode, isAppError } from '@aegis/shared/errors';
import { z } from 'zod';

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda'] as const;
export type ExecutionProviderChoice = (typeof EXECUTION_PROVIDERS)[number];

/**
 * Which code scores a batch (inference-worker.ts, scoringPathFor): `ort` every batch through
 * session.run; `js` every batch through the JS forward pass of the same weights (model/mlp.ts,
 * MlpKernel); `auto` the JS pass for batches of at most JS_MAX_BATCH rows, ORT above (and on the
 * CUDA provider, large batches go to the GPU as before).
 */
export const SCORING_PATHS = ['auto', 'ort', 'js'] as const;
export type ScoringPathChoice = (typeof SCORING_PATHS)[number];

/**
 * TEST ONLY: the crash drill's fault (inference-crash.test.ts), on the batch after `afterBatches`
 * published batches. `throw`: its session.run rejects as a failing ORT run would (the worker's own
 * error path: runErrors + 1, an `error` message, exit code 1). `exit`: the thread ends with
 * process.exit(FAULT_EXIT_CODE) and no message instead of running it, as a thread that dies
 * outright. Either way that batch is neither published nor committed. `exit-after-publish`: the
 * batch runs and its scored records are published, then the thread exits before it commits the
 * candidate cursors, the one window in which a death makes a new thread score a batch again.
 * Set only by a test, through
 * InferenceThreadOptions.fault or StartEngineOptions.inferenceFault; no engine configuration key
 * or environment variable reaches it.
 */
export const faultSchema = z.object({
  kind: z.enum(['throw', 'exit', 'exit-after-publish']),
  afterBatches: z.number().int().min(0),
});
export type InferenceFault = z.infer<typeof faultSchema>;
/** Exit code of the `exit` fault: tells the drill's death from any other. */
export const FAULT_EXIT_CODE = 70;

export const startupSchema = z.object({
  /** Path of the .onnx model; its `.json` sibling (if present) supplies the version. */
  modelPath: z.string().min(1),
  candidateRings: z.array(z.instanceof(SharedArrayBuffer)).min(1),
  scoredRing: z.instanceof(SharedArrayBuffer),
  /** Consumer cursor index the thread owns on every candidate ring. */
  candidateConsumer: z.number().int().min(0).max(15),
  maxBatch: z.number().int().min(1).max(65_535),
  maxWaitUs: z.number().int().min(0).max(10_000_000),
  executionProvider: z.enum(EXECUTION_PROVIDERS),
  intraOpThreads: z.number().int().min(1).max(64),
  scoringPath: z.enum(SCORING_PATHS),
  control: z.instanceof(SharedArrayBuffer),
  stats: z.instanceof(SharedArrayBuffer),
  /**
   * Doorbells (ring/doorbell.ts) the candidate rings' producers ring; slot 0 is this thread's.
   * Absent: with several candidate rings the thread sleeps with Atomics.waitAsync on every head.
   */
  candidateDoorbell: z.instanceof(SharedArrayBuffer).optional(),
  /** Spin budget before a park (µs), sized from the measured wake-up cost; 0 = park at once. */
  spinUs: z.number().min(0).max(1000),
  /** `park` (spin, then Atomics.wait); `poll` is the benchmark's naive baseline (ring/spin-wait.ts). */
  waitMode: z.enum(['park', 'poll']),
  logLevel: z.string(),
  /** TEST ONLY (faultSchema above); absent in every engine configuration. */
  fault: faultSchema.optional(),
});
export type InferenceStartup = z.infer<typeof startupSchema>;

/** Int32 words of the control SharedArrayBuffer. */
export const CONTROL = {
  /** 0 running; 1 stop requested: drain every candidate ring, then exit. */
  STOP: 0,
  WORDS: 1,
} as const;

/**
 * Why inference failed: the string that crosses the thread boundary in an `error` message
 * (structured clone keeps strings, not classes), and the `details.reason` of the AppError each
 * side throws. Each maps to one shared ErrorCode (INFERENCE_ERROR_CODES).
 */
export const InferenceErrorCode = {
  BAD_STARTUP: 'INFERENCE_BAD_STARTUP',
  MODEL_LOAD_FAILED: 'INFERENCE_MODEL_LOAD_FAILED',
  MODEL_SHAPE_MISMATCH: 'INFERENCE_MODEL_SHAPE_MISMATCH',
  PROVIDER_UNAVAILABLE: 'INFERENCE_PROVIDER_UNAVAILABLE',
  RUN_FAILED: 'INFERENCE_RUN_FAILED',
  /** The thread ended without saying why (killed, process.exit, an uncaught error). */
  THREAD_EXITED: 'INFERENCE_THREAD_EXITED',
} as const;
export type InferenceErrorCode = (typeof InferenceErrorCode)[keyof typeof InferenceErrorCode];

const INFERENCE_ERROR_CODES: Record<InferenceErrorCode, ErrorCode> = {
  INFERENCE_BAD_STARTUP: ErrorCode.INTERNAL,
  INFERENCE_MODEL_LOAD_FAILED: ErrorCode.PRECONDITION_FAILED,
  INFERENCE_MODEL_SHAPE_MISMATCH: ErrorCode.PRECONDITION_FAILED,
  INFERENCE_PROVIDER_UNAVAILABLE: ErrorCode.UNAVAILABLE,
  INFERENCE_RUN_FAILED: ErrorCode.INTERNAL,
  INFERENCE_THREAD_EXITED: ErrorCode.UNAVAILABLE,
};

/** An inference failure: an AppError with the shared code for `reason` and `details.reason`. */
export function inferenceError(
  reason: InferenceErrorCode,
  message: string,
  options?: { cause?: unknown },
): AppError {
  return new AppError(INFERENCE_ERROR_CODES[reason], message, { reason }, options);
}

/** The InferenceErrorCode of an inference failure (inferenceError), else undefined. */
export function inferenceReasonOf(e: unknown): InferenceErrorCode | undefined {
  const reason = isAppError(e) ? e.details?.reason : undefined;
  return typeof reason === 'string' && Object.hasOwn(INFERENCE_ERROR_CODES, reason)
    ? (reason as InferenceErrorCode)
    : undefined;
}

export type WorkerToMain =
  | { type: 'ready'; provider: 'cpu' | 'cuda'; modelVersion: string }
  | { type: 'error'; code: InferenceErrorCode; message: string }
  | { type: 'stopped'; drained: number };
