import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { OrderId } from '@aegis/shared/ids';
import type { BracketRole } from '@aegis/shared/orders/bracket';

/**
 * The one interface every broker adapter implements (paper today, live brokers next). Only the
 * execution service (server/src/execution/) may import adapters; an architecture test enforces
 * it. Quantities and prices are decimal strings; every order is addressed by the deterministic
 * client order id the execution service chose, so a retry after a timeout finds the order it
 * already sent instead of sending a second one.
 */
export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type TimeInForce = 'day' | 'gtc' | 'ioc' | 'fok';

export interface BrokerOrderRequest {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly timeInForce: TimeInForce;
  readonly quantity: string;
  readonly limitPrice?: string | null;
  readonly stopPrice?: string | null;
  /**
   * Protective legs attached to this entry (a native bracket: one request, like Alpaca's
   * `order_class: bracket` or IBKR's parent + children with `parentId`). Only for adapters whose
   * `capabilities.nativeBrackets` is true; the legs follow shared/src/orders/bracket.ts.
   */
  readonly bracket?: BracketRequest | null;
}

/** One protective leg: its own client order id, so its reports are addressed like any order's. */
export interface BracketLegRequest {
  readonly clientOrderId: string;
  readonly role: BracketRole;
  /** Stop leg: the stop price (a stop market order); target leg: the limit price. */
  readonly price: string;
}

export interface BracketRequest {
  /** The legs' one-cancels-other group: the entry's id in our books (its orders row). */
  readonly ocoGroup: OrderId;
  readonly legs: readonly BracketLegRequest[];
}

/** Where an order sits in a bracket, as the broker reports it. */
export interface BracketLink {
  readonly parentClientOrderId: string;
  readonly role: BracketRole;
  readonly ocoGroup: string;
}

/** What an adapter can do natively; the execution service refuses what it cannot. */
export interface BrokerCapabilities {
  /**
   * The broker holds bracket legs itself: created with the entry, activated and resized as the
   * entry fills (reported as `restated`), one-cancels-other on a leg's fill, all cancelled with
   * an entry that ends unfilled, and reduce-only. False: the adapter rejects `bracket` requests.
   */
  readonly nativeBrackets: boolean;
  /**
   * The broker takes multi-leg (combo) orders natively (`placeCombo`): all legs in one request,
   * worked and filled all-or-none against a net price. Absent or false: combos are rejected
   * with a reason, never legged into one order at a time.
   */
  readonly nativeCombos?: boolean;
}

/** One leg of a combo request: an order of its own (its client order id), ratio × combo quantity. */
export interface ComboLegRequest {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly ratio: number;
  readonly quantity: string;
}

/** A multi-leg order: every leg fills, at once and in full, or none does. */
export interface BrokerComboRequest {
  /**
   * The combo's own client order id (combos.client_order_id, deterministic like an order's), not
   * its row id (ComboId). A plain string, as client order ids still are across the platform.
   */
  readonly comboId: string;
  readonly orderType: 'market' | 'limit';
  readonly timeInForce: TimeInForce;
  /** Combo units. */
  readonly quantity: string;
  /** Net per combo unit, signed: positive a debit paid, negative a credit received (limit only). */
  readonly netLimitPrice: string | null;
  /**
   * The strategy's maximum loss for the whole order when it is bounded (a defined-risk spread):
   * a cash account holds that much free instead of each leg's full cost. Null: each leg is
   * reserved as a single order would be.
   */
  readonly maxLoss: string | null;
  readonly legs: readonly ComboLegRequest[];
}

export interface PlaceComboAck {
  readonly comboId: string;
  readonly status: BrokerOrderStatus;
  readonly legs: readonly PlaceOrderAck[];
  readonly rejectReason?: string;
}

/** Where an order sits in a combo, as the broker reports it. */
export interface ComboLink {
  /** The combo's client order id, as in BrokerComboRequest. */
  readonly comboId: string;
  readonly ratio: number;
}

/** Order status as the broker reports it (FIX OrdStatus; `denied`/`unknown` are ours only). */
export type BrokerOrderStatus =
  | 'pending_new'
  | 'new'
  | 'partially_filled'
  | 'filled'
  | 'pending_cancel'
  | 'cancelled'
  | 'rejected'
  | 'expired';

export interface BrokerOrder extends Omit<BrokerOrderRequest, 'bracket'> {
  readonly brokerOrderId: string;
  /** Set on a bracket leg. */
  readonly bracketLink?: BracketLink | null;
  /** Set on a combo leg. */
  readonly comboLink?: ComboLink | null;
  readonly status: BrokerOrderStatus;
  readonly filledQuantity: string;
  readonly avgFillPrice: string | null;
  readonly rejectReason: string | null;
}

export interface BrokerPosition {
  readonly symbol: string;
  /** Signed: positive long, negative short. */
  readonly quantity: string;
  readonly avgCost: string;
}

