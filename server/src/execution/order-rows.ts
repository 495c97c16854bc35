import { orders } from '@aegis/shared/db';
import { asOrderId, type OrderId, type ProposalId, type TenantId } from '@aegis/shared/ids';
import type { OrderState } from '@aegis/shared/orders/state';
import type { RiskDecision } from '@aegis/shared/risk/governor';
import type { OrderView, PlaceOrderInput, RuleVerdictView } from '@aegis/shared/schemas/order';
import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';

export type OrderRow = typeof orders.$inferSelect;

/** An order read from its own table: its id is known to be an order id (shared/src/ids.ts). */
export type BrandedOrderView = OrderView & { readonly id: OrderId };

/** Where a new order goes and who placed it: the parts of its row that are not the request's. */
export interface NewOrderSource {
  readonly tenantId: TenantId;
  readonly clientOrderId: string;
  readonly broker: string;
  readonly brokerConnectionId: string | null;
  /** Checked to be one of the desk's proposals (service.ts assertOwnProposal). */
  readonly proposalId: ProposalId | null;
  readonly origin: OrderRow['origin'];
  readonly createdBy: string;
  readonly now: Date;
}

/**
 * The row of a newly judged order, for both placement paths (one at a time and batched): the
 * request, its status from the governor's decision and the verdict kept for every order (the
 * denial too when it was denied).
 */
export function newOrderRow(
  input: PlaceOrderInput,
  decision: RiskDecision,
  src: NewOrderSource,
): typeof orders.$inferInsert {
  const verdicts = decision.verdicts as unknown as Record<string, unknown>[];
  return {
    tenantId: src.tenantId,
    clientOrderId: src.clientOrderId,
    broker: src.broker,
    brokerConnectionId: src.brokerConnectionId,
    proposalId: src.proposalId,
    symbol: input.symbol,
    side: input.side,
    orderType: input.orderType,
    timeInForce: input.timeInForce,
    quantity: input.quantity,
    limitPrice: input.limitPrice ?? null,
    stopPrice: input.stopPrice ?? null,
    status: decision.allowed ? 'pending_new' : 'denied',
    rejectReason: decision.allowed ? null : decision.denials.map((d) => d.code).join(','),
    denial: decision.allowed ? null : verdicts,
    riskVerdicts: verdicts,
    origin: src.origin,
    createdBy: src.createdBy,
    createdAt: src.now,
    updatedAt: src.now,
  };
}

export function toOrderView(r: OrderRow): BrandedOrderView {
  return {
    id: asOrderId(r.id),
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
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
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

/** A leg's status (and reject reason) after a transition its entry or combo made: one update. */
export async function writeLegStatus(
  tx: Tx,
  id: string,
  next: Pick<OrderState, 'status' | 'rejectReason'>,
  now: Date,
): Promise<OrderRow | undefined> {
  const [u] = await tx
    .update(orders)
    .set({
      status: next.status,
      rejectReason: next.rejectReason,
      version: sql`${orders.version} + 1`,
      updatedAt: now,
    })
    .where(eq(orders.id, id))
    .returning();
  return u;
}
