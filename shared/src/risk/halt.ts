import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { Derived, RiskContext } from './types.ts';
import { failed, passed } from './verdict.ts';

/**
 * Halt, reducing mode: while the global or the desk switch is engaged only risk-reducing
 * orders pass (cancels never reach the governor: they are always allowed).
 */
export function checkHalt(d: Derived, ctx: RiskContext): RuleVerdict {
  if (!ctx.halt.global && !ctx.halt.desk) return passed(RiskRule.HALT);
  if (d.reducing) return { ...passed(RiskRule.HALT), message: 'halted: risk-reducing order allowed' };
  return ctx.halt.global
    ? failed(RiskRule.HALT, RiskReason.GLOBAL_HALT, 'global halt engaged; only risk-reducing orders')
    : failed(RiskRule.HALT, RiskReason.DESK_HALT, 'desk halt engaged; only risk-reducing orders');
}
