import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { Derived, RiskContext } from './types.ts';
import { failed, passed } from './verdict.ts';

/**
 * Kill switch, reducing mode: while the global or the desk switch is engaged only risk-reducing
 * orders pass (cancels never reach the governor: they are always allowed).
 */
export function checkKillSwitch(d: Derived, ctx: RiskContext): RuleVerdict {
  if (!ctx.halt.global && !ctx.halt.desk) return passed(RiskRule.KILL_SWITCH);
  if (d.reducing) return { ...passed(RiskRule.KILL_SWITCH), message: 'halted: risk-reducing order allowed' };
  return ctx.halt.global
    ? failed(
        RiskRule.KILL_SWITCH,
        RiskReason.GLOBAL_HALT,
        'global kill switch engaged; only risk-reducing orders',
      )
    : failed(
        RiskRule.KILL_SWITCH,
        RiskReason.DESK_HALT,
        'desk kill switch engaged; only risk-reducing orders',
      );
}
