import { AppError, ErrorCode } from '../errors.ts';

/**
 * Black–Scholes–Merton (continuous dividend yield) and Black-76 prices and Greeks. First,
 * straightforward version: closed forms over a double-precision normal CDF (Hart's algorithm as
 * given by West, ~1e-15 absolute). Units: delta per 1 of the underlying, vega per 1.00 of
 * volatility, theta per year, rho per 1.00 of rate; vanna = ∂²V/∂S∂σ, volga = ∂²V/∂σ².
 */
export interface OptionInputs {
  readonly model: 'bsm' | 'black76';
  readonly right: 'call' | 'put';
  /** Spot (bsm) or futures price (black76). */
  readonly underlying: number;
  readonly strike: number;
  readonly years: number;
  readonly vol: number;
  readonly rate: number;
  /** bsm only; default 0. */
  readonly dividendYield?: number;
}

export interface OptionGreeks {
  readonly price: number;
  readonly delta: number;
  readonly gamma: number;
  readonly vega: number;
  readonly theta: number;
  readonly rho: number;
  readonly vanna: number;
  readonly volga: number;
}

const INV_SQRT_2PI = 0.3989422804014327;

export const normPdf = (x: number): number => INV_SQRT_2PI * Math.exp(-0.5 * x * x);

/** Standard normal CDF (Hart 1968, double precision, in West's formulation). */
export function normCdf(x: number): number {
  const a = Math.abs(x);
  let c: number;
  if (a > 37) c = 0;
  else {
    const e = Math.exp(-0.5 * a * a);
    if (a < 7.07106781186547) {
      let n = 3.52624965998911e-2 * a + 0.700383064443688;
      n = n * a + 6.37396220353165;
      n = n * a + 33.912866078383;
      n = n * a + 112.079291497871;
      n = n * a + 221.213596169931;
      n = n * a + 220.206867912376;
      let d = 8.83883476483184e-2 * a + 1.75566716318264;
      d = d * a + 16.064177579207;
      d = d * a + 86.7807322029461;
      d = d * a + 296.564248779674;
      d = d * a + 637.333633378831;
      d = d * a + 793.826512519948;
      d = d * a + 440.413735824752;
      c = (e * n) / d;
    } else {
      let b = a + 0.65;
      b = a + 4 / b;
      b = a + 3 / b;
      b = a + 2 / b;
      b = a + 1 / b;
      c = e / b / 2.506628274631;
    }
  }
  return x > 0 ? 1 - c : c;
}

function check(p: OptionInputs): void {
  const bad = (field: string, why: string): never => {
    throw new AppError(ErrorCode.BAD_INPUT, `${field}: ${why}`, { field, reason: 'invalid_input' });
  };
  if (!(p.underlying > 0) || !Number.isFinite(p.underlying)) bad('underlying', 'must be a positive number');
  if (!(p.strike > 0) || !Number.isFinite(p.strike)) bad('strike', 'must be a positive number');
  if (!(p.years >= 0) || !Number.isFinite(p.years)) bad('years', 'must be zero or more');
  if (!(p.vol >= 0) || !Number.isFinite(p.vol)) bad('vol', 'must be zero or more');
  if (!Number.isFinite(p.rate)) bad('rate', 'must be a finite number');
  if (p.dividendYield !== undefined && !Number.isFinite(p.dividendYield))
    bad('dividendYield', 'must be a finite number');
}

/** Carry of the underlying: bsm pays q (forward = S e^{(r−q)T}), black76's forward is F. */
const carryOf = (p: OptionInputs) => (p.model === 'black76' ? p.rate : (p.dividendYield ?? 0));

export function optionGreeks(p: OptionInputs): OptionGreeks {
  check(p);
  const { underlying: S, strike: K, years: T, vol: v, rate: r } = p;
  const q = carryOf(p);
  const call = p.right === 'call';
  const dq = Math.exp(-q * T);
  const dr = Math.exp(-r * T);
  const sqrtT = Math.sqrt(T);
  const sd = v * sqrtT;
  if (T === 0 || sd === 0) {
    // Expired or no volatility: the discounted intrinsic of the forward; a step in the underlying.
    const fwd = S * dq;
    const k = K * dr;
    const itm = call ? fwd > k : fwd < k;
    const price = itm ? (call ? fwd - k : k - fwd) : 0;
    const delta = itm ? (call ? dq : -dq) : 0;
    const rho = p.model === 'black76' ? -T * price : itm ? (call ? K * T * dr : -K * T * dr) : 0;
    return { price, delta, gamma: 0, vega: 0, theta: 0, rho, vanna: 0, volga: 0 };
  }
  const d1 = (Math.log(S / K) + (r - q + 0.5 * v * v) * T) / sd;
  const d2 = d1 - sd;
  const pdf1 = normPdf(d1);
  const Nd1 = normCdf(call ? d1 : -d1);
  const Nd2 = normCdf(call ? d2 : -d2);
  const sign = call ? 1 : -1;
  const price = sign * (S * dq * Nd1 - K * dr * Nd2);
  const delta = sign * dq * Nd1;
  const gamma = (dq * pdf1) / (S * sd);
  const vega = S * dq * pdf1 * sqrtT;
  // ∂V/∂t (calendar time passing): −∂V/∂T.
  const theta = -(S * dq * pdf1 * v) / (2 * sqrtT) + sign * (q * S * dq * Nd1 - r * K * dr * Nd2);
  const rho = p.model === 'black76' ? -T * price : sign * K * T * dr * Nd2;
  const vanna = (-dq * pdf1 * d2) / v;
  const volga = (vega * d1 * d2) / v;
  return { price, delta, gamma, vega, theta, rho, vanna, volga };
}

export const optionPrice = (p: OptionInputs): number => optionGreeks(p).price;
