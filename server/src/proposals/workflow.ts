import type { Bus } from '@aegis/shared/bus/types';
import { approvals, brokerConnections, proposals } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { asProposalId, asTenantId, type ProposalId, type TenantId, type UserId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import type { RiskDecision } from '@aegis/shared/risk/governor';
import type { OrderView, PlaceOrderInput } from '@aegis/shared/schemas/order';
import type { ProposalView } from '@aegis/shared/schemas/proposal';
import { and, eq, isNull } from 'drizzle-orm';
import { audit } from '../audit/service.ts';
import { type Db, type Tx, withTenant } from '../db/database.ts';
import { isStorableError } from '../execution/idempotency.ts';
import { norm } from '../execution/order-rows.ts';
import type { PlaceOrderRequest } from '../execution/service.ts';
import type { Actor } from '../execution/types.ts';
import type { DecisionStreams } from '../signals/streams.ts';
import { expireDue, getProposalRow, orderInputOf, type ProposalRow, toProposalView } from './store.ts';

/**
 * The life of a proposal after it is made: pending → approved → executed (or denied by the
 * governor at placement), pending → rejected, pending → expired. Deny by default: nothing
 * executes without an approval, except in a desk's autonomous mode (only when the server allows
 * it), and an expired proposal can never be approved.
 *
 * Approval commits first (status `approved` + the approvals row + audit), then the order goes
 * through the execution service with the idempotency key `proposal:<id>`, then the proposal
 * records the order (the entry; its bracket legs link to it). A crash between the steps leaves an `approved` proposal without an order;
 * `resumeApproved` (at start) places it again with the same key, so at most one order exists.
 */

/** What the workflow needs of the execution service (ExecutionRuntime provides it). */
export interface OrderExecutor {
  readonly orders: {
    place(req: PlaceOrderRequest): Promise<OrderView>;
    check(
      tenantId: TenantId,
      input: PlaceOrderInput,
      origin: 'human' | 'api' | 'agent',
    ): Promise<RiskDecision>;
  };
}

export interface ProposalWorkflowDeps {
  readonly db: Db;
  readonly bus: Bus;
  readonly log: Logger;
  readonly streams: DecisionStreams;
  readonly execution: () => OrderExecutor | undefined;
  readonly clock?: () => Date;
}

export interface DecideRequest {
  readonly tenantId: TenantId;
  readonly proposalId: ProposalId;
  readonly actor: Actor;
  readonly userId: UserId | null;
  readonly reason: string | null;
  readonly requestId?: string | null;
  readonly ip?: string | null;
}

/** A person's decision on a proposal, kept in `approvals` (a script's decision has no user). */
async function recordDecision(
  tx: Tx,
  req: DecideRequest,
  proposalId: ProposalId,
  decision: 'approve' | 'reject',
): Promise<void> {
  if (!req.userId) return;
  await tx.insert(approvals).values({
    tenantId: req.tenantId,
    proposalId,
    userId: req.userId,
    decision,
    reason: req.reason,
  });
}

export const idempotencyKeyOf = (proposalId: ProposalId) => `proposal:${proposalId}`;

/**
 * The order an approved proposal becomes: its entry with the proposal's stop and target attached
 * as a bracket (OCO legs sized to what the entry fills), so the protection the desk approved is
 * working at the broker the moment there is a position to protect.
 */
export function approvedOrderInput(row: ProposalRow): PlaceOrderInput {
  const entry = orderInputOf(row);
  const stopPrice = row.stopPrice === null ? null : norm(row.stopPrice);
  const targetPrice = row.targetPrice === null ? null : norm(row.targetPrice);
  // The account chosen at approval (null: paper) travels with the proposal, so a resumed
  // execution places the same order through the same connection.
  const routed = { ...entry, brokerConnectionId: row.brokerConnectionId ?? null };
  if (!stopPrice && !targetPrice) return routed;
  return { ...routed, bracket: { stopPrice, targetPrice } };
}

export class ProposalWorkflow {
  readonly #d: ProposalWorkflowDeps;

  constructor(deps: ProposalWorkflowDeps) {
    this.#d = deps;
  }

  #now(): Date {
    return this.#d.clock?.() ?? new Date();
  }

  /** Fan-out of a changed proposal to the desk's live subscribers (after commit). */
  async publish(tenantId: TenantId, view: ProposalView): Promise<void> {
    await this.#d.bus
      .publish(this.#d.streams.proposalChanged(tenantId), JSON.stringify(view))
      .catch((err) => this.#d.log.warn({ err: (err as Error).message }, 'proposal publish failed'));
  }

  /** The governor's verdict for a proposal's order now (dry run, nothing written). */
  async check(
    tenantId: TenantId,
    input: PlaceOrderInput,
    origin: 'human' | 'agent',
  ): Promise<RiskDecision | null> {
    const exec = this.#d.execution();
    if (!exec) return null;
    return exec.orders.check(tenantId, input, origin);
  }

  async reject(req: DecideRequest): Promise<ProposalView> {
    const now = this.#now();
    const view = await withTenant(this.#d.db, req.tenantId, async (tx) => {
      const row = await getProposalRow(tx, req.tenantId, req.proposalId, true);
      this.#assertPending(row);
      await recordDecision(tx, req, req.proposalId, 'reject');
      const [updated] = await tx
        .update(proposals)
        .set({ status: 'rejected', decidedAt: now, updatedAt: now })
        .where(eq(proposals.id, row.id))
        .returning();
      await audit.record(tx, {
        action: 'proposals.reject',
        actor: req.actor,
        targetType: 'proposal',
        targetId: row.id,
        payload: { reason: req.reason },
        details: `${row.side} ${norm(row.quantity)} ${row.symbol}${req.reason ? `: ${req.reason.slice(0, 200)}` : ''}`,
        ...(req.requestId !== undefined ? { requestId: req.requestId } : {}),
      });
      return toProposalView(updated!);
    });
    await this.publish(req.tenantId, view);
    return view;
  }

  /**
   * Approves and executes. Refuses a proposal that is not pending, and one past its expiry
   * (which is then marked expired). Returns the proposal with its order.
   */
  async approve(
    req: DecideRequest & { origin: 'human' | 'agent'; brokerConnectionId?: string | null },
  ): Promise<{ proposal: ProposalView; order: OrderView | null }> {
    const exec = this.#d.execution();
    if (!exec) throw new AppError('UNAVAILABLE', 'The execution service is not running');
    const now = this.#now();
    const first = await withTenant<{ expired: ProposalView } | { approved: ProposalRow }>(
      this.#d.db,
      req.tenantId,
      async (tx) => {
        // The chosen account first: another desk's connection is not found whatever the proposal.
        if (req.brokerConnectionId) await assertTradableConnection(tx, req.tenantId, req.brokerConnectionId);
        const row = await getProposalRow(tx, req.tenantId, req.proposalId, true);
        if (row.status === 'pending' && row.expiresAt <= now) {
          const [expired] = await expireDue(tx, req.tenantId, now).then((rows) =>
            rows.filter((r) => r.id === row.id),
          );
          await audit.record(tx, {
            action: 'proposals.approve',
            actor: req.actor,
            outcome: 'denied',
            targetType: 'proposal',
            targetId: row.id,
            details: `expired at ${row.expiresAt.toISOString()}`,
          });
          return { expired: toProposalView(expired ?? row) };
        }
        this.#assertPending(row);
        await recordDecision(tx, req, req.proposalId, 'approve');
        const [updated] = await tx
          .update(proposals)
          .set({
            status: 'approved',
            decidedAt: now,
            updatedAt: now,
            brokerConnectionId: req.brokerConnectionId ?? null,
          })
          .where(eq(proposals.id, row.id))
          .returning();
        await audit.record(tx, {
          action: req.origin === 'agent' ? 'proposals.autoApprove' : 'proposals.approve',
          actor: req.actor,
          targetType: 'proposal',
          targetId: row.id,
          payload: { reason: req.reason, idempotencyKey: idempotencyKeyOf(asProposalId(row.id)) },
          details: `${row.side} ${norm(row.quantity)} ${row.symbol}${req.reason ? `: ${req.reason.slice(0, 200)}` : ''}`,
        });
        return { approved: updated! };
      },
    );
    if ('expired' in first) {
      await this.publish(req.tenantId, first.expired);
      throw new AppError('PRECONDITION_FAILED', 'The proposal has expired', {
        reason: 'proposal_expired',
        expiresAt: first.expired.expiresAt,
      });
    }
    await this.publish(req.tenantId, toProposalView(first.approved));
    return this.#execute(exec, first.approved, req.actor, req.origin, req);
  }

  async #execute(
    exec: OrderExecutor,
    row: ProposalRow,
    actor: Actor,
    origin: 'human' | 'agent',
    meta: { requestId?: string | null; ip?: string | null },
  ): Promise<{ proposal: ProposalView; order: OrderView | null }> {
    const tenantId = asTenantId(row.tenantId);
    let order: OrderView;
    try {
      order = await exec.orders.place({
        tenantId,
        actor,
        origin,
        input: approvedOrderInput(row),
        idempotencyKey: idempotencyKeyOf(asProposalId(row.id)),
        requestId: meta.requestId ?? null,
        ip: meta.ip ?? null,
      });
    } catch (err) {
      if (isStorableError(err)) {
        // A fact about this order (unknown instrument, refused input): retrying cannot help.
        const failedAt = this.#now();
        const view = await withTenant(this.#d.db, row.tenantId, async (tx) => {
          const [updated] = await tx
            .update(proposals)
            .set({ status: 'failed', updatedAt: failedAt })
            .where(and(eq(proposals.tenantId, row.tenantId), eq(proposals.id, row.id)))
            .returning();
          return updated ? toProposalView(updated) : null;
        });
        if (view) await this.publish(tenantId, view);
        this.#d.log.warn({ err, proposalId: row.id }, 'proposal execution refused; proposal failed');
        throw err;
      }
      // Transient (unavailable, timeout, unexpected): left `approved` without an order;
      // resumeApproved places it later with the same idempotency key.
      this.#d.log.error({ err, proposalId: row.id }, 'proposal execution failed; will retry');
      throw err;
    }
    const now = this.#now();
    const denied = order.status === 'denied';
    const view = await withTenant(this.#d.db, row.tenantId, async (tx) => {
      const [updated] = await tx
        .update(proposals)
        .set({
          status: denied ? 'denied' : 'executed',
          orderId: order.id,
          updatedAt: now,
          ...(denied && Array.isArray(order.denial)
            ? { riskVerdict: { allowed: false, rules: order.denial, checkedAt: now.toISOString() } }
            : {}),
        })
        .where(and(eq(proposals.tenantId, row.tenantId), eq(proposals.id, row.id)))
        .returning();
      return toProposalView(updated!);
    });
    await this.publish(tenantId, view);
    return { proposal: view, order };
  }

  /** Approved proposals without an order (a crash between approval and placement): place them. */
  async resumeApproved(tenantIds: readonly TenantId[]): Promise<number> {
    const exec = this.#d.execution();
    if (!exec) return 0;
    let n = 0;
    for (const tenantId of tenantIds) {
      const rows = await withTenant(this.#d.db, tenantId, (tx) =>
        tx
          .select()
          .from(proposals)
          .where(
            and(
              eq(proposals.tenantId, tenantId),
              eq(proposals.status, 'approved'),
              isNull(proposals.orderId),
            ),
          ),
      );
      for (const row of rows) {
        await this.#execute(exec, row, { type: 'system', id: 'resume' }, 'human', {}).catch(() => {});
        n++;
      }
    }
    return n;
  }

  /** Pending proposals past expiry → expired (and streamed). */
  async expire(tenantId: TenantId): Promise<number> {
    const rows = await withTenant(this.#d.db, tenantId, (tx) => expireDue(tx, tenantId, this.#now()));
    for (const r of rows) await this.publish(tenantId, toProposalView(r));
    return rows.length;
  }

  #assertPending(row: ProposalRow): void {
    if (row.status === 'expired') {
      throw new AppError('PRECONDITION_FAILED', 'The proposal has expired', {
        reason: 'proposal_expired',
        expiresAt: row.expiresAt.toISOString(),
      });
    }
    if (row.status !== 'pending') {
      throw new AppError('CONFLICT', `The proposal is ${row.status}`, {
        reason: 'proposal_not_pending',
        status: row.status,
      });
    }
  }
}

/** The chosen account must be one of the desk's connections, active (checked before approving). */
async function assertTradableConnection(tx: Tx, tenantId: TenantId, connectionId: string): Promise<void> {
  const [c] = await tx
    .select({ status: brokerConnections.status })
    .from(brokerConnections)
    .where(and(eq(brokerConnections.tenantId, tenantId), eq(brokerConnections.id, connectionId)));
  if (!c)
    throw new AppError('NOT_FOUND', 'brokerConnectionId: no such broker connection on this desk', {
      field: 'brokerConnectionId',
    });
  if (c.status !== 'active')
    throw new AppError(
      'PRECONDITION_FAILED',
      `brokerConnectionId: the connection is ${c.status.replace('_', ' ')}`,
      {
        field: 'brokerConnectionId',
      },
    );
}
