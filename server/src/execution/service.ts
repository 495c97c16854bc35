// One file: OrderService and the helpers the other placement paths reuse (desk lock, idempotent
// placeOnce, proposal and connection checks, requestCancelInTx) are the one transactional path
// every order takes; combos, flatten and the halt import them from here.
import { brokerConnections, orders, outbox, proposals } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import {
  asComboId,
  asOrderId,
  asProposalId,
  asTenantId,
  type OrderId,
  type ProposalId,
  type TenantId,
} from '@aegis/shared/ids';
import { applyOrderEvent, isTerminal } from '@aegis/shared/orders/state';
import { evaluateOrder, type OrderIntent, type RiskDecision } from '@aegis/shared/risk/governor';
import type { OrderView, PlaceOrderInput } from '@aegis/shared/schemas/order';
import { and, eq, sql } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { Tx } from '../db/database.ts';
import { insertLegs, legDenials, planBracket } from './bracket-legs.ts';
import { syncCombo } from './combo-rows.ts';
import {
  claimKey,
  clientOrderIdFor,
  completeKey,
  type IdempotencyScope,
  isStorableError,
  replay,
  requestHash,
  storeErrorOutcome,
} from './idempotency.ts';
import {
  type BrandedOrderView,
  newOrderRow,
  norm,
  type OrderRow,
  toOrderState,
  toOrderView,
} from './order-rows.ts';
import {
  type BatchOutcome,
  type BatchRequest,
  batchable,
  DeskBatcher,
  placeBatch,
} from './placement-batch.ts';
import { loadRiskInputs, type RiskInputs } from './risk-context.ts';
import {
  type Actor,
  type ExecutionDeps,
  type ExecutionOptions,
  principalKey,
  type RequestMeta,
} from './types.ts';

export const PLACE_PROCEDURE = 'orders.place';

export interface PlaceOrderRequest extends RequestMeta {
  readonly tenantId: TenantId;
  readonly actor: Actor;
  readonly origin: 'human' | 'api' | 'agent';
  readonly input: PlaceOrderInput;
  readonly idempotencyKey: string;
}

export interface OrderPlacementHooks {
  /** Called after a commit that queued broker work for the desk (the outbox dispatcher's fast path). */
  readonly onOutboxCommitted: (tenantId: TenantId) => void;
  /** Called after a commit that changed an order (live subscriptions). */
  readonly onOrderChanged: (tenantId: TenantId, order: OrderView) => void;
}

