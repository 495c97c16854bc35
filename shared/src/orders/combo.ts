import { type Dec, dec, decStr, ZERO } from '../accounting/decimal.ts';
import type { OrderStatus } from './statuses.ts';

/**
 * Multi-leg (combo) orders, the pure parts: the combo's status from its legs' (all-or-none), its
 * net price from the legs' prices, and the strategy's maximum loss at expiry. The execution
 * service, the paper broker and the risk governor all use these, so they agree.
 *
 * Prices are per unit of the instrument (an option's premium), net prices per combo unit:
 * positive a debit paid, negative a credit received. A leg trades `ratio × combo quantity`.
 */

export type ComboSide = 'buy' | 'sell';

export interface ComboLegPrice {
  readonly side: ComboSide;
  readonly ratio: number;
  /** The leg's price (its fill, or the touch it would take). */
  readonly price: string;
}

/** Net price per combo unit: Σ ratio × price over buys − Σ ratio × price over sells. */
export function netPrice(legs: readonly ComboLegPrice[]): Dec {
  let net = ZERO;
  for (const l of legs) {
    const v = dec(l.price).times(l.ratio);
    net = l.side === 'buy' ? net.plus(v) : net.minus(v);
  }
  return net;
}

/**
 * A limit combo is marketable when the net it would pay is at most its limit (a credit limit is
 * negative: receiving at least the credit). A market combo always is (given prices).
 */
export const isNetMarketable = (net: Dec, limit: string | null): boolean =>
  limit === null || net.lte(dec(limit));

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

export interface ComboLegState {
  readonly status: OrderStatus;
  readonly ratio: number;
  readonly quantity: string;
  readonly filledQuantity: string;
  readonly side: ComboSide;
  readonly avgFillPrice: string | null;
}

export interface ComboState {
  readonly status: OrderStatus;
  /** Combo units filled: the least over the legs of filled ÷ ratio. */
  readonly filledQuantity: string;
  /** Net price per combo unit actually paid (+) or received (−); null before any fill. */
  readonly avgNetPrice: string | null;
}

const ENDED_UNFILLED: readonly OrderStatus[] = ['cancelled', 'expired', 'rejected', 'denied'];

/**
 * The combo's status from its legs (FIX OrdStatus semantics, all-or-none). The legs move
 * together, so the rules are few, in order:
 * - every leg `denied` → denied; every leg filled → filled;
 * - a leg ended unfilled (cancelled, expired, rejected) → the combo ended that way, unless a leg
 *   has fills (a broker that broke the all-or-none promise): then partially_filled, so the
 *   desk sees it and reconciliation finds the legs;
 * - any fill → partially_filled; a cancel requested → pending_cancel; a leg in doubt → unknown;
 *   a leg not yet acknowledged → pending_new; otherwise new.
 */
export function comboStateOf(legs: readonly ComboLegState[]): ComboState {
  if (legs.length === 0) return { status: 'pending_new', filledQuantity: '0', avgNetPrice: null };
  let units: Dec | null = null;
  for (const l of legs) {
    const u = dec(l.filledQuantity).div(l.ratio);
    units = units === null || u.lt(units) ? u : units;
  }
  const filledUnits = units ?? ZERO;
  const anyFill = legs.some((l) => dec(l.filledQuantity).gt(0));
  const allFilledLegs = legs.every((l) => l.status === 'filled');
  const avgNetPrice =
    filledUnits.gt(0) && legs.every((l) => l.avgFillPrice !== null)
      ? decStr(
          netPrice(
            legs.map((l) => ({ side: l.side, ratio: l.ratio, price: l.avgFillPrice! })),
          ).toDecimalPlaces(12),
        )
      : null;
  const state = (status: OrderStatus): ComboState => ({
    status,
    filledQuantity: decStr(filledUnits.toDecimalPlaces(12)),
    avgNetPrice,
  });
  if (legs.every((l) => l.status === 'denied')) return state('denied');
  if (allFilledLegs) return state('filled');
  const ended = legs.find((l) => ENDED_UNFILLED.includes(l.status));
  if (ended) return state(anyFill ? 'partially_filled' : ended.status);
  if (anyFill) return state('partially_filled');
  if (legs.some((l) => l.status === 'pending_cancel')) return state('pending_cancel');
  if (legs.some((l) => l.status === 'unknown')) return state('unknown');
  if (legs.some((l) => l.status === 'pending_new')) return state('pending_new');
  return state('new');
}

