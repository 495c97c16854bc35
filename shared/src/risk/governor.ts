import { type Dec, dec } from '../accounting/decimal.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { buildBook, isRiskReducing, withOrder } from './book.ts';
import { checkCircuitBreaker } from './circuit-breaker.ts';
import { checkDailyLoss } from './daily-loss.ts';
import { bookTotalsBeforeAfter, checkGrossExposure, checkNetDelta, checkNetExposure } from './exposure.ts';
import { checkHalt } from './halt.ts';
import { checkInstrument } from './instrument.ts';
import { checkMarketHours } from './market-hours.ts';
import { checkDuplicate, checkThrottle } from './order-flow.ts';
import { checkOrderNotional, checkOrderQty } from './order-size.ts';
import { checkOpenLegs, checkPosition } from './position.ts';
import type { RiskDecision, RuleVerdict } from './reasons.ts';
import { checkPriceCollar, checkReferencePrice, checkSpread } from './reference-price.ts';
import type { Derived, OrderIntent, RiskContext, RiskLimits } from './types.ts';

export * from './limits.ts';
export * from './reasons.ts';
export type * from './types.ts';

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
  const [totalsBefore, totalsAfter] = bookTotalsBeforeAfter(before, after, ctx, price);

  const verdicts: RuleVerdict[] = [
    checkHalt(d, ctx),
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
