import { AppError, ErrorCode } from '../errors.ts';
import { checkOptionInputs, logRatio, normalisedOtmCall, type OptionInputs } from './black-scholes.ts';
import { erfcx, inverseNormCdf, normCdf } from './normal-distribution.ts';

/**
 * Implied volatility in the spirit of P. Jäckel's "Let's Be Rational" (2015):
 *  1. put–call parity maps the price to the out-of-the-money option's time value, and the
 *     put/call symmetry of the normalised Black function to a call with x = ln(F/K) ≤ 0, so a deep
 *     in-the-money quote is solved on the same well-conditioned function as a deep out-of-the-money one;
 *  2. the normalised price β = tv / √(F·K·disc²) is placed in one of three branches around the
 *     inflection point s_c = √(2|x|) of b(x, s) (s = σ√T): low, middle and high, with boundaries
 *     s_l, s_u where the tangent at s_c meets 0 and b_max = e^{x/2};
 *  3. an initial guess from the branch's asymptotics (low: b ≈ b′(s)·s/(h²−t²); middle: the
 *     tangent at s_c; high: b_max − b ≈ (e^{x/2}+e^{−x/2})·Φ(−s/2));
 *  4. third-order Householder steps on the branch's objective — ln b(s) − ln β (low), b(s) − β
 *     (middle), ln(b_max − β) − ln(b_max − b(s)) (high) — each nearly linear where it is used,
 *     inside a bracket that bisects if a step would leave it. Two to four steps reach the
 *     rounding floor.
 * Returns σ (per √year). Prices outside the no-arbitrage bounds throw BAD_INPUT with
 * details.reason 'below_intrinsic' | 'above_maximum'; invalid numbers 'invalid_input'. A price
 * equal to its lower bound (within the rounding of the bound), or any price at years = 0, carries
 * no information about volatility: the result is 0.
 */
export type ImpliedVolInputs = Omit<OptionInputs, 'vol'> & { readonly price: number };

const SQRT_HALF = Math.SQRT1_2;
const LN_SQRT_2PI = 0.9189385332046728;
const SQRT_2PI = 2.5066282746310002;
const EPS = 2.220446049250313e-16;
const MAX_STEPS = 12;
const CONVERGED = 1e-7;

/** Result codes of the core solver (kept numeric: it runs in batch loops). */
export const IV_BELOW_INTRINSIC = -1;
export const IV_ABOVE_MAXIMUM = -2;

/**
 * Core solver on validated numbers. Returns σ ≥ 0, or IV_BELOW_INTRINSIC / IV_ABOVE_MAXIMUM.
 * fwd = discounted forward (S·e^{−qT} or F·e^{−rT}), kd = discounted strike K·e^{−rT}.
 */
export function impliedVolCore(price: number, call: boolean, fwd: number, kd: number, T: number): number {
  const intrinsic = call ? fwd - kd : kd - fwd;
  const upper = call ? fwd : kd;
  // The bounds themselves carry rounding of a few ulps of the larger leg.
  const tol = 4 * EPS * Math.max(fwd, kd);
  if (price < intrinsic - tol) return IV_BELOW_INTRINSIC;
  if (price >= upper) return IV_ABOVE_MAXIMUM;
  if (T === 0) return 0;
  const tv = intrinsic > 0 ? price - intrinsic : price;
  if (intrinsic > 0 ? tv <= tol : tv <= 0) return 0;
  const x = -Math.abs(logRatio(fwd, kd));
  const beta = tv / Math.sqrt(fwd) / Math.sqrt(kd);
  const bMax = Math.exp(0.5 * x);
  if (!(beta < bMax)) return IV_ABOVE_MAXIMUM;
  const s = solveNormalised(beta, x, bMax);
  return s / Math.sqrt(T);
}

/** First three s-derivative ratios of b: b′ = e^{−(h²+t²)/2}/√(2π), q1 = b″/b′, q2 = b‴/b′. */
function q1Of(x: number, s: number): number {
  return (x * x) / (s * s * s) - 0.25 * s;
}
function q2Of(x: number, s: number, q1: number): number {
  const s2 = s * s;
  return q1 * q1 - (3 * x * x) / (s2 * s2) - 0.25;
}
function lnVega(x: number, s: number): number {
  const h = x / s;
  const t = 0.5 * s;
  return -0.5 * (h * h + t * t) - LN_SQRT_2PI;
}

/** b_max − b(x, s) = e^{x/2}Φ(−h−t) + e^{−x/2}Φ(h−t): a sum of positive terms, no cancellation. */
function complementOf(x: number, s: number): number {
  const h = x / s;
  const t = 0.5 * s;
  return Math.exp(0.5 * x) * normCdf(-h - t) + Math.exp(-0.5 * x) * normCdf(h - t);
}