export interface PlaceOrderAck {
  readonly clientOrderId: string;
  readonly brokerOrderId: string | null;
  readonly status: BrokerOrderStatus;
  readonly rejectReason?: string;
}

/** FIX ExecType-like report kinds. */
export type ExecutionReportKind =
  | 'accepted'
  | 'rejected'
  | 'fill'
  | 'cancelled'
  | 'expired'
  | 'cancel_rejected'
  /** FIX ExecType D: the broker changed the order's quantity (`orderQty`) on its own. */
  | 'restated';

/**
 * One execution report. `executionId` is unique per report at the broker (the service
 * deduplicates on it); reports may arrive more than once and out of order.
 */
export interface ExecutionReport {
  readonly kind: ExecutionReportKind;
  readonly executionId: string;
  readonly clientOrderId: string;
  readonly brokerOrderId: string | null;
  readonly symbol: string;
  readonly side: Side;
  /** Broker (transaction) time of the event. */
  readonly tsEvent: Date;
  /**
   * The same time in µs since the epoch when the broker reports sub-millisecond time (a Date
   * keeps ms): fills are stored with it (shared/src/market/micro-time.ts).
   */
  readonly tsEventUs?: number;
  readonly lastQty?: string;
  readonly lastPx?: string;
  readonly fee?: string;
  readonly liquidity?: 'maker' | 'taker';
  /** Cumulative filled quantity after this report (FIX CumQty). */
  readonly cumQty: string;
  readonly leavesQty: string;
  readonly avgPx: string | null;
  readonly reason?: string;
  /** The order's quantity after a `restated` report (FIX OrderQty). */
  readonly orderQty?: string;
}

export type ExecutionReportListener = (report: ExecutionReport) => void;

export interface BrokerAdapter {
  readonly name: string;
  readonly capabilities: BrokerCapabilities;
  /** Idempotent on clientOrderId: a second call returns the order already known. */
  placeOrder(req: BrokerOrderRequest): Promise<PlaceOrderAck>;
  /** Requests a cancel; the outcome arrives as a `cancelled` or `cancel_rejected` report. */
  cancelOrder(clientOrderId: string): Promise<void>;
  /**
   * A native combo (only where `capabilities.nativeCombos`): idempotent on the combo id; every
   * leg's status and fills come back as ordinary reports addressed by the legs' client ids.
   */
  placeCombo?(req: BrokerComboRequest): Promise<PlaceComboAck>;
  /** Cancels every leg of a combo (by its client order id); reports as for `cancelOrder`. */
  cancelCombo?(comboId: string): Promise<void>;
  getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null>;
  /**
   * Every execution report of one order so far, in the broker's order (FIX order mass status /
   * trade capture; a live broker's executions or account-activities endpoint). Reports carry
   * their execution ids, so applying them again is a no-op: this is how missed reports are
   * recovered. Empty for an order the broker does not know.
   */
  getExecutions(clientOrderId: string): Promise<ExecutionReport[]>;
  listOpenOrders(): Promise<BrokerOrder[]>;
  listPositions(): Promise<BrokerPosition[]>;
  /** Subscribes to execution reports; returns the unsubscribe function. */
  onExecutionReport(listener: ExecutionReportListener): () => void;
  /** Balances and buying power of the account this adapter trades. */
  getAccount(): Promise<BrokerAccount>;
  /**
   * Opens streams (fills, order updates) where the broker has them. Idempotent. Reconnects on
   * its own; after a reconnect the adapter calls `onReconnect` listeners so the dispatcher
   * reconciles (missed reports are re-fetched by client order id).
   */
  connect?(): Promise<void>;
  onReconnect?(listener: () => void): () => void;
  /** Closes streams and timers. */
  close(): void;
}

/** One broker account's balances (decimal strings, the account's currency). */
export interface BrokerAccount {
  readonly accountId: string;
  readonly currency: string;
  readonly cash: string;
  readonly buyingPower: string;
  readonly equity: string;
  /** The broker's own status word, verbatim (`ACTIVE` …); null when it has none. */
  readonly brokerStatus: string | null;
}

/**
 * Adapter failures: one structured error for every broker (shared/src/schemas/broker.ts
 * `BrokerErrorDetails` is what reaches the client). `retryable`: the same call may succeed later
 * (timeouts, 429, 5xx, a dropped connection); reads are retried, order placement never blindly
 * (the outbox looks the order up by client order id first).
 */
