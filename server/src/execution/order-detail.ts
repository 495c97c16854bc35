import { approvals, auditLog, orderEvents, orders, proposals, signals } from '@aegis/shared/db';
import type { OrderId, TenantId } from '@aegis/shared/ids';
import type { OrderStatus } from '@aegis/shared/orders/statuses';
import type { RuleVerdictView } from '@aegis/shared/schemas/order';
import type { ActorView, OrderDetailView } from '@aegis/shared/schemas/order-detail';
import { and, asc, desc, eq, or } from 'drizzle-orm';
import { type ActorType, actorKey, actorNames } from '../audit/actor-names.ts';
import type { Tx } from '../db/database.ts';
import { getOrderWithFills } from './queries.ts';

const ACTOR_TYPES: readonly ActorType[] = ['user', 'api_key', 'agent', 'system'];

/** `user:<uuid>` (an order's createdBy, an idempotency principal) → type and id. */
function parsePrincipal(p: string | null): { type: ActorType; id: string | null } | null {
  if (!p) return null;
  const at = p.indexOf(':');
  const type = (at < 0 ? p : p.slice(0, at)) as ActorType;
  if (!ACTOR_TYPES.includes(type)) return null;
  return { type, id: at < 0 ? null : p.slice(at + 1) };
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/**
 * One order and everything about it, for the console's order drawer and `aegis orders show`:
 * its timeline (order_events, written by a trigger on every status change), fills, the governor's
 * verdict, the proposal and signal it came from with who approved it, and the audit rows about
 * the order and its proposal with their actors in words. Run in the desk's transaction (RLS).
 */
export async function getOrderDetail(tx: Tx, tenantId: TenantId, orderId: OrderId): Promise<OrderDetailView> {
  const { order, fills: orderFills } = await getOrderWithFills(tx, tenantId, orderId);
  // The governor's verdict for every order (0026); orders from before it have only a denial.
  const [judged] = await tx
    .select({ riskVerdicts: orders.riskVerdicts })
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), eq(orders.id, orderId)));
  const events = await tx
    .select()
    .from(orderEvents)
    .where(and(eq(orderEvents.tenantId, tenantId), eq(orderEvents.orderId, orderId)))
    .orderBy(asc(orderEvents.id));

  const [proposal] = order.proposalId
    ? await tx
        .select()
        .from(proposals)
        .where(and(eq(proposals.tenantId, tenantId), eq(proposals.id, order.proposalId)))
    : [];
  const [approval] = proposal
    ? await tx
        .select()
        .from(approvals)
        .where(
          and(
            eq(approvals.tenantId, tenantId),
            eq(approvals.proposalId, proposal.id),
            eq(approvals.decision, 'approve'),
          ),
        )
        .orderBy(desc(approvals.createdAt))
        .limit(1)
    : [];
  const [signal] = proposal?.signalId
    ? await tx.select().from(signals).where(eq(signals.id, proposal.signalId)).limit(1)
    : [];

  const about = [and(eq(auditLog.targetType, 'order'), eq(auditLog.targetId, orderId))];
  if (proposal) about.push(and(eq(auditLog.targetType, 'proposal'), eq(auditLog.targetId, proposal.id)));
  const trail = await tx
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenantId), or(...about)))
    .orderBy(asc(auditLog.seq))
    .limit(200);

  const placer = parsePrincipal(order.createdBy);
  const approver = approval ? { type: 'user' as const, id: approval.userId } : null;
  const names = await actorNames(tx, [
    ...(placer ? [placer] : []),
    ...(approver ? [approver] : []),
    ...trail.map((r) => ({ type: r.actorType, id: r.actorId })),
  ]);
  const nameOf = (a: { type: ActorType; id: string | null } | null): ActorView | null =>
    a ? (names.get(actorKey(a.type, a.id)) ?? { type: a.type, id: a.id, name: a.type }) : null;
  const placedBy = nameOf(placer);
  const approvedBy = nameOf(approver);

  let originText: string;
  if (proposal) {
    const who = proposal.decider === 'human' ? 'desk proposal' : 'agent proposal';
    originText = approvedBy
      ? `${who}, approved by ${approvedBy.name}`
      : order.origin === 'agent'
        ? `${who}, approved automatically (autonomous mode)`
        : `${who}`;
  } else if (order.origin === 'api') originText = `API, ${placedBy?.name ?? 'unknown key'}`;
  else if (order.origin === 'agent') originText = 'decision agent';
  else originText = `placed by ${placedBy?.name ?? 'unknown'}`;

  return {
    order,
    originText,
    placedBy,
    events: events.map((e) => ({
      ts: e.ts.toISOString(),
      fromStatus: (e.fromStatus ?? null) as OrderStatus | null,
      toStatus: e.toStatus as OrderStatus,
      filledQuantity: e.filledQuantity,
      rejectReason: e.rejectReason,
    })),
    fills: orderFills,
    verdicts: (judged?.riskVerdicts as RuleVerdictView[] | null | undefined) ?? order.denial,
    proposal: proposal
      ? {
          id: proposal.id,
          status: proposal.status,
          decider: proposal.decider,
          confidence: proposal.confidence,
          createdAt: proposal.createdAt.toISOString(),
          signalId: proposal.signalId,
          approvedBy,
          decidedAt: iso(proposal.decidedAt),
        }
      : null,
    signal: signal
      ? {
          id: signal.id,
          ts: signal.ts.toISOString(),
          symbol: signal.symbol,
          direction: signal.direction,
          pattern: signal.pattern,
          score: signal.score,
        }
      : null,
    audit: trail.map((r) => ({
      seq: r.seq,
      ts: r.ts.toISOString(),
      action: r.action,
      outcome: r.outcome,
      actor: nameOf({ type: r.actorType, id: r.actorId }) ?? {
        type: r.actorType,
        id: r.actorId,
        name: r.actorType,
      },
      details: r.details,
    })),
  };
}
