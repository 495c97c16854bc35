import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../random/seeded-random.ts';
import { fitPlatt, foldPlatt } from './calibration.ts';
import { type MlpModel, mlpForward, sigmoid } from './mlp.ts';

const logit = (p: number) => Math.log(p / (1 - p));

describe('Platt scaling', () => {
  it('recovers the distortion of an over-confident score', () => {
    // True probability q; the model reports sigmoid(2.5·logit(q) − 0.4) (too extreme, biased).
    const rng = new Mulberry32(7);
    const n = 20_000;
    const p = new Float64Array(n);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const q = 0.05 + 0.9 * rng.next();
      p[i] = sigmoid(2.5 * logit(q) - 0.4);
      y[i] = rng.next() < q ? 1 : 0;
    }
    const s = fitPlatt(p, y);
    // The inverse map: a ≈ 1 / 2.5, b ≈ 0.4 / 2.5.
    expect(s.a).toBeCloseTo(0.4, 1);
    expect(s.b).toBeCloseTo(0.16, 1);
  });

  it('folded into the output layer equals applying it after the forward pass', () => {
    const rng = new Mulberry32(3);
    const w = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const model: MlpModel = {
      layers: [
        { inputs: 3, outputs: 4, activation: 'tanh', weights: w(12), bias: w(4) },
        { inputs: 4, outputs: 1, activation: 'sigmoid', weights: w(4), bias: w(1) },
      ],
    };
    const s = { a: 0.7, b: -0.3 };
    const x = Float32Array.from({ length: 30 }, () => rng.normal());
    const raw = new Float64Array(10);
    const folded = new Float64Array(10);
    mlpForward(model, x, 10, raw);
    mlpForward(foldPlatt(model, s), x, 10, folded);
    for (let i = 0; i < 10; i++) expect(folded[i]).toBeCloseTo(sigmoid(s.a * logit(raw[i]!) + s.b), 5);
  });
});
