import { dec } from '../accounting/decimal.ts';
import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { OrderIntent, RiskContext, RiskLimits } from './types.ts';
import { failed, notApplicable, passed } from './verdict.ts';

/**
 * True when the `count` most recent closed trades (newest first) are all losses worse than
 * `threshold` (a positive amount: a loss of exactly the threshold does not count).
 */
export function isLossStreak(recentTradePnls: readonly string[], count: number, threshold: string): boolean {
  if (count <= 0 || recentTradePnls.length < count) return false;
  const floor = dec(threshold).neg();
  return recentTradePnls.slice(0, count).every((p) => dec(p).lt(floor));
}

/** Automated orders (agent, API keys) are the ones the circuit breaker stops. */
export const isAutomated = (o: Pick<OrderIntent, 'origin'>) => o.origin !== 'human';

/**
 * Circuit breaker: after N consecutive losing trades each worse than the threshold, automated
 * trading stops until a human re-enables it (the execution service persists the trip in
 * agent_settings.automation_enabled; this rule also denies on the streak itself, so the order
 * that would follow the streak is stopped even before the flag is written). Human orders pass.
 */
export function checkCircuitBreaker(order: OrderIntent, ctx: RiskContext, limits: RiskLimits): RuleVerdict {
  if (!isAutomated(order)) {
    return notApplicable(
      RiskRule.CIRCUIT_BREAKER,
      'orders placed by a person are not stopped by the circuit breaker',
    );
  }
  if (!ctx.automationEnabled) {
    return failed(
      RiskRule.CIRCUIT_BREAKER,
      RiskReason.AUTOMATION_DISABLED,
      'automated trading is disabled for the desk',
    );
  }
  const count = limits.lossStreakCount;
  const threshold = limits.lossStreakThreshold;
  // A removed streak limit switches off the streak check only; a tripped breaker still holds.
  if (count === null || threshold === null) {
    return notApplicable(
      RiskRule.CIRCUIT_BREAKER,
      limits.removed?.lossStreakCount ?? limits.removed?.lossStreakThreshold ?? 'loss streak limit removed',
    );
  }
  if (isLossStreak(ctx.recentTradePnls, count, threshold)) {
    return failed(
      RiskRule.CIRCUIT_BREAKER,
      RiskReason.LOSS_STREAK,
      'consecutive losing trades beyond the threshold',
      {
        limit: count,
        current: count,
        requested: threshold,
      },
    );
  }
  return passed(RiskRule.CIRCUIT_BREAKER, { limit: count });
}
