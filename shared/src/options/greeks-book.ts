import type { AssetClass } from '../schemas/market-data.ts';
import { type OptionInputs, optionGreeks } from './black-scholes.ts';
import { yearsToExpiry } from './contract.ts';
import { impliedVolatilityOrNull } from './implied-volatility.ts';

/**
 * A desk's Greeks from its positions (pure: no I/O). Units are those of the underlying: a
 * position contributes its per-unit Greek × signed quantity × contract multiplier, so +1 call of
 * multiplier 100 with delta 0.5 contributes 50 (shares, or futures' points for a future's
 * option times that future's multiplier). A linear instrument (equity, future, crypto, fx)
 * contributes delta = quantity × multiplier and nothing else. Vega is per 1.00 of volatility,
 * theta per calendar day, dollar delta = delta units × the underlying's price.
 *
 * Grouping: an option counts under its underlying instrument, a linear instrument under itself.
 * A future and its options therefore group under the future's symbol (each contract month is
 * its own group: months do not move one for one), an equity and its options under the equity.
 *
 * Volatility: implied from the option's mark (BSM on the underlying's price, with the given
 * dividend yield for equities and none otherwise; Black-76 when the underlying is a future), falling back to the `iv` stored in
 * the instrument's `greeks` (the chain refresher's) when the mark is missing or outside the
 * no-arbitrage bounds. A position whose Greeks cannot be computed (no price for it or its
 * underlying, no volatility) is listed in `missing` and left out of every total.
 */

export interface BookPosition {
  readonly symbol: string;
  /** Signed decimal string (negative = short). */
  readonly quantity: string;
}

export interface BookInstrument {
  readonly symbol: string;
  readonly assetClass: AssetClass;
  readonly multiplier: string;
  readonly underlyingSymbol: string | null;
  readonly optionRight: 'call' | 'put' | null;
  readonly strike: string | null;
  /** `YYYY-MM-DD`. */
  readonly expiry: string | null;
  /** Stored model outputs (jsonb); `iv` is the fallback volatility. */
  readonly greeks: { readonly iv?: number } | null;
}

export interface GreeksBookInput {
  readonly positions: readonly BookPosition[];
  /** Every position's instrument, and each option's underlying (for its asset class). */
  readonly instruments: Readonly<Record<string, BookInstrument>>;
  /** Mark prices (decimal strings) of the positions and of the options' underlyings. */
  readonly marks: Readonly<Record<string, string>>;
  /** Continuous risk-free rate (0.04 = 4 %). */
  readonly rate: number;
  /** Continuous dividend yield of equity underlyings (BSM); other underlyings pay none. */
  readonly dividendYield?: number;
  readonly now: Date;
}

export interface Greeks {
  readonly delta: number;
  readonly gamma: number;
  readonly vega: number;
  readonly theta: number;
  readonly dollarDelta: number;
}

/** One unit's Greeks in underlying units (multiplier applied), and the volatility used. */
export interface UnitGreeks {
  readonly delta: number;
  readonly gamma: number;
  readonly vega: number;
  readonly theta: number;
  readonly iv: number | null;
  readonly underlying: string;
  readonly underlyingPrice: number;
}

export interface PositionGreeks {
  readonly symbol: string;
  readonly underlying: string;
  readonly assetClass: AssetClass;
  readonly quantity: string;
  readonly multiplier: string;
  readonly mark: string | null;
  readonly iv: number | null;
  readonly contribution: Greeks;
}

export interface UnderlyingGreeks {
  readonly underlying: string;
  readonly price: string | null;
  readonly totals: Greeks;
  /** Positions of this group left out of its totals (no price or volatility). */
  readonly missing: readonly string[];
}

export interface DeskGreeks {
  readonly totals: Greeks;
  readonly byUnderlying: readonly UnderlyingGreeks[];
  readonly positions: readonly PositionGreeks[];
  readonly missing: readonly string[];
}

export const ZERO_GREEKS: Greeks = Object.freeze({ delta: 0, gamma: 0, vega: 0, theta: 0, dollarDelta: 0 });

const DAYS_PER_YEAR = 365;