/** Householder factor of the third order: step = ν·(1 + ½h₂ν)/(1 + ν(h₂ + h₃ν/6)). */
function householder(nu: number, h2: number, h3: number): number {
  return (nu * (1 + 0.5 * h2 * nu)) / (1 + nu * (h2 + (h3 * nu) / 6));
}

function solveNormalised(beta: number, x: number, bMax: number): number {
  if (x === 0) {
    // At the money b = 2Φ(s/2) − 1 has a closed-form inverse; one Householder step polishes it.
    let s = -2 * inverseNormCdf(0.5 * (1 - beta));
    if (!(s > 0) || !Number.isFinite(s)) s = 2 * SQRT_2PI * beta;
    return polishMiddle(beta, x, s, 0, Number.POSITIVE_INFINITY, 2);
  }
  const sC = Math.sqrt(-2 * x);
  const bC = normalisedOtmCall(x, sC);
  const vC = Math.exp(lnVega(x, sC));
  const sL = sC - bC / vC;
  const sU = sC + (bMax - bC) / vC;
  const bL = sL > 0 ? normalisedOtmCall(x, sL) : 0;
  const bU = normalisedOtmCall(x, sU);
  if (beta < bL) return solveLow(beta, x, sL);
  if (beta <= bU) {
    const s0 = sC + (beta - bC) / vC;
    return polishMiddle(beta, x, s0, Math.max(sL, 0), sU, MAX_STEPS);
  }
  return solveHigh(beta, x, bMax, sU);
}

/** Low branch: objective ln b(s) − ln β, bracket (0, sHi]. */
function solveLow(beta: number, x: number, sHi: number): number {
  const lnBeta = Math.log(beta);
  // Asymptotic guess: ln b ≈ −(h²+t²)/2 − ln√(2π) + ln s − ln(h² − t²), iterated from s = |x|/√(−2 ln β).
  let s = -x / Math.sqrt(-2 * lnBeta);
  for (let i = 0; i < 3; i++) {
    const h = x / s;
    const t = 0.5 * s;
    const d = h * h - t * t;
    if (!(d > 0)) break;
    const rhs = -2 * (lnBeta + 0.5 * t * t + LN_SQRT_2PI - Math.log(s) + Math.log(d));
    if (!(rhs > 0)) break;
    s = -x / Math.sqrt(rhs);
  }
  let lo = 0;
  let hi = sHi;
  if (!(s > lo && s < hi)) s = 0.5 * hi;
  for (let i = 0; i < MAX_STEPS; i++) {
    const h = x / s;
    const t = 0.5 * s;
    // ln b = −(h²+t²)/2 + ln(½(erfcx(a₁) − erfcx(a₂))): no underflow even where b < 1e-308.
    const e = 0.5 * (erfcx(-(h + t) * SQRT_HALF) - erfcx(-(h - t) * SQRT_HALF));
    const f = -0.5 * (h * h + t * t) + Math.log(e) - lnBeta;
    if (f > 0) hi = s;
    else lo = s;
    const r = 1 / (SQRT_2PI * e); // b′/b
    const q1 = q1Of(x, s);
    const q2 = q2Of(x, s, q1);
    const f1 = r;
    const f2 = r * q1 - r * r;
    const f3 = r * q2 - 3 * r * r * q1 + 2 * r * r * r;
    const step = householder(-f / f1, f2 / f1, f3 / f1);
    const next = s + step;
    // Third-order convergence: after a step of relative size δ the error is O(δ³), so a step
    // below 1e-7·s lands at the rounding floor (checked before the bracket, which s itself bounds).
    if (Math.abs(step) <= CONVERGED * s) return next;
    s = next > lo && next < hi ? next : 0.5 * (lo + hi);
  }
  return s;
}

/** Middle branch: objective b(s) − β, bracket [lo, hi]. */
function polishMiddle(beta: number, x: number, s0: number, lo0: number, hi0: number, steps: number): number {
  let lo = lo0;
  let hi = hi0;
  let s = s0;
  if (!(s > lo && s < hi)) s = Number.isFinite(hi) ? 0.5 * (lo + hi) : lo + 1;
  for (let i = 0; i < steps; i++) {
    const f = normalisedOtmCall(x, s) - beta;
    if (f > 0) hi = s;
    else lo = s;
    const vega = Math.exp(lnVega(x, s));
    const q1 = q1Of(x, s);
    const q2 = x === 0 ? q1 * q1 - 0.25 : q2Of(x, s, q1);
    const step = householder(-f / vega, q1, q2);
    const next = s + step;
    if (Math.abs(step) <= CONVERGED * s) return next;
    s = next > lo && next < hi ? next : Number.isFinite(hi) ? 0.5 * (lo + hi) : 2 * s;
  }
  return s;
}

