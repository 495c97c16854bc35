import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { oppositeSide } from '@aegis/shared/orders/bracket';
import {
  type BracketLink,
  BrokerError,
  BrokerErrorCode,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerOrderStatus,
  type ExecutionReport,
  type OrderType,
  type Side,
  type TimeInForce,
} from '../types.ts';
import { BROKER } from './gateway-client.ts';
import type { LiveOrder, Trade } from './schemas.ts';

/**
 * Pure mapping between our orders and the Client Portal's: the order tickets we POST, the status
 * words of GET /iserver/account/orders, and the execution reports derived from an order and its
 * executions (GET /iserver/account/trades). Report ids are deterministic (an IBKR execution id
 * for a fill, `<orderId>-<event>` otherwise) so the polling path and `getExecutions` produce the
 * same ids and the dispatcher's dedup by execution id holds across both.
 */

const ORDER_TYPE: Record<OrderType, string> = {
  market: 'MKT',
  limit: 'LMT',
  stop: 'STP',
  stop_limit: 'STOP_LIMIT',
};
const TIF: Partial<Record<TimeInForce, string>> = { day: 'DAY', gtc: 'GTC', ioc: 'IOC' };

/**
 * One order ticket (SingleOrderSubmissionRequest). Prices as the Client Portal reads them: LMT
 * `price` = limit; STP `price` = stop; STOP_LIMIT `price` = limit and `auxPrice` = stop.
 */
export function ticket(
  req: Omit<BrokerOrderRequest, 'bracket'>,
  conid: number,
  parentId?: string,
): Record<string, unknown> {
  const tif = TIF[req.timeInForce];
  if (!tif)
    throw new BrokerError(
      BrokerErrorCode.REJECTED,
      `ibkr: time in force ${req.timeInForce} is not offered by the Client Portal API`,
      { operation: 'placeOrder', broker: BROKER, retryable: false },
    );
  const t: Record<string, unknown> = {
    conid,
    cOID: req.clientOrderId,
    orderType: ORDER_TYPE[req.orderType],
    side: req.side === 'buy' ? 'BUY' : 'SELL',
    quantity: Number(req.quantity),
    tif,
  };
  if (req.orderType === 'limit') t.price = Number(req.limitPrice);
  if (req.orderType === 'stop') t.price = Number(req.stopPrice);
  if (req.orderType === 'stop_limit') {
    t.price = Number(req.limitPrice);
    t.auxPrice = Number(req.stopPrice);
  }
  if (parentId !== undefined) t.parentId = parentId;
  return t;
}

/**
 * The tickets of one request: the entry, then its legs as children (`parentId` = the entry's
 * cOID, their own cOID = our leg ids). IBKR makes the children of one parent a one-cancels-other
 * group and holds them until the parent fills; the stop is a STP and the target a LMT on the
 * opposite side, GTC. All tickets go in one POST, so the TWS API's `transmit` flag has no
 * Client Portal counterpart: the gateway submits the array as one bracket.
 */
export function tickets(req: BrokerOrderRequest, conid: number): Record<string, unknown>[] {
  const { bracket, ...entry } = req;
  const out = [ticket(entry, conid)];
  for (const leg of bracket?.legs ?? []) {
    const common = {
      clientOrderId: leg.clientOrderId,
      symbol: req.symbol,
      side: oppositeSide(req.side),
      timeInForce: 'gtc' as const,
      quantity: req.quantity,
    };
    out.push(
      ticket(
        leg.role === 'stop'
          ? { ...common, orderType: 'stop', stopPrice: leg.price, limitPrice: null }
          : { ...common, orderType: 'limit', limitPrice: leg.price, stopPrice: null },
        conid,
        req.clientOrderId,
      ),
    );
  }
  return out;
}

/** IBKR order status → ours. `Inactive` is how the gateway shows an order IBKR refused. */
export function statusOf(o: LiveOrder): BrokerOrderStatus {
  const filled = dec(o.filledQuantity);
  switch (o.status) {
    case 'PendingSubmit':
      return 'pending_new';
    case 'PreSubmitted':
    case 'Submitted':
    case 'WarnState':
      return filled.gt(0) ? 'partially_filled' : 'new';
    case 'Filled':
      return 'filled';
    case 'PendingCancel':
      return 'pending_cancel';
    case 'Cancelled':
    case 'ApiCancelled':
      return 'cancelled';
    case 'Inactive':
    case 'Rejected':
      return 'rejected';
    default:
      return filled.gt(0) ? 'partially_filled' : 'new';
  }
}

const OPEN_STATUSES: ReadonlySet<BrokerOrderStatus> = new Set([
  'pending_new',
  'new',
  'partially_filled',
  'pending_cancel',
]);
export const isOpen = (s: BrokerOrderStatus): boolean => OPEN_STATUSES.has(s);

export function sideOf(s: string): Side {
  return /^(b|buy|bot)$/i.test(s) ? 'buy' : 'sell';
}

function orderTypeOf(o: LiveOrder): OrderType {
  switch ((o.orderType ?? o.origOrderType ?? '').toUpperCase()) {
    case 'LIMIT':
    case 'LMT':
      return 'limit';
    case 'STOP':
    case 'STP':
      return 'stop';
    case 'STOP_LIMIT':
    case 'STOP LIMIT':
    case 'STPLMT':
      return 'stop_limit';
    default:
      return 'market';
  }
}