const num = (s: string | undefined): number | null => {
  if (s === undefined) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

const isLinear = (c: AssetClass) => c !== 'option';

/** The group an instrument's Greeks count under: an option's underlying, else itself. */
export function groupOf(inst: BookInstrument): string | null {
  return isLinear(inst.assetClass) ? inst.symbol : inst.underlyingSymbol;
}

/**
 * Greeks of one unit of `symbol` (multiplier applied), or null when they cannot be computed
 * (unknown instrument, no price, no volatility).
 */
export function unitGreeks(
  symbol: string,
  input: Pick<GreeksBookInput, 'instruments' | 'marks' | 'rate' | 'dividendYield' | 'now'>,
): UnitGreeks | null {
  const inst = input.instruments[symbol];
  if (!inst) return null;
  const mult = num(inst.multiplier);
  if (mult === null) return null;
  if (isLinear(inst.assetClass)) {
    const price = num(input.marks[symbol]);
    if (price === null) return null;
    return { delta: mult, gamma: 0, vega: 0, theta: 0, iv: null, underlying: symbol, underlyingPrice: price };
  }
  const underlying = inst.underlyingSymbol;
  const strike = num(inst.strike ?? undefined);
  if (!underlying || strike === null || !inst.optionRight || !inst.expiry) return null;
  const spot = num(input.marks[underlying]);
  if (spot === null || spot <= 0) return null;
  const years = yearsToExpiry(input.now, inst.expiry);
  if (years <= 0) {
    // Expired, not yet settled: the exercise value's delta (1 in the money, 0 out), no time value.
    const itm = inst.optionRight === 'call' ? spot > strike : spot < strike;
    const sign = inst.optionRight === 'call' ? 1 : -1;
    return {
      delta: itm ? sign * mult : 0,
      gamma: 0,
      vega: 0,
      theta: 0,
      iv: null,
      underlying,
      underlyingPrice: spot,
    };
  }
  const underlyingClass = input.instruments[underlying]?.assetClass;
  const model = underlyingClass === 'future' ? 'black76' : 'bsm';
  const q = underlyingClass === 'equity' ? (input.dividendYield ?? 0) : 0;
  const base: Omit<OptionInputs, 'vol'> = {
    model,
    right: inst.optionRight,
    underlying: spot,
    strike,
    years,
    rate: input.rate,
    ...(model === 'bsm' && q !== 0 ? { dividendYield: q } : {}),
  };
  const mark = num(input.marks[symbol]);
  const implied = mark !== null && mark > 0 ? impliedVolatilityOrNull({ ...base, price: mark }) : null;
  const stored = inst.greeks?.iv;
  const iv = implied ?? (typeof stored === 'number' && Number.isFinite(stored) && stored > 0 ? stored : null);
  if (iv === null) return null;
  const g = optionGreeks({ ...base, vol: iv });
  return {
    delta: g.delta * mult,
    gamma: g.gamma * mult,
    vega: g.vega * mult,
    theta: (g.theta / DAYS_PER_YEAR) * mult,
    iv,
    underlying,
    underlyingPrice: spot,
  };
}

const add = (a: Greeks, b: Greeks): Greeks => ({
  delta: a.delta + b.delta,
  gamma: a.gamma + b.gamma,
  vega: a.vega + b.vega,
  theta: a.theta + b.theta,
  dollarDelta: a.dollarDelta + b.dollarDelta,
});

/** The desk's Greeks: per position, per underlying group and overall (see the file comment). */
export function deskGreeks(input: GreeksBookInput): DeskGreeks {
  const positions: PositionGreeks[] = [];
  const missing: string[] = [];
  const groups = new Map<string, { totals: Greeks; missing: string[] }>();
  const group = (key: string) => {
    let g = groups.get(key);
    if (!g) {
      g = { totals: ZERO_GREEKS, missing: [] };
      groups.set(key, g);
    }
    return g;
  };
  let totals = ZERO_GREEKS;
  for (const p of input.positions) {
    const qty = num(p.quantity);
    if (qty === null || qty === 0) continue;
    const inst = input.instruments[p.symbol];
    const key = inst ? (groupOf(inst) ?? p.symbol) : p.symbol;
    const u = unitGreeks(p.symbol, input);
    if (!u) {
      missing.push(p.symbol);
      group(key).missing.push(p.symbol);
      continue;
    }
    const contribution: Greeks = {
      delta: u.delta * qty,
      gamma: u.gamma * qty,
      vega: u.vega * qty,
      theta: u.theta * qty,
      dollarDelta: u.delta * qty * u.underlyingPrice,
    };
    positions.push({
      symbol: p.symbol,
      underlying: key,
      assetClass: inst!.assetClass,
      quantity: p.quantity,
      multiplier: inst!.multiplier,
      mark: input.marks[p.symbol] ?? null,
      iv: u.iv,
      contribution,
    });
    const g = group(key);
    g.totals = add(g.totals, contribution);
    totals = add(totals, contribution);
  }
  const byUnderlying = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([underlying, g]) => ({
      underlying,
      price: input.marks[underlying] ?? null,
      totals: g.totals,
      missing: g.missing,
    }));
  return { totals, byUnderlying, positions, missing };
}
