import { dec } from '../accounting/decimal.ts';
import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { Derived, RiskContext, RiskLimits } from './types.ts';
import { failed, limitRemoved, passed } from './verdict.ts';

/**
 * Max daily loss: realized (net of fees) plus unrealized P&L since the desk's session start. Once
 * the loss reaches the limit only risk-reducing orders pass; the desk can still get flat.
 */
export function checkDailyLoss(d: Derived, ctx: RiskContext, limits: RiskLimits): RuleVerdict {
  if (limits.maxDailyLoss === null) return limitRemoved(RiskRule.DAILY_LOSS, limits, 'maxDailyLoss');
  const limit = dec(limits.maxDailyLoss);
  const loss = dec(ctx.dailyPnl.realized).plus(dec(ctx.dailyPnl.unrealized)).neg();
  if (loss.gte(limit) && !d.reducing) {
    return failed(
      RiskRule.DAILY_LOSS,
      RiskReason.MAX_DAILY_LOSS,
      'daily loss limit reached; only risk-reducing orders',
      {
        limit,
        current: loss,
      },
    );
  }
  return passed(RiskRule.DAILY_LOSS, { limit, current: loss });
}
