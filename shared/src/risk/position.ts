import { dec } from '../accounting/decimal.ts';
import { type Book, isOpen, worstAbs } from './book.ts';
import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { OrderIntent, RiskLimits } from './types.ts';
import { failed, limitRemoved, passed } from './verdict.ts';

/**
 * Max absolute position in the ordered instrument, with working orders counted at once. An
 * order that does not make the worst case worse passes even above the limit, so a desk over a
 * lowered limit can still trade out of it.
 */
export function checkPosition(
  order: OrderIntent,
  before: Book,
  after: Book,
  limits: RiskLimits,
): RuleVerdict {
  if (limits.maxPosition === null) return limitRemoved(RiskRule.POSITION, limits, 'maxPosition');
  const limit = dec(limits.maxPosition);
  const current = before.get(order.symbol);
  const currentAbs = current ? worstAbs(current) : dec(0);
  const projected = worstAbs(after.get(order.symbol)!);
  if (projected.gt(limit) && projected.gt(currentAbs)) {
    return failed(RiskRule.POSITION, RiskReason.MAX_POSITION, 'position would exceed the limit', {
      limit,
      requested: projected,
      current: currentAbs,
    });
  }
  return passed(RiskRule.POSITION, { limit, requested: projected, current: currentAbs });
}

/** Max number of instruments with a position or a working order (legs). */
export function checkOpenLegs(before: Book, after: Book, limits: RiskLimits): RuleVerdict {
  if (limits.maxOpenLegs === null) return limitRemoved(RiskRule.OPEN_LEGS, limits, 'maxOpenLegs');
  const count = (b: Book) => [...b.values()].filter(isOpen).length;
  const current = count(before);
  const projected = count(after);
  if (projected > limits.maxOpenLegs && projected > current) {
    return failed(RiskRule.OPEN_LEGS, RiskReason.MAX_OPEN_LEGS, 'too many open legs', {
      limit: limits.maxOpenLegs,
      requested: projected,
      current,
    });
  }
  return passed(RiskRule.OPEN_LEGS, { limit: limits.maxOpenLegs, requested: projected, current });
}