/** High branch: objective ln(b_max − β) − ln(b_max − b(s)), bracket [sLo, ∞). */
function solveHigh(beta: number, x: number, bMax: number, sLo: number): number {
  const cBeta = bMax - beta;
  const lnC = Math.log(cBeta);
  let s = -2 * inverseNormCdf(cBeta / (bMax + 1 / bMax));
  let lo = sLo;
  let hi = Number.POSITIVE_INFINITY;
  if (!(s > lo) || !Number.isFinite(s)) s = 2 * lo;
  for (let i = 0; i < MAX_STEPS; i++) {
    const c = complementOf(x, s);
    const f = lnC - Math.log(c);
    if (f > 0) hi = s;
    else lo = s;
    const r = Math.exp(lnVega(x, s)) / c; // b′/c
    const q1 = q1Of(x, s);
    const q2 = q2Of(x, s, q1);
    const f1 = r;
    const f2 = r * q1 + r * r;
    const f3 = r * q2 + 3 * r * r * q1 + 2 * r * r * r;
    const step = householder(-f / f1, f2 / f1, f3 / f1);
    const next = s + step;
    if (Math.abs(step) <= CONVERGED * s) return next;
    s = next > lo && next < hi ? next : Number.isFinite(hi) ? 0.5 * (lo + hi) : 2 * s;
  }
  return s;
}

function boundsOf(p: ImpliedVolInputs): { fwd: number; kd: number; lower: number; upper: number } {
  const q = p.model === 'black76' ? p.rate : (p.dividendYield ?? 0);
  const fwd = p.underlying * Math.exp(-q * p.years);
  const kd = p.strike * Math.exp(-p.rate * p.years);
  return p.right === 'call'
    ? { fwd, kd, lower: Math.max(0, fwd - kd), upper: fwd }
    : { fwd, kd, lower: Math.max(0, kd - fwd), upper: kd };
}

export function impliedVolatility(p: ImpliedVolInputs): number {
  if (!Number.isFinite(p.price) || p.price < 0)
    throw new AppError(ErrorCode.BAD_INPUT, 'price: must be a finite number ≥ 0', {
      field: 'price',
      reason: 'invalid_input',
    });
  checkOptionInputs(p);
  const { fwd, kd, lower, upper } = boundsOf(p);
  const v = impliedVolCore(p.price, p.right === 'call', fwd, kd, p.years);
  if (v === IV_BELOW_INTRINSIC)
    throw new AppError(
      ErrorCode.BAD_INPUT,
      `price ${p.price} is below the no-arbitrage lower bound ${lower} (discounted intrinsic value); the ${p.right} must be worth at least ${lower} and less than ${upper}`,
      { field: 'price', reason: 'below_intrinsic', price: p.price, lower, upper },
    );
  if (v === IV_ABOVE_MAXIMUM)
    throw new AppError(
      ErrorCode.BAD_INPUT,
      `price ${p.price} is at or above the no-arbitrage upper bound ${upper} (${p.right === 'call' ? 'discounted underlying S·e^{-qT}' : 'discounted strike K·e^{-rT}'}); the ${p.right} must be worth at least ${lower} and less than ${upper}`,
      { field: 'price', reason: 'above_maximum', price: p.price, lower, upper },
    );
  return v;
}

/** As impliedVolatility, null instead of an error (chains: a quote outside the bounds has no IV). */
export function impliedVolatilityOrNull(p: ImpliedVolInputs): number | null {
  try {
    return impliedVolatility(p);
  } catch {
    return null;
  }
}

/**
 * Batch: vols[i] = implied volatility of prices[i] (one model; struct-of-arrays inputs, validated
 * by the caller), NaN where the price is outside its no-arbitrage bounds. No allocation per contract.
 */
export function impliedVolatilityBatch(
  model: 'bsm' | 'black76',
  prices: Float64Array,
  isCall: Uint8Array,
  underlying: Float64Array,
  strike: Float64Array,
  years: Float64Array,
  rate: Float64Array,
  dividendYield: Float64Array | undefined,
  out: Float64Array,
): void {
  const black76 = model === 'black76';
  for (let i = 0; i < prices.length; i++) {
    const T = years[i] as number;
    const r = rate[i] as number;
    const q = black76 ? r : dividendYield ? (dividendYield[i] as number) : 0;
    const v = impliedVolCore(
      prices[i] as number,
      isCall[i] === 1,
      (underlying[i] as number) * Math.exp(-q * T),
      (strike[i] as number) * Math.exp(-r * T),
      T,
    );
    out[i] = v < 0 ? Number.NaN : v;
  }
}