// ---------------------------------------------------------------------------------------------
// Maximum loss at expiry
// ---------------------------------------------------------------------------------------------

/** What the payoff needs to know of a leg's instrument. */
export interface PayoffLeg {
  readonly side: ComboSide;
  readonly ratio: number;
  /** `option` legs pay their intrinsic value at expiry; `linear` legs are the underlying itself. */
  readonly kind: 'option' | 'linear';
  readonly right?: 'call' | 'put' | null;
  readonly strike?: string | null;
  /** ISO date; legs of one combo must share it for the payoff at expiry to be exact. */
  readonly expiry?: string | null;
  /** The underlying's symbol (for a linear leg: its own symbol). */
  readonly underlying: string | null;
  readonly multiplier: string;
}

export type MaxLossResult =
  | {
      readonly bounded: true;
      /** Money: the worst loss at expiry for the whole order (≥ 0). */
      readonly maxLoss: Dec;
      /** Where it happens (an underlying price at expiry). */
      readonly at: Dec;
    }
  | {
      readonly bounded: false;
      /** Why no bound exists: the uncovered short exposure, or legs that cannot be valued together. */
      readonly reason: string;
      /** Underlying units short above the highest strike, not covered (when that is the reason). */
      readonly uncoveredUnits?: Dec;
    };

/**
 * The strategy's maximum loss at expiry: the payoff of every leg (intrinsic value for options,
 * S for the underlying itself) minus the net price paid, over every underlying price S ≥ 0. The
 * payoff is piecewise linear with kinks at the strikes, so its minimum is at S = 0, at a strike,
 * or — when the slope beyond the highest strike is negative — unbounded (a naked short call).
 *
 * `coverUnits` are underlying units the desk already holds long (shares, futures × their
 * multiplier): they cover that much negative slope, valued from `coverMark` (a covered call's
 * loss is the shares' fall, not the call's). Defined-risk results: a debit vertical loses its
 * debit, a credit vertical (width − credit), both × quantity × multiplier.
 */
export function comboMaxLoss(
  legs: readonly PayoffLeg[],
  net: Dec,
  quantity: Dec,
  cover: { readonly units: Dec; readonly mark: Dec | null } = { units: ZERO, mark: null },
): MaxLossResult {
  if (legs.length === 0) return { bounded: false, reason: 'no legs' };
  const underlyings = new Set(legs.map((l) => l.underlying));
  const expiries = new Set(legs.filter((l) => l.kind === 'option').map((l) => l.expiry ?? null));
  const multipliers = new Set(legs.map((l) => dec(l.multiplier).toString()));
  if (underlyings.size !== 1 || underlyings.has(null))
    return { bounded: false, reason: 'legs on different underlyings' };
  if (multipliers.size !== 1) return { bounded: false, reason: 'legs with different multipliers' };
  const mult = dec(legs[0]!.multiplier);
  if (expiries.size > 1) {
    // No single expiry to value at: only an all-long combo has a known bound (what it paid).
    if (legs.every((l) => l.side === 'buy') && net.gte(0))
      return { bounded: true, maxLoss: net.times(quantity).times(mult), at: ZERO };
    return { bounded: false, reason: 'legs expire on different dates' };
  }
  for (const l of legs) {
    if (l.kind === 'option' && (!l.right || l.strike === null || l.strike === undefined))
      return { bounded: false, reason: 'an option leg without right or strike' };
  }
  const sign = (l: PayoffLeg) => (l.side === 'buy' ? l.ratio : -l.ratio);
  // Per combo unit, in price units: the slope beyond every strike.
  let slopeHigh = ZERO;
  for (const l of legs) if (l.kind === 'linear' || l.right === 'call') slopeHigh = slopeHigh.plus(sign(l));
  // Cover (underlying units → per combo unit in the legs' multiplier units).
  const perUnitCover = quantity.gt(0) ? cover.units.div(quantity.times(mult)) : ZERO;
  const coverUsed = slopeHigh.lt(0)
    ? perUnitCover.gt(slopeHigh.neg())
      ? slopeHigh.neg()
      : perUnitCover
    : ZERO;
  if (slopeHigh.plus(coverUsed).lt(0)) {
    return {
      bounded: false,
      reason: 'short calls not covered: the loss grows without bound as the underlying rises',
      uncoveredUnits: slopeHigh.plus(coverUsed).neg().times(quantity).times(mult),
    };
  }
  if (coverUsed.gt(0) && cover.mark === null)
    return { bounded: false, reason: 'no price for the covering position' };
  const payoff = (s: Dec): Dec => {
    let v = ZERO;
    for (const l of legs) {
      let unit: Dec;
      if (l.kind === 'linear') unit = s;
      else {
        const k = dec(l.strike!);
        const intrinsic = l.right === 'call' ? s.minus(k) : k.minus(s);
        unit = intrinsic.gt(0) ? intrinsic : ZERO;
      }
      v = v.plus(unit.times(sign(l)));
    }
    if (coverUsed.gt(0)) v = v.plus(s.minus(cover.mark!).times(coverUsed));
    return v.minus(net);
  };
  const points = [ZERO, ...legs.filter((l) => l.kind === 'option').map((l) => dec(l.strike!))];
  let worst = payoff(points[0]!);
  let at = points[0]!;
  for (const p of points.slice(1)) {
    const v = payoff(p);
    if (v.lt(worst)) {
      worst = v;
      at = p;
    }
  }
  const loss = worst.lt(0) ? worst.neg() : ZERO;
  return { bounded: true, maxLoss: loss.times(quantity).times(mult), at };
}

