import { AppError, ErrorCode } from '../errors.ts';
import { erfcx, expHalfSquare, INV_SQRT_2PI, normCdf, normPdf } from './normal-distribution.ts';

export { normCdf, normPdf } from './normal-distribution.ts';

/**
 * Black–Scholes–Merton (continuous dividend yield q) and Black-76 (futures price F, discounting
 * e^{−rT}) prices and Greeks. Units: delta per 1 of the underlying, vega per 1.00 of volatility,
 * theta per YEAR (∂V/∂t as calendar time passes, usually < 0), rho per 1.00 of rate; vanna =
 * ∂²V/∂S∂σ, volga = ∂²V/∂σ². Black-76's rho is ∂V/∂r holding F fixed (= −T·V).
 *
 * The price is computed as the out-of-the-money option's time value (a difference of erfcx values,
 * no cancellation between two large terms) plus the discounted intrinsic value for the
 * in-the-money side, so deep out-of-the-money prices keep their relative precision and the
 * implied-volatility solver inverts exactly the function that priced.
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

const SQRT_HALF = Math.SQRT1_2;
/** √(π/2): Φ(−|z|) = √(π/2)·φ(z)·erfcx(|z|/√2). */
const SQRT_HALF_PI = 1.2533141373155003;

/** Throws BAD_INPUT naming the first invalid field. */
export function checkOptionInputs(p: Omit<OptionInputs, 'vol'> & { readonly vol?: number }): void {
  const bad = (field: string, why: string): never => {
    throw new AppError(ErrorCode.BAD_INPUT, `${field}: ${why}`, { field, reason: 'invalid_input' });
  };
  if (p.model !== 'bsm' && p.model !== 'black76') bad('model', "must be 'bsm' or 'black76'");
  if (p.right !== 'call' && p.right !== 'put') bad('right', "must be 'call' or 'put'");
  if (!(p.underlying > 0) || !Number.isFinite(p.underlying))
    bad('underlying', 'must be a positive finite number');
  if (!(p.strike > 0) || !Number.isFinite(p.strike)) bad('strike', 'must be a positive finite number');
  if (!(p.years >= 0) || !Number.isFinite(p.years)) bad('years', 'must be a finite number ≥ 0');
  if (p.vol !== undefined && (!(p.vol >= 0) || !Number.isFinite(p.vol)))
    bad('vol', 'must be a finite number ≥ 0');
  if (!Number.isFinite(p.rate)) bad('rate', 'must be a finite number');
  if (p.dividendYield !== undefined && !Number.isFinite(p.dividendYield))
    bad('dividendYield', 'must be a finite number');
}

/**
 * Normalised Black price of the out-of-the-money call, b(x, s) for x = ln(F/K) ≤ 0, s = σ√T > 0:
 * e^{x/2}Φ(x/s + s/2) − e^{−x/2}Φ(x/s − s/2). While x/s + s/2 ≤ 0 both Φ are lower tails and
 * b = ½e^{−(h²+t²)/2}[erfcx(−(h+t)/√2) − erfcx(−(h−t)/√2)] with h = x/s, t = s/2 (no large
 * terms cancel); above, b is at least a quarter of its maximum and the plain form is exact enough.
 */
export function normalisedOtmCall(x: number, s: number): number {
  const h = x / s;
  const t = 0.5 * s;
  if (h + t <= 0) {
    const e = erfcx(-(h + t) * SQRT_HALF) - erfcx(-(h - t) * SQRT_HALF);
    // e^{−(h²+t²)/2} = e^{−(h+t)²/2}·e^{x/2}, the first factor split so its argument is exact.
    return 0.5 * expHalfSquare(-(h + t)) * Math.exp(0.5 * x) * e;
  }
  return Math.exp(0.5 * x) * normCdf(h + t) - Math.exp(-0.5 * x) * normCdf(h - t);
}

/** ln(a/b), also where a/b over- or underflows (extreme but finite inputs). */
export function logRatio(a: number, b: number): number {
  const ratio = a / b;
  return ratio > 0 && ratio < Number.POSITIVE_INFINITY ? Math.log(ratio) : Math.log(a) - Math.log(b);
}

