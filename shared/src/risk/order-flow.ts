import { dec } from '../accounting/decimal.ts';
import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { OrderIntent, RecentOrderInfo, RiskContext, RiskLimits } from './types.ts';
import { failed, limitRemoved, passed } from './verdict.ts';

const samePrice = (a: string | null | undefined, b: string | null | undefined) =>
  (a ?? null) === null ? (b ?? null) === null : (b ?? null) !== null && dec(a!).eq(dec(b!));

export const isSameOrder = (o: OrderIntent, r: RecentOrderInfo): boolean =>
  r.symbol === o.symbol &&
  r.side === o.side &&
  r.orderType === o.orderType &&
  dec(r.quantity).eq(dec(o.quantity)) &&
  samePrice(r.limitPrice, o.limitPrice) &&
  samePrice(r.stopPrice, o.stopPrice);

/** Duplicate guard: the same order (symbol, side, type, quantity, prices) within the window. */
export function checkDuplicate(order: OrderIntent, ctx: RiskContext, limits: RiskLimits): RuleVerdict {
  return checkDuplicateOf('order', ctx.recentOrders, ctx.now, limits, (r) => isSameOrder(order, r));
}

/**
 * The duplicate guard over any kind of recent send (orders here, combos in combo.ts): the first
 * one within the window that `same` matches fails the check.
 */
export function checkDuplicateOf<R extends { readonly createdAt: Date }>(
  kind: 'order' | 'combo',
  recent: readonly R[],
  now: Date,
  limits: RiskLimits,
  same: (r: R) => boolean,
): RuleVerdict {
  if (limits.duplicateWindowMs === null) return limitRemoved(RiskRule.DUPLICATE, limits, 'duplicateWindowMs');
  const since = now.getTime() - limits.duplicateWindowMs;
  const dup = recent.find((r) => r.createdAt.getTime() > since && same(r));
  if (dup) {
    return failed(
      RiskRule.DUPLICATE,
      RiskReason.DUPLICATE_ORDER,
      `same ${kind} sent within the duplicate window (ms)`,
      {
        limit: limits.duplicateWindowMs,
        current: now.getTime() - dup.createdAt.getTime(),
      },
    );
  }
  return passed(RiskRule.DUPLICATE, { limit: limits.duplicateWindowMs });
}

/** Order rate throttle: at most N orders per desk in any rolling 60 s (this one included). */
export function checkThrottle(ctx: RiskContext, limits: RiskLimits): RuleVerdict {
  if (limits.maxOrdersPerMinute === null)
    return limitRemoved(RiskRule.THROTTLE, limits, 'maxOrdersPerMinute');
  const since = ctx.now.getTime() - 60_000;
  const current =
    ctx.recentOrderCount ?? ctx.recentOrders.filter((r) => r.createdAt.getTime() > since).length;
  const requested = current + 1;
  if (requested > limits.maxOrdersPerMinute) {
    return failed(
      RiskRule.THROTTLE,
      RiskReason.ORDER_RATE_EXCEEDED,
      'order rate above the limit (per minute)',
      {
        limit: limits.maxOrdersPerMinute,
        requested,
        current,
      },
    );
  }
  return passed(RiskRule.THROTTLE, { limit: limits.maxOrdersPerMinute, requested, current });
}
