import { type Dec, dec } from '../accounting/decimal.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { buildBook, isRiskReducing, withOrder } from './book.ts';
import {
  checkCircuitBreaker,
  DEFAULT_LOSS_STREAK_COUNT,
  DEFAULT_LOSS_STREAK_THRESHOLD,
} from './circuit-breaker.ts';
import { checkDailyLoss } from './daily-loss.ts';
import { bookTotals, checkGrossExposure, checkNetDelta, checkNetExposure } from './exposure.ts';
import { checkInstrument } from './instrument.ts';
import { checkKillSwitch } from './kill-switch.ts';
import { checkMarketHours } from './market-hours.ts';
import { checkDuplicate, checkThrottle } from './order-flow.ts';
import { checkOrderNotional, checkOrderQty } from './order-size.ts';
import { checkOpenLegs, checkPosition } from './position.ts';
import type { RiskDecision, RuleVerdict } from './reasons.ts';
import { checkPriceCollar, checkReferencePrice, checkSpread } from './reference-price.ts';
import type { Derived, OrderIntent, RiskContext, RiskLimits } from './types.ts';

export * from './reasons.ts';
export type * from './types.ts';

/**
 * Limits a desk gets before it configures any (no '*' row): the protective rules are on, the
 * money limits are for the desk to set. Once a desk row exists its nulls mean "no limit".
 */
export const DEFAULT_RISK_LIMITS: RiskLimits = Object.freeze({
  maxOrderQty: null,
  maxOrderNotional: null,
  maxPosition: null,
  maxGrossExposure: null,
  maxNetExposure: null,
  maxNetDelta: null,
  maxOpenLegs: null,
  maxDailyLoss: null,
  priceCollarBps: 500,
  maxReferenceAgeMs: 5_000,
  maxSpreadBps: 200,
  duplicateWindowMs: 2_000,
  maxOrdersPerMinute: 60,
  lossStreakCount: DEFAULT_LOSS_STREAK_COUNT,
  lossStreakThreshold: DEFAULT_LOSS_STREAK_THRESHOLD,
  restricted: false,
});

export type LimitRow = { [K in keyof RiskLimits]?: RiskLimits[K] | undefined };

const DECIMAL_KEYS = [
  'maxOrderQty',
  'maxOrderNotional',
  'maxPosition',
  'maxGrossExposure',
  'maxNetExposure',
  'maxNetDelta',
  'maxDailyLoss',
  'lossStreakThreshold',
] as const;
const INT_KEYS = [
  'maxOpenLegs',
  'priceCollarBps',
  'maxReferenceAgeMs',
  'maxSpreadBps',
  'duplicateWindowMs',
  'maxOrdersPerMinute',
  'lossStreakCount',
] as const;

/**
 * Effective limits for one order: the desk row ('*', or the defaults when the desk has none)
 * merged with the instrument's row; where both set a limit the stricter (smaller) wins.
 */
export function resolveLimits(desk: LimitRow | null, instrument: LimitRow | null): RiskLimits {
  const base: LimitRow = desk ?? DEFAULT_RISK_LIMITS;
  const out: Record<string, unknown> = { restricted: Boolean(base.restricted || instrument?.restricted) };
  for (const k of DECIMAL_KEYS) {
    const a = base[k] ?? null;
    const b = instrument?.[k] ?? null;
    out[k] = a === null ? b : b === null ? a : dec(a).lte(dec(b)) ? a : b;
  }
  for (const k of INT_KEYS) {
    const a = base[k] ?? null;
    const b = instrument?.[k] ?? null;
    out[k] = a === null ? b : b === null ? a : Math.min(a, b);
  }
  return out as unknown as RiskLimits;
}

/** Price used to value the order: its limit, its stop, else the touch it would take, else the last. */
function orderPrice(order: OrderIntent, ctx: RiskContext): Dec | null {
  if ((order.orderType === 'limit' || order.orderType === 'stop_limit') && order.limitPrice)
    return dec(order.limitPrice);
  if (order.orderType === 'stop' && order.stopPrice) return dec(order.stopPrice);
  const q = ctx.quote;
  const touch = order.side === 'buy' ? q?.ask : q?.bid;
  if (touch) return dec(touch);
  if (q?.last) return dec(q.last);
  const mark = ctx.marks[order.symbol];
  return mark !== undefined ? dec(mark) : null;
}

/**
 * The risk governor: every order, from a person, an API key or the agent, passes here
 * synchronously before anything is sent to a broker. Every rule is evaluated (no short-circuit)
 * so the console can show each verdict; the order is allowed only if all pass. Pure: the caller
 * loads `ctx` and `limits` in the same transaction that writes the order.
 */
export function evaluateOrder(order: OrderIntent, ctx: RiskContext, limits: RiskLimits): RiskDecision {
  const qty = dec(order.quantity);
  if (!qty.isFinite() || qty.lte(0))
    throw new AppError(ErrorCode.BAD_INPUT, 'order quantity must be positive');
  if (order.symbol !== ctx.instrument.symbol) {
    throw new AppError(ErrorCode.BAD_INPUT, 'risk context is for another instrument');
  }
  const before = buildBook(ctx);
  const after = withOrder(before, order);
  const price = orderPrice(order, ctx);
  const d: Derived = {
    qty,
    signedQty: order.side === 'buy' ? qty : qty.neg(),
    multiplier: dec(ctx.instrument.multiplier),
    orderPrice: price,
    position: before.get(order.symbol)?.position ?? dec(0),
    reducing: isRiskReducing(before, order),
  };
  const totalsBefore = bookTotals(before, ctx, price);
  const totalsAfter = bookTotals(after, ctx, price);

  const verdicts: RuleVerdict[] = [
    checkKillSwitch(d, ctx),
    checkInstrument(ctx, limits),
    checkMarketHours(ctx),
    checkCircuitBreaker(order, ctx, limits),
    checkOrderQty(d, limits),
    checkOrderNotional(d, limits),
    checkPosition(order, before, after, limits),
    checkGrossExposure(totalsBefore, totalsAfter, limits),
    checkNetExposure(totalsBefore, totalsAfter, limits),
    checkNetDelta(totalsBefore, totalsAfter, limits),
    checkOpenLegs(before, after, limits),
    checkDailyLoss(d, ctx, limits),
    checkReferencePrice(d, ctx, limits),
    checkPriceCollar(order, d, ctx, limits),
    checkSpread(ctx, limits),
    checkDuplicate(order, ctx, limits),
    checkThrottle(ctx, limits),
  ];
  const denials = verdicts.filter((v) => !v.passed);
  return { allowed: denials.length === 0, verdicts, denials };
}
