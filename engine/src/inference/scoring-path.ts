/**
 * Which code scores a batch on the inference thread (messages.ts, SCORING_PATHS): the JS forward
 * pass of the model's weights (model/mlp.ts, MlpKernel, over the weights read from the ONNX bytes
 * the session loaded: model/onnx-weights.ts) or ORT's session.run.
 *
 * JS_MAX_BATCH, the crossover, measured in the inference thread on the 2-core development machine
 * (the 21-40-1 tanh MLP of engine/models/signal-mlp.onnx, CPU provider, one intra-op thread,
 * median µs per batch, both paths timed on the same batch one after the other):
 *
 *   idle worker (batch of n rows)
 *     rows      1     4     8    16    32    64   128   192   256
 *     JS      1.3   4.5   8.8  17.4  34.7  69.3   138   208   277
 *     ORT      16    13    11    11    13    14    18    22    25
 *   running engine (1000 symbols, synthetic feed at full speed; batch windows of 100 µs, 60 ms
 *   and 400 ms to get every size; rows bucketed)
 *     rows      1     2   3-4   5-8  9-16 17-32 33-64  65-128 129-192 193-256
 *     JS      2.5   4.4   6.9   9.7    14    30    49     107     192     258
 *     ORT      94   126   169   191   224   254   251     242     249     270
 *
 * The JS pass costs ~1.1 µs a row; session.run a near-fixed ~11 µs in an idle worker but
 * ~100–270 µs inside the running engine (onnxruntime-node 1.30's session.run defers the native
 * call to a setImmediate and resolves a promise, so each run takes an event-loop turn of this
 * thread; which part of that grows under load was not isolated). Crossover: ~10 rows
 * idle, ~200–250 rows in the engine. 128 keeps the in-engine gain (107 vs 242 µs at 65–128 rows)
 * with a margin, and leaves the large batches, where ORT needs a tenth of the CPU a row, to ORT.
 */
import type { ScoringPathChoice } from './messages.ts';

export const JS_MAX_BATCH = 128;

/**
 * The largest batch the JS pass scores: `ort` 0 (never), `js` every batch, `auto` JS_MAX_BATCH
 * whatever the provider (small batches never leave the thread; larger ones go to ORT, to the GPU
 * under the CUDA provider). 0 as well when the model's graph gave no weights to run.
 */
export function jsMaxBatch(choice: ScoringPathChoice, jsAvailable: boolean): number {
  if (!jsAvailable || choice === 'ort') return 0;
  return choice === 'js' ? Number.POSITIVE_INFINITY : JS_MAX_BATCH;
}
