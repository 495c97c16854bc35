import { dec } from '../accounting/decimal.ts';
import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { Derived, RiskLimits } from './types.ts';
import { failed, limitRemoved, passed } from './verdict.ts';

/** Max quantity of one order (instrument units: shares, coins, contracts). */
export function checkOrderQty(d: Derived, limits: RiskLimits): RuleVerdict {
  if (limits.maxOrderQty === null) return limitRemoved(RiskRule.ORDER_QTY, limits, 'maxOrderQty');
  const limit = dec(limits.maxOrderQty);
  if (d.qty.gt(limit)) {
    return failed(RiskRule.ORDER_QTY, RiskReason.MAX_ORDER_QTY, 'order quantity above the limit', {
      limit,
      requested: d.qty,
    });
  }
  return passed(RiskRule.ORDER_QTY, { limit, requested: d.qty });
}

/** Max notional of one order: quantity × price × multiplier, valued at the limit or touch price. */
export function checkOrderNotional(d: Derived, limits: RiskLimits): RuleVerdict {
  if (limits.maxOrderNotional === null)
    return limitRemoved(RiskRule.ORDER_NOTIONAL, limits, 'maxOrderNotional');
  const limit = dec(limits.maxOrderNotional);
  if (d.orderPrice === null) {
    // Deny by default: an order we cannot value cannot be shown to be inside the limit.
    return failed(RiskRule.ORDER_NOTIONAL, RiskReason.NO_REFERENCE_PRICE, 'no price to value the order', {
      limit,
    });
  }
  const notional = d.qty.times(d.orderPrice).times(d.multiplier);
  if (notional.gt(limit)) {
    return failed(RiskRule.ORDER_NOTIONAL, RiskReason.MAX_ORDER_NOTIONAL, 'order notional above the limit', {
      limit,
      requested: notional,
    });
  }
  return passed(RiskRule.ORDER_NOTIONAL, { limit, requested: notional });
}
