/**
 * Order statuses (FIX OrdStatus semantics; the transitions are in state.ts): the ONE list. The
 * database column's enum, the API schemas, the server's queries and the console derive from it.
 * No imports, so the console bundles it without the state machine's decimal arithmetic.
 */

/** Every status, in lifecycle order: FIX-like states plus local `denied` (risk governor) and
 *  `unknown` (an ambiguous broker timeout). */
export const ORDER_STATUSES = [
  'pending_new',
  'new',
  'partially_filled',
  'filled',
  'pending_cancel',
  'cancelled',
  'rejected',
  'expired',
  'denied',
  'unknown',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Named access (`OrderStatus.FILLED`) to the same values. */
export const OrderStatus = {
  PENDING_NEW: 'pending_new',
  NEW: 'new',
  PARTIALLY_FILLED: 'partially_filled',
  FILLED: 'filled',
  PENDING_CANCEL: 'pending_cancel',
  CANCELLED: 'cancelled',
  REJECTED: 'rejected',
  EXPIRED: 'expired',
  DENIED: 'denied',
  UNKNOWN: 'unknown',
} as const satisfies Record<string, OrderStatus>;

/** Final: nothing changes an order in one of these any more (a raced late fill aside, see state.ts). */
export const TERMINAL_STATUSES = [
  'filled',
  'cancelled',
  'rejected',
  'expired',
  'denied',
] as const satisfies readonly OrderStatus[];
const TERMINAL: ReadonlySet<OrderStatus> = new Set(TERMINAL_STATUSES);
export const isTerminal = (s: OrderStatus): boolean => TERMINAL.has(s);
/** Working: may still fill, so it counts against risk limits and gets a cancel from the halt. */
export const isWorking = (s: OrderStatus): boolean => !isTerminal(s);

/** Statuses whose unfilled quantity can still trade (`unknown` included: it may be live at the broker). */
export const WORKING_STATUSES = ORDER_STATUSES.filter(isWorking) as readonly Exclude<
  OrderStatus,
  (typeof TERMINAL_STATUSES)[number]
>[];

/** Working statuses of an order the broker has acknowledged (what reconciliation compares). */
export const AT_BROKER_STATUSES = [
  'new',
  'partially_filled',
  'pending_cancel',
] as const satisfies readonly OrderStatus[];
