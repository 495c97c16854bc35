import { type Dec, decStr } from '../accounting/decimal.ts';
import { type RiskReason, RuleStatus, type RuleVerdict } from './reasons.ts';

type RiskRule = RuleVerdict['rule'];

import type { LimitKey, RiskLimits } from './types.ts';

type Num = Dec | number | string;
type Numbers = { limit?: Num; requested?: Num; current?: Num };
const s = (v: Num): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : decStr(v));
const numbers = (n: Numbers) => ({
  ...(n.limit !== undefined && { limit: s(n.limit) }),
  ...(n.requested !== undefined && { requested: s(n.requested) }),
  ...(n.current !== undefined && { current: s(n.current) }),
});

export function passed(rule: RiskRule, n: Numbers = {}): RuleVerdict {
  return { rule, status: RuleStatus.PASSED, passed: true, ...numbers(n) };
}

/** The rule had nothing to check for this order; `reason` says why (shown, never hidden). */
export function notApplicable(rule: RiskRule, reason: string, n: Numbers = {}): RuleVerdict {
  return { rule, status: RuleStatus.NOT_APPLICABLE, passed: true, message: reason, ...numbers(n) };
}

/** Not applicable because a desk admin removed the limit (the only way a limit is null). */
export const limitRemoved = (rule: RiskRule, limits: RiskLimits, key: LimitKey): RuleVerdict =>
  notApplicable(rule, limits.removed?.[key] ?? 'limit removed by a desk admin');

export function failed(rule: RiskRule, code: RiskReason, message: string, n: Numbers = {}): RuleVerdict {
  return { rule, status: RuleStatus.FAILED, passed: false, code, message, ...numbers(n) };
}
