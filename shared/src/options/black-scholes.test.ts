import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { GREEKS_STRIDE, greeksBatch, type OptionInputs, optionGreeks, optionPrice } from './black-scholes.ts';

const bsm = (o: Partial<OptionInputs>): OptionInputs => ({
  model: 'bsm',
  right: 'call',
  underlying: 100,
  strike: 100,
  years: 1,
  vol: 0.2,
  rate: 0,
  ...o,
});

describe('published reference values', () => {
  it('Hull, Options, Futures and Other Derivatives (Example 15.6): S=42 K=40 r=10% σ=20% T=0.5 → call 4.76, put 0.81', () => {
    const p = { underlying: 42, strike: 40, rate: 0.1, vol: 0.2, years: 0.5 };
    expect(optionPrice(bsm({ ...p, right: 'call' }))).toBeCloseTo(4.76, 2);
    expect(optionPrice(bsm({ ...p, right: 'put' }))).toBeCloseTo(0.81, 2);
  });

  // Haug, The Complete Guide to Option Pricing Formulas (2nd ed.), chapter 1 and section 2.1 examples
  // (4 decimals as printed there; b = r − q in Haug's generalized cost-of-carry notation).
  it('Haug 1.1.1 Black–Scholes 1973: S=60 X=65 T=0.25 r=8% σ=30% → call 2.1334', () => {
    expect(optionPrice(bsm({ underlying: 60, strike: 65, years: 0.25, rate: 0.08, vol: 0.3 }))).toBeCloseTo(
      2.1334,
      4,
    );
  });
  it('Haug 1.1.3 Merton 1973 (dividend yield): S=100 X=95 T=0.5 r=10% q=5% σ=20% → put 2.4648', () => {
    const p = bsm({ right: 'put', strike: 95, years: 0.5, rate: 0.1, dividendYield: 0.05, vol: 0.2 });
    expect(optionPrice(p)).toBeCloseTo(2.4648, 4);
  });
  it('Haug 1.1.4 Black 1976: F=19 X=19 T=0.75 r=10% σ=28% → call = put = 1.7011', () => {
    const p: OptionInputs = {
      model: 'black76',
      right: 'call',
      underlying: 19,
      strike: 19,
      years: 0.75,
      rate: 0.1,
      vol: 0.28,
    };
    expect(optionPrice(p)).toBeCloseTo(1.7011, 4);
    expect(optionPrice({ ...p, right: 'put' })).toBeCloseTo(1.7011, 4);
  });
  it('Haug 1.1.6 Garman–Kohlhagen (foreign rate as yield): S=1.56 X=1.60 T=0.5 r=6% rf=8% σ=12% → call 0.0291', () => {
    const p = bsm({ underlying: 1.56, strike: 1.6, years: 0.5, rate: 0.06, dividendYield: 0.08, vol: 0.12 });
    expect(optionPrice(p)).toBeCloseTo(0.0291, 4);
  });
  it('Haug 2.1.1 delta (futures option, b=0): S=105 X=100 T=0.5 r=10% σ=36% → call 0.5946, put −0.3566', () => {
    const p: OptionInputs = {
      model: 'black76',
      right: 'call',
      underlying: 105,
      strike: 100,
      years: 0.5,
      rate: 0.1,
      vol: 0.36,
    };
    expect(optionGreeks(p).delta).toBeCloseTo(0.5946, 4);
    expect(optionGreeks({ ...p, right: 'put' }).delta).toBeCloseTo(-0.3566, 4);
  });
  it('Haug 2.1.3 gamma: S=55 X=60 T=0.75 r=10% b=10% σ=30% → 0.0278', () => {
    expect(
      optionGreeks(bsm({ underlying: 55, strike: 60, years: 0.75, rate: 0.1, vol: 0.3 })).gamma,
    ).toBeCloseTo(0.0278, 4);
  });
  it('Haug 2.1.5 theta: S=430 X=405 T=0.0833 r=7% b=2% σ=20% → put −31.1924 per year', () => {
    const p = bsm({
      right: 'put',
      underlying: 430,
      strike: 405,
      years: 0.0833,
      rate: 0.07,
      dividendYield: 0.05,
    });
    expect(optionGreeks(p).theta).toBeCloseTo(-31.1924, 4);
  });
  it('Haug 2.1.6 rho: S=72 X=75 T=1 r=9% b=9% σ=19% → call 38.7325', () => {
    expect(optionGreeks(bsm({ underlying: 72, strike: 75, rate: 0.09, vol: 0.19 })).rho).toBeCloseTo(
      38.7325,
      4,
    );
  });
  it('deep out-of-the-money price keeps relative precision (40-digit reference)', () => {
    // S=100 K=300 T=0.1 σ=20% r=q=0: 4.314971373588971e-68 (mpmath, 40 digits).
    const v = optionPrice(bsm({ strike: 300, years: 0.1 }));
    // The erfcx difference loses about log10(|x|/s²) digits here (x = ln(1/3), s = 0.063).
    expect(Math.abs(v / 4.314971373588971e-68 - 1)).toBeLessThan(1e-13);
  });
});

