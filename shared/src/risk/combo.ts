import { type Dec, dec, decStr, ZERO } from '../accounting/decimal.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { comboMaxLoss, comboSignature, netPrice, type PayoffLeg } from '../orders/combo.ts';
import { type BookLeg, buildBook, isRiskReducing, legOf } from './book.ts';
import { checkCircuitBreaker } from './circuit-breaker.ts';
import { checkDailyLoss } from './daily-loss.ts';
import { bookTotalsBeforeAfter, checkGrossExposure, checkNetDelta, checkNetExposure } from './exposure.ts';
import { checkHalt } from './halt.ts';
import { checkInstrument } from './instrument.ts';
import { checkMarketHours } from './market-hours.ts';
import { checkDuplicateOf, checkThrottle } from './order-flow.ts';
import { checkOrderQty } from './order-size.ts';
import { checkOpenLegs, checkPosition } from './position.ts';
import { ComboRiskRule, type RiskDecision, RiskReason, type RuleVerdict } from './reasons.ts';
import { checkReferencePrice, checkSpread } from './reference-price.ts';
import type {
  Derived,
  InstrumentInfo,
  OrderIntent,
  OrderOrigin,
  QuoteInfo,
  RiskContext,
  RiskLimits,
} from './types.ts';
import { failed, limitRemoved, passed } from './verdict.ts';

/**
 * The risk governor for multi-leg (combo) orders. A combo fills all-or-none, so it is judged as
 * one trade: every leg is applied to the desk's book as filled, and the portfolio rules (kill
 * switch, circuit breaker, exposure, net delta, open legs, daily loss, throttle, duplicate) run
 * once on that book; the rules about one instrument (status, market hours, quantity, position,
 * reference price age, spread) run per leg against that leg's instrument, quote and limits; and
 * the strategy's maximum loss must be bounded and within the desk's max order notional. Every
 * verdict's message names the leg it is about, or says it is about the whole combo.
 */

export interface ComboLegIntent {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly ratio: number;
  /** The leg's own quantity: ratio × combo quantity. */
  readonly quantity: string;
}

export interface ComboIntent {
  readonly strategy: string;
  readonly orderType: 'market' | 'limit';
  /** Combo units. */
  readonly quantity: string;
  /** Signed net limit per combo unit (null for market). */
  readonly netLimitPrice: string | null;
  readonly legs: readonly ComboLegIntent[];
  readonly origin: OrderOrigin;
}

/** What the governor knows of one leg's instrument. */
export interface ComboLegContext {
  readonly instrument: InstrumentInfo;
  readonly quote: QuoteInfo | null;
  /** Effective limits for the leg's instrument (desk row merged with its instrument row). */
  readonly limits: RiskLimits;
  readonly payoff: PayoffLeg;
}

export interface RecentComboInfo {
  readonly signature: string;
  readonly createdAt: Date;
}

export interface ComboRiskContext extends Omit<RiskContext, 'instrument' | 'quote'> {
  readonly legs: Readonly<Record<string, ComboLegContext>>;
  /** Combos of the desk in the duplicate window, newest first (their signatures). */
  readonly recentCombos: readonly RecentComboInfo[];
}

export interface ComboDecision extends RiskDecision {
  /** The strategy's maximum loss in money at the order's net price; null when unbounded or unknown. */
  readonly maxLoss: string | null;
  /** The net price per combo unit the rules valued (the limit, or the touches for market). */
  readonly netPrice: string | null;
}

const legLabel = (l: ComboLegIntent) => `leg ${l.symbol} (${l.side} ${l.ratio}×)`;
const about = (v: RuleVerdict, who: string): RuleVerdict => ({
  ...v,
  message: v.message ? `${who}: ${v.message}` : who,
});

/** The net price per combo unit at the touches (buys at the ask, sells at the bid), or null. */
export function touchNetPrice(
  legs: readonly ComboLegIntent[],
  quoteOf: (symbol: string) => QuoteInfo | null,
): Dec | null {
  const prices = [];
  for (const l of legs) {
    const q = quoteOf(l.symbol);
    const px = l.side === 'buy' ? q?.ask : q?.bid;
    if (!px) return null;
    prices.push({ side: l.side, ratio: l.ratio, price: px });
  }
  return netPrice(prices);
}

