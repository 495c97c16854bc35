import { type Dec, dec, decStr } from '../accounting/decimal.ts';
import { AppError, ErrorCode } from '../errors.ts';
import { isTerminal, OrderStatus } from './statuses.ts';

/**
 * The order state machine, modelled on FIX OrdStatus (39):
 *
 *   pending_new ──OrderAccepted──► new ──OrderFilled──► partially_filled ──OrderFilled──► filled
 *        │                          │                        │
 *        │                          └──OrderCancelRequested──┴──► pending_cancel ──OrderCancelled──► cancelled
 *        │                                                          └──OrderCancelRejected──► new | partially_filled
 *        ├──OrderRejected──► rejected        new | partially_filled ──OrderExpired──► expired
 *        ├──OrderDenied────► denied   (local: the risk governor refused it; never sent)
 *        └──OrderStatusUnknown──► unknown    (ambiguous broker timeout; reconciliation resolves
 *                                             it with the event the broker's answer implies)
 *
 *   any working status ──OrderRestated──► same status (FIX ExecType D: the broker changed the
 *                                          order's quantity on its own: a bracket leg growing with
 *                                          its entry's fills, or reduced by its OCO sibling)
 *
 * Terminal: filled, cancelled, rejected, expired, denied. Events are past tense facts. An
 * illegal transition throws ILLEGAL_TRANSITION and the state is left as it was.
 *
 * Two broker realities are allowed on purpose:
 * - fills may arrive before the acknowledgement (pending_new → partially_filled / filled), and
 *   a late acknowledgement after that is stale: `isStale` lets the caller drop it;
 * - a fill may be reported after a cancel or expiry it raced with (the broker executed it first):
 *   it is applied to the quantities but the status stays terminal, as FIX CumQty does.
 */
// The statuses and their classes live in statuses.ts (no dependencies, so the console imports
// them too); every list of statuses derives from there.
export {
  AT_BROKER_STATUSES,
  isTerminal,
  isWorking,
  ORDER_STATUSES,
  OrderStatus,
  TERMINAL_STATUSES,
  WORKING_STATUSES,
} from './statuses.ts';

export type OrderEvent =
  | { readonly type: 'OrderAccepted'; readonly brokerOrderId?: string }
  | { readonly type: 'OrderRejected'; readonly reason: string }
  | { readonly type: 'OrderDenied'; readonly reason: string }
  | {
      readonly type: 'OrderFilled';
      readonly executionId: string;
      readonly quantity: string;
      readonly price: string;
    }
  | { readonly type: 'OrderCancelRequested' }
  | { readonly type: 'OrderCancelRejected'; readonly reason: string }
  | { readonly type: 'OrderCancelled' }
  | { readonly type: 'OrderExpired' }
  | { readonly type: 'OrderStatusUnknown'; readonly reason: string }
  | { readonly type: 'OrderRestated'; readonly quantity: string; readonly reason?: string };

export interface OrderState {
  readonly status: OrderStatus;
  readonly quantity: string;
  readonly filledQuantity: string;
  /** Volume-weighted average fill price; null before the first fill. */
  readonly avgFillPrice: string | null;
  readonly brokerOrderId: string | null;
  readonly rejectReason: string | null;
}

export function initialOrderState(quantity: string): OrderState {
  if (!dec(quantity).gt(0)) throw new AppError(ErrorCode.BAD_INPUT, 'order quantity must be positive');
  return {
    status: OrderStatus.PENDING_NEW,
    quantity,
    filledQuantity: '0',
    avgFillPrice: null,
    brokerOrderId: null,
    rejectReason: null,
  };
}

const illegal = (s: OrderState, e: OrderEvent, why = 'not allowed'): never => {
  throw new AppError(ErrorCode.ILLEGAL_TRANSITION, `${e.type} in ${s.status}: ${why}`, {
    status: s.status,
    event: e.type,
  });
};

const from = (s: OrderState, e: OrderEvent, allowed: readonly OrderStatus[]) => {
  if (!allowed.includes(s.status)) illegal(s, e);
};

/** Status an order returns to when a cancel is refused, or after a fill in a non-terminal status. */
const liveStatus = (filled: Dec, qty: Dec): OrderStatus =>
  // A bracket leg may carry quantity 0 until its entry fills: that is new, not filled.
  filled.gt(0) && filled.gte(qty)
    ? OrderStatus.FILLED
    : filled.gt(0)
      ? OrderStatus.PARTIALLY_FILLED
      : OrderStatus.NEW;

/**
 * Events that arrive after the order moved past them (out-of-order delivery) and carry nothing
 * new: a late acknowledgement, or a cancel/expiry report for an order already terminal. The
 * caller drops them instead of failing.
 */