// Random contracts in the ordinary range: spot 100, strikes 40–250, 1 week–4 years, vol 5–150 %.
const contract = fc.record({
  model: fc.constantFrom('bsm' as const, 'black76' as const),
  right: fc.constantFrom('call' as const, 'put' as const),
  underlying: fc.constant(100),
  strike: fc.double({ min: 40, max: 250, noNaN: true }),
  years: fc.double({ min: 7 / 365, max: 4, noNaN: true }),
  vol: fc.double({ min: 0.05, max: 1.5, noNaN: true }),
  rate: fc.double({ min: -0.01, max: 0.1, noNaN: true }),
  dividendYield: fc.double({ min: 0, max: 0.06, noNaN: true }),
});

describe('put–call parity', () => {
  it('C − P = S·e^{−qT} − K·e^{−rT} to 1e-10 of the underlying over a grid', () => {
    let worst = 0;
    for (const model of ['bsm', 'black76'] as const)
      for (const strike of [20, 50, 80, 95, 100, 105, 125, 200, 500])
        for (const years of [1 / 365, 0.1, 0.5, 1, 5])
          for (const vol of [0.05, 0.2, 0.6, 2])
            for (const rate of [-0.01, 0, 0.05]) {
              const p: OptionInputs = {
                model,
                right: 'call',
                underlying: 100,
                strike,
                years,
                vol,
                rate,
                dividendYield: 0.02,
              };
              const q = model === 'black76' ? rate : 0.02;
              const parity = 100 * Math.exp(-q * years) - strike * Math.exp(-rate * years);
              const diff = optionPrice(p) - optionPrice({ ...p, right: 'put' }) - parity;
              worst = Math.max(worst, Math.abs(diff) / 100);
            }
    expect(worst).toBeLessThan(1e-10);
  });
});

describe('properties', () => {
  it('call price decreases and put price increases in strike', () => {
    fc.assert(
      fc.property(contract, fc.double({ min: 0.001, max: 0.5, noNaN: true }), (p, dk) => {
        const higher = { ...p, strike: p.strike * (1 + dk) };
        if (p.right === 'call') expect(optionPrice(higher)).toBeLessThanOrEqual(optionPrice(p));
        else expect(optionPrice(higher)).toBeGreaterThanOrEqual(optionPrice(p));
      }),
      { numRuns: 300 },
    );
  });

  it('price increases in volatility', () => {
    fc.assert(
      fc.property(contract, fc.double({ min: 0.001, max: 0.5, noNaN: true }), (p, dv) => {
        expect(optionPrice({ ...p, vol: p.vol + dv })).toBeGreaterThanOrEqual(optionPrice(p));
      }),
      { numRuns: 300 },
    );
  });

  it('Greeks equal central finite differences of the price', () => {
    // Steps balance truncation (∝ h²) against rounding (∝ ε·V/h or ε·V/h²); second differences
    // carry the larger share of both (1e-3), first differences 1e-6 … 1e-5. Tolerances are
    // relative to the Greek with an absolute floor scaled to the underlying (100).
    const close = (name: string, fd: number, an: number, tol: number, floor: number) =>
      expect(Math.abs(fd - an), name).toBeLessThanOrEqual(tol * Math.max(Math.abs(an), floor));
    fc.assert(
      fc.property(contract, (p) => {
        const g = optionGreeks(p);
        const V = (o: Partial<OptionInputs>) => optionPrice({ ...p, ...o });
        // Steps in S scale with the standard deviation S·σ√T (short expiries are steep in S).
        const S = p.underlying;
        const sd = p.vol * Math.sqrt(p.years);
        const hs = 1e-4 * S * sd;
        close(
          'delta',
          (V({ underlying: S + hs }) - V({ underlying: S - hs })) / (2 * hs),
          g.delta,
          1e-6,
          1e-2,
        );
        const hg = 1e-2 * S * sd;
        close(
          'gamma',
          (V({ underlying: S + hg }) - 2 * g.price + V({ underlying: S - hg })) / (hg * hg),
          g.gamma,
          1e-3,
          1e-3,
        );
        const hv = 1e-4 * p.vol;
        close('vega', (V({ vol: p.vol + hv }) - V({ vol: p.vol - hv })) / (2 * hv), g.vega, 1e-6, 1);
        const hw = 1e-3 * p.vol;
        close(
          'volga',
          (V({ vol: p.vol + hw }) - 2 * g.price + V({ vol: p.vol - hw })) / (hw * hw),
          g.volga,
          1e-3,
          1e-1,
        );
        const ht = 1e-4 * p.years;
        close(
          'theta',
          -(V({ years: p.years + ht }) - V({ years: p.years - ht })) / (2 * ht),
          g.theta,
          1e-5,
          1e-1,
        );
        const hr = 1e-5;
        // Black-76's rho holds F fixed; BSM's holds S and q fixed.
        close('rho', (V({ rate: p.rate + hr }) - V({ rate: p.rate - hr })) / (2 * hr), g.rho, 1e-6, 1e-2);
        const vanna =
          (V({ underlying: S + hs, vol: p.vol + hv }) -
            V({ underlying: S + hs, vol: p.vol - hv }) -
            V({ underlying: S - hs, vol: p.vol + hv }) +
            V({ underlying: S - hs, vol: p.vol - hv })) /
          (4 * hs * hv);
        close('vanna', vanna, g.vanna, 1e-3, 1e-2);
      }),
      { numRuns: 300 },
    );
  });
});

