import { Dec, decStr } from '@aegis/shared/accounting/decimal';

/**
 * The arithmetic of a vertical spread at expiry, for the strategy builder: one long and one short
 * option of the same right and expiry. Exact decimals (Dec), never floats: these are the amounts
 * the trader is about to commit to, and they must equal what the server books for the combo.
 *
 * The payoff of long K₁ / short K₂ is flat outside the two strikes and linear between them, so
 * its extremes sit at the strikes: max loss = net − min(payoff), max gain = max(payoff) − net, and
 * the one breakeven is where the line between the strikes crosses the net price.
 */
export interface VerticalLegs {
  readonly right: 'call' | 'put';
  readonly longStrike: string;
  readonly shortStrike: string;
  /** Net price per unit: positive a debit paid, negative a credit received. */
  readonly netPrice: string;
  /** Combo units (each leg trades one contract per unit). */
  readonly quantity: string;
  /** Contract multiplier (100 for equity-style options). */
  readonly multiplier: string;
}

export interface VerticalOutcome {
  /** 'debit' when the trader pays the net price, 'credit' when he receives it. */
  readonly kind: 'debit' | 'credit' | 'even';
  /** |net| × multiplier × quantity: cash paid (debit) or received (credit). */
  readonly netCash: string;
  readonly maxLoss: string;
  readonly maxGain: string;
  /** The underlying price at expiry where the position breaks even; null if none between the strikes. */
  readonly breakeven: string | null;
  /** Strike width × multiplier × quantity: the most the payoff can change. */
  readonly width: string;
}

/** Payoff per unit at expiry of the long leg minus the short leg, at underlying price `s`. */
function payoffAt(right: 'call' | 'put', long: Dec, short: Dec, s: Dec): Dec {
  const intrinsic = (k: Dec) => Dec.max(0, right === 'call' ? s.minus(k) : k.minus(s));
  return intrinsic(long).minus(intrinsic(short));
}

/** Null when the legs are not a vertical (same strike) or an input is not a decimal. */
export function verticalOutcome(v: VerticalLegs): VerticalOutcome | null {
  let long: Dec;
  let short: Dec;
  let net: Dec;
  let size: Dec;
  try {
    long = new Dec(v.longStrike);
    short = new Dec(v.shortStrike);
    net = new Dec(v.netPrice);
    size = new Dec(v.quantity).times(new Dec(v.multiplier));
  } catch {
    return null;
  }
  if (long.eq(short) || !size.isFinite() || size.lte(0) || !net.isFinite()) return null;
  const low = Dec.min(long, short);
  const high = Dec.max(long, short);
  const atLow = payoffAt(v.right, long, short, low);
  const atHigh = payoffAt(v.right, long, short, high);
  const worst = Dec.min(atLow, atHigh);
  const best = Dec.max(atLow, atHigh);
  let breakeven: Dec | null = null;
  if (net.gt(worst) && net.lt(best)) {
    // Linear between the strikes: solve payoff(s) = net.
    breakeven = low.plus(net.minus(atLow).div(atHigh.minus(atLow)).times(high.minus(low)));
  }
  return {
    kind: net.gt(0) ? 'debit' : net.lt(0) ? 'credit' : 'even',
    netCash: decStr(net.abs().times(size)),
    maxLoss: decStr(Dec.max(0, net.minus(worst)).times(size)),
    maxGain: decStr(Dec.max(0, best.minus(net)).times(size)),
    breakeven: breakeven === null ? null : decStr(breakeven.toDecimalPlaces(8)),
    width: decStr(high.minus(low).times(size)),
  };
}

/** Long mid − short mid, at the price's tick (two decimals unless finer mids): the builder's default limit. */
export function netMid(longMid: string | null, shortMid: string | null, decimals = 2): string | null {
  if (longMid === null || shortMid === null) return null;
  try {
    return decStr(new Dec(longMid).minus(new Dec(shortMid)).toDecimalPlaces(decimals));
  } catch {
    return null;
  }
}

/**
 * The natural price of buying `long` and selling `short`: pay the long leg's ask, receive the
 * short leg's bid. A limit at the natural price is marketable on both legs at once.
 */
export function netNatural(longAsk: string | null, shortBid: string | null): string | null {
  if (longAsk === null || shortBid === null) return null;
  try {
    return decStr(new Dec(longAsk).minus(new Dec(shortBid)));
  } catch {
    return null;
  }
}