/** One key per combo's economic content (strategy, type, quantity, net, legs): the duplicate guard. */
export function comboSignature(c: {
  readonly strategy: string;
  readonly orderType: string;
  readonly quantity: string;
  readonly netLimitPrice: string | null;
  readonly legs: readonly { readonly symbol: string; readonly side: ComboSide; readonly ratio: number }[];
}): string {
  const legs = [...c.legs]
    .map((l) => `${l.symbol}:${l.side}:${l.ratio}`)
    .sort()
    .join(',');
  const net = c.netLimitPrice === null ? '-' : dec(c.netLimitPrice).toString();
  return `${c.strategy}|${c.orderType}|${dec(c.quantity).toString()}|${net}|${legs}`;
}

/** One leg as the book shows it now: the touch it would take and the size displayed there. */
export interface ComboLegTouch {
  readonly side: ComboSide;
  readonly ratio: number;
  /** What the leg still has to fill (ratio × the combo's leaves). */
  readonly leaves: string;
  /** Buy: the ask; sell: the bid; null when that side is empty. */
  readonly price: string | null;
  readonly size: string | null;
}

export type ComboFillPlan =
  | { readonly fill: true; readonly net: Dec; readonly prices: readonly string[] }
  | {
      readonly fill: false;
      readonly reason: 'no_quote' | 'size' | 'price';
      /** The net at the touches when every leg has one (shown with a `price` wait). */
      readonly net: Dec | null;
    };

/**
 * All-or-none matching of a combo against the touches: it fills when every leg has a touch with
 * enough displayed size for its whole remainder and the net at those touches is within the limit
 * (any net for a market combo). Otherwise nothing fills. Each leg fills at its touch.
 */
export function comboFillPlan(legs: readonly ComboLegTouch[], limit: string | null): ComboFillPlan {
  if (legs.some((l) => l.price === null)) return { fill: false, reason: 'no_quote', net: null };
  const net = netPrice(legs.map((l) => ({ side: l.side, ratio: l.ratio, price: l.price! })));
  if (!isNetMarketable(net, limit)) return { fill: false, reason: 'price', net };
  if (legs.some((l) => l.size === null || dec(l.size).lt(dec(l.leaves))))
    return { fill: false, reason: 'size', net };
  return { fill: true, net, prices: legs.map((l) => l.price!) };
}
