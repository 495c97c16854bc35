import { dec } from '@aegis/shared/accounting/decimal';
import { agentSettings, orders, positions, tenants } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { asOrderId, asTenantId, type OrderId, type TenantId } from '@aegis/shared/ids';
import { applyOrderEvent, type OrderEvent } from '@aegis/shared/orders/state';
import { and, eq, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { BrokerAdapter, BrokerOrder } from '../brokers/types.ts';
import type { Tx } from '../db/database.ts';
import { endUnsentLegs, legsOf } from './bracket-legs.ts';
import type { BrokerRegistry } from './broker-registry.ts';
import { norm, toOrderState } from './order-rows.ts';
import { AT_BROKER_STATUSES } from './risk-context.ts';
import type { ExecutionDeps, ExecutionOptions } from './types.ts';
import { valueDesk, writeEquitySnapshot } from './valuation.ts';

export interface ReconcileReport {
  readonly tenantId: TenantId;
  readonly trigger: 'start' | 'reconnect' | 'schedule' | 'manual' | 'takeover';
  /** Orders in `unknown` resolved from the broker's answer. */
  readonly resolved: readonly { orderId: OrderId; status: string }[];
  readonly positionMismatches: readonly { symbol: string; ours: string; broker: string }[];
  readonly orderMismatches: readonly { clientOrderId: string; ours: string | null; broker: string | null }[];
  readonly ok: boolean;
}

/**
 * Reconciliation: compares the desk's positions and open orders with the broker's, on start, on
 * reconnect and on a schedule. Orders left `unknown` by a broker timeout are resolved first from
 * the broker's view of their client order id and its reports (not found ⇒ rejected: the broker
 * never had it), and working orders that differ from the broker get the broker's reports applied
 * (idempotent by execution id), so a report missed during an outage is caught up, not flagged.
 * Any remaining difference halts automated trading for the desk (agent_settings) and writes an
 * audit event; people decide what is right.
 */
export class Reconciler {
  readonly #deps: ExecutionDeps;
  readonly #opts: ExecutionOptions;
  readonly #brokers: BrokerRegistry;
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: ExecutionDeps, opts: ExecutionOptions, brokers: BrokerRegistry) {
    this.#deps = deps;
    this.#opts = opts;
    this.#brokers = brokers;
  }

  start(): void {
    this.#timer = setInterval(() => {
      void this.reconcileAll('schedule').catch((err: unknown) =>
        this.#deps.log.error({ err }, 'scheduled reconciliation failed'),
      );
    }, this.#opts.reconcileIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * Every desk's paper account and every linked connection this process holds the lease of;
   * resources held by other processes are theirs to reconcile.
   */
  async reconcileAll(trigger: ReconcileReport['trigger']): Promise<ReconcileReport[]> {
    const desks = await this.#deps.db.select({ id: tenants.id }).from(tenants);
    const out: ReconcileReport[] = [];
    for (const d of desks) {
      const deskId = asTenantId(d.id);
      if (await this.#brokers.trySession(deskId, null)) out.push(await this.reconcile(deskId, trigger));
    }
    for (const s of await this.#brokers.sessions()) {
      if (s.connectionId === null) continue;
      try {
        out.push(await this.reconcile(s.tenantId, trigger, s.connectionId));
      } catch (err) {
        this.#deps.log.error({ err, resource: s.resource }, 'reconciliation of a connection failed');
      }
    }
    return out;
  }

  /**
   * Reconciles one broker resource of the desk: its paper account (`connectionId` null) or one
   * linked connection; only orders routed there are compared. Throws notLeaseHolder (broker-registry.ts) when
   * another process holds the resource.
   */
  async reconcile(
    tenantId: TenantId,
    trigger: ReconcileReport['trigger'],
    connectionId: string | null = null,
  ): Promise<ReconcileReport> {
    const session = await this.#brokers.session(tenantId, connectionId);
    session.lease.assertHeld();
    const broker = session.adapter;
    const routed =
      connectionId === null ? isNull(orders.brokerConnectionId) : eq(orders.brokerConnectionId, connectionId);
    const replay = (clientOrderId: string) => this.#brokers.replay(tenantId, clientOrderId, connectionId);
    const now = this.#deps.clock?.() ?? new Date();

    // 1. Resolve ambiguous orders by client order id.
    const unknown = await withTenant(this.#deps.db, tenantId, (tx) =>
      tx
        .select()
        .from(orders)
        .where(and(eq(orders.tenantId, tenantId), routed, eq(orders.status, 'unknown'))),
    );
    const resolved: { orderId: OrderId; status: string }[] = [];
    for (const o of unknown) {
      // The broker's reports for the order first (acknowledgement, fills, cancel): an order it
      // filled is recorded filled with its fills, never just accepted.
      const b = await replay(o.clientOrderId);
      const ev: OrderEvent =
        b === null
          ? { type: 'OrderRejected', reason: 'not found at broker (reconciliation)' }
          : b.status === 'rejected'
            ? { type: 'OrderRejected', reason: b.rejectReason ?? 'rejected' }
            : { type: 'OrderAccepted', brokerOrderId: b.brokerOrderId };
      const status = await withTenant(this.#deps.db, tenantId, async (tx) => {
        const [row] = await tx.select().from(orders).where(eq(orders.id, o.id)).for('update');
        if (!row) return null;
        if (row.status !== 'unknown') return row.status; // resolved by the replayed reports
        const next = applyOrderEvent(toOrderState(row), ev);
        await tx
          .update(orders)
          .set({
            status: next.status,
            brokerOrderId: next.brokerOrderId,
            rejectReason: next.rejectReason,
            version: sql`${orders.version} + 1`,
            updatedAt: now,
          })
          .where(eq(orders.id, o.id));
        return next.status;
      });
      if (status) resolved.push({ orderId: asOrderId(o.id), status });
      // A bracket entry's legs went with it: caught up from the broker, or ended with an entry
      // the broker never had.
      const legs = await withTenant(this.#deps.db, tenantId, (tx) => legsOf(tx, tenantId, asOrderId(o.id)));
      if (legs.length === 0) continue;
      if (b === null) {
        await withTenant(this.#deps.db, tenantId, (tx) =>
          endUnsentLegs(
            tx,
            tenantId,
            asOrderId(o.id),
            { type: 'OrderRejected', reason: 'bracket entry not found at broker' },
            now,
          ),
        );
      } else {
        for (const l of legs) await replay(l.clientOrderId);
      }
    }

    // 2. Catch up: a working order of ours that the broker no longer shows open, or shows with
    // other fills, may only have missed reports (a database outage): apply what the broker has
    // for it before comparing. Only what is still different after that is a mismatch.
    {
      const open = new Map((await broker.listOpenOrders()).map((b) => [b.clientOrderId, b]));
      const ourWorking = await withTenant(this.#deps.db, tenantId, (tx) =>
        tx
          .select()
          .from(orders)
          .where(and(eq(orders.tenantId, tenantId), routed, inArray(orders.status, [...AT_BROKER_STATUSES]))),
      );
      for (const o of ourWorking) {
        const b = open.get(o.clientOrderId);
        if (!b || !dec(b.filledQuantity).eq(dec(o.filledQuantity))) await replay(o.clientOrderId);
      }
      // And the other way: an order the broker works that we still hold as not yet acknowledged
      // (a bracket leg accepted with its entry while its report was lost) takes its reports.
      const ours = new Set(ourWorking.map((o) => o.clientOrderId));
      for (const id of open.keys()) if (!ours.has(id)) await replay(id);
    }

    // 3. Compare positions and open orders. A difference may be an order still in flight: the
    // broker filled (or acknowledged, or cancelled) it after the catch-up above and its report is
    // on its way or being applied. So a first difference is never drift by itself: the broker's
    // reports for every order that differs are applied (idempotent by execution id, waiting on
    // the order's row lock like the report being applied), and only what still differs on a
    // second comparison counts (a scheduled run once took "ours new, broker filled" for
    // drift and switched the desk's automation off).
    let { positionMismatches, orderMismatches } = await this.#compare(tenantId, broker, routed, connectionId);
    if (positionMismatches.length > 0 || orderMismatches.length > 0) {
      const again = new Set(orderMismatches.map((m) => m.clientOrderId));
      if (positionMismatches.length > 0) {
        // A position difference with no order difference: the orders on those symbols.
        const symbols = positionMismatches.map((m) => m.symbol);
        const onSymbols = await withTenant(this.#deps.db, tenantId, (tx) =>
          tx
            .select({ clientOrderId: orders.clientOrderId })
            .from(orders)
            .where(
              and(
                eq(orders.tenantId, tenantId),
                routed,
                inArray(orders.symbol, symbols),
                inArray(orders.status, [...AT_BROKER_STATUSES, 'unknown', 'pending_new']),
              ),
            ),
        );
        for (const o of onSymbols) again.add(o.clientOrderId);
      }
      for (const id of again) await replay(id);
      ({ positionMismatches, orderMismatches } = await this.#compare(tenantId, broker, routed, connectionId));
    }

    const ok = positionMismatches.length === 0 && orderMismatches.length === 0;
    const where = connectionId === null ? 'paper' : `connection ${connectionId}`;
    await withTenant(this.#deps.db, tenantId, async (tx) => {
      if (!ok) {
        const reason = `reconciliation mismatch (${trigger}, ${where}): ${positionMismatches.length} positions, ${orderMismatches.length} orders`;
        await tx
          .insert(agentSettings)
          .values({ tenantId, automationEnabled: false, automationDisabledReason: reason })
          .onConflictDoUpdate({
            target: agentSettings.tenantId,
            set: { automationEnabled: false, automationDisabledReason: reason, updatedAt: now },
          });
        await recordAudit(tx, {
          action: 'execution.reconcile',
          actor: { type: 'system', id: 'reconciler' },
          targetType: 'desk',
          targetId: tenantId,
          outcome: 'failed',
          payload: { trigger, connectionId, positionMismatches, orderMismatches },
          details: `${reason}; automated trading halted for the desk`,
        });
      } else if (resolved.length > 0) {
        await recordAudit(tx, {
          action: 'execution.reconcile',
          actor: { type: 'system', id: 'reconciler' },
          targetType: 'desk',
          targetId: tenantId,
          payload: { trigger, connectionId, resolved },
          details: `resolved ${resolved.length} unknown orders`,
        });
      }
      if (!ok || resolved.length > 0) {
        const v = await valueDesk(tx, tenantId, this.#deps.quotes, this.#opts.startingCapital, now);
        await writeEquitySnapshot(tx, tenantId, v, 'reconcile', now);
      }
    });
    if (!ok)
      this.#deps.log.warn(
        { tenantId, trigger, positionMismatches, orderMismatches },
        'reconciliation mismatch: automation halted',
      );
    return { tenantId, trigger, resolved, positionMismatches, orderMismatches, ok };
  }

  /** Positions and open orders of one broker resource: ours against the broker's. */
  async #compare(
    tenantId: TenantId,
    broker: BrokerAdapter,
    routed: SQL,
    connectionId: string | null,
  ): Promise<Pick<ReconcileReport, 'positionMismatches' | 'orderMismatches'>> {
    const [brokerPositions, brokerOpen] = await Promise.all([
      broker.listPositions(),
      broker.listOpenOrders(),
    ]);
    const { ours, ourOpen } = await withTenant(this.#deps.db, tenantId, async (tx) => ({
      ours: await ourPositionsAt(tx, tenantId, connectionId),
      ourOpen: await tx
        .select()
        .from(orders)
        .where(and(eq(orders.tenantId, tenantId), routed, inArray(orders.status, [...AT_BROKER_STATUSES]))),
    }));
    const positionMismatches: ReconcileReport['positionMismatches'][number][] = [];
    const symbols = new Set([...ours.map((p) => p.symbol), ...brokerPositions.map((p) => p.symbol)]);
    for (const s of symbols) {
      const o = dec(ours.find((p) => p.symbol === s)?.quantity ?? '0');
      const b = dec(brokerPositions.find((p) => p.symbol === s)?.quantity ?? '0');
      if (!o.eq(b))
        positionMismatches.push({ symbol: s, ours: norm(o.toFixed()), broker: norm(b.toFixed()) });
    }
    const orderMismatches: ReconcileReport['orderMismatches'][number][] = [];
    const brokerById = new Map<string, BrokerOrder>(brokerOpen.map((b) => [b.clientOrderId, b]));
    for (const o of ourOpen) {
      const b = brokerById.get(o.clientOrderId);
      if (!b) {
        // Our working order is not open at the broker: it filled, expired or was cancelled there
        // and the report did not reach us. The broker's answer decides; a person looks at it.
        const known = await broker.getOrderByClientId(o.clientOrderId);
        orderMismatches.push({
          clientOrderId: o.clientOrderId,
          ours: o.status,
          broker: known?.status ?? null,
        });
      } else if (!dec(b.filledQuantity).eq(dec(o.filledQuantity))) {
        orderMismatches.push({
          clientOrderId: o.clientOrderId,
          ours: `filled ${norm(o.filledQuantity)}`,
          broker: `filled ${b.filledQuantity}`,
        });
      }
      brokerById.delete(o.clientOrderId);
    }
    for (const b of brokerById.values())
      orderMismatches.push({ clientOrderId: b.clientOrderId, ours: null, broker: b.status });

    return { positionMismatches, orderMismatches };
  }
}

/**
 * The desk's positions as one broker resource should hold them. A desk that never routed an
 * order to a linked connection: its positions table. Otherwise the net of the fills of the
 * orders routed to this resource (a position is desk-wide; the broker only holds its share).
 */
async function ourPositionsAt(
  tx: Tx,
  tenantId: TenantId,
  connectionId: string | null,
): Promise<{ symbol: string; quantity: string }[]> {
  const [linked] = await tx.execute<{ n: number }>(
    sql`select count(*)::int as n from orders where tenant_id = ${tenantId} and broker_connection_id is not null limit 1`,
  );
  if (connectionId === null && (linked?.n ?? 0) === 0)
    return tx
      .select({ symbol: positions.symbol, quantity: positions.quantity })
      .from(positions)
      .where(eq(positions.tenantId, tenantId));
  return tx.execute<{ symbol: string; quantity: string }>(sql`
    select f.symbol, sum(case when f.side = 'buy' then f.quantity else -f.quantity end)::text as quantity
    from fills f join orders o on o.tenant_id = f.tenant_id and o.id = f.order_id
    where f.tenant_id = ${tenantId} and o.broker_connection_id is not distinct from ${connectionId}::uuid
    group by f.symbol`);
}