describe('edge cases', () => {
  it('years = 0: intrinsic value, the Greeks of a step', () => {
    expect(optionGreeks(bsm({ years: 0, underlying: 110 }))).toEqual({
      price: 10,
      delta: 1,
      gamma: 0,
      vega: 0,
      theta: 0,
      rho: 0,
      vanna: 0,
      volga: 0,
    });
    const put = optionGreeks(bsm({ years: 0, underlying: 90, right: 'put' }));
    expect(put.price).toBe(10);
    expect(put.delta).toBe(-1);
    expect(optionGreeks(bsm({ years: 0, underlying: 90 })).delta).toBe(0);
  });

  it('vol = 0: the discounted forward intrinsic value', () => {
    const p = bsm({ vol: 0, rate: 0.05, dividendYield: 0.01, strike: 95 });
    const want = 100 * Math.exp(-0.01) - 95 * Math.exp(-0.05);
    expect(optionPrice(p)).toBeCloseTo(want, 12);
    const g = optionGreeks(p);
    expect(g.delta).toBeCloseTo(Math.exp(-0.01), 14);
    expect(g.rho).toBeCloseTo(95 * Math.exp(-0.05), 12);
    expect(g.theta).toBeCloseTo(0.01 * 100 * Math.exp(-0.01) - 0.05 * 95 * Math.exp(-0.05), 12);
    expect(optionPrice({ ...p, right: 'put' })).toBe(0);
  });

  it('no NaN for extreme but finite inputs', () => {
    for (const model of ['bsm', 'black76'] as const)
      for (const right of ['call', 'put'] as const)
        for (const strike of [1e-100, 1e-3, 100, 1e5, 1e100])
          for (const years of [0, 1e-12, 1 / 365, 30, 100])
            for (const vol of [0, 1e-200, 1e-8, 0.3, 50, 1000])
              for (const rate of [-0.5, 0, 0.5]) {
                const g = optionGreeks({
                  model,
                  right,
                  underlying: 100,
                  strike,
                  years,
                  vol,
                  rate,
                  dividendYield: 0.1,
                });
                for (const [k, v] of Object.entries(g))
                  expect(Number.isNaN(v), `${k} ${strike} ${years} ${vol}`).toBe(false);
              }
  });

  it('invalid inputs throw BAD_INPUT naming the field', () => {
    const cases: [Partial<OptionInputs>, string][] = [
      [{ strike: -1 }, 'strike'],
      [{ strike: 0 }, 'strike'],
      [{ underlying: Number.NaN }, 'underlying'],
      [{ vol: -0.1 }, 'vol'],
      [{ years: -1 }, 'years'],
      [{ rate: Number.POSITIVE_INFINITY }, 'rate'],
      [{ dividendYield: Number.NaN }, 'dividendYield'],
    ];
    for (const [o, field] of cases) {
      const run = () => optionGreeks(bsm(o));
      expect(run).toThrow(AppError);
      try {
        run();
      } catch (e) {
        expect((e as AppError).code).toBe('BAD_INPUT');
        expect((e as AppError).details?.field).toBe(field);
        expect((e as AppError).message).toContain(field);
      }
    }
  });
});

describe('greeksBatch', () => {
  it('gives the scalar API’s numbers for each contract', () => {
    const n = 4;
    const input = {
      model: 'bsm' as const,
      isCall: Uint8Array.from([1, 0, 1, 0]),
      underlying: Float64Array.from([100, 100, 50, 200]),
      strike: Float64Array.from([90, 110, 60, 150]),
      years: Float64Array.from([0.5, 1, 0.1, 2]),
      vol: Float64Array.from([0.2, 0.3, 0.8, 0.1]),
      rate: Float64Array.from([0.01, 0.02, 0, 0.05]),
      dividendYield: Float64Array.from([0, 0.01, 0.02, 0]),
    };
    const out = new Float64Array(n * GREEKS_STRIDE);
    greeksBatch(input, out);
    for (let i = 0; i < n; i++) {
      const g = optionGreeks({
        model: 'bsm',
        right: input.isCall[i] === 1 ? 'call' : 'put',
        underlying: input.underlying[i] as number,
        strike: input.strike[i] as number,
        years: input.years[i] as number,
        vol: input.vol[i] as number,
        rate: input.rate[i] as number,
        dividendYield: input.dividendYield[i] as number,
      });
      expect(Array.from(out.subarray(i * GREEKS_STRIDE, (i + 1) * GREEKS_STRIDE))).toEqual(Object.values(g));
    }
    input.vol[2] = -1;
    expect(() => greeksBatch(input, out)).toThrow(/vol/);
  });
});