/** Below this σ√T the option is priced as if vol were 0 (the density terms are all 0 or finite). */
const MIN_STDDEV = 1e-150;

/**
 * All Greeks into `out` (index 0..7: price, delta, gamma, vega, theta, rho, vanna, volga) for
 * already-validated numbers; the scalar and batch APIs share it. `black76` makes q = r and reads
 * the underlying as the futures price.
 */
export function greeksInto(
  out: Float64Array,
  offset: number,
  black76: boolean,
  call: boolean,
  S: number,
  K: number,
  T: number,
  v: number,
  r: number,
  qIn: number,
): void {
  const q = black76 ? r : qIn;
  const dq = Math.exp(-q * T);
  const dr = Math.exp(-r * T);
  const fwd = S * dq; // discounted forward
  const kd = K * dr; // discounted strike
  const sign = call ? 1 : -1;
  const sqrtT = Math.sqrt(T);
  const sd = v * sqrtT;
  if (T === 0 || !(sd >= MIN_STDDEV)) {
    // Expired or no volatility: the discounted intrinsic of the forward, a step in the underlying.
    const itm = call ? fwd > kd : fwd < kd;
    const price = itm ? sign * (fwd - kd) : 0;
    out[offset] = price;
    out[offset + 1] = itm ? sign * dq : 0;
    out[offset + 2] = 0;
    out[offset + 3] = 0;
    out[offset + 4] = T === 0 || !itm ? 0 : sign * (q * fwd - r * kd);
    out[offset + 5] = T === 0 ? 0 : black76 ? -T * price : itm ? sign * K * T * dr : 0;
    out[offset + 6] = 0;
    out[offset + 7] = 0;
    return;
  }
  const x = logRatio(fwd, kd);
  const d1 = x / sd + 0.5 * sd;
  const d2 = d1 - sd;
  // One exponential for both densities (fwd·φ(d1) = kd·φ(d2)) and one erfcx per d: the tails
  // Φ(−|d|) = √(π/2)·φ(d)·erfcx(|d|/√2), the cumulative values and the time value all follow.
  const pdf1 = INV_SQRT_2PI * expHalfSquare(Math.abs(d1));
  const m = fwd * pdf1;
  // Below 1e-300 the ratio would lose digits to subnormals: compute φ(d2) on its own.
  const pdf2 = pdf1 > 1e-300 ? m / kd : normPdf(d2);
  const e1 = erfcx(Math.abs(d1) * SQRT_HALF);
  const e2 = erfcx(Math.abs(d2) * SQRT_HALF);
  const tail1 = SQRT_HALF_PI * pdf1 * e1;
  const tail2 = SQRT_HALF_PI * pdf2 * e2;
  const nd1 = sign * d1 <= 0 ? tail1 : 1 - tail1;
  const nd2 = sign * d2 <= 0 ? tail2 : 1 - tail2;
  // Time value of the out-of-the-money side: while both of its d's are lower tails it is
  // √(π/2)·m·(difference of erfcx), with no cancellation between two large terms.
  let tv: number;
  if (x <= 0) tv = d1 <= 0 ? SQRT_HALF_PI * m * (e1 - e2) : fwd * (1 - tail1) - kd * tail2;
  else tv = d2 >= 0 ? SQRT_HALF_PI * m * (e2 - e1) : kd * (1 - tail2) - fwd * tail1;
  const intrinsic = sign * (fwd - kd);
  const price = intrinsic > 0 ? intrinsic + tv : tv;
  const vega = fwd * pdf1 * sqrtT;
  out[offset] = price;
  out[offset + 1] = sign * dq * nd1;
  // pdf1 = 0 far from the money: gamma is 0 even where S·σ√T underflows.
  out[offset + 2] = pdf1 === 0 ? 0 : (dq * pdf1) / (S * sd);
  out[offset + 3] = vega;
  // ∂V/∂t = −∂V/∂T; for Black-76 the carry term is r·V.
  out[offset + 4] = black76
    ? -(fwd * pdf1 * v) / (2 * sqrtT) + r * price
    : -(fwd * pdf1 * v) / (2 * sqrtT) + sign * (q * fwd * nd1 - r * kd * nd2);
  out[offset + 5] = black76 ? -T * price : sign * K * T * dr * nd2;
  out[offset + 6] = (-dq * pdf1 * d2) / v;
  out[offset + 7] = (vega * d1 * d2) / v;
}