/** The book with every leg filled: positions moved by each leg's signed quantity. */
function afterFill(
  book: ReadonlyMap<string, BookLeg>,
  legs: readonly ComboLegIntent[],
): Map<string, BookLeg> {
  const next = new Map(book);
  for (const l of legs) {
    const cur = legOf(next, l.symbol);
    const q = dec(l.quantity);
    next.set(l.symbol, { ...cur, position: l.side === 'buy' ? cur.position.plus(q) : cur.position.minus(q) });
  }
  return next;
}

export function evaluateCombo(combo: ComboIntent, ctx: ComboRiskContext, limits: RiskLimits): ComboDecision {
  const qty = dec(combo.quantity);
  if (!qty.isFinite() || qty.lte(0))
    throw new AppError(ErrorCode.BAD_INPUT, 'combo quantity must be positive');
  if (combo.legs.length < 2) throw new AppError(ErrorCode.BAD_INPUT, 'a combo needs at least two legs');
  for (const l of combo.legs) {
    if (!ctx.legs[l.symbol]) throw new AppError(ErrorCode.BAD_INPUT, `risk context lacks leg ${l.symbol}`);
  }
  const first = ctx.legs[combo.legs[0]!.symbol]!;
  const instruments: Record<string, InstrumentInfo> = { ...ctx.instruments };
  for (const [s, l] of Object.entries(ctx.legs)) instruments[s] = l.instrument;
  const base: RiskContext = { ...ctx, instrument: first.instrument, instruments, quote: first.quote };
  const legCtx = (l: ComboLegIntent): RiskContext => ({
    ...base,
    instrument: ctx.legs[l.symbol]!.instrument,
    quote: ctx.legs[l.symbol]!.quote,
  });

  const before = buildBook(ctx);
  const after = afterFill(before, combo.legs);
  // Risk-reducing only when every leg is: a combo that opens anything is judged as opening.
  const reducing = combo.legs.every((l) => isRiskReducing(before, l));
  const net =
    combo.orderType === 'limit' && combo.netLimitPrice !== null
      ? dec(combo.netLimitPrice)
      : touchNetPrice(combo.legs, (s) => ctx.legs[s]?.quote ?? null);
  // Marks for legs without one yet (a new contract): their touch, so exposure can be valued.
  const marks: Record<string, string> = { ...ctx.marks };
  for (const l of combo.legs) {
    if (marks[l.symbol] !== undefined) continue;
    const q = ctx.legs[l.symbol]!.quote;
    const px = q?.bid && q.ask ? dec(q.bid).plus(dec(q.ask)).div(2) : q?.last ? dec(q.last) : null;
    if (px) marks[l.symbol] = decStr(px);
  }
  const valued = { ...base, marks };
  const [totalsBefore, totalsAfter] = bookTotalsBeforeAfter(before, after, valued, null);
  const derivedOf = (l: ComboLegIntent): Derived => {
    const q = dec(l.quantity);
    return {
      qty: q,
      signedQty: l.side === 'buy' ? q : q.neg(),
      multiplier: dec(ctx.legs[l.symbol]!.instrument.multiplier),
      orderPrice: null,
      position: before.get(l.symbol)?.position ?? ZERO,
      reducing,
    };
  };
  const whole: Derived = { ...derivedOf(combo.legs[0]!), reducing };
  const legIntent = (l: ComboLegIntent): OrderIntent => ({
    symbol: l.symbol,
    side: l.side,
    orderType: 'market',
    quantity: l.quantity,
    origin: combo.origin,
  });

  const verdicts: RuleVerdict[] = [];
  const forCombo = (v: RuleVerdict) => verdicts.push(about(v, 'combo (all legs)'));
  forCombo(checkHalt(whole, base));
  forCombo(checkCircuitBreaker(legIntent(combo.legs[0]!), base, limits));
  for (const l of combo.legs) {
    const c = legCtx(l);
    const ll = ctx.legs[l.symbol]!.limits;
    const d = derivedOf(l);
    verdicts.push(about(checkInstrument(c, ll), legLabel(l)));
    verdicts.push(about(checkMarketHours(c), legLabel(l)));
    verdicts.push(about(checkOrderQty(d, ll), legLabel(l)));
    verdicts.push(about(checkPosition(legIntent(l), before, after, ll), legLabel(l)));
    verdicts.push(about(checkReferencePrice(d, c, ll), legLabel(l)));
    verdicts.push(about(checkSpread(c, ll), legLabel(l)));
  }
  forCombo(checkGrossExposure(totalsBefore, totalsAfter, limits));
  forCombo(checkNetExposure(totalsBefore, totalsAfter, limits));
  forCombo(checkNetDelta(totalsBefore, totalsAfter, limits));
  forCombo(checkOpenLegs(before, after, limits));
  forCombo(checkDailyLoss(whole, base, limits));
  const loss = checkMaxLoss(combo, ctx, limits, net);
  forCombo(loss.verdict);
  forCombo(checkComboDuplicate(combo, ctx, limits));
  forCombo(checkThrottle(base, limits));
  const denials = verdicts.filter((v) => !v.passed);
  return {
    allowed: denials.length === 0,
    verdicts,
    denials,
    maxLoss: loss.maxLoss,
    netPrice: net === null ? null : decStr(net),
  };
}

