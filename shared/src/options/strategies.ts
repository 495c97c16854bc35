import { Dec, dec, decStr, ZERO } from '../accounting/decimal.ts';
import type { ChainContractView } from '../schemas/option-chain.ts';
import { type HedgePlan, planHedge } from './delta-hedge.ts';

/**
 * The strategies the recommender builds from a chain (pure): a single long option, a debit
 * vertical in the view's direction, and the underlying quantity that hedges a desk's delta.
 * Prices are the legs' mids (decimal strings); per-unit amounts are per strategy unit (one
 * contract of each leg), multiplier applied where the name says so.
 */

export interface StrategyLeg {
  readonly contract: ChainContractView;
  readonly side: 'buy' | 'sell';
  readonly ratio: number;
  /** Mid per unit (decimal string). */
  readonly price: string;
  /** Per-unit delta of the contract (multiplier not applied). */
  readonly delta: number;
}

export interface StrategyQuote {
  readonly strategy: 'single' | 'vertical';
  readonly legs: readonly StrategyLeg[];
  /** Net premium per unit, in price units (positive: a debit paid). */
  readonly netPrice: string;
  /** Worst case of one strategy unit, multiplier applied. */
  readonly maxLossPerUnit: string;
  /** Best case of one strategy unit, multiplier applied; null: unbounded. */
  readonly maxGainPerUnit: string | null;
  /** Underlying prices at expiry where the position breaks even. */
  readonly breakevens: readonly string[];
  /** Position delta of one strategy unit in underlying units (multiplier applied). */
  readonly deltaPerUnit: number;
  /** How the per-unit loss and gain were computed, for the sizing layer. */
  readonly lossFormula: string;
  readonly gainFormula: string;
}

export type StrategyOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/** The short leg of a vertical aims at this share of the long leg's |delta|. */
export const SHORT_LEG_DELTA_SHARE = 0.5;

const usable = (c: ChainContractView): c is ChainContractView & { mid: string; greeks: { delta: number } } =>
  c.mid !== null && c.greeks !== null && Number(c.mid) > 0;

/** A long call (bullish) or a long put (bearish): the loss is the premium paid. */
export function singleLong(contract: ChainContractView, multiplier: string): StrategyOutcome<StrategyQuote> {
  if (!usable(contract))
    return { ok: false, reason: `${contract.symbol} has no two-sided quote or no Greeks` };
  const mult = dec(multiplier);
  const premium = dec(contract.mid);
  const strike = dec(contract.strike);
  const call = contract.right === 'call';
  // A put cannot gain more than the strike less the premium (the underlying stops at zero).
  const maxGain = call ? null : strike.minus(premium).times(mult);
  return {
    ok: true,
    value: {
      strategy: 'single',
      legs: [{ contract, side: 'buy', ratio: 1, price: contract.mid, delta: contract.greeks.delta }],
      netPrice: decStr(premium),
      maxLossPerUnit: decStr(premium.times(mult)),
      maxGainPerUnit: maxGain === null ? null : decStr(Dec.max(maxGain, ZERO)),
      breakevens: [decStr(call ? strike.plus(premium) : strike.minus(premium))],
      deltaPerUnit: contract.greeks.delta * Number(multiplier),
      lossFormula: 'premium × multiplier',
      gainFormula: call ? 'unbounded' : '(strike − premium) × multiplier',
    },
  };
}

/**
 * The short leg of a debit vertical: same expiry and right, strike further out of the money
 * than the long leg (higher for calls, lower for puts), |delta| closest to half the long leg's.
 * `pool` is the chain after the preset's quote, liquidity and spread filters, so the short leg
 * is as tradeable as the long one.
 */
export function pickShortLeg(
  long: ChainContractView,
  pool: readonly ChainContractView[],
): StrategyOutcome<ChainContractView> {
  if (!usable(long)) return { ok: false, reason: `${long.symbol} has no two-sided quote or no Greeks` };
  const target = Math.abs(long.greeks.delta) * SHORT_LEG_DELTA_SHARE;
  const k = Number(long.strike);
  let best: ChainContractView | null = null;
  let bestGap = Number.POSITIVE_INFINITY;
  for (const c of pool) {
    if (c.expiry !== long.expiry || c.right !== long.right || !usable(c)) continue;
    const further = long.right === 'call' ? Number(c.strike) > k : Number(c.strike) < k;
    if (!further) continue;
    const gap = Math.abs(Math.abs(c.greeks.delta) - target);
    // Ties go to the strike nearer the long leg (narrower, cheaper to get wrong).
    if (
      gap < bestGap ||
      (gap === bestGap && best && Math.abs(Number(c.strike) - k) < Math.abs(Number(best.strike) - k))
    ) {
      best = c;
      bestGap = gap;
    }
  }
  if (!best) {
    return {
      ok: false,
      reason: `no tradeable ${long.right} on ${long.expiry} further out of the money than ${long.strike} passes the filters`,
    };
  }
  return { ok: true, value: best };
}