export const BrokerErrorCode = {
  TIMEOUT: 'BROKER_TIMEOUT',
  UNAVAILABLE: 'BROKER_UNAVAILABLE',
  REJECTED: 'BROKER_REJECTED',
  NOT_FOUND: 'BROKER_NOT_FOUND',
  RATE_LIMITED: 'BROKER_RATE_LIMITED',
  /** The credentials were refused (401/403, `invalid_grant`): the connection needs relinking. */
  AUTH: 'BROKER_AUTH',
  /** A gateway session lapsed (IBKR): the user re-authenticates at the gateway. */
  REAUTH_REQUIRED: 'BROKER_REAUTH_REQUIRED',
  /** The request was malformed or refused as invalid before reaching an order book. */
  INVALID_REQUEST: 'BROKER_INVALID_REQUEST',
  /** The per-connection circuit breaker is open: no call was made. */
  CIRCUIT_OPEN: 'BROKER_CIRCUIT_OPEN',
  /** The broker answered something its documentation does not allow (schema mismatch). */
  PROTOCOL: 'BROKER_PROTOCOL',
} as const;
export type BrokerErrorCode = (typeof BrokerErrorCode)[keyof typeof BrokerErrorCode];

const RETRYABLE_CODES: ReadonlySet<BrokerErrorCode> = new Set([
  BrokerErrorCode.TIMEOUT,
  BrokerErrorCode.UNAVAILABLE,
  BrokerErrorCode.RATE_LIMITED,
  BrokerErrorCode.CIRCUIT_OPEN,
]);

export interface BrokerErrorInit {
  /** The adapter call (`placeOrder`, `getAccount` …). */
  readonly operation?: string;
  /** The adapter's name (`alpaca`, `ccxt:binance` …). */
  readonly broker?: string;
  /** Default: by code (timeouts, unavailability, rate limits). */
  readonly retryable?: boolean;
  /** Safe facts only (HTTP status, the broker's own error code, retry-after): never a secret. */
  readonly context?: Record<string, unknown>;
  readonly cause?: unknown;
}

/**
 * Which AppError code each broker failure is (what the client is answered, through the server's
 * one mapping in server/src/errors.ts): a refused or malformed order is the request's fault, a
 * refused credential a precondition (relink), the rest the broker not answering usefully.
 */
const APP_CODE_OF_BROKER_CODE: Readonly<Record<BrokerErrorCode, ErrorCode>> = {
  [BrokerErrorCode.TIMEOUT]: ErrorCode.TIMEOUT,
  [BrokerErrorCode.UNAVAILABLE]: ErrorCode.UNAVAILABLE,
  [BrokerErrorCode.REJECTED]: ErrorCode.BAD_INPUT,
  [BrokerErrorCode.NOT_FOUND]: ErrorCode.NOT_FOUND,
  [BrokerErrorCode.RATE_LIMITED]: ErrorCode.RATE_LIMITED,
  [BrokerErrorCode.AUTH]: ErrorCode.PRECONDITION_FAILED,
  [BrokerErrorCode.REAUTH_REQUIRED]: ErrorCode.PRECONDITION_FAILED,
  [BrokerErrorCode.INVALID_REQUEST]: ErrorCode.BAD_INPUT,
  [BrokerErrorCode.CIRCUIT_OPEN]: ErrorCode.UNAVAILABLE,
  [BrokerErrorCode.PROTOCOL]: ErrorCode.UNAVAILABLE,
};

/** The client-facing shape of a broker failure (shared/src/schemas/broker.ts BrokerErrorDetails). */
export type BrokerErrorFacts = {
  type: 'broker_error';
  operation: string;
  broker: string;
  code: string;
  message: string;
  retryable: boolean;
  context: Record<string, unknown>;
};

/**
 * A subclass of AppError rather than a plain AppError: a broker failure carries a contract of its
 * own that adapters, the dispatcher and clients rely on (the broker code adapters branch on,
 * which call and which broker, `retryable`, and `toDetails()` as BrokerErrorDetails). Its AppError
 * `code` is derived from its broker code (APP_CODE_OF_BROKER_CODE) and its `details` are
 * `toDetails()`, so the server's one mapping answers for it like for any AppError. The broker
 * code itself is `brokerCode` (and `code` in `toDetails()`, as clients have always read it).
 */
export class BrokerError extends AppError {
  readonly type = 'broker_error' as const;
  readonly brokerCode: BrokerErrorCode;
  readonly operation: string;
  readonly broker: string;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;
  override readonly details: Readonly<BrokerErrorFacts>;
  constructor(code: BrokerErrorCode, message: string, init: BrokerErrorInit = {}) {
    super(
      APP_CODE_OF_BROKER_CODE[code] ?? ErrorCode.UNAVAILABLE,
      message,
      undefined,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = 'BrokerError';
    this.brokerCode = code;
    this.operation = init.operation ?? 'unknown';
    this.broker = init.broker ?? 'unknown';
    this.retryable = init.retryable ?? RETRYABLE_CODES.has(code);
    this.context = init.context ?? {};
    this.details = this.toDetails();
  }

  /** The client-facing shape (BrokerErrorDetails). */
  toDetails(): BrokerErrorFacts {
    return {
      type: this.type,
      operation: this.operation,
      broker: this.broker,
      code: this.brokerCode,
      message: this.message,
      retryable: this.retryable,
      context: this.context,
    };
  }
}
