import { type MlpModel, mlpForward } from '../model/mlp.ts';
import type { ModelFile } from '../model/model-file.ts';

/**
 * What a backtest scores candidates with: the model's version (stamped on the result) and a
 * synchronous batch scorer over rows of toModelInputs (model/inputs.ts) inputs. Synchronous so a
 * detection is decided on the tick that raised it, in event order, whatever the wall clock does.
 */
export interface Scorer {
  readonly version: string;
  /** Scores `n` rows of `inputs` (MODEL_INPUT_SIZE per row) into `out[0..n)`. */
  score(inputs: Float32Array, n: number, out: Float64Array): void;
}

/**
 * The model file's weights through the TypeScript forward pass (model/mlp.ts), the reference the
 * ONNX graph the inference thread runs is held to within 1e-5 (model/onnx-parity.test.ts): the
 * same weights and inputs as production, and bit-for-bit repeatable on any machine.
 */
export function mlpScorer(loaded: {
  readonly file: Pick<ModelFile, 'version'>;
  readonly model: MlpModel;
}): Scorer {
  return {
    version: loaded.file.version,
    score: (inputs, n, out) => mlpForward(loaded.model, inputs, n, out),
  };
}
