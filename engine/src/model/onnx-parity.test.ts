import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS } from '../features/params.ts';
import { Mulberry32, type SeededRandom } from '../random/seeded-random.ts';
import { MODEL_INPUT_NAMES, MODEL_INPUT_SIZE } from './inputs.ts';
import { mlpForward } from './mlp.ts';
import { DEFAULT_ONNX_PATH, loadModelFile } from './model-file.ts';
import { exportMlpToOnnx, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from './onnx-export.ts';

/** Rows shaped like real inputs: scaled features in ±INPUT_CLIP, a pattern one-hot, a direction. */
function randomInputs(rng: SeededRandom, n: number): Float32Array {
  const x = new Float32Array(n * MODEL_INPUT_SIZE);
  for (let r = 0; r < n; r++) {
    const o = r * MODEL_INPUT_SIZE;
    for (let k = 0; k < 7; k++) x[o + k] = rng.next() < 0.1 ? (rng.next() * 2 - 1) * 8 : rng.normal() * 1.5;
    x[o + 7 + rng.int(3)] = 1;
    x[o + 10] = rng.next() < 0.5 ? -1 : 1;
  }
  return x;
}

describe('committed signal model: ONNX through InferenceSession == TypeScript forward pass', () => {
  it('matches within 1e-5 on random inputs at several batch sizes', async () => {
    const { file, model } = await loadModelFile();
    expect(file.inputNames).toEqual([...MODEL_INPUT_NAMES]);
    const session = await ort.InferenceSession.create(DEFAULT_ONNX_PATH, { executionProviders: ['cpu'] });
    try {
      expect(session.inputNames).toEqual([ONNX_INPUT_NAME]);
      expect(session.outputNames).toEqual([ONNX_OUTPUT_NAME]);
      const rng = new Mulberry32(20261125);
      let maxDiff = 0;
      for (const n of [1, 7, 64, 1000]) {
        const x = randomInputs(rng, n);
        const out = await session.run({
          [ONNX_INPUT_NAME]: new ort.Tensor('float32', x, [n, MODEL_INPUT_SIZE]),
        });
        const score = out[ONNX_OUTPUT_NAME]!;
        expect(score.dims).toEqual([n, 1]);
        const got = score.data as Float32Array;
        const want = new Float64Array(n);
        mlpForward(model, x, n, want);
        for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want[i]!));
      }
      expect(maxDiff).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  });

  it('the JSON weights are exactly the weights in the ONNX file', async () => {
    const { file, model } = await loadModelFile();
    const onnxBytes = await readFile(DEFAULT_ONNX_PATH);
    expect(createHash('sha256').update(onnxBytes).digest('hex')).toBe(file.onnxSha256);
    // Re-exporting the JSON weights with the same metadata reproduces the committed bytes.
    const rebuilt = exportMlpToOnnx(model, {
      metadata: { version: file.version, inputNames: file.inputNames.join(','), format: file.format },
    });
    expect(Buffer.from(rebuilt).equals(onnxBytes)).toBe(true);
  });

  it('was trained on the feature and pattern parameters the engine runs with (retrain after changing them)', async () => {
    const { file } = await loadModelFile();
    expect(file.training.features).toEqual(DEFAULT_FEATURE_PARAMS);
    expect(file.training.patterns).toEqual(DEFAULT_PATTERN_PARAMS);
  });

  it('carries the version and input names in the ONNX metadata', async () => {
    const { file } = await loadModelFile();
    const bytes = await readFile(DEFAULT_ONNX_PATH);
    // Metadata strings are stored verbatim in the protobuf.
    expect(bytes.includes(Buffer.from(file.version))).toBe(true);
    expect(bytes.includes(Buffer.from(MODEL_INPUT_NAMES.join(',')))).toBe(true);
  });
});
