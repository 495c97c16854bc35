import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { type OptionInputs, optionGreeks, optionPrice } from './black-scholes.ts';
import { impliedVolatility, impliedVolatilityBatch, impliedVolatilityOrNull } from './implied-volatility.ts';
import { ivGrid } from './iv-grid.ts';

const relErr = (v: number, want: number) => Math.abs(v - want) / want;

describe('implied volatility round trip over the grid', () => {
  it('recovers σ to a relative 1e-12 wherever the price determines it (max measured 3.1e-13)', () => {
    // Grid: 1 day … 5 years × 5 % … 200 % × K/F 0.5 … 2 and z = ln(F/K)/(σ√T) −8 … 8, calls and
    // puts, BSM (r 3 %, q 1 %) and Black-76; kept where the price is a normal double (≥ 1e-300)
    // and its condition number price/(σ·vega) is ≤ 1e3 (else rounding of the price alone moves σ
    // by more than 1e-13).
    const points = ivGrid(1e3).filter((p) => p.price >= 1e-300);
    expect(points.length).toBeGreaterThan(5000);
    let worst = 0;
    for (const p of points) {
      const v = impliedVolatility({ ...p.inputs, price: p.price });
      worst = Math.max(worst, relErr(v, p.inputs.vol));
    }
    expect(worst).toBeLessThanOrEqual(1e-12);
  });

  it('random contracts (fast-check): σ back to 1e-12 when the condition number allows it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('bsm' as const, 'black76' as const),
        fc.constantFrom('call' as const, 'put' as const),
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.double({ min: 1 / 365, max: 5, noNaN: true }),
        fc.double({ min: 0.05, max: 2, noNaN: true }),
        (model, right, z, years, vol) => {
          const strike = 100 * Math.exp(-z * vol * Math.sqrt(years));
          const p: OptionInputs = { model, right, underlying: 100, strike, years, vol, rate: 0.02 };
          const { price, vega } = optionGreeks(p);
          fc.pre(price / (vol * vega) <= 1e3);
          expect(relErr(impliedVolatility({ ...p, price }), vol)).toBeLessThanOrEqual(1e-12);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('deep in-the-money is solved on the out-of-the-money side (parity), as accurately', () => {
    const p: OptionInputs = {
      model: 'bsm',
      right: 'call',
      underlying: 100,
      strike: 60,
      years: 0.5,
      vol: 0.3,
      rate: 0.01,
    };
    expect(relErr(impliedVolatility({ ...p, price: optionPrice(p) }), 0.3)).toBeLessThan(1e-13);
    // Deep out-of-the-money price far below 1e-100 still inverts.
    const far: OptionInputs = { ...p, strike: 400, years: 0.05, vol: 0.2 };
    const price = optionPrice(far);
    expect(price).toBeLessThan(1e-100);
    expect(relErr(impliedVolatility({ ...far, price }), 0.2)).toBeLessThan(1e-13);
  });

  it('batch gives the scalar result and NaN outside the bounds', () => {
    const prices = Float64Array.from([
      optionPrice({
        model: 'bsm',
        right: 'call',
        underlying: 100,
        strike: 110,
        years: 1,
        vol: 0.25,
        rate: 0,
      }),
      200,
    ]);
    const out = new Float64Array(2);
    impliedVolatilityBatch(
      'bsm',
      prices,
      Uint8Array.from([1, 1]),
      Float64Array.from([100, 100]),
      Float64Array.from([110, 110]),
      Float64Array.from([1, 1]),
      Float64Array.from([0, 0]),
      undefined,
      out,
    );
    expect(relErr(out[0] as number, 0.25)).toBeLessThan(1e-13);
    expect(out[1]).toBeNaN();
  });
});

describe('prices outside the no-arbitrage bounds', () => {
  const base = {
    model: 'bsm' as const,
    underlying: 100,
    strike: 90,
    years: 1,
    rate: 0.05,
    dividendYield: 0.02,
  };
  const fwd = 100 * Math.exp(-0.02);
  const kd = 90 * Math.exp(-0.05);

  const reasonOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('BAD_INPUT');
      return { reason: (e as AppError).details?.reason, message: (e as AppError).message };
    }
    throw new Error('did not throw');
  };

  it('below the discounted intrinsic value → below_intrinsic, with the bounds in the message', () => {
    const r = reasonOf(() => impliedVolatility({ ...base, right: 'call', price: fwd - kd - 0.01 }));
    expect(r.reason).toBe('below_intrinsic');
    expect(r.message).toContain(String(fwd - kd));
    expect(impliedVolatilityOrNull({ ...base, right: 'call', price: fwd - kd - 0.01 })).toBeNull();
  });

  it('at or above S·e^{−qT} (call) or K·e^{−rT} (put) → above_maximum', () => {
    expect(reasonOf(() => impliedVolatility({ ...base, right: 'call', price: fwd })).reason).toBe(
      'above_maximum',
    );
    expect(reasonOf(() => impliedVolatility({ ...base, right: 'put', price: kd + 1 })).reason).toBe(
      'above_maximum',
    );
    expect(reasonOf(() => impliedVolatility({ ...base, right: 'call', price: fwd })).message).toContain(
      String(fwd),
    );
    expect(impliedVolatilityOrNull({ ...base, right: 'put', price: kd })).toBeNull();
  });

  it('invalid numbers → invalid_input naming the field', () => {
    expect(reasonOf(() => impliedVolatility({ ...base, right: 'call', price: Number.NaN })).reason).toBe(
      'invalid_input',
    );
    expect(
      reasonOf(() => impliedVolatility({ ...base, right: 'call', price: 5, strike: -1 })).message,
    ).toContain('strike');
  });

  it('no information about σ: price at intrinsic (within its rounding) or years = 0 → 0, never NaN', () => {
    expect(impliedVolatility({ ...base, right: 'call', price: fwd - kd })).toBe(0);
    expect(impliedVolatility({ ...base, right: 'put', price: 0 })).toBe(0);
    expect(impliedVolatility({ ...base, right: 'call', years: 0, strike: 90, price: 10.5 })).toBe(0);
    // An out-of-the-money price at the smallest double still gives a finite σ.
    const v = impliedVolatility({ ...base, right: 'call', strike: 1000, price: 5e-324 });
    expect(Number.isFinite(v) && v > 0).toBe(true);
  });
});
