/**
 * The two scoring paths of the inference thread (scoring-path.ts): the JS forward pass over the
 * weights read from the ONNX bytes equals ORT's session.run on the same inputs at every batch size
 * the JS path is used for (and past the crossover), the weights are the committed model's, a graph
 * that is not an exported MLP gives no JS path, and the thread counts its batches per path.
 */
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { MODEL_INPUT_SIZE } from '../model/inputs.ts';
import { MlpKernel } from '../model/mlp.ts';
import { DEFAULT_ONNX_PATH, loadModelFile } from '../model/model-file.ts';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../model/onnx-export.ts';
import { mlpFromOnnx } from '../model/onnx-weights.ts';
import { Mulberry32 } from '../random/seeded-random.ts';
import { type InferenceThreadHandle, startInferenceThread } from './inference-thread.ts';
import type { ScoringPathChoice } from './messages.ts';
import { JS_MAX_BATCH, jsMaxBatch } from './scoring-path.ts';
import { openScoringSession } from './scoring-session.ts';
import { consume, produce, randomCandidate, referenceScores, rings } from './test-rings.ts';

const { onnx } = onnxProto;

const handles: InferenceThreadHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
});

describe('JS scoring path vs ORT', () => {
  it('reads exactly the committed model weights out of the ONNX bytes', async () => {
    const { model } = await loadModelFile();
    const fromOnnx = mlpFromOnnx(await readFile(DEFAULT_ONNX_PATH));
    expect(fromOnnx.layers.map((l) => [l.inputs, l.outputs, l.activation])).toEqual(
      model.layers.map((l) => [l.inputs, l.outputs, l.activation]),
    );
    for (const [i, l] of fromOnnx.layers.entries()) {
      expect(l.weights).toEqual(model.layers[i]!.weights);
      expect(l.bias).toEqual(model.layers[i]!.bias);
    }
  });

  it('gives the scores session.run gives, within 1e-5, at every batch size from 1 to 256', async () => {
    const scoring = await openScoringSession(DEFAULT_ONNX_PATH, 'cpu', 1);
    try {
      expect(scoring.mlpUnavailable).toBeUndefined();
      const kernel = new MlpKernel(scoring.mlp!);
      const rng = new Mulberry32(20261205);
      const maxN = 256;
      expect(JS_MAX_BATCH).toBeLessThan(maxN);
      let maxDiff = 0;
      for (let n = 1; n <= maxN; n++) {
        // Wide inputs: saturating and linear tanh ranges both, as clipped features can reach.
        const x = new Float32Array(n * MODEL_INPUT_SIZE);
        for (let i = 0; i < x.length; i++) x[i] = rng.normal() * (rng.next() < 0.1 ? 8 : 1.5);
        const js = new Float32Array(n);
        kernel.run(x, n, js);
        const out = await scoring.session.run({
          [ONNX_INPUT_NAME]: new ort.Tensor('float32', x, [n, MODEL_INPUT_SIZE]),
        });
        const want = out[ONNX_OUTPUT_NAME]!.data as Float32Array;
        for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(js[i]! - want[i]!));
      }
      expect(maxDiff).toBeLessThan(1e-5);
    } finally {
      await scoring.session.release();
    }
  });

  it('refuses a graph that is not Gemm + activation pairs (the thread then scores with ORT alone)', async () => {
    const proto = onnx.ModelProto.decode(await readFile(DEFAULT_ONNX_PATH));
    proto.graph!.node![1]!.opType = 'Softplus';
    expect(() => mlpFromOnnx(onnx.ModelProto.encode(proto).finish())).toThrow(/not Relu\/Tanh\/Sigmoid/);
    const transposed = onnx.ModelProto.decode(await readFile(DEFAULT_ONNX_PATH));
    const attr = transposed.graph!.node![0]!.attribute!.find((a) => a.name === 'transB')!;
    attr.i = 1;
    expect(() => mlpFromOnnx(onnx.ModelProto.encode(transposed).finish())).toThrow(/not a plain Gemm/);
  });

  it('auto scores up to JS_MAX_BATCH rows in JS; ort and js force one path; no weights, no JS', () => {
    expect(jsMaxBatch('auto', true)).toBe(JS_MAX_BATCH);
    expect(jsMaxBatch('ort', true)).toBe(0);
    expect(jsMaxBatch('js', true)).toBe(Number.POSITIVE_INFINITY);
    expect(jsMaxBatch('auto', false)).toBe(0);
  });
});

describe('inference thread: batches per scoring path', () => {
  // A backlog published at once (one head update): the thread's first batch is maxBatch rows (over
  // the crossover), the rest a smaller one.
  async function scoreBacklog(path: ScoringPathChoice) {
    const { candidateRings, scoredRing } = rings(1);
    const rng = new Mulberry32(7);
    const total = JS_MAX_BATCH * 2 + 40;
    const cands = Array.from({ length: total }, (_, i) => randomCandidate(rng, i));
    const h = startInferenceThread({
      candidateRings: [candidateRings[0]!.sab],
      scoredRing: scoredRing.sab,
      maxBatch: JS_MAX_BATCH * 2,
      maxWaitUs: 0,
      executionProvider: 'cpu',
      scoringPath: path,
      logLevel: 'warn',
    });
    handles.push(h);
    await h.ready;
    produce(candidateRings[0]!, cands);
    const scored = await consume(scoredRing, total);
    const want = await referenceScores(cands);
    let maxDiff = 0;
    for (const r of scored) maxDiff = Math.max(maxDiff, Math.abs(r.score - want.get(r.id)!));
    expect(scored.map((r) => r.id)).toEqual(cands.map((c) => c.id));
    expect(maxDiff).toBeLessThan(1e-5);
    const st = h.stats();
    expect(st.batchesByPath.js + st.batchesByPath.ort).toBe(st.batches);
    return { st, sizes: [...new Set(scored.map((r) => r.batchSize))] };
  }

  it('auto: the large batch goes to ORT, the small one to JS', { timeout: 60_000 }, async () => {
    const { st, sizes } = await scoreBacklog('auto');
    expect(sizes).toEqual([JS_MAX_BATCH * 2, 40]);
    expect(st.batchesByPath).toEqual({ ort: 1, js: 1 });
  });

  it('ort and js force every batch down one path', { timeout: 60_000 }, async () => {
    expect((await scoreBacklog('ort')).st.batchesByPath).toEqual({ ort: 2, js: 0 });
    expect((await scoreBacklog('js')).st.batchesByPath).toEqual({ ort: 0, js: 2 });
  });
});
