import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { orders } from '@aegis/shared/db';
import { asOrderId, type OrderId, type TenantId } from '@aegis/shared/ids';
import { type BracketLegSpec, bracketLegs } from '@aegis/shared/orders/bracket';
import { applyOrderEvent, isTerminal, type OrderEvent } from '@aegis/shared/orders/state';
import {
  evaluateOrder,
  type OrderIntent,
  type RiskContext,
  type RiskDecision,
  type RiskLimits,
  type RuleVerdict,
} from '@aegis/shared/risk/governor';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { BracketRequest } from '../brokers/types.ts';
import type { Tx } from '../db/database.ts';
import { norm, type OrderRow, toOrderState, toOrderView, writeLegStatus } from './order-rows.ts';
import type { Actor } from './types.ts';

/**
 * Bracket legs in the books: the protective stop and target of an entry are order rows of their
 * own (parent_order_id, bracket_role, oco_group = the entry's id), written with the entry in its
 * placement transaction and sent to the broker with it, as one native bracket request. Their
 * quantity is 0 until the entry fills; the broker restates it (shared/src/orders/bracket.ts).
 */

/** A leg's client order id: the entry's with the role's letter, deterministic like the entry's. */
export const legClientOrderId = (entryClientOrderId: string, role: BracketLegSpec['role']) =>
  `${entryClientOrderId}${role === 'stop' ? 'S' : 'T'}`;

export interface BracketPlan {
  readonly legs: readonly BracketLegSpec[];
  /** The governor's verdict on each leg, judged as the position the filled entry would leave. */
  readonly decisions: readonly { readonly leg: BracketLegSpec; readonly decision: RiskDecision }[];
  readonly allowed: boolean;
}

/**
 * The legs of a bracketed entry and the governor's verdict on each. A leg is judged against the
 * book as it will be when the leg can act: the entry filled (a leg never holds more than the
 * entry filled). Against that book both legs only reduce the position, so they pass as
 * risk-reducing, the halt included; each leg is judged without its OCO sibling (only one
 * of them can fill). Throws BAD_INPUT naming the field when the levels are incoherent.
 */
export function planBracket(
  input: PlaceOrderInput,
  origin: OrderIntent['origin'],
  ctx: RiskContext,
  limits: RiskLimits,
): BracketPlan | null {
  if (!input.bracket) return null;
  const legs = bracketLegs(
    { side: input.side, limitPrice: input.limitPrice ?? null },
    { stopPrice: input.bracket.stopPrice ?? null, targetPrice: input.bracket.targetPrice ?? null },
  );
  const signed = input.side === 'buy' ? dec(input.quantity) : dec(input.quantity).neg();
  const held = ctx.positions.find((p) => p.symbol === input.symbol);
  const positions = [
    ...ctx.positions.filter((p) => p.symbol !== input.symbol),
    { symbol: input.symbol, quantity: decStr(dec(held?.quantity ?? '0').plus(signed)) },
  ];
  const afterEntry: RiskContext = { ...ctx, positions };
  const decisions = legs.map((leg) => {
    const intent: OrderIntent = {
      symbol: input.symbol,
      side: leg.side,
      orderType: leg.orderType,
      quantity: input.quantity,
      limitPrice: leg.limitPrice,
      stopPrice: leg.stopPrice,
      origin,
    };
    return { leg, decision: evaluateOrder(intent, afterEntry, limits) };
  });
  return { legs, decisions, allowed: decisions.every((d) => d.decision.allowed) };
}

/** The failed verdicts of the legs, each saying which leg it is about (stored with a denial). */
export const legDenials = (plan: BracketPlan): RuleVerdict[] =>
  plan.decisions.flatMap(({ leg, decision }) =>
    decision.denials.map((v) => ({ ...v, message: `${leg.role} leg: ${v.message ?? v.rule}` })),
  );

