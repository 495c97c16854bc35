import { type Dec, decStr } from '../accounting/decimal.ts';
import type { RiskReason, RiskRule, RuleVerdict } from './reasons.ts';

type Num = Dec | number | string;
const s = (v: Num): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : decStr(v));

export function passed(rule: RiskRule, n: { limit?: Num; requested?: Num; current?: Num } = {}): RuleVerdict {
  return {
    rule,
    passed: true,
    ...(n.limit !== undefined && { limit: s(n.limit) }),
    ...(n.requested !== undefined && { requested: s(n.requested) }),
    ...(n.current !== undefined && { current: s(n.current) }),
  };
}

export function skipped(rule: RiskRule, message = 'no limit configured'): RuleVerdict {
  return { rule, passed: true, skipped: true, message };
}

export function failed(
  rule: RiskRule,
  code: RiskReason,
  message: string,
  n: { limit?: Num; requested?: Num; current?: Num } = {},
): RuleVerdict {
  return {
    rule,
    passed: false,
    code,
    message,
    ...(n.limit !== undefined && { limit: s(n.limit) }),
    ...(n.requested !== undefined && { requested: s(n.requested) }),
    ...(n.current !== undefined && { current: s(n.current) }),
  };
}
