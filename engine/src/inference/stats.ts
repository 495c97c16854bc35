/**
 * Inference statistics in a SharedArrayBuffer: the inference thread is the only writer, the main
 * thread reads them synchronously for `/metrics` (no postMessage round trip per scrape).
 *
 * Layout, Float64 words (the worker is the single writer; aligned 8-byte stores do not tear on the
 * 64-bit platforms ORT ships for, and a scrape that reads one counter a batch stale is fine):
 *
 *   word 0  batches                 word 4  scoredRingWaits (scored ring was full)
 *   word 1  scored (records)        word 5  runErrors
 *   word 2  maxBatchSize            word 6  runLatencySumUs
 *   word 3  candidateWaits (idle)   word 7  spinHits (a wait ended in its spin, no park)
 *   word 8  jsBatches (scored by the JS forward pass; batches - jsBatches went through ORT)
 *   words 9 ..                      latency histogram: one count per LATENCY_BUCKETS_US entry + 1 (+Inf)
 *   then                            batch-size histogram: one count per BATCH_SIZE_BUCKETS entry + 1 (+Inf)
 *
 * Histogram counts are per bucket (value <= bound, above the previous bound), NOT cumulative:
 * the Prometheus exporter accumulates them into `le` buckets.
 */

/** Upper bounds (µs) of the session.run latency histogram. */
export const LATENCY_BUCKETS_US = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000] as const;
/** Upper bounds of the batch-size histogram. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;

export const STAT = {
  batches: 0,
  scored: 1,
  maxBatchSize: 2,
  candidateWaits: 3,
  scoredRingWaits: 4,
  runErrors: 5,
  runLatencySumUs: 6,
  spinHits: 7,
  jsBatches: 8,
  latencyBase: 9,
  batchSizeBase: 9 + LATENCY_BUCKETS_US.length + 1,
} as const;
const STAT_WORDS = STAT.batchSizeBase + BATCH_SIZE_BUCKETS.length + 1;

export function createStatsBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(STAT_WORDS * 8);
}

export interface Histogram {
  /** Upper bounds; `counts` has one more entry, the +Inf bucket. */
  readonly bounds: readonly number[];
  /** Per-bucket (non-cumulative) counts. */
  readonly counts: number[];
  readonly count: number;
  readonly sum: number;
}

export interface InferenceStats {
  readonly batches: number;
  readonly scored: number;
  readonly meanBatchSize: number;
  readonly maxBatchSize: number;
  /** Times the thread found every candidate ring empty and slept. */
  readonly candidateWaits: number;
  /** Times the scored ring was full and the thread waited for its consumer (backpressure). */
  readonly scoredRingWaits: number;
  readonly runErrors: number;
  /** Waits that ended in their bounded spin (no park, no wake-up to pay). */
  readonly spinHits: number;
  /** Batches per scoring path (messages.ts, SCORING_PATHS): `js` + `ort` = `batches`. */
  readonly batchesByPath: { readonly js: number; readonly ort: number };
  /** Scoring wall time per batch (session.run or the JS forward pass), µs. */
  readonly latencyUs: Histogram;
  readonly batchSize: Histogram;
}

function bucketIndex(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > bounds[i]!) i++;
  return i;
}

/** Writer side (inference thread). */
export class StatsWriter {
  private readonly w: Float64Array;
  constructor(sab: SharedArrayBuffer) {
    this.w = new Float64Array(sab);
  }
  /** `js`: the batch was scored by the JS forward pass, not session.run. */
  recordBatch(size: number, latencyUs: number, js = false): void {
    const w = this.w;
    w[STAT.batches]! += 1;
    if (js) w[STAT.jsBatches]! += 1;
    w[STAT.scored]! += size;
    if (size > w[STAT.maxBatchSize]!) w[STAT.maxBatchSize] = size;
    w[STAT.runLatencySumUs]! += latencyUs;
    w[STAT.latencyBase + bucketIndex(LATENCY_BUCKETS_US, latencyUs)]! += 1;
    w[STAT.batchSizeBase + bucketIndex(BATCH_SIZE_BUCKETS, size)]! += 1;
  }
  increment(word: number): void {
    this.w[word]! += 1;
  }
  set(word: number, value: number): void {
    this.w[word] = value;
  }
}

/** Reader side (any thread). */
export function readStats(sab: SharedArrayBuffer): InferenceStats {
  const w = new Float64Array(sab);
  const batches = w[STAT.batches]!;
  const scored = w[STAT.scored]!;
  const latencyCounts = Array.from(
    w.subarray(STAT.latencyBase, STAT.latencyBase + LATENCY_BUCKETS_US.length + 1),
  );
  const sizeCounts = Array.from(
    w.subarray(STAT.batchSizeBase, STAT.batchSizeBase + BATCH_SIZE_BUCKETS.length + 1),
  );
  return {
    batches,
    scored,
    meanBatchSize: batches > 0 ? scored / batches : 0,
    maxBatchSize: w[STAT.maxBatchSize]!,
    candidateWaits: w[STAT.candidateWaits]!,
    scoredRingWaits: w[STAT.scoredRingWaits]!,
    runErrors: w[STAT.runErrors]!,
    spinHits: w[STAT.spinHits]!,
    batchesByPath: { js: w[STAT.jsBatches]!, ort: batches - w[STAT.jsBatches]! },
    latencyUs: {
      bounds: LATENCY_BUCKETS_US,
      counts: latencyCounts,
      count: batches,
      sum: w[STAT.runLatencySumUs]!,
    },
    batchSize: { bounds: BATCH_SIZE_BUCKETS, counts: sizeCounts, count: batches, sum: scored },
  };
}
