// One file: claiming an outbox row, the lease-fenced broker call, the lookup-before-resend of a
// retried place and the ordering of a cancel behind its place are one protocol over the same
// claimed row and lease; splitting it would spread the at-most-once reasoning over several files.
import { orders, outbox, tenants } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { asComboId, asOrderId, asTenantId, type OrderId, type TenantId } from '@aegis/shared/ids';
import { applyOrderEvent, isTerminal, type OrderEvent } from '@aegis/shared/orders/state';
import type { OrderView } from '@aegis/shared/schemas/order';
import { and, eq, inArray, isNull, notInArray, sql } from 'drizzle-orm';
import { BrokerError, BrokerErrorCode } from '../brokers/types.ts';
import type { Tx } from '../db/database.ts';
import { transientKindOf } from '../transient-errors.ts';
import { bracketRequestOf, endUnsentLegs, legsOfEntries } from './bracket-legs.ts';
import { backoff, isBrokerCallTimeout, withTimeout } from './broker-call.ts';
import { type BrokerRegistry, type BrokerSession, isNotLeaseHolder } from './broker-registry.ts';
import { type ComboDispatchDeps, dispatchComboCancel, dispatchComboPlace } from './combo-dispatch.ts';
import { syncCombo } from './combo-rows.ts';
import { isLeaseLost } from './leases.ts';
import { norm, type OrderRow, toOrderState, toOrderView } from './order-rows.ts';
import { DISPATCH_CHANNEL, type ExecutionDeps, type ExecutionOptions } from './types.ts';

interface Claimed {
  readonly id: number;
  readonly topic: string;
  readonly aggregateId: string;
  /** Written in the transaction that changed the order: orderId is its row id in `orders`. */
  readonly payload: { orderId: OrderId; clientOrderId: string };
  /** Attempts including this one. */
  readonly attempts: number;
}
export type Outcome =
  | { readonly done: true; readonly brokerOrderId?: string }
  | { readonly done: false; readonly retryInMs: number; readonly error: string };

/** How long a claimed row is invisible to other dispatchers while its broker call runs. */
const LEASE_MS = 30_000;
const BATCH = 50;
/** Broker calls in flight per desk dispatch (different orders only). */
const CONCURRENCY = 16;

/**
 * The outbox dispatcher: sends committed broker commands (`broker.place`, `broker.cancel`). Only
 * rows committed with their order reach a broker; a crash between commit and dispatch leaves the
 * row pending and the next sweep (this process after restart, or another instance) sends it.
 *
 * Each row is claimed in a short transaction (`FOR UPDATE SKIP LOCKED`, attempts + 1, leased)
 * before the broker call, so a second dispatcher skips it and a crash during the call is visible
 * afterwards (attempts > 1). A retried place first looks the order up by its client order id and
 * never sends it under a new one (if the broker has it, its reports are applied: its real state
 * and fills, not merely "accepted"); a timeout marks the order `unknown` until the lookup (or
 * reconciliation) resolves it. A cancel waits until the order's place has been dispatched, so
 * the broker sees them in order.
 *
 * Rows are dispatched per broker resource (the desk's paper account, or the linked connection
 * the order was routed to: orders.broker_connection_id) and only by the process holding that
 * resource's lease (leases.ts): the claim itself is fenced in SQL by the lease's token, and the
 * lease is checked again before every broker call. A process that is not the holder forwards a
 * nudge on the bus (DISPATCH_CHANNEL) so the holder sends at once; the holder's sweep is the
 * fallback. A new session (first use, restart, takeover) first frees the rows its predecessor
 * had claimed: they are retried at once, and a retry looks the order up before sending it.
 */
