import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scorer } from '../../src/backtest/scorer.ts';
import { MODEL_INPUT_NAMES } from '../../src/model/inputs.ts';
import { MODEL_FILE_FORMAT, type ModelFile } from '../../src/model/model-file.ts';

/**
 * The model for the job tests: every candidate scores 0.9, so a run places orders whatever the
 * committed model file of the day says. These tests are about jobs (claims, leases, progress,
 * cancel, resume); the model's quality has its own tests and harness (engine/src/eval/).
 */
export const constantScorer: Scorer = Object.freeze({
  version: 'test-constant-0.9',
  score(_inputs: Float32Array, n: number, out: Float64Array) {
    out.fill(0.9, 0, n);
  },
});

/**
 * The same as a model file (one sigmoid layer, zero weights, bias logit(0.9)) for runs in a
 * backtest thread, which loads its model from a file like production.
 */
export async function writeConstantModelFile(dir: string): Promise<string> {
  const n = MODEL_INPUT_NAMES.length;
  const file: ModelFile = {
    format: MODEL_FILE_FORMAT,
    version: 'test-constant-0.9',
    onnxSha256: '0'.repeat(64),
    inputName: 'features',
    outputName: 'score',
    inputNames: [...MODEL_INPUT_NAMES],
    layers: [
      {
        inputs: n,
        outputs: 1,
        activation: 'sigmoid',
        weights: new Array(n).fill(0),
        bias: [Math.log(0.9 / 0.1)],
      },
    ],
    training: {},
  };
  const path = join(dir, 'constant-model.json');
  await writeFile(path, JSON.stringify(file));
  return path;
}
