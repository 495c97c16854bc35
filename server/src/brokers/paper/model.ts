import { type Dec, ZERO } from '@aegis/shared/accounting/decimal';
import type { PositionState } from '@aegis/shared/accounting/position';
import type { BracketRole } from '@aegis/shared/orders/bracket';
import type { QuoteBook } from '../quote-book.ts';
import type {
  BracketLink,
  BrokerComboRequest,
  BrokerOrder,
  BrokerOrderRequest,
  BrokerOrderStatus,
  ComboLink,
} from '../types.ts';

/** The paper broker's records: options, orders, combos, OCO groups and the account snapshot. */
export interface PaperBrokerOptions {
  readonly accountId: string;
  /**
   * Names this instance of the account in the broker order ids and execution ids it issues, so
   * an account rebuilt in another process (or rebuilt again) never reuses an id an earlier
   * instance issued: fills are deduplicated by execution id, and a reused one would be taken for
   * a fill already booked and dropped. Without it, ids are `PB-<account>-<n>` and
   * `<account>-E<n>` (one instance per account, as in unit tests).
   */
  readonly instance?: string;
  readonly quotes: QuoteBook;
  readonly seed?: number;
  readonly latencyMs?: number;
  readonly latencyJitterMs?: number;
  readonly feeBps?: string;
  readonly minFee?: string;
  readonly slippageBps?: string;
  readonly maxLevels?: number;
  readonly startingCash?: string;
  readonly allowShort?: boolean;
  /** Contract multiplier per symbol (1 when unknown). */
  readonly multiplierOf?: (symbol: string) => string;
  readonly clock?: () => Date;
  /**
   * The same clock in µs (fill times are stored to the µs). Defaults to the µs wall clock, or,
   * when only `clock` is given (a test's fake time), to that clock's ms × 1000.
   */
  readonly clockUs?: () => number;
  /** How latency is waited (tests may pass a virtual scheduler). */
  readonly delay?: (ms: number) => Promise<void>;
  /**
   * How many finished orders (filled, cancelled, rejected, expired) the account keeps, with their
   * execution reports, for `getOrderByClientId` / `getExecutions` and idempotent retries; older
   * ones are forgotten, oldest first. Open orders are always kept.
   */
  readonly finishedOrderHistory?: number;
}

export type ResolvedPaperOptions = Required<Omit<PaperBrokerOptions, 'seed' | 'instance'>>;

export interface PaperOrder {
  /** Mutable only through a restatement (a bracket leg's quantity). */
  req: Omit<BrokerOrderRequest, 'bracket'>;
  readonly brokerOrderId: string;
  /** Time priority: orders on one symbol are worked in this order. */
  readonly seq: number;
  status: BrokerOrderStatus;
  filled: Dec;
  notional: Dec;
  fills: number;
  rejectReason: string | null;
  /** Size displayed ahead of us at our price; null until our price reaches the touch. */
  queueAhead: Dec | null;
  /** Stop orders: false until the stop is reached; then the order works as market / limit. */
  triggered: boolean;
  /** When the broker received it (day orders expire at the end of that trading day). */
  readonly createdAt: Date;
  /** A bracket leg's link to its entry; null for an entry or a plain order. */
  readonly bracket: BracketLink | null;
  /** An entry's OCO group (its legs), null for a plain order or a leg (set again on restore). */
  group: string | null;
  /** A combo leg's combo; null otherwise. A leg never works alone (see combos.ts). */
  readonly combo: ComboLink | null;
}

/** A combo: its legs (client order ids, in order) worked together, all-or-none. */
export interface PaperCombo {
  readonly id: string;
  readonly orderType: 'market' | 'limit';
  readonly timeInForce: BrokerComboRequest['timeInForce'];
  readonly quantity: string;
  readonly netLimitPrice: string | null;
  readonly maxLoss: string | null;
  readonly legs: readonly string[];
}

/** An OCO group: the entry's client order id and its legs by role. */
export interface BracketGroup {
  readonly entry: string;
  readonly legs: Map<BracketRole, string>;
  /**
   * The entry's filled quantity once it is not held here: a restart after it finished, or its
   * record forgotten from the finished-order history while its legs still work.
   */
  closedEntryFilled: Dec;
}

export interface PaperAccountSnapshot {
  readonly cash: string;
  readonly positions: readonly PositionState[];
  readonly openOrders: readonly (BrokerOrder & {
    readonly queueAhead: string | null;
    readonly triggered: boolean;
    readonly createdAt?: Date;
  })[];
  /** Entries of the open legs' brackets that are no longer open (their filled quantity). */
  readonly bracketEntries?: readonly { readonly clientOrderId: string; readonly filledQuantity: string }[];
  /** The open combos (their legs are in `openOrders`, with their `comboLink`). */
  readonly combos?: readonly Omit<BrokerComboRequest, 'legs'>[];
}

export const OPEN: ReadonlySet<BrokerOrderStatus> = new Set([
  'pending_new',
  'new',
  'partially_filled',
  'pending_cancel',
]);

/** An order the matching works: open and past its arrival at the "exchange". */
export const isWorking = (o: PaperOrder): boolean => OPEN.has(o.status) && o.status !== 'pending_new';

/** A new order as the broker receives it: pending, nothing filled, not queued, not triggered. */
export function pendingOrder(
  o: Pick<PaperOrder, 'req' | 'brokerOrderId' | 'seq' | 'createdAt' | 'bracket' | 'group' | 'combo'>,
): PaperOrder {
  return {
    ...o,
    req: { ...o.req },
    status: 'pending_new',
    filled: ZERO,
    notional: ZERO,
    fills: 0,
    rejectReason: null,
    queueAhead: null,
    triggered: false,
  };
}