/** Serializes order placement per desk so the governor's view and the write cannot interleave. */
export async function lockDeskOrders(tx: Tx, tenantId: TenantId): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`aegis.orders:${tenantId}`}, 0))`);
}

export async function setAuditContext(tx: Tx, meta: RequestMeta): Promise<void> {
  await tx.execute(
    sql`select set_config('app.request_id', ${meta.requestId ?? ''}, true), set_config('app.client_ip', ${meta.ip ?? ''}, true)`,
  );
}

/**
 * Placement once per idempotency key, for single and combo orders alike. In one desk transaction:
 * claim the key (a replay returns the id it stored), place through `work` with the key's
 * deterministic client order id, store `{ [field]: id }` as the key's result. A storable error is
 * recorded as the key's first result after the working transaction rolled back, so a retry gets
 * the same error rather than a second attempt.
 */
export async function placeOnce<T extends { readonly id: string }>(
  deps: Pick<ExecutionDeps, 'db' | 'log'>,
  req: RequestMeta & { readonly tenantId: TenantId },
  scope: IdempotencyScope,
  input: unknown,
  field: 'orderId' | 'comboId',
  now: Date,
  work: (tx: Tx, clientOrderId: string) => Promise<T>,
): Promise<{ readonly replayedId: string } | { readonly placed: T }> {
  const hash = requestHash(input);
  try {
    return await withTenant(deps.db, req.tenantId, async (tx) => {
      await setAuditContext(tx, req);
      const claim = await claimKey<Record<string, string>>(tx, scope, hash, now);
      if (!claim.claimed) return { replayedId: replay(claim.outcome)[field]! };
      const placed = await work(tx, clientOrderIdFor(scope, now));
      await completeKey(tx, scope, { ok: true, value: { [field]: placed.id } });
      return { placed };
    });
  } catch (err) {
    if (isStorableError(err) && !err.details?.replayed) {
      // The working transaction rolled back; the error is the key's first result.
      await withTenant(deps.db, req.tenantId, (tx) => storeErrorOutcome(tx, scope, hash, err, now)).catch(
        (e: unknown) => deps.log.error({ err: e }, 'storing idempotent error outcome failed'),
      );
    }
    throw err;
  }
}

/**
 * The references an order or a combo names, checked as place (and its dry run) checks them: a
 * proposal of its own desk, a connection it may be routed to. Returns that connection (null: the
 * paper broker).
 */
export async function checkedReferences(
  tx: Tx,
  tenantId: TenantId,
  input: { readonly proposalId?: string | null; readonly brokerConnectionId?: string | null },
): Promise<{ id: string; provider: string } | null> {
  if (input.proposalId) await assertOwnProposal(tx, tenantId, asProposalId(input.proposalId));
  return input.brokerConnectionId ? await routedConnection(tx, tenantId, input.brokerConnectionId) : null;
}

/**
 * An order may name only a proposal of its own desk. The column has no foreign key (and one would
 * not see RLS), so without this check another desk's proposal id was stored as the link.
 */
export async function assertOwnProposal(tx: Tx, tenantId: TenantId, proposalId: ProposalId): Promise<void> {
  const [own] = await tx
    .select({ id: proposals.id })
    .from(proposals)
    .where(and(eq(proposals.tenantId, tenantId), eq(proposals.id, proposalId)))
    .limit(1);
  if (!own) {
    throw new AppError(ErrorCode.NOT_FOUND, 'order.proposalId: no such proposal on this desk', {
      reason: 'unknown_reference',
      field: 'order.proposalId',
    });
  }
}

/**
 * The connection an order is routed to: the desk's own (RLS hides every other desk's, so another
 * desk's id reads as unknown) and `active`. A connection that needs relinking or
 * re-authentication, was revoked or is in error takes no new orders (its working orders can
 * still be cancelled: cancels go through the outbox whatever the status).
 */
export async function routedConnection(
  tx: Tx,
  tenantId: TenantId,
  connectionId: string,
): Promise<{ id: string; provider: string }> {
  const [c] = await tx
    .select({
      id: brokerConnections.id,
      provider: brokerConnections.provider,
      status: brokerConnections.status,
    })
    .from(brokerConnections)
    .where(and(eq(brokerConnections.tenantId, tenantId), eq(brokerConnections.id, connectionId)))
    .limit(1);
  if (!c) {
    throw new AppError(
      ErrorCode.NOT_FOUND,
      'order.brokerConnectionId: no such broker connection on this desk',
      {
        reason: 'unknown_reference',
        field: 'order.brokerConnectionId',
      },
    );
  }
  if (c.status !== 'active') {
    throw new AppError(
      ErrorCode.PRECONDITION_FAILED,
      `order.brokerConnectionId: the connection is ${c.status} and takes no new orders`,
      { reason: 'connection_not_active', field: 'order.brokerConnectionId', status: c.status },
    );
  }
  return c;
}

const intentOf = (input: PlaceOrderInput, origin: OrderIntent['origin']): OrderIntent => ({
  symbol: input.symbol,
  side: input.side,
  orderType: input.orderType,
  quantity: input.quantity,
  limitPrice: input.limitPrice ?? null,
  stopPrice: input.stopPrice ?? null,
  origin,
});

/**
 * Placing, cancelling and dry-running orders. Every order passes the risk governor in the same
 * transaction that writes it (after a per-desk lock), together with its outbox row and its audit
 * row; nothing here talks to a broker: the outbox dispatcher does, after commit.
 */
export class OrderService {
  readonly #deps: ExecutionDeps;
  readonly #opts: ExecutionOptions;
  readonly #hooks: OrderPlacementHooks;
  readonly #clock: () => Date;
  readonly #batcher: DeskBatcher | null;

  constructor(deps: ExecutionDeps, opts: ExecutionOptions, hooks: OrderPlacementHooks) {
    this.#deps = deps;
    this.#opts = opts;
    this.#hooks = hooks;
    this.#clock = deps.clock ?? (() => new Date());
    this.#batcher =
      opts.orderPlacement === 'per-order'
        ? null
        : new DeskBatcher((tenantId, reqs) => this.#runBatch(tenantId, reqs), opts.orderBatchMax ?? 64);
  }

  /**
   * Idempotent placement. Returns the order — `pending_new` when it passed the governor and is
   * queued for the broker, `denied` (with every rule's verdict) when it did not. A replay returns
   * the same order as it is now.
   */
  async place(req: PlaceOrderRequest): Promise<BrandedOrderView> {
    const scope: IdempotencyScope = {
      tenantId: req.tenantId,
      principal: principalKey(req.actor),
      procedure: PLACE_PROCEDURE,
      key: req.idempotencyKey,
    };
    if (this.#batcher && batchable(req.input)) {
      const outcome = await this.#batcher.submit({
        tenantId: req.tenantId,
        scope,
        input: req.input,
        intent: intentOf(req.input, req.origin),
        origin: req.origin,
        actor: req.actor,
        createdBy: principalKey(req.actor),
        requestId: req.requestId ?? null,
        ip: req.ip ?? null,
      });
      return this.#settle(req, outcome);
    }
    return this.#placeAlone(req, scope);
  }

  /** The per-order path: one desk transaction for this order alone. */
  async #placeAlone(req: PlaceOrderRequest, scope: IdempotencyScope): Promise<BrandedOrderView> {
    const result = await placeOnce(this.#deps, req, scope, req.input, 'orderId', this.#clock(), (tx, id) =>
      this.#placeInTx(tx, req, id),
    );
    if ('replayedId' in result) return this.get(req.tenantId, asOrderId(result.replayedId));
    const order = result.placed;
    if (order.status === 'pending_new') this.#hooks.onOutboxCommitted(req.tenantId);
    this.#hooks.onOrderChanged(req.tenantId, order);
    return order;
  }

  async #settle(req: PlaceOrderRequest, outcome: BatchOutcome): Promise<BrandedOrderView> {
    switch (outcome.kind) {
      case 'placed':
        // Each order is announced; the dispatcher's nudge is per desk and coalesces.
        if (outcome.order.status === 'pending_new') this.#hooks.onOutboxCommitted(req.tenantId);
        this.#hooks.onOrderChanged(req.tenantId, outcome.order);
        return outcome.order;
      case 'replay':
        return this.get(req.tenantId, outcome.orderId);
      case 'error':
        throw outcome.error;
      case 'again':
        throw new AppError(ErrorCode.INTERNAL, 'placement batch requeue leaked');
    }
  }

  /**
   * One batch transaction for a desk's queued orders. If it fails as a whole nothing of it
   * committed: each order is then placed on its own, so an order whose write fails cannot take
   * the others down with it.
   */
  async #runBatch(tenantId: TenantId, reqs: readonly BatchRequest[]): Promise<BatchOutcome[]> {
    try {
      return await placeBatch(
        this.#deps,
        this.#opts,
        this.#clock,
        tenantId,
        reqs,
        explainReducingOnly,
        describe,
      );
    } catch (err) {
      this.#deps.log.warn(
        { err, tenantId, orders: reqs.length },
        'placement batch failed; placing its orders one by one',
      );
      return Promise.all(
        reqs.map(async (r): Promise<BatchOutcome> => {
          try {
            const req: PlaceOrderRequest = {
              tenantId,
              actor: r.actor,
              origin: r.origin,
              input: r.input,
              idempotencyKey: r.scope.key,
              requestId: r.requestId,
              ip: r.ip,
            };
            const result = await placeOnce(
              this.#deps,
              req,
              r.scope,
              r.input,
              'orderId',
              this.#clock(),
              (tx, id) => this.#placeInTx(tx, req, id),
            );
            return 'replayedId' in result
              ? { kind: 'replay', orderId: asOrderId(result.replayedId) }
              : { kind: 'placed', order: result.placed };
          } catch (error) {
            return { kind: 'error', error };
          }
        }),
      );
    }
  }

  async #placeInTx(tx: Tx, req: PlaceOrderRequest, clientOrderId: string): Promise<BrandedOrderView> {
    await lockDeskOrders(tx, req.tenantId);
    // The governor's clock is read once the desk lock is held, not when the request arrived: an
    // order that waited for a connection or for the lock (seconds, under load or after a database
    // restart) would otherwise see prices newer than its clock and find them dated in the future.
    const now = this.#clock();
    const connection = await checkedReferences(tx, req.tenantId, req.input);
    const intent = intentOf(req.input, req.origin);
    const inputs = await loadRiskInputs(tx, req.tenantId, intent, {
      quotes: this.#deps.quotes,
      startingCapital: this.#opts.startingCapital,
      now,
    });
    const { ctx, limits } = inputs;
    const entryDecision = explainReducingOnly(evaluateOrder(intent, ctx, limits), inputs);
    // A bracket goes out whole or not at all: the entry is denied when a leg is.
    const bracket = planBracket(req.input, req.origin, ctx, limits);
    const decision =
      bracket && !bracket.allowed ? withLegDenials(entryDecision, legDenials(bracket)) : entryDecision;
    const [row] = await tx
      .insert(orders)
      .values(
        newOrderRow(req.input, decision, {
          tenantId: req.tenantId,
          clientOrderId,
          broker: connection?.provider ?? 'paper',
          brokerConnectionId: connection?.id ?? null,
          proposalId: req.input.proposalId ? asProposalId(req.input.proposalId) : null,
          origin: req.origin,
          createdBy: principalKey(req.actor),
          now,
        }),
      )
      .returning();
    if (!row) throw new AppError(ErrorCode.INTERNAL, 'order insert returned nothing');
    // The legs travel with the entry's own `broker.place` (one native bracket request).
    if (bracket) await insertLegs(tx, row, bracket, req.actor, principalKey(req.actor));
    if (decision.allowed) {
      await tx.insert(outbox).values({
        tenantId: req.tenantId,
        topic: 'broker.place',
        aggregateId: row.id,
        payload: { orderId: row.id, clientOrderId },
        availableAt: now,
      });
    }
    await recordAudit(tx, {
      action: 'orders.place',
      actor: req.actor,
      targetType: 'order',
      targetId: row.id,
      outcome: decision.allowed ? 'ok' : 'denied',
      payload: { input: req.input, clientOrderId, verdicts: decision.denials },
      details: describe(req.input, decision),
    });
    return toOrderView(row);
  }

  /** Governor dry run (`risk.check`): the verdict per rule, nothing written. */
  async check(
    tenantId: TenantId,
    input: PlaceOrderInput,
    origin: OrderIntent['origin'],
  ): Promise<RiskDecision> {
    const intent = intentOf(input, origin);
    return withTenant(this.#deps.db, tenantId, async (tx) => {
      // The dry run refuses the references place would: another desk's ids are unknown here.
      await checkedReferences(tx, tenantId, input);
      const inputs = await loadRiskInputs(tx, tenantId, intent, {
        quotes: this.#deps.quotes,
        startingCapital: this.#opts.startingCapital,
        now: this.#clock(),
      });
      const { ctx, limits } = inputs;
      const entry = explainReducingOnly(evaluateOrder(intent, ctx, limits), inputs);
      const bracket = planBracket(input, origin, ctx, limits);
      return bracket && !bracket.allowed ? withLegDenials(entry, legDenials(bracket)) : entry;
    });
  }

  /**
   * Requests a cancel: always allowed (cancels reduce risk, even under a halt). The order goes to
   * pending_cancel and a `broker.cancel` outbox row is committed with it. Idempotent on an order
   * already pending cancel; a terminal order is a CONFLICT.
   */
  async cancel(
    tenantId: TenantId,
    orderId: OrderId,
    actor: Actor,
    meta: RequestMeta = {},
  ): Promise<BrandedOrderView> {
    const view = await withTenant(this.#deps.db, tenantId, async (tx) => {
      await setAuditContext(tx, meta);
      const [row] = await tx
        .select()
        .from(orders)
        .where(and(eq(orders.tenantId, tenantId), eq(orders.id, orderId)))
        .for('update');
      if (!row) throw new AppError(ErrorCode.NOT_FOUND, 'order not found');
      if (row.status === 'pending_cancel') return toOrderView(row);
      if (isTerminal(row.status)) {
        throw new AppError(ErrorCode.CONFLICT, `order is ${row.status}`, {
          reason: 'order_terminal',
          status: row.status,
        });
      }
      const updated = await requestCancelInTx(tx, row, this.#clock());
      await recordAudit(tx, {
        action: 'orders.cancel',
        actor,
        targetType: 'order',
        targetId: row.id,
        payload: { orderId: row.id, clientOrderId: row.clientOrderId },
        details: `cancel ${row.side} ${norm(row.quantity)} ${row.symbol}`,
      });
      return toOrderView(updated);
    });
    this.#hooks.onOutboxCommitted(tenantId);
    this.#hooks.onOrderChanged(tenantId, view);
    return view;
  }

  async get(tenantId: TenantId, orderId: OrderId): Promise<BrandedOrderView> {
    const [row] = await withTenant(this.#deps.db, tenantId, (tx) =>
      tx
        .select()
        .from(orders)
        .where(and(eq(orders.tenantId, tenantId), eq(orders.id, orderId))),
    );
    if (!row) throw new AppError(ErrorCode.NOT_FOUND, 'order not found');
    return toOrderView(row);
  }
}

/** pending_cancel + a `broker.cancel` outbox row, in the caller's transaction (row locked). */
export async function requestCancelInTx(tx: Tx, row: OrderRow, now: Date): Promise<OrderRow> {
  const next = applyOrderEvent(toOrderState(row), { type: 'OrderCancelRequested' });
  const [updated] = await tx
    .update(orders)
    .set({ status: next.status, version: sql`${orders.version} + 1`, updatedAt: now })
    .where(eq(orders.id, row.id))
    .returning();
  await tx.insert(outbox).values({
    tenantId: row.tenantId,
    topic: 'broker.cancel',
    aggregateId: row.id,
    payload: { orderId: row.id, clientOrderId: row.clientOrderId },
    availableAt: now,
  });
  // A combo leg (the halt cancels leg by leg): the combo shows its cancel too.
  if (updated?.comboId) await syncCombo(tx, asTenantId(row.tenantId), asComboId(updated.comboId), now);
  return updated!;
}

/**
 * A desk that is reducing-only because a broker's circuit is open (no halt engaged) is
 * denied as a desk halt; the verdict says why, so nobody looks for a switch to release.
 */
function explainReducingOnly(
  d: RiskDecision,
  inputs: Pick<RiskInputs, 'reducingOnly' | 'switches'>,
): RiskDecision {
  if (!inputs.reducingOnly || inputs.switches.desk || inputs.switches.global) return d;
  const explain = <T extends RiskDecision['verdicts'][number]>(v: T): T =>
    v.code === 'DESK_HALT'
      ? { ...v, message: `desk is reducing-only (${inputs.reducingOnly}); only risk-reducing orders` }
      : v;
  return { ...d, verdicts: d.verdicts.map(explain), denials: d.denials.map(explain) };
}

/** A bracket is allowed whole or not at all: a leg's denials deny the entry too. */
const withLegDenials = (d: RiskDecision, legs: RiskDecision['denials']): RiskDecision => ({
  allowed: false,
  verdicts: [...d.verdicts, ...legs],
  denials: [...d.denials, ...legs],
});

function describe(input: PlaceOrderInput, d: RiskDecision): string {
  const px = input.limitPrice ? ` @ ${input.limitPrice}` : input.stopPrice ? ` stop ${input.stopPrice}` : '';
  const b = input.bracket;
  const legs = b
    ? ` bracket${b.stopPrice ? ` stop ${b.stopPrice}` : ''}${b.targetPrice ? ` target ${b.targetPrice}` : ''}`
    : '';
  const base = `${input.side} ${input.quantity} ${input.symbol} ${input.orderType}${px}${legs}`;
  return d.allowed ? base : `${base} denied: ${d.denials.map((v) => v.code).join(', ')}`;
}
