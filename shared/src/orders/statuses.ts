/**
 * Order statuses (FIX OrdStatus semantics; the transitions are in state.ts). The ONE list: the
 * database enum, the API schemas, the server's queries and the console derive from it. No
 * imports, so the console bundles it without the state machine's decimal arithmetic.
 */
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
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set([
  OrderStatus.FILLED,
  OrderStatus.CANCELLED,
  OrderStatus.REJECTED,
  OrderStatus.EXPIRED,
  OrderStatus.DENIED,
]);
export const isTerminal = (s: OrderStatus): boolean => TERMINAL_STATUSES.has(s);
/** Working: may still fill, so it counts against risk limits and gets a cancel from the kill switch. */
export const isWorking = (s: OrderStatus): boolean => !isTerminal(s);

/** Every status, in lifecycle order. */
export const ORDER_STATUSES = Object.values(OrderStatus) as readonly OrderStatus[];

/** The statuses of an order that may still fill (`unknown` included: it may be live at the broker). */
export const WORKING_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter(isWorking);