export function isStale(s: OrderState, e: OrderEvent): boolean {
  switch (e.type) {
    case 'OrderAccepted':
      return (
        s.status !== OrderStatus.PENDING_NEW &&
        s.status !== OrderStatus.UNKNOWN &&
        s.status !== OrderStatus.REJECTED &&
        s.status !== OrderStatus.DENIED
      );
    case 'OrderCancelled':
    case 'OrderExpired':
      return (
        s.status === OrderStatus.FILLED ||
        s.status === OrderStatus.CANCELLED ||
        s.status === OrderStatus.EXPIRED
      );
    case 'OrderCancelRejected':
      return isTerminal(s.status) && s.status !== OrderStatus.DENIED && s.status !== OrderStatus.REJECTED;
    case 'OrderRestated':
      // A restatement reported after the order finished changes nothing that can still trade.
      return isTerminal(s.status);
    default:
      return false;
  }
}

/** Applies one event; throws ILLEGAL_TRANSITION (state untouched) when FIX semantics forbid it. */
export function applyOrderEvent(s: OrderState, e: OrderEvent): OrderState {
  switch (e.type) {
    case 'OrderAccepted':
      from(s, e, [OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN]);
      return { ...s, status: OrderStatus.NEW, brokerOrderId: e.brokerOrderId ?? s.brokerOrderId };
    case 'OrderRejected':
      from(s, e, [OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN]);
      if (dec(s.filledQuantity).gt(0)) illegal(s, e, 'order already has fills');
      return { ...s, status: OrderStatus.REJECTED, rejectReason: e.reason };
    case 'OrderDenied':
      from(s, e, [OrderStatus.PENDING_NEW]);
      return { ...s, status: OrderStatus.DENIED, rejectReason: e.reason };
    case 'OrderFilled':
      return applyFill(s, e);
    case 'OrderCancelRequested':
      from(s, e, [
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_NEW,
        OrderStatus.UNKNOWN,
      ]);
      return { ...s, status: OrderStatus.PENDING_CANCEL };
    case 'OrderCancelRejected':
      from(s, e, [OrderStatus.PENDING_CANCEL]);
      return { ...s, status: liveStatus(dec(s.filledQuantity), dec(s.quantity)) };
    case 'OrderCancelled':
      from(s, e, [
        OrderStatus.PENDING_NEW,
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.UNKNOWN,
      ]);
      return { ...s, status: OrderStatus.CANCELLED };
    case 'OrderExpired':
      from(s, e, [
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.UNKNOWN,
      ]);
      return { ...s, status: OrderStatus.EXPIRED };
    case 'OrderStatusUnknown':
      from(s, e, [OrderStatus.PENDING_NEW, OrderStatus.PENDING_CANCEL]);
      return { ...s, status: OrderStatus.UNKNOWN };
    case 'OrderRestated':
      return applyRestated(s, e);
  }
}

function applyFill(s: OrderState, e: Extract<OrderEvent, { type: 'OrderFilled' }>): OrderState {
  if (
    s.status === OrderStatus.REJECTED ||
    s.status === OrderStatus.DENIED ||
    s.status === OrderStatus.FILLED
  ) {
    illegal(s, e);
  }
  const q = dec(e.quantity);
  const px = dec(e.price);
  if (!q.gt(0)) illegal(s, e, 'fill quantity must be positive');
  if (!px.gt(0)) illegal(s, e, 'fill price must be positive');
  const filled = dec(s.filledQuantity);
  const qty = dec(s.quantity);
  const next = filled.plus(q);
  if (next.gt(qty)) illegal(s, e, `overfill: ${decStr(next)} > ${decStr(qty)}`);
  const avg = s.avgFillPrice === null ? px : dec(s.avgFillPrice).times(filled).plus(px.times(q)).div(next);
  // A fill racing a cancel or expiry keeps the terminal status (FIX CumQty still grows); a fill
  // in pending_cancel keeps the cancel pending unless it completes the order.
  let status: OrderStatus;
  if (s.status === OrderStatus.CANCELLED || s.status === OrderStatus.EXPIRED) status = s.status;
  else if (s.status === OrderStatus.PENDING_CANCEL && next.lt(qty)) status = OrderStatus.PENDING_CANCEL;
  else status = liveStatus(next, qty);
  return { ...s, status, filledQuantity: decStr(next), avgFillPrice: decStr(avg.toDecimalPlaces(12)) };
}

function applyRestated(s: OrderState, e: Extract<OrderEvent, { type: 'OrderRestated' }>): OrderState {
  if (isTerminal(s.status)) illegal(s, e);
  const qty = dec(e.quantity);
  const filled = dec(s.filledQuantity);
  if (!qty.isFinite() || qty.lt(0)) illegal(s, e, 'quantity must not be negative');
  if (qty.lt(filled)) illegal(s, e, `below the filled quantity: ${decStr(qty)} < ${decStr(filled)}`);
  const working = s.status === OrderStatus.NEW || s.status === OrderStatus.PARTIALLY_FILLED;
  return { ...s, quantity: decStr(qty), status: working ? liveStatus(filled, qty) : s.status };
}

export const leavesQuantity = (s: OrderState): Dec =>
  isTerminal(s.status) ? dec(0) : dec(s.quantity).minus(dec(s.filledQuantity));
