import { describe, expect, it } from 'vitest';
import { erfc, erfcx, inverseNormCdf, normCdf, normPdf } from './normal-distribution.ts';

// Reference values computed with 40-digit arithmetic (mpmath's ncdf / erfc), as the nearest double.
const PHI: readonly (readonly [number, number])[] = [
  [-37.5, 4.605353009581955e-308],
  [-30, 4.906713927148187e-198],
  [-20, 2.7536241186062337e-89],
  [-12, 1.776482112077679e-33],
  [-8, 6.220960574271784e-16],
  [-5, 2.866515718791939e-7],
  [-3, 0.0013498980316300946],
  [-1.5, 0.06680720126885807],
  [-0.5, 0.3085375387259869],
  [0.25, 0.5987063256829237],
  [1, 0.8413447460685429],
  [3, 0.9986501019683699],
  [6, 0.9999999990134123],
];

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('normCdf', () => {
  it('matches 40-digit references to a few ulps in both tails', () => {
    for (const [z, want] of PHI) expect(rel(normCdf(z), want), `z=${z}`).toBeLessThan(4e-16);
  });

  it('keeps relative precision in the upper tail through 1 − Φ(−z) = Φ(z)', () => {
    for (const z of [0.1, 1, 2.5, 5, 10]) {
      expect(Math.abs(normCdf(z) + normCdf(-z) - 1)).toBeLessThanOrEqual(2.3e-16);
    }
  });

  it('is 0 and 1 far out, never NaN', () => {
    expect(normCdf(-40)).toBe(0);
    expect(normCdf(40)).toBe(1);
    expect(normCdf(-1e300)).toBe(0);
    expect(normCdf(1e300)).toBe(1);
    expect(normCdf(0)).toBe(0.5);
  });
});

describe('erfc and erfcx', () => {
  it('match references (erfc(1), erfc(5), erfcx(10), erfcx(1e9))', () => {
    expect(rel(erfc(1), 0.15729920705028513)).toBeLessThan(4e-16);
    expect(rel(erfc(5), 1.537459794428035e-12)).toBeLessThan(4e-16);
    expect(rel(erfc(-1), 1.842700792949715)).toBeLessThan(4e-16);
    expect(rel(erfcx(10), 0.05614099274382259)).toBeLessThan(4e-16);
    expect(rel(erfcx(1e9), 5.641895835477563e-10)).toBeLessThan(4e-16);
  });
});

describe('inverseNormCdf', () => {
  it('inverts normCdf to a few ulps of x from 1e-300 to 1 − 1e-12', () => {
    for (const p of [1e-300, 1e-100, 1e-20, 1e-5, 0.01, 0.02425, 0.2, 0.5, 0.7, 0.97575, 0.999, 1 - 1e-12]) {
      const x = inverseNormCdf(p);
      // A relative error δ in x moves Φ(x) by x²·δ relative: the bound scales with x².
      expect(rel(normCdf(x), p), `p=${p}`).toBeLessThan(
        p > 0.5 ? 1e-15 / (1 - p) : 1e-15 * Math.max(1, x * x),
      );
    }
    expect(inverseNormCdf(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(inverseNormCdf(1)).toBe(Number.POSITIVE_INFINITY);
    expect(inverseNormCdf(1.5)).toBeNaN();
  });

  it('normPdf is the Gaussian density', () => {
    expect(rel(normPdf(1), 0.24197072451914334)).toBeLessThan(3e-16);
    expect(rel(normPdf(-30), 1.4736461348785476e-196)).toBeLessThan(1e-15);
  });
});