function tifOf(o: LiveOrder): TimeInForce {
  const t = (o.timeInForce ?? '').toUpperCase();
  return t === 'GTC' ? 'gtc' : t === 'IOC' ? 'ioc' : 'day';
}

/** Where a leg sits, and the state of its bracket, for sizing it as shared/src/orders/bracket.ts says. */
export interface LegContext {
  readonly link: BracketLink;
  /** The entry's filled quantity, and every leg's of the group (this one included). */
  readonly entryFilled: Dec;
  readonly legsFilled: Dec;
}

/**
 * A leg's quantity in our books: its own fills plus what the bracket still protects
 * (`entry filled − Σ legs filled`), never more than IBKR holds for it.
 */
export function legQuantity(o: LiveOrder, leg: LegContext): Dec {
  const own = dec(o.filledQuantity);
  const protectedQty = leg.entryFilled.minus(leg.legsFilled);
  const q = own.plus(protectedQty.gt(0) ? protectedQty : ZERO);
  const cap = dec(o.totalSize);
  return q.gt(cap) ? cap : q;
}

export function viewOf(
  o: LiveOrder,
  symbol: string,
  clientOrderId: string,
  leg: LegContext | null,
): BrokerOrder {
  const type = orderTypeOf(o);
  const px = o.price ?? null;
  const filled = dec(o.filledQuantity);
  return {
    clientOrderId,
    symbol,
    side: sideOf(o.side),
    orderType: type,
    timeInForce: tifOf(o),
    quantity: decStr(leg ? legQuantity(o, leg) : dec(o.totalSize)),
    limitPrice: type === 'limit' || type === 'stop_limit' ? px : null,
    stopPrice: type === 'stop' ? px : type === 'stop_limit' ? (o.auxPrice ?? null) : null,
    brokerOrderId: o.orderId,
    status: statusOf(o),
    filledQuantity: decStr(filled),
    avgFillPrice: filled.gt(0) && o.avgPrice ? decStr(dec(o.avgPrice)) : null,
    rejectReason: statusOf(o) === 'rejected' ? `ibkr: order ${o.status}` : null,
    bracketLink: leg?.link ?? null,
  };
}

/**
 * Every report of one order so far, in order: accepted, (a leg's restatement to its current
 * size), each execution, then the terminal event. Fill ids are IBKR's execution ids.
 */
export function reportsOf(
  o: LiveOrder,
  fills: readonly Trade[],
  symbol: string,
  clientOrderId: string,
  leg: LegContext | null,
  now: Date,
): ExecutionReport[] {
  const status = statusOf(o);
  const side = sideOf(o.side);
  const qty = leg ? legQuantity(o, leg) : dec(o.totalSize);
  const base = { clientOrderId, brokerOrderId: o.orderId, symbol, side };
  const lastTs = o.lastExecutionTime_r ? new Date(Number(o.lastExecutionTime_r)) : now;
  const out: ExecutionReport[] = [];
  if (status === 'pending_new') return out;
  if (status === 'rejected') {
    const reason = `ibkr: order ${o.status}`;
    out.push({
      ...base,
      kind: 'rejected',
      executionId: `${o.orderId}-X`,
      tsEvent: lastTs,
      cumQty: '0',
      leavesQty: '0',
      avgPx: null,
      reason,
    });
    return out;
  }
  out.push({
    ...base,
    kind: 'accepted',
    executionId: `${o.orderId}-A`,
    tsEvent: lastTs,
    cumQty: '0',
    leavesQty: decStr(qty),
    avgPx: null,
  });
  if (leg && qty.gt(0))
    out.push({
      ...base,
      kind: 'restated',
      executionId: `${o.orderId}-R${decStr(qty)}`,
      tsEvent: lastTs,
      cumQty: decStr(dec(o.filledQuantity)),
      leavesQty: decStr(isOpen(status) ? qty.minus(dec(o.filledQuantity)) : ZERO),
      avgPx: null,
      orderQty: decStr(qty),
      reason: 'bracket: sized to the entry fills',
    });
  const sorted = [...fills].sort(
    (a, b) => (a.trade_time_r ?? 0) - (b.trade_time_r ?? 0) || a.execution_id.localeCompare(b.execution_id),
  );
  let cum = ZERO;
  let notional = ZERO;
  const total = qty.gt(dec(o.filledQuantity)) ? qty : dec(o.filledQuantity);
  for (const f of sorted) {
    const q = dec(f.size);
    const px = dec(f.price);
    cum = cum.plus(q);
    notional = notional.plus(q.times(px));
    out.push({
      ...base,
      kind: 'fill',
      executionId: f.execution_id,
      tsEvent: f.trade_time_r ? new Date(f.trade_time_r) : now,
      lastQty: decStr(q),
      lastPx: decStr(px),
      ...(f.commission !== undefined && { fee: decStr(dec(f.commission).abs()) }),
      cumQty: decStr(cum),
      leavesQty: decStr(total.gt(cum) ? total.minus(cum) : ZERO),
      avgPx: decStr(notional.div(cum).toDecimalPlaces(12)),
    });
  }
  if (status === 'cancelled')
    out.push({
      ...base,
      kind: 'cancelled',
      executionId: `${o.orderId}-C`,
      tsEvent: lastTs,
      cumQty: decStr(cum),
      leavesQty: '0',
      avgPx: cum.gt(0) ? decStr(notional.div(cum).toDecimalPlaces(12)) : null,
    });
  return out;
}
