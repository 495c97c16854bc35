import { z } from 'zod';
import { featureParamsSchema, patternParamsSchema } from '../features/params.ts';

/**
 * Messages between the feature pool (main thread) and its piscina workers. The startup data
 * (shared memory + parameters) reaches each worker once, as `workerData`, and is validated there
 * with zod before the first tick; tasks are tiny and carry no tick data.
 */
const sab = z.instanceof(SharedArrayBuffer);

export const featureWorkerDataSchema = z.strictObject({
  shards: z.number().int().min(1),
  /** Consumer index of the feature worker in every tick ring. */
  tickConsumer: z.number().int().min(0),
  tickRings: z.array(sab).min(1),
  candidateRings: z.array(sab).min(1),
  featureStateSab: sab,
  controlSab: sab,
  featureParams: featureParamsSchema,
  patternParams: patternParamsSchema,
  candidatePolicy: z.enum(['block', 'drop']),
  /** Ticks per cursor commit (the head/cursor are touched once per batch). */
  maxBatch: z.number().int().min(1).max(65536),
  /** Spins (re-reads of the head) before a worker sleeps on Atomics.wait. */
  spinsBeforeSleep: z.number().int().min(0),
  /** Longest single sleep before a worker re-checks its stop word (the pool's stop also wakes it). */
  sleepTimeoutMs: z.number().min(1).max(10_000),
  /**
   * Doorbells of the workers (ring/doorbell.ts), one slot per shard: a worker parks on the slot of
   * its first shard, and the tick rings' producer rings it. Absent: a worker with several shards
   * sleeps with Atomics.waitAsync on every head.
   */
  tickDoorbells: sab.optional(),
  /** The inference thread's doorbell: the workers ring it when they publish a candidate. */
  candidateDoorbell: sab.optional(),
  /** Longest delay of the inference thread's wake-up while a shard stays busy (µs; 0 = per batch). */
  candidateWakeUs: z.number().min(0).max(1_000_000),
  /** Spin budget before a park (µs), from the measured wake-up cost; 0 = park at once. */
  spinUs: z.number().min(0).max(1000),
  /** `park` (spin, then Atomics.wait); `poll` is the benchmark's naive baseline (spinsBeforeSleep re-reads). */
  waitMode: z.enum(['park', 'poll']),
});
export type FeatureWorkerData = z.infer<typeof featureWorkerDataSchema>;

/** Own these shards until the pool stops (the low-latency shape: one long task per worker). */
export const ownShardsTaskSchema = z.strictObject({
  type: z.literal('own'),
  shards: z.array(z.number().int().min(0)).min(1),
});
/** Process what one shard has now, up to maxTicks (the task-per-batch shape, kept for the benchmark). */
export const batchTaskSchema = z.strictObject({
  type: z.literal('batch'),
  shard: z.number().int().min(0),
  maxTicks: z.number().int().min(1),
});
export const featureTaskSchema = z.discriminatedUnion('type', [ownShardsTaskSchema, batchTaskSchema]);
export type OwnShardsTask = z.infer<typeof ownShardsTaskSchema>;
export type BatchTask = z.infer<typeof batchTaskSchema>;
export type FeatureTask = z.infer<typeof featureTaskSchema>;

/** Result of an `own` task (the worker's loop ended because the pool asked it to stop). */
export interface OwnShardsResult {
  type: 'own';
  shards: number[];
  ticks: number;
  sleeps: number;
  /** Waits that ended in their bounded spin (no park). */
  spinHits: number;
}
/** Result of a `batch` task. */
export interface BatchResult {
  type: 'batch';
  shard: number;
  ticks: number;
}
export type FeatureTaskResult = OwnShardsResult | BatchResult;
