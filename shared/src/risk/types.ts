import type { Dec } from '../accounting/decimal.ts';

export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type OrderOrigin = 'human' | 'api' | 'agent';

/** The order being checked. Quantities and prices are decimal strings, as at every edge. */
export interface OrderIntent {
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly quantity: string;
  readonly limitPrice?: string | null;
  readonly stopPrice?: string | null;
  /** Who placed it: `agent` and `api` are automated and stop at the circuit breaker. */
  readonly origin: OrderOrigin;
}

/** Reference data of one instrument, as the governor needs it. */
export interface InstrumentInfo {
  readonly symbol: string;
  readonly assetClass: 'equity' | 'crypto' | 'future' | 'option' | 'fx';
  readonly multiplier: string;
  /** `24x7`, `XNYS`, `XNAS`, `CME`, `CBOT` (see calendars.ts). */
  readonly calendar: string;
  readonly status: 'active' | 'halted' | 'delisted';
  /** Options: the underlying's symbol, used to value delta; null for linear instruments. */
  readonly underlyingSymbol?: string | null;
  /** Options: delta per unit from the instrument's greeks; linear instruments have delta 1. */
  readonly delta?: number | null;
}

export interface PositionInfo {
  readonly symbol: string;
  /** Signed: positive long, negative short. */
  readonly quantity: string;
}

/** A working order (accepted or pending, not terminal): its unfilled quantity counts at once. */
export interface WorkingOrderInfo {
  readonly symbol: string;
  readonly side: Side;
  readonly leavesQty: string;
  readonly limitPrice?: string | null;
}

export interface QuoteInfo {
  readonly bid?: string | null;
  readonly ask?: string | null;
  readonly last?: string | null;
  /** Exchange time of the quote (tsEvent). */
  readonly ts: Date;
}

/** An order sent recently by the desk (for duplicate detection and the rate throttle). */
export interface RecentOrderInfo extends Omit<OrderIntent, 'origin'> {
  readonly createdAt: Date;
}

/** Everything the governor looks at, loaded by the caller in the same transaction as the order. */
export interface RiskContext {
  readonly now: Date;
  /** The ordered instrument. Unknown instruments never reach the governor (caller → NOT_FOUND). */
  readonly instrument: InstrumentInfo;
  /** Reference data for every symbol in positions and working orders (multipliers, deltas). */
  readonly instruments: Readonly<Record<string, InstrumentInfo>>;
  /** The ordered instrument's latest quote, or null when none has been seen. */
  readonly quote: QuoteInfo | null;
  /** Mark prices (decimal strings) for every symbol in positions / working orders and underlyings. */
  readonly marks: Readonly<Record<string, string>>;
  readonly positions: readonly PositionInfo[];
  readonly workingOrders: readonly WorkingOrderInfo[];
  /** Desk P&L since the session start: realized (net of fees) and unrealized, decimal strings. */
  readonly dailyPnl: { readonly realized: string; readonly unrealized: string };
  /**
   * Orders of the desk in the last max(duplicate window, 60 s), newest first. When
   * `recentOrderCount` is given, only the ones the duplicate guard can match.
   */
  readonly recentOrders: readonly RecentOrderInfo[];
  /**
   * Orders of the desk in the last 60 s when the caller counted them in the database rather than
   * listing them (the throttle then reads this). A count capped at the limit is exact for the
   * decision: anything at or above the limit is denied.
   */
  readonly recentOrderCount?: number;
  /** Realized P&L of the desk's most recent closed trades, newest first (circuit breaker). */
  readonly recentTradePnls: readonly string[];
  /** False once the circuit breaker or a reconciliation mismatch tripped, until a human re-enables. */
  readonly automationEnabled: boolean;
  readonly halt: { readonly global: boolean; readonly desk: boolean };
}

/**
 * Effective limits after merging platform defaults, the desk row ('*') and the instrument row
 * (limits.ts). A null value exists only for a limit a desk admin removed explicitly; `removed`
 * then says why, and the rule reports itself not applicable with that reason.
 */
export interface RiskLimits {
  readonly maxOrderQty: string | null;
  readonly maxOrderNotional: string | null;
  readonly maxPosition: string | null;
  readonly maxGrossExposure: string | null;
  readonly maxNetExposure: string | null;
  readonly maxNetDelta: string | null;
  readonly maxOpenLegs: number | null;
  readonly maxDailyLoss: string | null;
  readonly priceCollarBps: number | null;
  readonly maxReferenceAgeMs: number | null;
  readonly maxSpreadBps: number | null;
  readonly duplicateWindowMs: number | null;
  readonly maxOrdersPerMinute: number | null;
  readonly lossStreakCount: number | null;
  readonly lossStreakThreshold: string | null;
  readonly restricted: boolean;
  /** Reason per removed limit (e.g. "limit removed by a desk admin at …"). */
  readonly removed?: Readonly<Partial<Record<LimitKey, string>>>;
}

/** The limit-valued keys of RiskLimits. */
export type LimitKey = Exclude<keyof RiskLimits, 'restricted' | 'removed'>;

/** Values derived once per evaluation and shared by the rules. */
export interface Derived {
  readonly qty: Dec;
  readonly signedQty: Dec;
  readonly multiplier: Dec;
  /** Price used to value the order: limit price, else the touch it would trade at, else the last. */
  readonly orderPrice: Dec | null;
  /** Current signed position in the ordered symbol. */
  readonly position: Dec;
  /** True when the order only shrinks the position towards zero (with same-side working orders). */
  readonly reducing: boolean;
}
