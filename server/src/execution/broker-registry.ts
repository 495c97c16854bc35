// One file: the registry owns each broker session's whole life — taking the dispatch lease,
// opening the adapter (rebuilding the paper account from PostgreSQL), delivering reports in
// order with retries through database outages, the circuit breaker and closing on a lost lease —
// and these steps share the session map and its per-resource state; split apart they would each
// need that private state exposed.
import { randomBytes } from 'node:crypto';
import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { applyFill, flatPosition, type PositionState } from '@aegis/shared/accounting/position';
import { brokerConnections, combos, orders } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { isDeadlineExceeded, withDeadline } from '@aegis/shared/deadline';
import { AppError, ErrorCode, isAppErrorFor } from '@aegis/shared/errors';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { and, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import { buildAdapter, type ConnectionRow } from '../brokers/factory.ts';
import { PaperBroker } from '../brokers/paper/index.ts';
import { BrokerCallPolicy } from '../brokers/resilience.ts';
import {
  type BrokerAccount,
  type BrokerAdapter,
  type BrokerError,
  BrokerErrorCode,
  type BrokerOrder,
  type ExecutionReport,
} from '../brokers/types.ts';
import type { Tx } from '../db/database.ts';
import { transientKindOf } from '../transient-errors.ts';
import { type Lease, LeaseManager, resourceOf } from './leases.ts';
import { norm } from './order-rows.ts';
import { isStateOnlyReport } from './reports.ts';
import { AT_BROKER_STATUSES } from './risk-context.ts';
import type { ExecutionDeps, ExecutionOptions } from './types.ts';
import { multipliersOf, valueDesk } from './valuation.ts';

/** Longest wait between two attempts at a report while the database is unreachable. */
const MAX_RETRY_MS = 5_000;
/**
 * Reports held in memory per desk while they wait for the database; past this the broker keeps
 * them (reports are re-fetched by order from the broker), so an outage cannot exhaust memory.
 */
const MAX_BACKLOG = 10_000;
/** The most state-only reports one transaction applies. */
const MAX_REPORT_RUN = 500;

interface QueuedReport {
  readonly r: ExecutionReport;
  readonly connectionId: string | null;
}
/** Longest wait for a desk's queued reports before its paper account is rebuilt. */
const RESTORE_WAIT_MS = 5_000;

const NOT_LEASE_HOLDER = 'not_lease_holder';

/**
 * Another process holds this resource's dispatch lease: this one must not talk to the broker. An
 * AppError UNAVAILABLE with reason `not_lease_holder` (and the resource), not a class: callers only
 * ask whether it is this case (the next holder sends), and further up it is "not here, retry".
 */
export const notLeaseHolder = (resource: string): AppError =>
  new AppError(ErrorCode.UNAVAILABLE, `the dispatch lease of ${resource} is held by another process`, {
    reason: NOT_LEASE_HOLDER,
    resource,
  });

/** True for `notLeaseHolder`: another process holds the lease. */
export const isNotLeaseHolder = (e: unknown): e is AppError =>
  isAppErrorFor(e, ErrorCode.UNAVAILABLE, NOT_LEASE_HOLDER);

/** One open broker session: the adapter of a resource, owned while its lease is held. */
export interface BrokerSession {
  readonly resource: string;
  readonly tenantId: TenantId;
  /** null: the desk's paper account. */
  readonly connectionId: string | null;
  readonly adapter: BrokerAdapter;
  readonly lease: Lease;
  /** Opened by taking the lease over from another holder. */
  readonly takeover: boolean;
  /** The connection's call policy (live adapters only). */
  readonly policy: BrokerCallPolicy | null;
}

export interface BrokerRegistryHooks {
  readonly onReport: (tenantId: TenantId, report: ExecutionReport) => Promise<unknown>;
  /**
   * A run of state-only reports (no fills) of one desk, applied in one transaction in the given
   * order (execution/reports.ts `applyExecutionReports`); absent: each goes to `onReport`.
   */
  readonly onReports?: (tenantId: TenantId, reports: readonly ExecutionReport[]) => Promise<unknown>;
  /** A live adapter reconnected its streams: the dispatcher reconciles the resource. */
  readonly onReconnect?: (session: BrokerSession) => void;
  /** The connection's circuit breaker opened (`open`) or closed again. */
  readonly onBreaker?: (
    s: { tenantId: TenantId; connectionId: string; provider: string },
    open: boolean,
    error: BrokerError | null,
  ) => void;
}

/**
 * The broker sessions of this process, one per resource whose dispatch lease it holds: the
 * desk's paper account (`paper:<desk>`) and each linked connection (`connection:<id>`). Only
 * the lease holder opens a session; `session()` takes the lease when it is free and throws
 * notLeaseHolder when another process holds it. A lost lease closes the session at once
 * (the paper account is never open in two processes). This registry and the rest of
 * server/src/execution/ are the only code that may import an adapter (tests/architecture
 * enforces it).
 *
 * The paper account is rebuilt from PostgreSQL when its session opens (positions, open orders
 * that reached it, cash), so a restart or a takeover continues the same account. Live adapters
 * are built by brokers/factory.ts from the connection row. Reports are applied per desk in the
 * order the broker emitted them, at least once: a fill alone through `onReport`, a run of
 * consecutive state-only reports (acknowledgements, cancels) in one transaction through
 * `onReports`. Applying is idempotent by execution id, so a report retried after an outage, or
 * re-fetched from the broker, is applied exactly once.
 */
export class BrokerRegistry {
  readonly leases: LeaseManager;
  readonly #deps: ExecutionDeps;
  readonly #opts: ExecutionOptions;
  readonly #hooks: BrokerRegistryHooks;
  readonly #sessions = new Map<string, Promise<BrokerSession>>();
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Reports queued per desk and not yet taken up (bounded by MAX_BACKLOG). */
  readonly #backlog = new Map<string, number>();
  /** Per desk: the reports the queued, not yet started job will take (it takes what comes). */
  readonly #waiting = new Map<TenantId, QueuedReport[]>();
  /** Orders per desk (client order id → connection) re-fetched from the broker once the queue drains. */
  readonly #resync = new Map<string, Map<string, string | null>>();
  readonly #catchUpDue = new Set<string>();
  #closed = false;

  constructor(deps: ExecutionDeps, opts: ExecutionOptions, hooks: BrokerRegistryHooks) {
    this.#deps = deps;
    this.#opts = opts;
    this.#hooks = hooks;
    this.leases = new LeaseManager(deps.db, deps.log, {
      ttlMs: opts.leaseTtlMs,
      renewMs: opts.leaseRenewMs,
      ...(opts.holderId && { holder: opts.holderId }),
    });
    this.leases.onLost((resource) => this.#closeSession(resource, 'lease lost'));
  }

  /**
   * The open session of a resource, opened (lease taken, adapter built, account restored) when
   * this process can take the lease; notLeaseHolder when another process holds it.
   */
  async session(tenantId: TenantId, connectionId: string | null): Promise<BrokerSession> {
    const resource = resourceOf(tenantId, connectionId);
    const existing = this.#sessions.get(resource);
    if (existing) {
      const s = await existing.catch(() => null);
      if (s?.lease.held) return s;
      if (s && this.#sessions.get(resource) === existing) {
        // Lapsed (renewals failed for a while, e.g. across a database restart): reclaim it when
        // nobody took it, and keep the session with its state. Throws while the database is
        // still down: the session stays, nothing is sent under a lapsed lease meanwhile.
        const again = await this.leases.acquire(resource);
        if (again?.lease === s.lease) return s;
      }
      if (this.#sessions.get(resource) === existing) this.#closeSession(resource, 'lease lapsed');
    }
    let p = this.#sessions.get(resource);
    if (!p) {
      p = this.#open(tenantId, connectionId);
      this.#sessions.set(resource, p);
      const opened = p;
      p.catch(() => {
        if (this.#sessions.get(resource) === opened) this.#sessions.delete(resource);
      });
    }
    return p;
  }

  /** The session, or null when another process holds the lease. */
  async trySession(tenantId: TenantId, connectionId: string | null): Promise<BrokerSession | null> {
    try {
      return await this.session(tenantId, connectionId);
    } catch (err) {
      if (isNotLeaseHolder(err)) return null;
      throw err;
    }
  }

  /** The desk's paper adapter (held by this process). */
  async get(tenantId: TenantId, connectionId: string | null = null): Promise<BrokerAdapter> {
    return (await this.session(tenantId, connectionId)).adapter;
  }

  /** The desk's paper account (paper-only controls: halts, end of day, drift injection in tests). */
  async paper(tenantId: TenantId): Promise<PaperBroker> {
    return (await this.session(tenantId, null)).adapter as PaperBroker;
  }

  /** The desks whose paper account is open in this process. */
  async opened(): Promise<{ tenantId: TenantId; broker: PaperBroker }[]> {
    const out: { tenantId: TenantId; broker: PaperBroker }[] = [];
    for (const s of await this.sessions())
      if (s.connectionId === null) out.push({ tenantId: s.tenantId, broker: s.adapter as PaperBroker });
    return out;
  }

  /**
   * Balances of a connection whose lease another process holds: a short-lived adapter of its
   * own, used for one read (`getAccount`) and closed — never for an order, never subscribed to
   * reports, no stream opened. Reads are safe to make beside the holder's session.
   */
  async readOnlyAccount(tenantId: TenantId, connectionId: string): Promise<BrokerAccount> {
    const row = await loadConnectionRow(this.#deps, tenantId, connectionId);
    if (!row) throw new AppError(ErrorCode.NOT_FOUND, `broker connection ${connectionId} not found`);
    const b = this.#opts.breaker;
    const adapter = await buildAdapter({
      row,
      policy: new BrokerCallPolicy({
        broker: row.provider,
        timeoutMs: b.timeoutMs,
        breakAfter: b.breakAfter,
      }),
      log: this.#deps.log,
      ...(this.#deps.clock && { clock: this.#deps.clock }),
      ...(this.#opts.adapterFactories && { factories: this.#opts.adapterFactories }),
      ...(this.#opts.connections && { resolvers: this.#opts.connections }),
    });
    try {
      return await adapter.getAccount();
    } finally {
      adapter.close();
    }
  }

  /** Every session open in this process (lease held). */
  async sessions(): Promise<BrokerSession[]> {
    const out: BrokerSession[] = [];
    for (const p of this.#sessions.values()) {
      const s = await p.catch(() => null);
      if (s?.lease.held) out.push(s);
    }
    return out;
  }

  /** Reports still being applied (tests and shutdown wait for them). */
  /**
   * Waits for the reports in hand to be applied, at most `timeoutMs`: while the database is down
   * they are retried without end, and a shutdown must not wait for the database. What is left is
   * still at the broker and is replayed from it (reconciliation) after the restart.
   */
  async drain(timeoutMs = 5_000): Promise<void> {
    await withDeadline(Promise.all([...this.#queues.values()]), timeoutMs, 'report drain').catch(
      (err: unknown) => {
        if (!isDeadlineExceeded(err)) throw err;
      },
    );
  }

  /**
   * Closes every session and gives the leases back (another process, or a new runtime in this
   * one, takes them at once). Synchronous for callers; the releases finish in the background.
   * A later `session()` opens the resource again (restored from PostgreSQL), as after a restart.
   */
  close(): void {
    this.#closed = true;
    for (const resource of [...this.#sessions.keys()]) this.#closeSession(resource, 'closed');
  }

  /** Closes one session (lease lost, lapsed, or shutdown): nothing more is sent through it. */
  #closeSession(resource: string, why: string): void {
    const p = this.#sessions.get(resource);
    if (!p) return;
    this.#sessions.delete(resource);
    void p
      .then((s) => {
        s.adapter.close();
        if (why !== 'closed') this.#deps.log.warn({ resource, why }, 'broker session closed');
      })
      .catch(() => {});
    void this.leases.release(resource);
  }

  async #open(tenantId: TenantId, connectionId: string | null): Promise<BrokerSession> {
    const resource = resourceOf(tenantId, connectionId);
    const got = await this.leases.acquire(resource);
    if (!got) throw notLeaseHolder(resource);
    try {
      let adapter: BrokerAdapter;
      let policy: BrokerCallPolicy | null = null;
      if (connectionId === null) adapter = await this.#createPaper(tenantId, got.lease.token);
      else ({ adapter, policy } = await this.#createLive(tenantId, connectionId));
      // Lost while it was being built: never used.
      if (!got.lease.held) {
        adapter.close();
        throw notLeaseHolder(resource);
      }
      const session: BrokerSession = {
        resource,
        tenantId,
        connectionId,
        adapter,
        lease: got.lease,
        takeover: got.takeover,
        policy,
      };
      adapter.onExecutionReport((r) => this.#enqueue(tenantId, r, connectionId));
      adapter.onReconnect?.(() => this.#hooks.onReconnect?.(session));
      // A rebuilt paper account works its open orders now (their reports are listened to):
      // what its previous holder accepted and never filled does not wait for the next price.
      if (adapter instanceof PaperBroker) adapter.workOpen();
      return session;
    } catch (err) {
      void this.leases.release(resource);
      throw err;
    }
  }

  /**
   * A gateway whose session lapsed (REAUTH_REQUIRED) or credentials the broker refused (AUTH):
   * the connection stops taking orders and the console asks the user to re-authenticate
   * (brokers.sync makes it active again once a read succeeds). Refresh failures are marked by
   * the OAuth code itself (needs_relink).
   */
  async #markNeedsAuth(tenantId: TenantId, connectionId: string, e: BrokerError): Promise<void> {
    const status = e.brokerCode === BrokerErrorCode.REAUTH_REQUIRED ? 'reauth_required' : 'needs_relink';
    try {
      await withTenant(this.#deps.db, tenantId, (tx) =>
        tx
          .update(brokerConnections)
          .set({ status, statusReason: e.message.slice(0, 300), updatedAt: new Date() })
          .where(and(eq(brokerConnections.id, connectionId), eq(brokerConnections.status, 'active'))),
      );
      this.#deps.log.warn(
        { tenantId, connectionId, code: e.brokerCode },
        `broker connection marked ${status}`,
      );
    } catch (err) {
      this.#deps.log.warn(
        { err, tenantId, connectionId },
        'could not mark the connection for re-authentication',
      );
    }
  }

  async #createLive(
    tenantId: TenantId,
    connectionId: string,
  ): Promise<{ adapter: BrokerAdapter; policy: BrokerCallPolicy }> {
    const row = await loadConnectionRow(this.#deps, tenantId, connectionId);
    if (!row) throw new AppError(ErrorCode.NOT_FOUND, `broker connection ${connectionId} not found`);
    const b = this.#opts.breaker;
    const who = { tenantId, connectionId, provider: row.provider };
    const policy = new BrokerCallPolicy({
      broker: row.provider,
      timeoutMs: b.timeoutMs,
      breakAfter: b.breakAfter,
      halfOpenAfterMs: b.halfOpenAfterMs,
      onOpen: (e) => this.#hooks.onBreaker?.(who, true, e),
      onClose: () => this.#hooks.onBreaker?.(who, false, null),
      onError: (e) => {
        if (e.brokerCode === BrokerErrorCode.REAUTH_REQUIRED || e.brokerCode === BrokerErrorCode.AUTH)
          void this.#markNeedsAuth(tenantId, connectionId, e);
      },
    });
    const adapter = await buildAdapter({
      row,
      policy,
      log: this.#deps.log,
      ...(this.#deps.clock && { clock: this.#deps.clock }),
      ...(this.#opts.adapterFactories && { factories: this.#opts.adapterFactories }),
      ...(this.#opts.connections && { resolvers: this.#opts.connections }),
    });
    try {
      await adapter.connect?.();
    } catch (err) {
      adapter.close();
      throw err;
    }
    this.#deps.log.info({ tenantId, connectionId, provider: row.provider }, 'broker session opened');
    return { adapter, policy };
  }

  async #createPaper(tenantId: TenantId, fencingToken: number): Promise<PaperBroker> {
    // Reports a previous session of this process emitted and still queued (a lease lost during
    // a database outage) go into the books first, or the rebuilt account would miss their fills
    // and fill the order again. Bounded: a queued re-fetch may itself wait for this session.
    for (let waited = 0; (this.#backlog.get(tenantId) ?? 0) > 0 && waited < RESTORE_WAIT_MS; waited += 50)
      await sleep(50);
    const p = this.#opts.paper;
    const snapshot = await withTenant(this.#deps.db, tenantId, async (tx) => {
      const now = this.#deps.clock?.() ?? new Date();
      const valuation = await valueDesk(tx, tenantId, this.#deps.quotes, this.#opts.startingCapital, now);
      const open = await tx
        .select()
        .from(orders)
        .where(
          and(
            eq(orders.tenantId, tenantId),
            isNull(orders.brokerConnectionId),
            isNotNull(orders.brokerOrderId),
            inArray(orders.status, [...AT_BROKER_STATUSES]),
          ),
        );
      const mults = await multipliersOf(tx, [
        ...new Set([...valuation.legs.map((l) => l.position.symbol), ...open.map((o) => o.symbol)]),
      ]);
      // The entries of open bracket legs: the legs are sized from their entry's fills.
      const parentIds = [...new Set(open.flatMap((o) => (o.parentOrderId ? [o.parentOrderId] : [])))];
      const parents =
        parentIds.length === 0
          ? []
          : await tx
              .select()
              .from(orders)
              .where(and(eq(orders.tenantId, tenantId), inArray(orders.id, parentIds)));
      const book = await paperBook(tx, tenantId, this.#opts.startingCapital, valuation);
      // The open legs' combos: a combo comes back whole, worked all-or-none again.
      const comboIds = [...new Set(open.flatMap((o) => (o.comboId ? [o.comboId] : [])))];
      const openCombos =
        comboIds.length === 0
          ? []
          : await tx
              .select()
              .from(combos)
              .where(and(eq(combos.tenantId, tenantId), inArray(combos.id, comboIds)));
      return {
        book,
        open,
        mults,
        parents: new Map(parents.map((x) => [x.id, x])),
        combos: new Map(openCombos.map((c) => [c.id, c])),
      };
    });
    const broker = new PaperBroker({
      accountId: tenantId.slice(0, 8),
      // Unique to this instance of the account: the lease's fencing token (a new holder has a
      // higher one) and a random part (this process may rebuild the account under one token).
      instance: `${fencingToken}-${randomBytes(3).toString('hex')}`,
      quotes: this.#deps.quotes,
      seed: p.seed,
      latencyMs: p.latencyMs,
      latencyJitterMs: p.latencyJitterMs,
      feeBps: p.feeBps,
      minFee: p.minFee,
      slippageBps: p.slippageBps,
      startingCash: this.#opts.startingCapital,
      multiplierOf: (s) => snapshot.mults.get(s) ?? '1',
      ...(this.#deps.clock && { clock: this.#deps.clock }),
    });
    broker.restore({
      cash: snapshot.book.cash,
      positions: snapshot.book.positions,
      openOrders: snapshot.open.map((o) => ({
        clientOrderId: o.clientOrderId,
        brokerOrderId: o.brokerOrderId!,
        symbol: o.symbol,
        side: o.side,
        orderType: o.orderType,
        timeInForce: o.timeInForce,
        quantity: norm(o.quantity),
        limitPrice: o.limitPrice === null ? null : norm(o.limitPrice),
        stopPrice: o.stopPrice === null ? null : norm(o.stopPrice),
        status: o.status === 'pending_cancel' ? 'new' : (o.status as 'new' | 'partially_filled'),
        filledQuantity: norm(o.filledQuantity),
        avgFillPrice: o.avgFillPrice === null ? null : norm(o.avgFillPrice),
        rejectReason: null,
        queueAhead: null,
        triggered: false,
        createdAt: o.createdAt,
        bracketLink:
          o.parentOrderId && o.bracketRole && o.ocoGroup && snapshot.parents.has(o.parentOrderId)
            ? {
                parentClientOrderId: snapshot.parents.get(o.parentOrderId)!.clientOrderId,
                role: o.bracketRole,
                ocoGroup: o.ocoGroup,
              }
            : null,
        comboLink:
          o.comboId && snapshot.combos.has(o.comboId)
            ? { comboId: snapshot.combos.get(o.comboId)!.clientOrderId, ratio: o.legRatio ?? 1 }
            : null,
      })),
      combos: [...snapshot.combos.values()].map((c) => ({
        comboId: c.clientOrderId,
        orderType: c.orderType,
        timeInForce: c.timeInForce,
        quantity: norm(c.quantity),
        netLimitPrice: c.netLimitPrice === null ? null : norm(c.netLimitPrice),
        maxLoss: c.maxLoss === null ? null : norm(c.maxLoss),
      })),
      bracketEntries: [...snapshot.parents.values()].map((x) => ({
        clientOrderId: x.clientOrderId,
        filledQuantity: norm(x.filledQuantity),
      })),
    });
    this.#deps.log.info({ tenantId, cash: broker.cash }, 'paper account restored');
    return broker;
  }

  /**
   * Applies a live report. While the database is unreachable the report is retried with capped
   * backoff for as long as it takes (never dropped: the broker would not send it again). Any other
   * failure gets a few attempts; if it still fails the order is re-fetched from the broker later.
   */
  async #applyWithRetry(tenantId: TenantId, r: ExecutionReport, connectionId: string | null): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#hooks.onReport(tenantId, r);
        if (attempt > 1) this.#catchUpLater(tenantId);
        return;
      } catch (err) {
        const transient = transientKindOf(err) !== null;
        if (this.#closed || (!transient && attempt >= 4)) {
          this.#deps.log.error(
            { err, tenantId, executionId: r.executionId, kind: r.kind },
            'applying an execution report failed; the order is re-fetched from the broker',
          );
          this.#resyncLater(tenantId, r.clientOrderId, connectionId);
          return;
        }
        if (attempt === 1 || attempt % 10 === 0)
          this.#deps.log.warn(
            { err, tenantId, executionId: r.executionId, attempt },
            'execution report retry',
          );
        await sleep(Math.min(MAX_RETRY_MS, 100 * 2 ** attempt));
      }
    }
  }

  #enqueue(tenantId: TenantId, r: ExecutionReport, connectionId: string | null): void {
    const backlog = this.#backlog.get(tenantId) ?? 0;
    if (backlog >= MAX_BACKLOG) {
      // Bounded memory: past the cap a report is not held here; the broker keeps it and the
      // order is re-fetched (getExecutions) once the backlog has drained.
      this.#resyncLater(tenantId, r.clientOrderId, connectionId);
      return;
    }
    this.#backlog.set(tenantId, backlog + 1);
    const waiting = this.#waiting.get(tenantId);
    if (waiting) {
      // A job queued and not yet started takes this report too, after the ones before it.
      waiting.push({ r, connectionId });
      return;
    }
    const taken: QueuedReport[] = [{ r, connectionId }];
    this.#waiting.set(tenantId, taken);
    void this.#chain(tenantId, async () => {
      this.#waiting.delete(tenantId);
      this.#backlog.set(tenantId, (this.#backlog.get(tenantId) ?? taken.length) - taken.length);
      await this.#applyInOrder(tenantId, taken);
    });
  }

  /**
   * Applies queued reports in the broker's order. A run of consecutive state-only reports
   * (acknowledgements, cancels, rejects: no fill) goes to `onReports` in one transaction; a fill
   * goes alone (it moves the book). If the run's transaction fails, its reports are applied one
   * at a time with the usual retries (nothing of the run committed).
   */
  async #applyInOrder(tenantId: TenantId, queued: readonly QueuedReport[]): Promise<void> {
    // An order waiting for a re-fetch takes its reports from there, in the broker's order.
    const live = (q: QueuedReport) => !this.#resync.get(tenantId)?.has(q.r.clientOrderId);
    const onReports = this.#hooks.onReports;
    for (let i = 0; i < queued.length; ) {
      if (!onReports || !isStateOnlyReport(queued[i]!.r)) {
        const q = queued[i++]!;
        if (live(q)) await this.#applyWithRetry(tenantId, q.r, q.connectionId);
        continue;
      }
      const run: QueuedReport[] = [];
      while (i < queued.length && run.length < MAX_REPORT_RUN && isStateOnlyReport(queued[i]!.r)) {
        const q = queued[i++]!;
        if (live(q)) run.push(q);
      }
      if (run.length === 1) await this.#applyWithRetry(tenantId, run[0]!.r, run[0]!.connectionId);
      if (run.length <= 1) continue;
      try {
        await onReports(
          tenantId,
          run.map((q) => q.r),
        );
      } catch (err) {
        this.#deps.log.warn(
          { err, tenantId, reports: run.length },
          'applying a run of execution reports failed; applying them one at a time',
        );
        for (const q of run) await this.#applyWithRetry(tenantId, q.r, q.connectionId);
      }
    }
  }

  /** Runs `job` after everything queued for the desk (reports are applied one at a time per desk). */
  #chain(tenantId: TenantId, job: () => Promise<void>): Promise<void> {
    const prev = this.#queues.get(tenantId) ?? Promise.resolve();
    const next = prev
      .then(job)
      .catch((err: unknown) => this.#deps.log.error({ err, tenantId }, 'execution report queue job failed'));
    this.#queues.set(tenantId, next);
    void next.then(() => {
      if (this.#queues.get(tenantId) === next) this.#queues.delete(tenantId);
    });
    return next;
  }

  /** Marks an order for re-fetching from the broker, after the desk's queue has drained. */
  #resyncLater(tenantId: TenantId, clientOrderId: string, connectionId: string | null): void {
    let set = this.#resync.get(tenantId);
    if (!set) {
      set = new Map();
      this.#resync.set(tenantId, set);
    }
    const first = set.size === 0;
    set.set(clientOrderId, connectionId);
    if (first) void this.#chain(tenantId, () => this.#runResync(tenantId));
  }

  async #runResync(tenantId: TenantId): Promise<void> {
    const set = this.#resync.get(tenantId);
    while (set && set.size > 0 && !this.#closed) {
      const [clientOrderId, connectionId] = set.entries().next().value as [string, string | null];
      for (let attempt = 1; ; attempt++) {
        try {
          await this.replay(tenantId, clientOrderId, connectionId);
          break;
        } catch (err) {
          if (this.#closed || isNotLeaseHolder(err)) break;
          if (transientKindOf(err) === null && attempt >= 4) {
            // Not an outage: reconciliation compares with the broker and halts on the difference.
            this.#deps.log.error({ err, tenantId, clientOrderId }, 'order re-fetch failed');
            break;
          }
          if (attempt === 1 || attempt % 10 === 0)
            this.#deps.log.warn({ err, tenantId, clientOrderId, attempt }, 'order re-fetch retry');
          await sleep(Math.min(MAX_RETRY_MS, 100 * 2 ** attempt));
        }
      }
      set.delete(clientOrderId);
    }
    if (set?.size === 0) this.#resync.delete(tenantId);
  }

  /**
   * After the database came back: a short catch-up instead of waiting for the next scheduled
   * reconciliation. Every order of the desk the broker may still be working (through a session
   * this process holds) is re-fetched and its missing reports applied; nothing here halts
   * automation (reconciliation still decides).
   */
  #catchUpLater(tenantId: TenantId): void {
    if (this.#catchUpDue.has(tenantId)) return;
    this.#catchUpDue.add(tenantId);
    void this.#chain(tenantId, async () => {
      this.#catchUpDue.delete(tenantId);
      try {
        const open = await withTenant(this.#deps.db, tenantId, (tx) =>
          tx
            .select({ clientOrderId: orders.clientOrderId, connectionId: orders.brokerConnectionId })
            .from(orders)
            .where(
              and(
                eq(orders.tenantId, tenantId),
                inArray(orders.status, [
                  'pending_new',
                  'unknown',
                  'new',
                  'partially_filled',
                  'pending_cancel',
                ]),
              ),
            ),
        );
        const held = new Set(this.leases.heldResources());
        for (const o of open)
          if (held.has(resourceOf(tenantId, o.connectionId)))
            this.#resyncLater(tenantId, o.clientOrderId, o.connectionId);
      } catch (err) {
        this.#deps.log.warn({ err, tenantId }, 'catch-up after a database outage failed; retrying');
        this.#catchUpLater(tenantId);
        await sleep(MAX_RETRY_MS);
      }
    });
  }

  /**
   * Applies every report the broker has for one order, in the broker's order; already applied
   * ones are no-ops (fills by execution id, acknowledgements and terminal reports as stale).
   * Throws when the database cannot take them (the caller retries), notLeaseHolder when
   * another process holds the resource. A cancel-reject is skipped: replayed late it could undo
   * a newer cancel request, and it changes nothing the broker holds. Returns the broker's view
   * of the order (null: the broker does not know it).
   */
  async replay(
    tenantId: TenantId,
    clientOrderId: string,
    connectionId: string | null = null,
  ): Promise<BrokerOrder | null> {
    const session = await this.session(tenantId, connectionId);
    session.lease.assertHeld();
    const broker = session.adapter;
    const [known, reports] = await Promise.all([
      broker.getOrderByClientId(clientOrderId),
      broker.getExecutions(clientOrderId),
    ]);
    for (const r of reports) {
      if (r.kind === 'cancel_rejected') continue;
      await this.#hooks.onReport(session.tenantId, r);
    }
    return known;
  }
}

/**
 * What the paper account holds: the desk's books (cash and positions) while the desk never
 * routed an order to a linked connection; otherwise the paper fills alone, replayed by average
 * cost (positions) and cash flow (starting capital − bought + sold − fees, times multipliers),
 * so a live broker's positions never appear in the paper account.
 */
async function paperBook(
  tx: Tx,
  tenantId: TenantId,
  startingCapital: string,
  valuation: Awaited<ReturnType<typeof valueDesk>>,
): Promise<{ cash: string; positions: PositionState[] }> {
  const [linked] = await tx.execute<{ n: number }>(
    sql`select count(*)::int as n from orders where tenant_id = ${tenantId} and broker_connection_id is not null`,
  );
  if ((linked?.n ?? 0) === 0)
    return {
      cash: valuation.pnl.cash,
      positions: valuation.legs.map((l) => ({
        ...l.position,
        quantity: norm(l.position.quantity),
        avgCost: norm(l.position.avgCost),
      })),
    };
  const fs = await tx.execute<{
    symbol: string;
    side: 'buy' | 'sell';
    quantity: string;
    price: string;
    fee: string;
    multiplier: string | null;
  }>(sql`
    select f.symbol, f.side, f.quantity::text as quantity, f.price::text as price, f.fee::text as fee,
           i.multiplier::text as multiplier
    from fills f
    join orders o on o.tenant_id = f.tenant_id and o.id = f.order_id
    left join instruments i on i.symbol = f.symbol
    where f.tenant_id = ${tenantId} and o.broker_connection_id is null
    order by f.ts, f.id`);
  const book = new Map<string, PositionState>();
  let cash = dec(startingCapital);
  for (const f of fs) {
    const mult = f.multiplier ?? '1';
    const notional = dec(f.quantity).times(dec(f.price)).times(dec(mult));
    cash = (f.side === 'buy' ? cash.minus(notional) : cash.plus(notional)).minus(dec(f.fee));
    const before = book.get(f.symbol) ?? flatPosition(f.symbol);
    book.set(f.symbol, applyFill(before, { ...f, multiplier: mult }).position);
  }
  return {
    cash: decStr(cash),
    positions: [...book.values()]
      .filter((p) => !dec(p.quantity).isZero())
      .map((p) => ({ ...p, quantity: norm(p.quantity), avgCost: norm(p.avgCost) })),
  };
}

/** The connection row the factory builds from (RLS: only the desk's own connections). */
export async function loadConnectionRow(
  deps: Pick<ExecutionDeps, 'db'>,
  tenantId: TenantId,
  connectionId: string,
): Promise<ConnectionRow | null> {
  const rows = await withTenant(deps.db, tenantId, (tx) =>
    tx.execute<{
      id: string;
      tenant_id: string;
      provider: string;
      environment: 'paper' | 'live';
      account_ref: string;
      status: string;
      api_protocol: string | null;
    }>(sql`
      select c.id, c.tenant_id, c.provider, c.environment, c.account_ref, c.status, p.api_protocol
      from broker_connections c
      left join oauth_providers p on p.tenant_id = c.tenant_id and (
        p.id = c.provider_config_id or (c.provider_config_id is null and 'oauth:' || p.slug = c.provider))
      where c.tenant_id = ${tenantId} and c.id = ${connectionId}
      limit 1`),
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    tenantId: asTenantId(r.tenant_id),
    provider: r.provider,
    environment: r.environment,
    accountRef: r.account_ref,
    status: r.status,
    apiProtocol: r.api_protocol,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());
