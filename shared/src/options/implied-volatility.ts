import { AppError, ErrorCode } from '../errors.ts';
import { type OptionInputs, optionGreeks } from './black-scholes.ts';

/**
 * Implied volatility, first version: Newton steps on vega safeguarded by a bisection bracket.
 * Prices outside the no-arbitrage bounds are refused with the bounds in the message.
 */
export type ImpliedVolInputs = Omit<OptionInputs, 'vol'> & { readonly price: number };

const MAX_VOL = 10;

function bounds(p: ImpliedVolInputs): { lower: number; upper: number } {
  const q = p.model === 'black76' ? p.rate : (p.dividendYield ?? 0);
  const fwd = p.underlying * Math.exp(-q * p.years);
  const k = p.strike * Math.exp(-p.rate * p.years);
  return p.right === 'call'
    ? { lower: Math.max(0, fwd - k), upper: fwd }
    : { lower: Math.max(0, k - fwd), upper: k };
}

export function impliedVolatility(p: ImpliedVolInputs): number {
  if (!Number.isFinite(p.price) || p.price < 0)
    throw new AppError(ErrorCode.BAD_INPUT, 'price: must be a finite number ≥ 0', {
      field: 'price',
      reason: 'invalid_input',
    });
  optionGreeks({ ...p, vol: 0 }); // validates the other inputs
  const { lower, upper } = bounds(p);
  if (p.price < lower)
    throw new AppError(
      ErrorCode.BAD_INPUT,
      `price ${p.price} is below the no-arbitrage lower bound ${lower} (discounted intrinsic value)`,
      { field: 'price', reason: 'below_intrinsic', lower, upper },
    );
  if (p.price >= upper)
    throw new AppError(
      ErrorCode.BAD_INPUT,
      `price ${p.price} is at or above the no-arbitrage upper bound ${upper}`,
      { field: 'price', reason: 'above_maximum', lower, upper },
    );
  if (p.years === 0 || p.price === lower) return 0;
  let lo = 0;
  let hi = MAX_VOL;
  let v = 0.3;
  for (let i = 0; i < 200; i++) {
    const g = optionGreeks({ ...p, vol: v });
    const diff = g.price - p.price;
    if (diff > 0) hi = v;
    else lo = v;
    if (Math.abs(diff) <= 1e-15 * Math.max(1, p.price) || hi - lo < 1e-15 * Math.max(v, 1e-300)) return v;
    const next = g.vega > 0 ? v - diff / g.vega : Number.NaN;
    v = next > lo && next < hi ? next : 0.5 * (lo + hi);
  }
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