/**
 * A debit vertical: buy `long`, sell `short` (same expiry, short further out of the money).
 * Loss is the net debit; gain is the width less the debit; one breakeven at the long strike
 * plus (calls) or minus (puts) the debit.
 */
export function debitVertical(
  long: ChainContractView,
  short: ChainContractView,
  multiplier: string,
): StrategyOutcome<StrategyQuote> {
  if (!usable(long) || !usable(short))
    return { ok: false, reason: 'a leg has no two-sided quote or no Greeks' };
  if (long.expiry !== short.expiry || long.right !== short.right) {
    return { ok: false, reason: 'a vertical needs two legs of one expiry and one right' };
  }
  const mult = dec(multiplier);
  const debit = dec(long.mid).minus(dec(short.mid));
  const width = dec(long.strike).minus(dec(short.strike)).abs();
  if (debit.lte(ZERO)) {
    return { ok: false, reason: `the vertical ${long.strike}/${short.strike} costs no debit at the mids` };
  }
  if (debit.gte(width)) {
    return {
      ok: false,
      reason: `the debit ${decStr(debit)} is not below the width ${decStr(width)}: nothing to gain`,
    };
  }
  const call = long.right === 'call';
  const kLong = dec(long.strike);
  return {
    ok: true,
    value: {
      strategy: 'vertical',
      legs: [
        { contract: long, side: 'buy', ratio: 1, price: long.mid, delta: long.greeks.delta },
        { contract: short, side: 'sell', ratio: 1, price: short.mid, delta: short.greeks.delta },
      ],
      netPrice: decStr(debit),
      maxLossPerUnit: decStr(debit.times(mult)),
      maxGainPerUnit: decStr(width.minus(debit).times(mult)),
      breakevens: [decStr(call ? kLong.plus(debit) : kLong.minus(debit))],
      deltaPerUnit: (long.greeks.delta - short.greeks.delta) * Number(multiplier),
      lossFormula: 'net debit × multiplier',
      gainFormula: '(width − net debit) × multiplier',
    },
  };
}

/**
 * The per-unit loss of a credit vertical ((width − credit) × multiplier): documented for the
 * sizing rule; the recommender itself proposes debit verticals only.
 */
export function creditVerticalMaxLoss(width: string, credit: string, multiplier: string): string {
  return decStr(dec(width).minus(dec(credit)).times(dec(multiplier)));
}

/**
 * The underlying order that brings `netDelta` (underlying units) nearest to zero in whole lots:
 * the exact quantity −netDelta / unitDelta rounded to the nearest lot. Expressed through the
 * hedger's plan with a band of half a lot's delta, so a remainder under half a lot stays.
 */
export function hedgeToZero(netDelta: number, unitDelta: number, lotSize: string): HedgePlan {
  const lotDelta = Math.abs(Number(lotSize) * unitDelta);
  if (!(lotDelta > 0)) return { kind: 'too_small', reason: 'the underlying has no delta or no lot size' };
  return planHedge({ netDelta, band: lotDelta / 2, unitDelta, lotSize });
}

/**
 * Whole units of a strategy the capital can risk: floor(capital × maxLossShare / maxLossPerUnit).
 * `budget` is the loss allowed; `quantity` 0 means even one unit loses more than that.
 */
export function sizeByMaxLoss(
  capital: string,
  maxLossShare: number,
  maxLossPerUnit: string,
): { readonly budget: string; readonly quantity: string } {
  const budget = dec(capital).times(new Dec(String(maxLossShare)));
  const perUnit = dec(maxLossPerUnit);
  const quantity = perUnit.gt(ZERO) ? budget.div(perUnit).floor() : ZERO;
  return { budget: decStr(budget), quantity: decStr(quantity) };
}
