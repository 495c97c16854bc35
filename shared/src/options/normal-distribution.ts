/**
 * The standard normal distribution to (near) machine precision in both tails, built on W. J. Cody's
 * rational Chebyshev approximations of erf / erfc (Math. Comp. 23, 1969; the three ranges
 * |x| ≤ 0.5, 0.5 < x ≤ 4, x > 4 of his CALERF description). The scaled complementary error
 * function erfcx(x) = e^{x²} erfc(x) is the workhorse: it never underflows, so tail probabilities
 * are exp(−z²/2) (computed without the rounding of z/√2) times a smooth factor.
 */

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_PI = 0.5641895835477563;
export const INV_SQRT_2PI = 0.3989422804014327;

// erf on |x| ≤ 0.5 (Cody's A/B).
const A0 = 3.1611237438705655;
const A1 = 113.86415415105016;
const A2 = 377.485237685302;
const A3 = 3209.3775891384694;
const A4 = 0.18577770618460315;
const B0 = 23.601290952344122;
const B1 = 244.02463793444417;
const B2 = 1282.6165260773723;
const B3 = 2844.236833439171;

// erfcx on 0.5 < x ≤ 4 (Cody's C/D).
const C0 = 0.5641884969886701;
const C1 = 8.883149794388377;
const C2 = 66.11919063714163;
const C3 = 298.6351381974001;
const C4 = 881.952221241769;
const C5 = 1712.0476126340707;
const C6 = 2051.0783778260716;
const C7 = 1230.3393547979972;
const C8 = 2.1531153547440383e-8;
const D0 = 15.744926110709835;
const D1 = 117.6939508913125;
const D2 = 537.1811018620099;
const D3 = 1621.3895745666903;
const D4 = 3290.7992357334597;
const D5 = 4362.619090143247;
const D6 = 3439.3676741437216;
const D7 = 1230.3393548037495;

// erfcx on x > 4 (Cody's P/Q in 1/x²).
const P0 = 0.30532663496123236;
const P1 = 0.36034489994980445;
const P2 = 0.12578172611122926;
const P3 = 0.016083785148742275;
const P4 = 6.587491615298378e-4;
const P5 = 0.016315387137302097;
const Q0 = 2.568520192289822;
const Q1 = 1.8729528499234604;
const Q2 = 0.5279051029514285;
const Q3 = 0.06051834131244132;
const Q4 = 0.0023352049762686918;

/** erf(x) for |x| ≤ 0.5. */
function erfSmall(x: number): number {
  const y = x * x;
  const num = (((A4 * y + A0) * y + A1) * y + A2) * y + A3;
  const den = (((y + B0) * y + B1) * y + B2) * y + B3;
  return (x * num) / den;
}

/** erfcx(x) for x > 0.5 (no exponential is evaluated). */
function erfcxLarge(x: number): number {
  if (x <= 4) {
    const num = (((((((C8 * x + C0) * x + C1) * x + C2) * x + C3) * x + C4) * x + C5) * x + C6) * x + C7;
    const den = (((((((x + D0) * x + D1) * x + D2) * x + D3) * x + D4) * x + D5) * x + D6) * x + D7;
    return num / den;
  }
  // Beyond 1e8, 1/x² is below the approximation's precision: erfcx(x) = 1/(x√π) to rounding.
  if (x > 1e8) return INV_SQRT_PI / x;
  const z = 1 / (x * x);
  const num = ((((P5 * z + P0) * z + P1) * z + P2) * z + P3) * z + P4;
  const den = ((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4;
  return (INV_SQRT_PI - (z * num) / den) / x;
}

/** Scaled complementary error function e^{x²}·erfc(x); overflows to Infinity below x ≈ −26.6. */
export function erfcx(x: number): number {
  if (x > 0.5) return erfcxLarge(x);
  if (x >= -0.5) return Math.exp(x * x) * (1 - erfSmall(x));
  return 2 * Math.exp(x * x) - erfcxLarge(-x);
}

/**
 * e^{−a²/2} for a ≥ 0 with a split a = a₀ + δ (a₀ a multiple of 1/16, so a₀² is exact): the
 * rounding of a² would otherwise cost a relative a²·ε in the far tail.
 */
export function expHalfSquare(a: number): number {
  const a0 = Math.trunc(a * 16) / 16;
  return Math.exp(-0.5 * a0 * a0) * Math.exp(-0.5 * (a - a0) * (a + a0));
}

/** erfc(x), relative accuracy near machine precision for every x where it is representable. */
export function erfc(x: number): number {
  const a = Math.abs(x);
  if (a <= 0.5) return 1 - erfSmall(x);
  // e^{−a²} = (e^{−(a√2)²/2}); Cody's own split does the same with a multiple of 1/16.
  const a0 = Math.trunc(a * 16) / 16;
  const tail = Math.exp(-a0 * a0) * Math.exp(-(a - a0) * (a + a0)) * erfcxLarge(a);
  return x > 0 ? tail : 2 - tail;
}

export const normPdf = (x: number): number => INV_SQRT_2PI * expHalfSquare(Math.abs(x));

/**
 * Φ(z) with a relative error near machine precision in the lower tail (down to underflow at
 * z ≈ −38.5) and 1 − Φ(−z) in the upper tail (so Φ(z) for z > 0 is exact to an absolute ε).
 */
export function normCdf(z: number): number {
  if (z < -SQRT_HALF) {
    if (z < -38.5) return 0;
    return 0.5 * expHalfSquare(-z) * erfcxLarge(-z * SQRT_HALF);
  }
  if (z <= SQRT_HALF) return 0.5 + 0.5 * erfSmall(z * SQRT_HALF);
  if (z > 38.5) return 1;
  return 1 - 0.5 * expHalfSquare(z) * erfcxLarge(z * SQRT_HALF);
}

// P. J. Acklam's rational approximation of Φ⁻¹ (relative error ≈ 1.15e-9), refined below.
const IA = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const IB = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const IC = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const ID = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];

/**
 * Φ⁻¹(p) for 0 < p < 1: Acklam's approximation then one Halley step on normCdf, which brings it
 * to a few ulps. 0 → −Infinity, 1 → +Infinity; outside [0, 1] or NaN → NaN.
 */
export function inverseNormCdf(p: number): number {
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  let x: number;
  if (p < 0.02425 || p > 0.97575) {
    const lower = p < 0.5;
    const q = Math.sqrt(-2 * Math.log(lower ? p : 1 - p));
    const c = IC as [number, number, number, number, number, number];
    const d = ID as [number, number, number, number];
    x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    if (!lower) x = -x;
  } else {
    const q = p - 0.5;
    const r = q * q;
    const a = IA as [number, number, number, number, number, number];
    const b = IB as [number, number, number, number, number];
    x =
      ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // Halley on Φ(x) − p, in the tail that keeps relative precision.
  const e = x < 0 ? normCdf(x) - p : 1 - p - normCdf(-x);
  const u = e / normPdf(x);
  return x - u / (1 + 0.5 * x * u);
}
