import { describe, expect, it } from 'vitest';
import {
  excludedBy,
  ivAtForward,
  ivStanding,
  liquidityScore,
  periodsPerYear,
  realizedVolatility,
} from './chain-analytics.ts';

describe('liquidity score', () => {
  it('is 0–100 and monotone in spread, open interest and volume', () => {
    const spreads = [0, 0.5, 1, 2, 5, 10, 25, 50, 100, 400];
    const ois = [0, 1, 10, 100, 1_000, 10_000, 100_000];
    const vols = [0, 1, 10, 100, 1_000, 10_000];
    for (const oi of ois)
      for (const v of vols) {
        let prev = Number.POSITIVE_INFINITY;
        for (const s of spreads) {
          const l = liquidityScore(s, oi, v);
          expect(l).toBeLessThanOrEqual(prev);
          expect(l).toBeGreaterThanOrEqual(0);
          expect(l).toBeLessThanOrEqual(100);
          prev = l;
        }
        expect(liquidityScore(null, oi, v)).toBeLessThanOrEqual(liquidityScore(400, oi, v));
      }
    for (const s of spreads)
      for (const v of vols) {
        let prev = -1;
        for (const oi of ois) {
          const l = liquidityScore(s, oi, v);
          expect(l).toBeGreaterThanOrEqual(prev);
          prev = l;
        }
      }
    for (const s of spreads)
      for (const oi of ois) {
        let prev = -1;
        for (const v of vols) {
          const l = liquidityScore(s, oi, v);
          expect(l).toBeGreaterThanOrEqual(prev);
          prev = l;
        }
      }
  });

  it('follows the documented formula', () => {
    // 100 · (0.5 · 1/(1 + 5/5) + 0.25 · 1000/2000 + 0.25 · 250/500) = 25 + 12.5 + 12.5
    expect(liquidityScore(5, 1_000, 250)).toBe(50);
    expect(liquidityScore(0, 0, 0)).toBe(50);
    expect(liquidityScore(null, 0, 0)).toBe(0);
  });
});

describe('IV rank and percentile', () => {
  it('computes rank from min/max and percentile as the share of days below', () => {
    const h = [0.2, 0.3, 0.4, 0.5, 0.6];
    expect(ivStanding(0.45, h)).toEqual({ rank: 62.5, percentile: 60 });
    expect(ivStanding(0.2, h)).toEqual({ rank: 0, percentile: 0 });
    expect(ivStanding(0.7, h)).toEqual({ rank: 100, percentile: 100 });
    // Below the history's low: rank 0 (the current value is the new low).
    expect(ivStanding(0.1, h)).toEqual({ rank: 0, percentile: 0 });
    expect(ivStanding(0.3, [0.3, 0.3])).toEqual({ rank: null, percentile: 0 });
    expect(ivStanding(null, h)).toEqual({ rank: null, percentile: null });
    expect(ivStanding(0.3, [])).toEqual({ rank: null, percentile: null });
  });
});

describe('realized volatility', () => {
  it('annualizes the sample deviation of log returns', () => {
    // Alternating ±1 % log returns: mean 0, sample sd = 0.01 · sqrt(n / (n − 1)).
    const closes = [100];
    for (let i = 0; i < 10; i++) closes.push(closes.at(-1)! * Math.exp(i % 2 === 0 ? 0.01 : -0.01));
    const r = realizedVolatility(closes, 365);
    expect(r.returns).toBe(10);
    expect(r.vol!).toBeCloseTo(0.01 * Math.sqrt(10 / 9) * Math.sqrt(365), 12);
    // Constant growth: zero volatility.
    expect(realizedVolatility([1, 2, 4, 8], 252).vol).toBeCloseTo(0, 12);
    expect(realizedVolatility([], 252)).toEqual({ vol: null, returns: 0 });
    expect(realizedVolatility([100, 101], 252)).toEqual({ vol: null, returns: 1 });
  });

  it('counts periods per year for clock and exchange markets', () => {
    expect(periodsPerYear(86_400, 'clock')).toBe(365);
    expect(periodsPerYear(3_600, 'clock')).toBe(8_760);
    expect(periodsPerYear(86_400, 'exchange')).toBe(252);
    expect(periodsPerYear(3_600, 'exchange')).toBe(1_638);
  });
});

describe('IV at the forward', () => {
  it('interpolates linearly in strike between the strikes around the forward', () => {
    const pts = [
      { strike: 95, iv: 0.3 },
      { strike: 100, iv: 0.26 },
      { strike: 100, iv: 0.28 },
      { strike: 105, iv: 0.25 },
    ];
    expect(ivAtForward(pts, 101)).toBeCloseTo(0.27 + (0.25 - 0.27) * 0.2, 12);
    expect(ivAtForward(pts, 90)).toBe(0.3);
    expect(ivAtForward(pts, 110)).toBe(0.25);
    expect(ivAtForward([], 100)).toBeNull();
  });
});

describe('chain filters', () => {
  const base = { quoted: true, spreadPct: 2, liquidity: 60, delta: 0.4, dte: 20 };
  it('names each filter that removes a contract', () => {
    expect(excludedBy(base, {})).toEqual([]);
    expect(excludedBy({ ...base, quoted: false, spreadPct: null }, { maxSpreadPct: 1 })).toEqual(['noQuote']);
    expect(excludedBy(base, { minLiquidity: 61 })).toEqual(['minLiquidity']);
    expect(excludedBy(base, { minLiquidity: 60 })).toEqual([]);
    expect(excludedBy(base, { maxSpreadPct: 1.5 })).toEqual(['maxSpreadPct']);
    expect(excludedBy({ ...base, delta: -0.45 }, { minAbsDelta: 0.3, maxAbsDelta: 0.5 })).toEqual([]);
    expect(excludedBy({ ...base, delta: -0.55 }, { maxAbsDelta: 0.5 })).toEqual(['deltaBand']);
    expect(excludedBy({ ...base, delta: 0.2 }, { minAbsDelta: 0.3 })).toEqual(['deltaBand']);
    expect(excludedBy({ ...base, delta: null }, { minAbsDelta: 0.3 })).toEqual(['deltaBand']);
    expect(excludedBy(base, { minDte: 21 })).toEqual(['dteBand']);
    expect(excludedBy(base, { maxDte: 19 })).toEqual(['dteBand']);
    expect(
      excludedBy(
        { quoted: true, spreadPct: 30, liquidity: 10, delta: 0.05, dte: 3 },
        { minLiquidity: 20, maxSpreadPct: 10, minAbsDelta: 0.1, minDte: 7 },
      ),
    ).toEqual(['minLiquidity', 'maxSpreadPct', 'deltaBand', 'dteBand']);
  });
});
