import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../random/seeded-random.ts';
import { logLoss, rocAuc } from './metrics.ts';
import { type LabelledSet, mlpForward, type TrainOptions, trainMlp } from './mlp.ts';

/** A nonlinear problem (XOR of two signs plus a linear term) a linear model cannot solve. */
function problem(seed: number, n: number): LabelledSet {
  const rng = new Mulberry32(seed);
  const d = 5;
  const x = new Float32Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) x[i * d + k] = rng.normal();
    const s = Math.sign(x[i * d]! * x[i * d + 1]!) + 0.5 * x[i * d + 2]! + 0.3 * rng.normal();
    y[i] = s > 0 ? 1 : 0;
  }
  return { x, y, n, d };
}

const opts: TrainOptions = {
  hiddenSizes: [16, 8],
  hiddenActivation: 'relu',
  epochs: 30,
  batchSize: 64,
  learningRate: 0.01,
  weightDecay: 1e-4,
  seed: 3,
  patience: 0,
};

describe('trainMlp', () => {
  it('learns a nonlinear decision boundary', () => {
    const train = problem(1, 3000);
    const valid = problem(2, 1000);
    const { model, history } = trainMlp(train, valid, opts);
    const p = new Float64Array(valid.n);
    mlpForward(model, valid.x, valid.n, p);
    expect(rocAuc(p, valid.y)).toBeGreaterThan(0.9);
    expect(logLoss(p, valid.y)).toBeLessThan(history[0]!.validLoss);
  });

  it('tanh hidden layers train too', () => {
    const train = problem(1, 2000);
    const valid = problem(2, 500);
    const { model } = trainMlp(train, valid, { ...opts, hiddenActivation: 'tanh' });
    const p = new Float64Array(valid.n);
    mlpForward(model, valid.x, valid.n, p);
    expect(rocAuc(p, valid.y)).toBeGreaterThan(0.85);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const train = problem(1, 500);
    const valid = problem(2, 200);
    const short = { ...opts, epochs: 3 };
    const a = trainMlp(train, valid, short).model;
    const b = trainMlp(train, valid, short).model;
    const c = trainMlp(train, valid, { ...short, seed: 4 }).model;
    for (let i = 0; i < a.layers.length; i++) {
      expect([...a.layers[i]!.weights]).toEqual([...b.layers[i]!.weights]);
      expect([...a.layers[i]!.bias]).toEqual([...b.layers[i]!.bias]);
    }
    expect([...a.layers[0]!.weights]).not.toEqual([...c.layers[0]!.weights]);
  });

  it('keeps the weights of the best validation epoch', () => {
    const train = problem(1, 500);
    const valid = problem(2, 300);
    const { model, bestEpoch, history } = trainMlp(train, valid, { ...opts, epochs: 12 });
    const p = new Float64Array(valid.n);
    mlpForward(model, valid.x, valid.n, p);
    const best = Math.min(...history.map((h) => h.validLoss));
    expect(history[bestEpoch - 1]!.validLoss).toBe(best);
    expect(logLoss(p, valid.y)).toBeCloseTo(best, 12);
  });
});

describe('metrics', () => {
  it('AUC: perfect, inverted, ties, random', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(rocAuc([0.3, 0.4], [1, 1])).toBeNaN();
  });
  it('log loss of a constant 0.5 is ln 2', () => {
    expect(logLoss([0.5, 0.5], [0, 1])).toBeCloseTo(Math.LN2, 12);
  });
});