export class OutboxDispatcher {
  readonly #deps: ExecutionDeps;
  readonly #opts: ExecutionOptions;
  readonly #brokers: BrokerRegistry;
  readonly #onOrderChanged: (tenantId: TenantId, order: OrderView) => void;
  readonly #running = new Map<TenantId, Promise<number>>();
  readonly #again = new Set<TenantId>();
  /** Sessions whose predecessor's claims were freed (once per session). */
  readonly #adopted = new WeakMap<BrokerSession, Promise<void>>();
  readonly #onSessionAdopted: (s: BrokerSession) => Promise<void>;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(
    deps: ExecutionDeps,
    opts: ExecutionOptions,
    brokers: BrokerRegistry,
    onOrderChanged: (tenantId: TenantId, order: OrderView) => void,
    onSessionAdopted: (s: BrokerSession) => Promise<void> = async () => {},
  ) {
    this.#deps = deps;
    this.#opts = opts;
    this.#brokers = brokers;
    this.#onOrderChanged = onOrderChanged;
    this.#onSessionAdopted = onSessionAdopted;
  }

  /** Periodic sweep over every desk (the recovery path); `nudge` is the fast path. */
  start(): void {
    this.#stopped = false;
    const tick = () => {
      void this.sweep()
        .catch((err: unknown) => this.#deps.log.error({ err }, 'outbox sweep failed'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#opts.outboxIntervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await Promise.allSettled([...this.#running.values()]);
  }

  /** Dispatch this desk's pending rows now (after a commit that queued some). */
  nudge(tenantId: TenantId): void {
    if (this.#stopped) return;
    void this.dispatchTenant(tenantId).catch((err: unknown) =>
      this.#deps.log.error({ err, tenantId }, 'outbox dispatch failed'),
    );
  }

  /**
   * Every desk: sessions for the resources that have work (working orders, which the broker may
   * still fill, or unsent rows) are opened where their lease is free — this is how a dead
   * holder's resources move here — then their rows are sent.
   */
  async sweep(): Promise<number> {
    const desks = await this.#deps.db.select({ id: tenants.id }).from(tenants);
    let n = 0;
    for (const d of desks) {
      // Read from the desks' own table: a desk id.
      const tenantId = asTenantId(d.id);
      try {
        await this.superviseTenant(tenantId);
        n += await this.dispatchTenant(tenantId, { forward: false });
      } catch (err) {
        this.#deps.log.error({ err, tenantId: d.id }, 'outbox sweep of a desk failed');
      }
    }
    return n;
  }

  /** Opens (takes the lease of) every resource of the desk with working orders, when free. */
  async superviseTenant(tenantId: TenantId): Promise<void> {
    const rows = await withTenant(this.#deps.db, tenantId, (tx) =>
      tx.execute<{ connection_id: string | null }>(sql`
        select distinct broker_connection_id::text as connection_id from orders
        where tenant_id = ${tenantId}
          and status in ('pending_new', 'new', 'partially_filled', 'pending_cancel', 'unknown')`),
    );
    for (const r of rows) {
      if (this.#stopped) return;
      const session = await this.#brokers.trySession(tenantId, r.connection_id).catch((err: unknown) => {
        this.#deps.log.warn(
          { err, tenantId, connectionId: r.connection_id },
          'opening a broker session failed',
        );
        return null;
      });
      if (session) await this.#adopt(session);
    }
  }

  /**
   * A new session: frees its predecessor's claims, then the runtime's hook (reconciliation).
   * Once per session; a caller that meets an adoption in progress waits for it, so nothing is
   * sent through the session before its predecessor's rows are sorted out.
   */
  #adopt(session: BrokerSession): Promise<void> {
    let adoption = this.#adopted.get(session);
    if (!adoption) {
      adoption = this.#adoptOnce(session);
      this.#adopted.set(session, adoption);
    }
    return adoption;
  }

  async #adoptOnce(session: BrokerSession): Promise<void> {
    const now = this.#now().toISOString();
    await withTenant(this.#deps.db, session.tenantId, async (tx) => {
      await tx.execute(sql`
        update outbox x set available_at = ${now}::timestamptz
        from orders o
        where o.tenant_id = x.tenant_id and o.id::text = x.aggregate_id
          and x.tenant_id = ${session.tenantId} and x.dispatched_at is null and x.attempts > 0
          and x.available_at > ${now}::timestamptz
          and o.broker_connection_id is not distinct from ${session.connectionId}::uuid`);
      if (session.connectionId !== null) return;
      // The paper account lives in its holder's memory. An order its previous instance took
      // (the place row is dispatched) but whose acknowledgement never reached the books (that
      // process died first) is still pending_new, so the rebuilt account, which holds the orders
      // the books show at the broker, does not have it: it is sent again, to this account,
      // looked up by client order id first like any retry. The broker order id the dead
      // instance gave it is forgotten (it named nothing this account knows). A live broker
      // keeps such an order itself; the lookup and reconciliation find it there.
      await tx.execute(sql`
        with lost as (
          select o.id from orders o
          join outbox x on x.tenant_id = o.tenant_id and x.aggregate_id = o.id::text
          where o.tenant_id = ${session.tenantId} and o.broker_connection_id is null
            and o.status = 'pending_new' and x.topic = 'broker.place' and x.dispatched_at is not null
        ), forgotten as (
          update orders o set broker_order_id = null
          from lost where o.id = lost.id and o.broker_order_id is not null
          returning o.id
        )
        update outbox x set dispatched_at = null, available_at = ${now}::timestamptz,
          last_error = 'paper account rebuilt: the order died with its previous instance'
        from lost
        where x.tenant_id = ${session.tenantId} and x.topic = 'broker.place'
          and x.aggregate_id = lost.id::text and x.dispatched_at is not null`);
    });
    await this.#onSessionAdopted(session).catch((err: unknown) =>
      this.#deps.log.error({ err, resource: session.resource }, 'new broker session: hook failed'),
    );
  }

  /**
   * One dispatch loop per desk at a time in this process; a nudge during it runs it again.
   * Resources held by another process are left to it (`forward`: a bus nudge tells it now).
   */
  dispatchTenant(tenantId: TenantId, opts: { forward?: boolean } = {}): Promise<number> {
    const running = this.#running.get(tenantId);
    if (running) {
      this.#again.add(tenantId);
      return running;
    }
    const run = (async () => {
      let total = 0;
      do {
        this.#again.delete(tenantId);
        const pending = await withTenant(this.#deps.db, tenantId, (tx) =>
          tx.execute<{ connection_id: string | null }>(sql`
            select distinct o.broker_connection_id::text as connection_id
            from outbox x join orders o on o.tenant_id = x.tenant_id and o.id::text = x.aggregate_id
            where x.tenant_id = ${tenantId} and x.dispatched_at is null`),
        );
        let elsewhere = false;
        for (const r of pending) {
          // One resource that cannot open (credentials refused, adapter missing) must not hold
          // up the desk's others: its rows wait, the rest go out.
          const session = await this.#brokers.trySession(tenantId, r.connection_id).catch((err: unknown) => {
            this.#deps.log.warn(
              { err, tenantId, connectionId: r.connection_id },
              'broker session unavailable; its outbox rows wait',
            );
            return undefined;
          });
          if (session === undefined) continue;
          if (!session) {
            elsewhere = true;
            continue;
          }
          await this.#adopt(session);
          for (;;) {
            const n = await this.#dispatchBatch(tenantId, session);
            total += n;
            if (n < BATCH || !session.lease.held) break;
          }
        }
        if (elsewhere && opts.forward !== false) this.#forward(tenantId);
      } while (this.#again.has(tenantId));
      return total;
    })().finally(() => this.#running.delete(tenantId));
    this.#running.set(tenantId, run);
    return run;
  }

  /** Tells the holders of the desk's resources that rows are waiting (bounded, best effort). */
  #forward(tenantId: TenantId): void {
    void this.#deps.bus
      .publish(DISPATCH_CHANNEL, JSON.stringify({ tenantId }))
      .catch((err: unknown) => this.#deps.log.debug({ err, tenantId }, 'dispatch nudge not published'));
  }

  async #dispatchBatch(tenantId: TenantId, session: BrokerSession): Promise<number> {
    const now = this.#now();
    if (!session.lease.held) return 0;
    // Fenced: only the current holder of the resource's lease (this token) claims its rows. The
    // claim and the batch's read share one transaction: the claim's lease (available_at) is what
    // keeps other dispatchers off the rows while the broker is called, not a lock held open.
    const batch = await withTenant(this.#deps.db, tenantId, async (tx) => {
      const claimed = await tx.execute<{
        id: string;
        topic: string;
        aggregate_id: string;
        payload: unknown;
        attempts: number;
      }>(sql`
        update outbox set attempts = attempts + 1, available_at = ${new Date(now.getTime() + LEASE_MS).toISOString()}::timestamptz
        where id in (
          select x.id from outbox x
          join orders o on o.tenant_id = x.tenant_id and o.id::text = x.aggregate_id
          where x.tenant_id = ${tenantId} and x.dispatched_at is null
            and x.available_at <= ${now.toISOString()}::timestamptz
            and o.broker_connection_id is not distinct from ${session.connectionId}::uuid
          order by x.id
          limit ${BATCH}
          for update of x skip locked)
        and exists (select 1 from execution_leases l
                    where l.resource = ${session.resource} and l.holder = ${this.#brokers.leases.holder}
                      and l.fencing_token = ${session.lease.token} and l.expires_at > now())
        returning id::text as id, topic, aggregate_id, payload, attempts`);
      if (claimed.length === 0) return null;
      const rows: Claimed[] = claimed
        .map((c) => ({
          id: Number(c.id),
          topic: c.topic,
          aggregateId: c.aggregate_id,
          payload: (typeof c.payload === 'string' ? JSON.parse(c.payload) : c.payload) as Claimed['payload'],
          attempts: c.attempts,
        }))
        .sort((a, b) => a.id - b.id);
      const aggregateIds = [...new Set(rows.map((r) => r.aggregateId))];
      // One read for the batch: the orders, and which of them still have an unsent place that is
      // not in this batch (their cancels wait so the broker sees place before cancel).
      // The bracket legs of the batch's entries come with it (sent with their entry).
      // Independent reads, pipelined on the transaction's connection.
      const [os, pending, legs] = await Promise.all([
        tx
          .select()
          .from(orders)
          .where(and(eq(orders.tenantId, tenantId), inArray(orders.id, aggregateIds))),
        tx
          .select({ aggregateId: outbox.aggregateId })
          .from(outbox)
          .where(
            and(
              inArray(outbox.aggregateId, aggregateIds),
              inArray(outbox.topic, ['broker.place', 'broker.placeCombo']),
              isNull(outbox.dispatchedAt),
              notInArray(
                outbox.id,
                rows.map((r) => r.id),
              ),
            ),
          ),
        legsOfEntries(
          tx,
          tenantId,
          // A place row's aggregate is its order.
          rows.filter((r) => r.topic === 'broker.place').map((r) => asOrderId(r.aggregateId)),
        ),
      ]);
      return {
        rows,
        byId: new Map(os.map((o) => [o.id, o])),
        placeBlocked: new Set(pending.map((x) => x.aggregateId)),
        legs,
      };
    });
    if (batch === null) return 0;
    const { rows, byId, placeBlocked, legs } = batch;

    // Rows of different orders go to the broker concurrently; one order's rows in id order.
    const groups = new Map<string, Claimed[]>();
    for (const r of rows) groups.set(r.aggregateId, [...(groups.get(r.aggregateId) ?? []), r]);
    const outcomes = new Map<number, Outcome>();
    const queue = [...groups.values()];
    const worker = async () => {
      for (let g = queue.shift(); g; g = queue.shift()) {
        let blocked = placeBlocked.has(g[0]!.aggregateId);
        for (const row of g) {
          let outcome: Outcome;
          try {
            const order = byId.get(row.aggregateId);
            const orderLegs = legs.get(asOrderId(row.aggregateId)) ?? [];
            outcome = await this.#handle(tenantId, session, row, order, orderLegs, blocked);
          } catch (err) {
            if (isLeaseLost(err) || isNotLeaseHolder(err)) {
              // Not a failure of the row: the next holder sends it at once.
              outcome = { done: false, retryInMs: 0, error: 'dispatch lease lost' };
              outcomes.set(row.id, outcome);
              blocked = true;
              continue;
            }
            // A broker that is down or throttling is retried (and counted by its breaker): a warning.
            const level = err instanceof BrokerError && err.retryable ? 'warn' : 'error';
            this.#deps.log[level]({ err, tenantId, outboxId: row.id, topic: row.topic }, 'outbox row failed');
            outcome = {
              done: false,
              retryInMs: backoff(row.attempts),
              error: err instanceof Error ? err.message : String(err),
            };
          }
          if ((row.topic === 'broker.place' || row.topic === 'broker.placeCombo') && !outcome.done)
            blocked = true;
          outcomes.set(row.id, outcome);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));

    const doneIds = [...outcomes].filter(([, o]) => o.done).map(([id]) => id);
    // The broker ids of the acknowledged places, in the same transaction (the broker's reports
    // carry them too; a crash before this commit leaves the rows undispatched, and the retry
    // looks each order up by its client order id).
    const acks: { orderId: string; brokerOrderId: string }[] = [];
    for (const r of rows) {
      const o = outcomes.get(r.id);
      if (o?.done && o.brokerOrderId) acks.push({ orderId: r.aggregateId, brokerOrderId: o.brokerOrderId });
    }
    // The broker calls are made: their outcomes are written even if the database went away
    // meanwhile (else a dispatched row would wait out its lease and be sent again for nothing).
    await this.#whileUnavailable(() =>
      withTenant(this.#deps.db, tenantId, async (tx) => {
        if (acks.length > 0) {
          const ids = sql.param(acks.map((a) => a.orderId));
          // The rows are locked in id order first, as a run of execution reports locks them
          // (reports.ts): an update joined to the list would lock in the join's order, and two
          // transactions locking the same orders in different orders can deadlock.
          await Promise.all([
            tx.execute(
              sql`select o.id from orders o where o.tenant_id = ${tenantId} and o.id = any(${ids}::uuid[]) order by o.id for update`,
            ),
            tx.execute(sql`
            update orders o set broker_order_id = a.broker_order_id
            from unnest(${ids}::uuid[],
                        ${sql.param(acks.map((a) => a.brokerOrderId))}::text[]) as a(id, broker_order_id)
            where o.tenant_id = ${tenantId} and o.id = a.id and o.broker_order_id is null`),
          ]);
        }
        if (doneIds.length > 0) {
          await tx
            .update(outbox)
            .set({ dispatchedAt: this.#now(), lastError: null })
            .where(inArray(outbox.id, doneIds));
        }
        for (const [id, o] of outcomes) {
          if (o.done) continue;
          await tx
            .update(outbox)
            .set({
              availableAt: new Date(this.#now().getTime() + o.retryInMs),
              lastError: o.error.slice(0, 500),
            })
            .where(eq(outbox.id, id));
        }
      }),
    );
    return rows.length;
  }

  async #handle(
    tenantId: TenantId,
    session: BrokerSession,
    row: Claimed,
    order: OrderRow | undefined,
    legs: readonly OrderRow[],
    placeBlocked: boolean,
  ): Promise<Outcome> {
    const payload = row.payload;
    if (row.topic === 'broker.place') return this.#place(tenantId, session, row, payload, order, legs);
    if (row.topic === 'broker.cancel')
      return this.#cancel(tenantId, session, row, payload, order, placeBlocked);
    if (row.topic === 'broker.placeCombo')
      return dispatchComboPlace(this.#comboDeps(), tenantId, session, row);
    if (row.topic === 'broker.cancelCombo')
      return dispatchComboCancel(this.#comboDeps(), tenantId, session, row, placeBlocked);
    this.#deps.log.error({ tenantId, topic: row.topic }, 'unknown outbox topic; dropped');
    return { done: true };
  }

  async #place(
    tenantId: TenantId,
    session: BrokerSession,
    row: Claimed,
    p: Claimed['payload'],
    order: OrderRow | undefined,
    legs: readonly OrderRow[],
  ): Promise<Outcome> {
    if (!order || isTerminal(order.status) || order.status === 'new' || order.status === 'partially_filled') {
      return { done: true }; // already resolved (a report arrived, or it was cancelled before sending)
    }
    const broker = session.adapter;
    const firstAttempt = row.attempts <= 1;
    const bracket = bracketRequestOf(order, legs);
    if (order.status === 'pending_cancel' && firstAttempt) {
      // Cancelled before it was ever sent: it never reaches the broker, nor do its legs.
      await this.#transition(tenantId, p.orderId, { type: 'OrderCancelled' });
      await this.#endLegs(tenantId, p.orderId, { type: 'OrderCancelled' });
      return { done: true };
    }
    if (bracket && !broker.capabilities.nativeBrackets) {
      // Deny by default: an entry is never sent without the protection it was approved with.
      const reason = `broker ${broker.name} has no native bracket orders`;
      await this.#transition(tenantId, p.orderId, { type: 'OrderRejected', reason });
      await this.#endLegs(tenantId, p.orderId, { type: 'OrderRejected', reason });
      return { done: true };
    }
    if (!firstAttempt) {
      // A previous attempt may have reached the broker: look it up, never send a second order.
      // If the broker has it, adopt its whole state: every report it holds for the order
      // (acknowledgement, each fill with its execution id, cancel or expiry) is applied, and
      // the ones already applied are no-ops — an order the broker filled is recorded filled.
      session.lease.assertHeld();
      const known = await withTimeout(
        this.#brokers.replay(tenantId, p.clientOrderId, session.connectionId),
        this.#opts.brokerTimeoutMs,
      ).catch((err: unknown) => {
        if (isBrokerCallTimeout(err)) return undefined;
        throw err;
      });
      if (known === undefined)
        return { done: false, retryInMs: backoff(row.attempts), error: 'lookup timed out' };
      // The legs went with the entry: their reports (acceptance, restatements) are caught up too.
      if (known)
        for (const l of legs) await this.#brokers.replay(tenantId, l.clientOrderId, session.connectionId);
      if (known) {
        // Still on its way to the exchange: its acknowledgement is not out yet; look again.
        if (known.status === 'pending_new')
          return { done: false, retryInMs: backoff(row.attempts), error: 'in flight at the broker' };
        // A broker that kept no report for the order: at least its acknowledgement.
        const ev: OrderEvent =
          known.status === 'rejected'
            ? { type: 'OrderRejected', reason: known.rejectReason ?? 'rejected' }
            : { type: 'OrderAccepted', brokerOrderId: known.brokerOrderId };
        await this.#transition(tenantId, p.orderId, ev, ['unknown', 'pending_new']);
        return { done: true };
      }
      if (order.status === 'pending_cancel') {
        await this.#transition(tenantId, p.orderId, { type: 'OrderCancelled' });
        await this.#endLegs(tenantId, p.orderId, { type: 'OrderCancelled' });
        return { done: true };
      }
    }
    // The last check before the order leaves: a process that lost the lease never sends.
    session.lease.assertHeld();
    try {
      const ack = await withTimeout(
        broker.placeOrder({
          clientOrderId: order.clientOrderId,
          symbol: order.symbol,
          side: order.side,
          orderType: order.orderType,
          timeInForce: order.timeInForce,
          quantity: norm(order.quantity),
          limitPrice: order.limitPrice === null ? null : norm(order.limitPrice),
          stopPrice: order.stopPrice === null ? null : norm(order.stopPrice),
          ...(bracket && { bracket }),
        }),
        this.#opts.brokerTimeoutMs,
      );
      // Written with the batch's outcomes (one statement for the batch).
      return ack.brokerOrderId ? { done: true, brokerOrderId: ack.brokerOrderId } : { done: true };
    } catch (err) {
      if (isBrokerCallTimeout(err)) {
        // Ambiguous: the broker may have the order. Mark it unknown and look it up next time.
        await this.#transition(
          tenantId,
          p.orderId,
          { type: 'OrderStatusUnknown', reason: 'broker timeout' },
          ['pending_new'],
        );
        return { done: false, retryInMs: backoff(row.attempts), error: err.message };
      }
      if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.REJECTED) {
        await this.#transition(tenantId, p.orderId, { type: 'OrderRejected', reason: err.message });
        await this.#endLegs(tenantId, p.orderId, { type: 'OrderRejected', reason: err.message });
        return { done: true };
      }
      throw err;
    }
  }

  /** The legs of an entry that never reached the broker end with it. */
  async #endLegs(
    tenantId: TenantId,
    entryId: OrderId,
    ev: { type: 'OrderCancelled' } | { type: 'OrderRejected'; reason: string },
  ): Promise<void> {
    const views = await withTenant(this.#deps.db, tenantId, (tx) =>
      endUnsentLegs(tx, tenantId, entryId, ev, this.#now()),
    );
    for (const v of views) this.#onOrderChanged(tenantId, v);
  }

  async #cancel(
    tenantId: TenantId,
    session: BrokerSession,
    row: Claimed,
    p: Claimed['payload'],
    order: OrderRow | undefined,
    placeBlocked: boolean,
  ): Promise<Outcome> {
    if (!order || isTerminal(order.status)) return { done: true };
    if (placeBlocked) return { done: false, retryInMs: 50, error: 'waiting for the place to be dispatched' };
    const broker = session.adapter;
    session.lease.assertHeld();
    try {
      await withTimeout(broker.cancelOrder(p.clientOrderId), this.#opts.brokerTimeoutMs);
      return { done: true };
    } catch (err) {
      if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.NOT_FOUND) {
        // The broker never had it (the place was skipped or rejected before arrival).
        await this.#transition(tenantId, p.orderId, { type: 'OrderCancelled' });
        return { done: true };
      }
      if (isBrokerCallTimeout(err))
        return { done: false, retryInMs: backoff(row.attempts), error: err.message };
      throw err;
    }
  }

  /** Applies a state-machine event under the row lock; skipped when the order moved on. */
  async #transition(
    tenantId: TenantId,
    orderId: OrderId,
    ev: OrderEvent,
    onlyFrom?: readonly string[],
  ): Promise<void> {
    const view = await withTenant(this.#deps.db, tenantId, async (tx: Tx) => {
      const [o] = await tx.select().from(orders).where(eq(orders.id, orderId)).for('update');
      if (!o || (onlyFrom && !onlyFrom.includes(o.status))) return null;
      let next: ReturnType<typeof applyOrderEvent>;
      try {
        next = applyOrderEvent(toOrderState(o), ev);
      } catch (err) {
        this.#deps.log.warn(
          { err, orderId, event: ev.type, status: o.status },
          'dispatcher transition refused',
        );
        return null;
      }
      const [u] = await tx
        .update(orders)
        .set({
          status: next.status,
          brokerOrderId: next.brokerOrderId,
          rejectReason: next.rejectReason,
          version: sql`${orders.version} + 1`,
          updatedAt: this.#now(),
        })
        .where(eq(orders.id, orderId))
        .returning();
      // A combo leg ended here (never sent, not found): its combo follows it.
      if (u?.comboId) await syncCombo(tx, tenantId, asComboId(u.comboId), this.#now());
      return u ? toOrderView(u) : null;
    });
    if (view) this.#onOrderChanged(tenantId, view);
  }

  #comboDeps(): ComboDispatchDeps {
    return {
      deps: this.#deps,
      brokerTimeoutMs: this.#opts.brokerTimeoutMs,
      brokers: this.#brokers,
      onOrderChanged: this.#onOrderChanged,
      now: () => this.#now(),
    };
  }

  /** Retries `write` with capped backoff while the database is unreachable (until stopped). */
  async #whileUnavailable<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (this.#stopped || transientKindOf(err) === null) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  #now(): Date {
    return this.#deps.clock?.() ?? new Date();
  }
}
