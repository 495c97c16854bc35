/**
 * The baseline the benchmark measures against: a textbook implementation as one would first write
 * it — Abramowitz & Stegun 26.2.17 for the normal CDF (|error| < 7.5e-8), closed-form Greeks
 * returned as a fresh object per contract, and implied volatility by plain bisection.
 */
export interface NaiveGreeks {
  price: number;
  delta: number;
  gamma: number;
  vega: number;
  theta: number;
  rho: number;
  vanna: number;
  volga: number;
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const naivePdf = (x: number): number => INV_SQRT_2PI * Math.exp(-0.5 * x * x);

/** Abramowitz & Stegun 26.2.17. */
export function naiveCdf(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const poly =
    t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const upper = naivePdf(x) * poly;
  return x >= 0 ? 1 - upper : upper;
}

/** BSM with dividend yield q (Black-76: q = r and S = F). */
export function naiveGreeks(
  call: boolean,
  S: number,
  K: number,
  T: number,
  v: number,
  r: number,
  q: number,
): NaiveGreeks {
  const sqrtT = Math.sqrt(T);
  const d1 = (Math.log(S / K) + (r - q + 0.5 * v * v) * T) / (v * sqrtT);
  const d2 = d1 - v * sqrtT;
  const dq = Math.exp(-q * T);
  const dr = Math.exp(-r * T);
  const pdf = naivePdf(d1);
  const vega = S * dq * pdf * sqrtT;
  if (call) {
    return {
      price: S * dq * naiveCdf(d1) - K * dr * naiveCdf(d2),
      delta: dq * naiveCdf(d1),
      gamma: (dq * pdf) / (S * v * sqrtT),
      vega,
      theta: -(S * dq * pdf * v) / (2 * sqrtT) + q * S * dq * naiveCdf(d1) - r * K * dr * naiveCdf(d2),
      rho: K * T * dr * naiveCdf(d2),
      vanna: (-dq * pdf * d2) / v,
      volga: (vega * d1 * d2) / v,
    };
  }
  return {
    price: K * dr * naiveCdf(-d2) - S * dq * naiveCdf(-d1),
    delta: -dq * naiveCdf(-d1),
    gamma: (dq * pdf) / (S * v * sqrtT),
    vega,
    theta: -(S * dq * pdf * v) / (2 * sqrtT) - q * S * dq * naiveCdf(-d1) + r * K * dr * naiveCdf(-d2),
    rho: -K * T * dr * naiveCdf(-d2),
    vanna: (-dq * pdf * d2) / v,
    volga: (vega * d1 * d2) / v,
  };
}

/**
 * Plain bisection on σ ∈ (0, 10] until the bracket is within relTol of its midpoint, pricing
 * with `price` (the benchmark passes the precise pricer so both solvers aim at the same σ).
 */
export function bisectionIv(target: number, price: (vol: number) => number, relTol: number): number {
  let lo = 0;
  let hi = 10;
  while (hi - lo > relTol * (lo + hi) * 0.5) {
    const mid = 0.5 * (lo + hi);
    if (price(mid) > target) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}
