import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, PATTERN } from '../ring/layout.ts';
import {
  INPUT_CLIP,
  MODEL_INPUT_NAMES,
  MODEL_INPUT_SIZE,
  RAW_FEATURE_COUNT,
  RawFeature,
  toModelInputs,
} from './inputs.ts';

function raw(price: number): Float64Array {
  // FEATURE_NAMES order (ring/layout.ts)
  return Float64Array.of(
    price * 1.0004, // emaFast
    price * 1.0001, // emaSlow
    price * 0.998, // vwap
    1.2e-4, // realizedVol
    0.07, // orderFlowImbalance
    price * 1.00005, // microPrice
    1.7, // spreadZ
    0.0012, // momentum
    0.8, // tradeImbalanceFast
    0.5, // tradeImbalance
    0.2, // tradeImbalanceSlow
    -0.3, // depthImbalance
    -0.4, // depthChange
    1.6, // volumeRatio
    2.5, // deviationZ
    1, // bookAvailability
    0.6, // tradeRate
    1.5, // volumeTrend
  );
}

describe('toModelInputs', () => {
  it('reads the raw features in the contract order', () => {
    for (const [i, name] of FEATURE_NAMES.entries()) expect(RawFeature[name]).toBe(i);
    expect(Object.keys(RawFeature)).toHaveLength(FEATURE_NAMES.length);
    expect(MODEL_INPUT_SIZE).toBe(MODEL_INPUT_NAMES.length);
  });

  it('is scale-free: a 1000x price gives the same inputs', () => {
    const a = new Float32Array(MODEL_INPUT_SIZE);
    const b = new Float32Array(MODEL_INPUT_SIZE);
    toModelInputs(raw(3.21), 3.21, PATTERN.breakout, 1, a);
    toModelInputs(raw(3210), 3210, PATTERN.breakout, 1, b);
    for (let i = 0; i < MODEL_INPUT_SIZE; i++) expect(b[i]).toBeCloseTo(a[i]!, 4);
  });

  it('hand-computed values for a long, and directional inputs flip for a short', () => {
    const long = new Float32Array(MODEL_INPUT_SIZE);
    const short = new Float32Array(MODEL_INPUT_SIZE);
    toModelInputs(raw(100), 100, PATTERN.absorption, 1, long);
    toModelInputs(raw(100), 100, PATTERN.absorption, -1, short);
    const trendBps = (1.0004 / 1.0001 - 1) * 1e4;
    expect(long[0]).toBeCloseTo(trendBps / 5, 4);
    expect(long[1]).toBeCloseTo(((1 / 0.998 - 1) * 1e4) / 20, 4);
    expect(long[2]).toBeCloseTo(1.2, 5);
    expect(long[3]).toBeCloseTo(0.35, 6);
    expect(long[4]).toBeCloseTo(0.5, 3);
    expect(long[5]).toBeCloseTo(1.7, 6);
    expect(long[6]).toBeCloseTo(1.2, 5);
    expect([...long.subarray(7, 17)].map((x) => Math.round(x * 1e5) / 1e5)).toEqual([
      0.8,
      0.5,
      0.2,
      -0.3,
      -0.4,
      0.6,
      1.25,
      1,
      0.5,
      Math.round(Math.log(1.5) * 1e5) / 1e5,
    ]);
    expect([...long.subarray(17)]).toEqual([0, 0, 1, 1]);
    for (const i of [0, 1, 3, 4, 6, 7, 8, 9, 10, 13, 20]) expect(short[i]).toBeCloseTo(-long[i]!, 6);
    for (const i of [2, 5, 11, 12, 14, 15, 16, 17, 18, 19]) expect(short[i]).toBe(long[i]);
  });

  it('clips outliers and maps NaN to 0', () => {
    const out = new Float32Array(MODEL_INPUT_SIZE);
    const f = raw(100);
    f[RawFeature.momentum] = 0.5; // a 5000 bps move
    f[RawFeature.spreadZ] = Number.NaN;
    f[RawFeature.vwap] = 0; // no trade yet
    toModelInputs(f, 100, PATTERN.mean_reversion, -1, out);
    expect(out[6]).toBe(-INPUT_CLIP);
    expect(out[5]).toBe(0);
    expect(out[1] === 0).toBe(true); // ±0
  });

  it('writes at an offset and reads features at an offset without touching neighbours', () => {
    const rec = new Float64Array(4 + RAW_FEATURE_COUNT);
    rec.set(raw(50), 4);
    const out = new Float32Array(3 * MODEL_INPUT_SIZE).fill(9);
    toModelInputs(rec, 50, PATTERN.breakout, 1, out, MODEL_INPUT_SIZE, 4);
    const ref = new Float32Array(MODEL_INPUT_SIZE);
    toModelInputs(raw(50), 50, PATTERN.breakout, 1, ref);
    expect([...out.subarray(MODEL_INPUT_SIZE, 2 * MODEL_INPUT_SIZE)]).toEqual([...ref]);
    expect(out[MODEL_INPUT_SIZE - 1]).toBe(9);
    expect(out[2 * MODEL_INPUT_SIZE]).toBe(9);
  });
});