/** Writes the legs of a just-written entry (same status as it: pending_new, or denied) + audit. */
export async function insertLegs(
  tx: Tx,
  entry: OrderRow,
  plan: BracketPlan,
  actor: Actor,
  createdBy: string,
): Promise<OrderRow[]> {
  const out: OrderRow[] = [];
  for (const leg of plan.legs) {
    const [row] = await tx
      .insert(orders)
      .values({
        tenantId: entry.tenantId,
        clientOrderId: legClientOrderId(entry.clientOrderId, leg.role),
        broker: entry.broker,
        brokerConnectionId: entry.brokerConnectionId,
        proposalId: entry.proposalId,
        symbol: entry.symbol,
        side: leg.side,
        orderType: leg.orderType,
        // Protection lasts until the position is closed, not until the end of the entry's day.
        timeInForce: 'gtc',
        quantity: '0',
        limitPrice: leg.limitPrice,
        stopPrice: leg.stopPrice,
        status: entry.status === 'denied' ? 'denied' : 'pending_new',
        rejectReason: entry.status === 'denied' ? entry.rejectReason : null,
        origin: entry.origin,
        createdBy,
        parentOrderId: entry.id,
        bracketRole: leg.role,
        ocoGroup: entry.id,
        createdAt: entry.createdAt,
        updatedAt: entry.updatedAt,
      })
      .returning();
    out.push(row!);
    const px = leg.stopPrice ? `stop ${leg.stopPrice}` : `@ ${leg.limitPrice}`;
    await recordAudit(tx, {
      action: 'orders.place',
      actor,
      targetType: 'order',
      targetId: row!.id,
      outcome: entry.status === 'denied' ? 'denied' : 'ok',
      payload: { parentOrderId: entry.id, bracketRole: leg.role, ocoGroup: entry.id },
      details: `${leg.role} leg of ${entry.side} ${norm(entry.quantity)} ${entry.symbol}: ${leg.side} ${leg.orderType} ${px}, sized to the entry's fills`,
    });
  }
  return out;
}

/** The legs of an entry, stop first. */
export async function legsOf(tx: Tx, tenantId: TenantId, entryId: OrderId): Promise<OrderRow[]> {
  return (await legsOfEntries(tx, tenantId, [entryId])).get(entryId) ?? [];
}

/** The legs of each of `entryIds` (stop first), in one statement; entries with none are absent. */
export async function legsOfEntries(
  tx: Tx,
  tenantId: TenantId,
  entryIds: readonly OrderId[],
): Promise<Map<OrderId, OrderRow[]>> {
  const out = new Map<OrderId, OrderRow[]>();
  if (entryIds.length === 0) return out;
  const rows = await tx
    .select()
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), inArray(orders.parentOrderId, [...entryIds])))
    .orderBy(asc(orders.bracketRole));
  for (const r of rows) {
    const entry = asOrderId(r.parentOrderId as string);
    out.set(entry, [...(out.get(entry) ?? []), r]);
  }
  return out;
}

/** The broker request's bracket part for the entry's legs (null when it has none). */
export function bracketRequestOf(entry: OrderRow, legs: readonly OrderRow[]): BracketRequest | null {
  // A leg cancelled before its entry was sent (its cancel found nothing at the broker) stays off.
  const live = legs.filter((l) => !isTerminal(l.status));
  if (live.length === 0) return null;
  return {
    ocoGroup: asOrderId(entry.id),
    legs: live.map((l) => ({
      clientOrderId: l.clientOrderId,
      role: l.bracketRole!,
      price: norm(l.bracketRole === 'stop' ? l.stopPrice! : l.limitPrice!),
    })),
  };
}

/**
 * Ends the legs of an entry that never reached the broker (cancelled before it was sent,
 * rejected on the way): the broker cannot report on legs it never had. Row locks taken here.
 */
export async function endUnsentLegs(
  tx: Tx,
  tenantId: TenantId,
  entryId: OrderId,
  ev: Extract<OrderEvent, { type: 'OrderCancelled' | 'OrderRejected' }>,
  now: Date,
): Promise<ReturnType<typeof toOrderView>[]> {
  const legs = await tx
    .select()
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), eq(orders.parentOrderId, entryId)))
    .orderBy(asc(orders.id))
    .for('update');
  const out: ReturnType<typeof toOrderView>[] = [];
  for (const l of legs) {
    if (isTerminal(l.status) || (l.status !== 'pending_new' && l.status !== 'unknown')) continue;
    const next = applyOrderEvent(toOrderState(l), ev);
    const u = await writeLegStatus(tx, l.id, next, now);
    if (u) out.push(toOrderView(u));
  }
  return out;
}
