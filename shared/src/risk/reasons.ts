/**
 * The one catalogue of risk-governor rules and denial reasons. A denial always names its rule,
 * its reason code and the numbers (limit, requested, current), so the console, the audit log and
 * scripts can show exactly why an order did not go out.
 */
export const RiskRule = {
  ORDER_QTY: 'order_qty',
  ORDER_NOTIONAL: 'order_notional',
  POSITION: 'position',
  GROSS_EXPOSURE: 'gross_exposure',
  NET_EXPOSURE: 'net_exposure',
  NET_DELTA: 'net_delta',
  OPEN_LEGS: 'open_legs',
  DAILY_LOSS: 'daily_loss',
  REFERENCE_PRICE: 'reference_price',
  PRICE_COLLAR: 'price_collar',
  SPREAD: 'spread',
  MARKET_HOURS: 'market_hours',
  INSTRUMENT: 'instrument',
  DUPLICATE: 'duplicate',
  THROTTLE: 'throttle',
  CIRCUIT_BREAKER: 'circuit_breaker',
  HALT: 'halt',
} as const;
export type RiskRule = (typeof RiskRule)[keyof typeof RiskRule];

/** Rules only multi-leg (combo) orders have (shared/src/risk/combo.ts). */
export const ComboRiskRule = {
  /** The strategy's maximum loss at expiry: bounded, and within the max order notional. */
  MAX_LOSS: 'combo_max_loss',
} as const;
export type ComboRiskRule = (typeof ComboRiskRule)[keyof typeof ComboRiskRule];

export const RiskReason = {
  MAX_ORDER_QTY: 'MAX_ORDER_QTY',
  MAX_ORDER_NOTIONAL: 'MAX_ORDER_NOTIONAL',
  MAX_POSITION: 'MAX_POSITION',
  MAX_GROSS_EXPOSURE: 'MAX_GROSS_EXPOSURE',
  MAX_NET_EXPOSURE: 'MAX_NET_EXPOSURE',
  MAX_NET_DELTA: 'MAX_NET_DELTA',
  MAX_OPEN_LEGS: 'MAX_OPEN_LEGS',
  MAX_DAILY_LOSS: 'MAX_DAILY_LOSS',
  /** No price to value the order or a leg with (no limit price, no quote, no mark). */
  NO_REFERENCE_PRICE: 'NO_REFERENCE_PRICE',
  /** The reference quote is older than max_reference_age_ms; risk-increasing orders are blocked. */
  STALE_REFERENCE_PRICE: 'STALE_REFERENCE_PRICE',
  PRICE_OUTSIDE_COLLAR: 'PRICE_OUTSIDE_COLLAR',
  SPREAD_TOO_WIDE: 'SPREAD_TOO_WIDE',
  NO_QUOTE: 'NO_QUOTE',
  MARKET_CLOSED: 'MARKET_CLOSED',
  UNKNOWN_CALENDAR: 'UNKNOWN_CALENDAR',
  INSTRUMENT_RESTRICTED: 'INSTRUMENT_RESTRICTED',
  INSTRUMENT_HALTED: 'INSTRUMENT_HALTED',
  INSTRUMENT_DELISTED: 'INSTRUMENT_DELISTED',
  DUPLICATE_ORDER: 'DUPLICATE_ORDER',
  ORDER_RATE_EXCEEDED: 'ORDER_RATE_EXCEEDED',
  LOSS_STREAK: 'LOSS_STREAK',
  AUTOMATION_DISABLED: 'AUTOMATION_DISABLED',
  GLOBAL_HALT: 'GLOBAL_HALT',
  DESK_HALT: 'DESK_HALT',
  /** A combo whose loss has no bound (uncovered short calls, legs that cannot be valued together). */
  UNBOUNDED_LOSS: 'UNBOUNDED_LOSS',
} as const;
export type RiskReason = (typeof RiskReason)[keyof typeof RiskReason];

/**
 * A rule's status: `not_applicable` when the rule had nothing to check for this order (a market
 * order has no limit price to collar; a limit a desk admin removed). It never blocks, and its
 * `message` always says why, so the console shows it instead of hiding it.
 */
export const RuleStatus = { PASSED: 'passed', FAILED: 'failed', NOT_APPLICABLE: 'not_applicable' } as const;
export type RuleStatus = (typeof RuleStatus)[keyof typeof RuleStatus];

/** One rule's outcome. Numbers are decimal strings (money, quantities) or integer strings. */
export interface RuleVerdict {
  readonly rule: RiskRule | ComboRiskRule;
  readonly status: RuleStatus;
  /** False only for `failed`: kept for callers that need a yes/no. */
  readonly passed: boolean;
  readonly code?: RiskReason;
  readonly limit?: string;
  readonly requested?: string;
  readonly current?: string;
  /** Why it failed or is not applicable (always set for those), or a note on a pass. */
  readonly message?: string;
}

export interface RiskDecision {
  readonly allowed: boolean;
  /** Every rule, in catalogue order, passed or not, so the console can show each verdict. */
  readonly verdicts: readonly RuleVerdict[];
  /** The failed verdicts (a subset of `verdicts`). */
  readonly denials: readonly RuleVerdict[];
}
