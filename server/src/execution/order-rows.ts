import type { orders } from '@aegis/shared/db';
import type { OrderState } from '@aegis/shared/orders/state';
import type { OrderView, RuleVerdictView } from '@aegis/shared/schemas/order';

export type OrderRow = typeof orders.$inferSelect;

export function toOrderView(r: OrderRow): OrderView {
  return {
    id: r.id,
    clientOrderId: r.clientOrderId,
    brokerOrderId: r.brokerOrderId,
    broker: r.broker,
    brokerConnectionId: r.brokerConnectionId,
    proposalId: r.proposalId,
    symbol: r.symbol,
    side: r.side,
    orderType: r.orderType,
    timeInForce: r.timeInForce,
    quantity: norm(r.quantity),
    limitPrice: r.limitPrice === null ? null : norm(r.limitPrice),
    stopPrice: r.stopPrice === null ? null : norm(r.stopPrice),
    status: r.status,
    filledQuantity: norm(r.filledQuantity),
    avgFillPrice: r.avgFillPrice === null ? null : norm(r.avgFillPrice),
    fees: norm(r.fees),
    rejectReason: r.rejectReason,
    denial: (r.denial as RuleVerdictView[] | null) ?? null,
    origin: r.origin,
    createdBy: r.createdBy,
    parentOrderId: r.parentOrderId,
    bracketRole: r.bracketRole,
    ocoGroup: r.ocoGroup,
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** numeric(38,12) comes back as "10.000000000000": show it as "10". */
export function norm(v: string): string {
  if (!v.includes('.')) return v;
  const t = v.replace(/0+$/, '').replace(/\.$/, '');
  return t === '-0' ? '0' : t;
}

export function toOrderState(r: OrderRow): OrderState {
  return {
    status: r.status,
    quantity: norm(r.quantity),
    filledQuantity: norm(r.filledQuantity),
    avgFillPrice: r.avgFillPrice === null ? null : norm(r.avgFillPrice),
    brokerOrderId: r.brokerOrderId,
    rejectReason: r.rejectReason,
  };
}