const scratch = new Float64Array(8);

/** Checks `p` and writes its price and Greeks into the shared scratch row (single-threaded use). */
function priceIntoScratch(p: OptionInputs): Float64Array {
  checkOptionInputs(p);
  greeksInto(
    scratch,
    0,
    p.model === 'black76',
    p.right === 'call',
    p.underlying,
    p.strike,
    p.years,
    p.vol,
    p.rate,
    p.dividendYield ?? 0,
  );
  return scratch;
}

export function optionGreeks(p: OptionInputs): OptionGreeks {
  const g = priceIntoScratch(p);
  return {
    price: g[0] as number,
    delta: g[1] as number,
    gamma: g[2] as number,
    vega: g[3] as number,
    theta: g[4] as number,
    rho: g[5] as number,
    vanna: g[6] as number,
    volga: g[7] as number,
  };
}

/** The price alone (the same number as optionGreeks(p).price). */
export function optionPrice(p: OptionInputs): number {
  return priceIntoScratch(p)[0] as number;
}

/** Column layout of greeksBatch's output: 8 numbers per contract. */
export const GREEKS_STRIDE = 8;

/**
 * Struct-of-arrays batch: contract i is (isCall[i], underlying[i], strike[i], years[i], vol[i],
 * rate[i], dividendYield[i]) under one model; out receives 8 numbers per contract (price, delta,
 * gamma, vega, theta, rho, vanna, volga). Inputs are validated once for the whole batch, not per
 * contract in the loop; nothing is allocated per contract.
 */
export interface GreeksBatchInput {
  readonly model: 'bsm' | 'black76';
  readonly isCall: Uint8Array;
  readonly underlying: Float64Array;
  readonly strike: Float64Array;
  readonly years: Float64Array;
  readonly vol: Float64Array;
  readonly rate: Float64Array;
  readonly dividendYield?: Float64Array;
}

const SAMPLE: OptionInputs = {
  model: 'bsm',
  right: 'call',
  underlying: 1,
  strike: 1,
  years: 0,
  vol: 0,
  rate: 0,
};

export function greeksBatch(input: GreeksBatchInput, out: Float64Array, validate = true): void {
  const n = input.isCall.length;
  if (out.length < n * GREEKS_STRIDE)
    throw new AppError(ErrorCode.BAD_INPUT, `out: needs ${n * GREEKS_STRIDE} numbers`, { field: 'out' });
  const { underlying, strike, years, vol, rate } = input;
  const dy = input.dividendYield;
  const black76 = input.model === 'black76';
  if (validate) {
    if (!black76 && input.model !== 'bsm') checkOptionInputs({ ...SAMPLE, model: input.model });
    for (let i = 0; i < n; i++) {
      // The same rules as checkOptionInputs, without an object per contract.
      const S = underlying[i] as number;
      const K = strike[i] as number;
      const T = years[i] as number;
      const v = vol[i] as number;
      const bad = (field: string) => {
        throw new AppError(ErrorCode.BAD_INPUT, `${field}[${i}]: out of range or not a finite number`, {
          field,
          index: i,
          reason: 'invalid_input',
        });
      };
      if (!(S > 0 && S < Number.POSITIVE_INFINITY)) bad('underlying');
      if (!(K > 0 && K < Number.POSITIVE_INFINITY)) bad('strike');
      if (!(T >= 0 && T < Number.POSITIVE_INFINITY)) bad('years');
      if (!(v >= 0 && v < Number.POSITIVE_INFINITY)) bad('vol');
      if (!Number.isFinite(rate[i] as number)) bad('rate');
      if (dy && !Number.isFinite(dy[i] as number)) bad('dividendYield');
    }
  }
  for (let i = 0; i < n; i++) {
    greeksInto(
      out,
      i * GREEKS_STRIDE,
      black76,
      input.isCall[i] === 1,
      underlying[i] as number,
      strike[i] as number,
      years[i] as number,
      vol[i] as number,
      rate[i] as number,
      dy ? (dy[i] as number) : 0,
    );
  }
}
