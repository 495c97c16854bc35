import { MODEL_INPUT_SIZE } from '../model/inputs.ts';
import type { MlpModel } from '../model/mlp.ts';
import { Mulberry32 } from '../random/seeded-random.ts';
import { mlpScorer, type Scorer } from './scorer.ts';

/**
 * A model of this engine's input size with seeded random weights (one hidden tanh layer, sigmoid
 * output), scored through the same forward pass as a trained one. For tests and benches that
 * exercise the backtest path itself and must not depend on which trained model is committed; the
 * numbers it gives are not signal quality. `bias` shifts the output so a test can choose how many
 * signals clear the preset's minimum score.
 */
export function seededScorer(seed: number, options: { hidden?: number; bias?: number } = {}): Scorer {
  const rng = new Mulberry32(seed);
  const hidden = options.hidden ?? 8;
  const w = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
  const model: MlpModel = {
    layers: [
      {
        inputs: MODEL_INPUT_SIZE,
        outputs: hidden,
        activation: 'tanh',
        weights: w(MODEL_INPUT_SIZE * hidden, 0.5),
        bias: w(hidden, 0.1),
      },
      {
        inputs: hidden,
        outputs: 1,
        activation: 'sigmoid',
        weights: w(hidden, 1),
        bias: Float32Array.of(options.bias ?? 0),
      },
    ],
  };
  return mlpScorer({ file: { version: `seeded-${seed}` }, model });
}
