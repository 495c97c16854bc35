import { describe, expect, it } from 'vitest';
import { Mulberry32, type SeededRandom } from '../random/seeded-random.ts';
import { mergeSingleHiddenLayer } from './ensemble.ts';
import { type MlpModel, mlpForward } from './mlp.ts';

const logit = (p: number) => Math.log(p / (1 - p));

function member(rng: SeededRandom, hidden: number): MlpModel {
  const w = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return {
    layers: [
      { inputs: 5, outputs: hidden, activation: 'tanh', weights: w(5 * hidden), bias: w(hidden) },
      { inputs: hidden, outputs: 1, activation: 'sigmoid', weights: w(hidden), bias: w(1) },
    ],
  };
}

describe('seed-bagged ensemble as one network', () => {
  it('scores the sigmoid of the members’ mean logit', () => {
    const rng = new Mulberry32(11);
    const members = [member(rng, 3), member(rng, 4), member(rng, 2)];
    const merged = mergeSingleHiddenLayer(members);
    expect(merged.layers[0]!.outputs).toBe(9);
    const n = 16;
    const x = Float32Array.from({ length: n * 5 }, () => rng.normal());
    const got = new Float64Array(n);
    mlpForward(merged, x, n, got);
    const each = members.map((m) => {
      const p = new Float64Array(n);
      mlpForward(m, x, n, p);
      return p;
    });
    for (let i = 0; i < n; i++) {
      const meanLogit = each.reduce((s, p) => s + logit(p[i]!), 0) / members.length;
      expect(logit(got[i]!)).toBeCloseTo(meanLogit, 4);
    }
  });

  it('refuses members of another shape', () => {
    const rng = new Mulberry32(1);
    const deep: MlpModel = { layers: [...member(rng, 2).layers.slice(0, 1), ...member(rng, 2).layers] };
    expect(() => mergeSingleHiddenLayer([deep])).toThrow();
    expect(() => mergeSingleHiddenLayer([])).toThrow();
  });
});
