/**
 * What crosses the boundary between the main thread and the inference thread: the startup data
 * (validated once with zod in the worker), the few lifecycle messages, and the control word the
 * main thread flips to stop the thread without waiting for the worker's event loop.
 */
import { z } from 'zod';

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda'] as const;
export type ExecutionProviderChoice = (typeof EXECUTION_PROVIDERS)[number];

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
});
export type InferenceStartup = z.infer<typeof startupSchema>;

/** Int32 words of the control SharedArrayBuffer. */
export const CONTROL = {
  /** 0 running; 1 stop requested: drain every candidate ring, then exit. */
  STOP: 0,
  WORDS: 1,
} as const;

/** Error codes carried across the thread boundary (STYLE: errors crossing a thread carry a code). */
export const InferenceErrorCode = {
  BAD_STARTUP: 'INFERENCE_BAD_STARTUP',
  MODEL_LOAD_FAILED: 'INFERENCE_MODEL_LOAD_FAILED',
  MODEL_SHAPE_MISMATCH: 'INFERENCE_MODEL_SHAPE_MISMATCH',
  PROVIDER_UNAVAILABLE: 'INFERENCE_PROVIDER_UNAVAILABLE',
  RUN_FAILED: 'INFERENCE_RUN_FAILED',
} as const;
export type InferenceErrorCode = (typeof InferenceErrorCode)[keyof typeof InferenceErrorCode];

export type WorkerToMain =
  | { type: 'ready'; provider: 'cpu' | 'cuda'; modelVersion: string }
  | { type: 'error'; code: InferenceErrorCode; message: string }
  | { type: 'stopped'; drained: number };