/**
 * The strategy's maximum loss at expiry must be bounded and within the desk's max order
 * notional: a combo's legs can be far larger in notional than what the desk can lose on it
 * (a vertical's two legs vs its width), so the limit on what one order may put at risk is
 * applied to the loss, not to the legs' notional.
 */
function checkMaxLoss(
  combo: ComboIntent,
  ctx: ComboRiskContext,
  limits: RiskLimits,
  net: Dec | null,
): { verdict: RuleVerdict; maxLoss: string | null } {
  const rule = ComboRiskRule.MAX_LOSS;
  if (net === null) {
    return {
      verdict: failed(
        rule,
        RiskReason.NO_REFERENCE_PRICE,
        'no two-sided quote on every leg to price the combo',
      ),
      maxLoss: null,
    };
  }
  const payoff = combo.legs.map((l) => ({ ...ctx.legs[l.symbol]!.payoff, side: l.side, ratio: l.ratio }));
  const underlying = payoff[0]?.underlying ?? null;
  const held = underlying ? ctx.positions.find((p) => p.symbol === underlying) : undefined;
  const heldQty = held ? dec(held.quantity) : ZERO;
  const uMult = underlying ? dec(ctx.instruments[underlying]?.multiplier ?? '1') : ZERO;
  const markStr = underlying ? ctx.marks[underlying] : undefined;
  const result = comboMaxLoss(payoff, net, dec(combo.quantity), {
    units: heldQty.gt(0) ? heldQty.times(uMult) : ZERO,
    mark: markStr !== undefined ? dec(markStr) : null,
  });
  if (!result.bounded) {
    return {
      verdict: failed(
        rule,
        RiskReason.UNBOUNDED_LOSS,
        `maximum loss is unbounded (${result.reason})`,
        result.uncoveredUnits ? { requested: result.uncoveredUnits.toDecimalPlaces(12) } : {},
      ),
      maxLoss: null,
    };
  }
  const maxLoss = decStr(result.maxLoss.toDecimalPlaces(12));
  if (limits.maxOrderNotional === null) {
    return { verdict: limitRemoved(rule, limits, 'maxOrderNotional'), maxLoss };
  }
  const limit = dec(limits.maxOrderNotional);
  if (result.maxLoss.gt(limit)) {
    return {
      verdict: failed(
        rule,
        RiskReason.MAX_ORDER_NOTIONAL,
        'strategy maximum loss above the max order notional limit',
        { limit, requested: result.maxLoss },
      ),
      maxLoss,
    };
  }
  return {
    verdict: {
      ...passed(rule, { limit, requested: result.maxLoss }),
      message: 'strategy maximum loss, bounded by the max order notional limit',
    },
    maxLoss,
  };
}

/** Duplicate guard for combos: the same strategy, quantity, net and legs within the window. */
function checkComboDuplicate(combo: ComboIntent, ctx: ComboRiskContext, limits: RiskLimits): RuleVerdict {
  const sig = comboSignature({
    ...combo,
    netLimitPrice: combo.orderType === 'limit' ? combo.netLimitPrice : null,
  });
  return checkDuplicateOf('combo', ctx.recentCombos, ctx.now, limits, (r) => r.signature === sig);
}
