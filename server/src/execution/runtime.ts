import { equitySnapshots, positions, tenants } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { withDeadline } from '@aegis/shared/deadline';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { sessionState } from '@aegis/shared/risk/calendars';
import type { OrderView } from '@aegis/shared/schemas/order';
import { and, eq, gt, ne, sql } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { BrokerAccount, BrokerError, ExecutionReport } from '../brokers/types.ts';
import { BookFeed } from '../market/book-feed.ts';
import { BrokerRegistry, type BrokerSession } from './broker-registry.ts';
import { ComboService } from './combo-service.ts';
import { type HaltMessage, Halts, parseHaltMessage } from './halt.ts';
import { OutboxDispatcher } from './outbox.ts';
import { QuoteFeed } from './quote-feed.ts';
import { Reconciler } from './reconcile.ts';
import { connectionSource, enterReducingOnly, leaveReducingOnly } from './reducing-only.ts';
import { applyExecutionReport, applyExecutionReports, type ReportResult } from './reports.ts';
import { loadInstruments } from './risk-context.ts';
import { OrderService } from './service.ts';
import {
  DEFAULT_EXECUTION_OPTIONS,
  DISPATCH_CHANNEL,
  type ExecutionDeps,
  type ExecutionOptions,
  HALT_CHANNEL,
  orderUpdatesChannel,
  positionUpdatesChannel,
} from './types.ts';
import { sessionStartOf, valueDesk, writeEquitySnapshot } from './valuation.ts';

const PUBLISH_TIMEOUT_MS = 500;

/**
 * The execution service, wired: order placement (governor, idempotency, outbox), the outbox
 * dispatcher, broker adapters and their execution reports, reconciliation, the halt and
 * equity snapshots. One per server process; `start()` recovers (pending outbox rows, unknown
 * orders, reconciliation) before the periodic loops begin.
 */
export class ExecutionRuntime {
  readonly options: ExecutionOptions;
  /** This process's copy of the venue prices (reference prices, marks, paper fills). */
  readonly quotes: QuoteBook;
  readonly orders: OrderService;
  /** Multi-leg (combo) orders: place, dry run (`check`), cancel, get. */
  readonly combos: ComboService;
  readonly brokers: BrokerRegistry;
  readonly dispatcher: OutboxDispatcher;
  readonly halts: Halts;
  readonly reconciler: Reconciler;
  readonly quoteFeed: QuoteFeed;
  /** The engine's published L2 books (market/book-feed.ts), beside the prices. */
  readonly bookFeed: BookFeed;
  readonly #deps: ExecutionDeps;
  readonly #haltListeners = new Set<(m: HaltMessage) => void>();
  #unsubscribeHalt: (() => Promise<void>) | null = null;
  #unsubscribeDispatch: (() => Promise<void>) | null = null;
  #started = false;
  readonly #breakerWrites = new Map<string, Promise<unknown>>();
  #equityTimer: NodeJS.Timeout | null = null;
  #dayTimer: NodeJS.Timeout | null = null;

  constructor(deps: ExecutionDeps) {
    this.#deps = deps;
    this.quotes = deps.quotes;
    this.options = {
      ...DEFAULT_EXECUTION_OPTIONS,
      ...deps.options,
      paper: { ...DEFAULT_EXECUTION_OPTIONS.paper, ...deps.options?.paper },
      breaker: { ...DEFAULT_EXECUTION_OPTIONS.breaker, ...deps.options?.breaker },
    };
    this.brokers = new BrokerRegistry(deps, this.options, {
      onReport: (tenantId, r) => this.applyReport(tenantId, r),
      onReports: (tenantId, rs) => this.applyReports(tenantId, rs),
      onReconnect: (s) => {
        void this.reconciler
          .reconcile(s.tenantId, 'reconnect', s.connectionId)
          .catch((err: unknown) =>
            this.#deps.log.error({ err, resource: s.resource }, 'reconnect reconciliation failed'),
          );
      },
      onBreaker: (c, open, error) => this.#breakerChanged(c, open, error),
    });
    this.dispatcher = new OutboxDispatcher(
      deps,
      this.options,
      this.brokers,
      (t, o) => this.#orderChanged(t, o),
      (s) => this.#sessionAdopted(s),
    );
    this.orders = new OrderService(deps, this.options, {
      onOutboxCommitted: (t) => this.dispatcher.nudge(t),
      onOrderChanged: (t, o) => this.#orderChanged(t, o),
    });
    this.combos = new ComboService(deps, this.options, {
      onOutboxCommitted: (t) => this.dispatcher.nudge(t),
      onOrderChanged: (t, o) => this.#orderChanged(t, o),
    });
    this.halts = new Halts(deps, (t) => this.dispatcher.nudge(t));
    this.reconciler = new Reconciler(deps, this.options, this.brokers);
    this.quoteFeed = new QuoteFeed(deps, this.quotes, {
      prefix: this.options.pricePrefix,
      maxFutureSkewMs: this.options.maxFutureSkewMs,
      refreshMs: this.options.venueRefreshMs,
    });
    this.bookFeed = new BookFeed(deps, {
      prefix: this.options.pricePrefix,
      refreshMs: this.options.venueRefreshMs,
    });
  }

  async start(opts: { reconcile?: boolean } = {}): Promise<void> {
    try {
      // Outbox rows committed by servers that do not hold the resource's lease: sent here at once.
      this.#unsubscribeDispatch = await this.#deps.bus.subscribe(DISPATCH_CHANNEL, (raw) => {
        const tenantId = parseDispatchNudge(raw);
        if (tenantId)
          void this.dispatcher
            .dispatchTenant(tenantId, { forward: false })
            .catch((err: unknown) => this.#deps.log.error({ err, tenantId }, 'forwarded dispatch failed'));
      });
    } catch (err) {
      this.#deps.log.warn({ err }, 'dispatch nudges unavailable; the outbox sweep still sends');
    }
    try {
      this.#unsubscribeHalt = await this.#deps.bus.subscribe(HALT_CHANNEL, (raw) => {
        const m = parseHaltMessage(raw);
        if (m) for (const l of this.#haltListeners) l(m);
      });
    } catch (err) {
      // Redis down: halts still hold (PostgreSQL is read at every order); only fan-out is lost.
      this.#deps.log.warn({ err }, 'halt subscription unavailable; halt still enforced from PostgreSQL');
    }
    // Venue prices before anything trades: the snapshot is read here, so a restarted server
    // serves with current prices at once (a bus outage only delays them; see quote-feed.ts).
    await this.quoteFeed.start();
    await this.bookFeed.start();
    await this.halts
      .enforceHalts()
      .catch((err: unknown) => this.#deps.log.error({ err }, 'enforcing halts at start failed'));
    if (opts.reconcile !== false) {
      await this.reconciler
        .reconcileAll('start')
        .catch((err: unknown) => this.#deps.log.error({ err }, 'start reconciliation failed'));
    }
    this.#started = true;
    this.dispatcher.start();
    this.reconciler.start();
    this.#equityTimer = setInterval(() => {
      void this.snapshotAll('interval').catch((err: unknown) =>
        this.#deps.log.error({ err }, 'equity snapshots failed'),
      );
    }, this.options.equityIntervalMs);
    this.#equityTimer.unref();
    this.#dayTimer = setInterval(() => {
      void this.expireDayOrders().catch((err: unknown) =>
        this.#deps.log.error({ err }, 'day-order expiry failed'),
      );
    }, 60_000);
    this.#dayTimer.unref();
  }

  /**
   * Time in force `day`: an exchange-calendar instrument's day orders expire once its session is
   * closed; a 24/7 instrument's at the desk's day boundary (midnight in the desk's timezone).
   */
  async expireDayOrders(): Promise<number> {
    let n = 0;
    const now = this.#deps.clock?.() ?? new Date();
    for (const { tenantId, broker } of await this.brokers.opened()) {
      const open = await broker.listOpenOrders();
      if (open.length === 0) continue;
      const { sessionStart, calendars } = await withTenant(this.#deps.db, tenantId, async (tx) => {
        const insts = await loadInstruments(tx, [...new Set(open.map((o) => o.symbol))]);
        return {
          sessionStart: await sessionStartOf(tx, tenantId, now),
          calendars: new Map([...insts].map(([s, i]) => [s, i.calendar])),
        };
      });
      n += broker.expireDayOrders(({ symbol, createdAt }) => {
        const calendar = calendars.get(symbol) ?? '24x7';
        if (calendar === '24x7') return createdAt < sessionStart;
        return !sessionState(calendar, now).open;
      });
    }
    if (n > 0) await this.brokers.drain();
    return n;
  }

  async stop(): Promise<void> {
    this.#started = false;
    await this.#unsubscribeDispatch?.().catch(() => {});
    if (this.#equityTimer) clearInterval(this.#equityTimer);
    if (this.#dayTimer) clearInterval(this.#dayTimer);
    this.reconciler.stop();
    await this.quoteFeed.stop();
    await this.bookFeed.stop();
    await this.dispatcher.stop();
    await this.brokers.drain();
    this.brokers.close();
    await this.brokers.leases.close();
    await this.#unsubscribeHalt?.().catch(() => {});
  }

  /**
   * A broker session this process just opened (first use, restart, takeover), after the
   * dispatcher freed its predecessor's claims. On a takeover, in a started runtime (tests drive
   * reconciliation themselves), its rows are sent and then the resource is reconciled.
   */
  async #sessionAdopted(s: BrokerSession): Promise<void> {
    if (s.connectionId !== null) {
      // A new session starts with a closed breaker: a reducing-only state left by a holder that
      // died with its breaker open is lifted (it opens again if the broker still fails).
      await leaveReducingOnly(
        this.#deps,
        s.tenantId,
        connectionSource(s.connectionId),
        'new dispatcher session',
      );
    }
    // Reconciled on a takeover only (the previous holder died or stalled): a session this
    // process merely reopened continues its own books, and start-up reconciles on its own.
    if (!this.#started || !s.takeover) return;
    void this.dispatcher
      .dispatchTenant(s.tenantId, { forward: false })
      .then(() => this.reconciler.reconcile(s.tenantId, 'takeover', s.connectionId))
      .catch((err: unknown) =>
        this.#deps.log.error({ err, resource: s.resource }, 'takeover reconciliation failed'),
      );
  }

  /** A connection's circuit breaker opened or closed: the desk enters or leaves reducing-only. */
  #breakerChanged(
    c: { tenantId: TenantId; connectionId: string; provider: string },
    open: boolean,
    error: BrokerError | null,
  ): void {
    const source = connectionSource(c.connectionId);
    // One write at a time per connection, in the order the breaker changed (open, then close).
    const prev = this.#breakerWrites.get(c.connectionId) ?? Promise.resolve();
    const done = prev.then(() =>
      open
        ? enterReducingOnly(
            this.#deps,
            c.tenantId,
            source,
            `${c.provider} circuit open: ${error?.code ?? 'unavailable'}`,
            {
              connectionId: c.connectionId,
              error: error?.toDetails() ?? null,
            },
          )
        : leaveReducingOnly(this.#deps, c.tenantId, source, `${c.provider} circuit closed`),
    );
    const settled = done.catch(() => false);
    this.#breakerWrites.set(c.connectionId, settled);
    void settled.then(() => {
      if (this.#breakerWrites.get(c.connectionId) === settled) this.#breakerWrites.delete(c.connectionId);
    });
    void done
      .then((changed) => {
        if (changed)
          this.#deps.log.warn(
            { tenantId: c.tenantId, connectionId: c.connectionId, open },
            'broker circuit changed: desk reducing-only state',
          );
      })
      .catch((err: unknown) =>
        this.#deps.log.error({ err, ...c, open }, 'recording the reducing-only state failed'),
      );
  }

  /** Applies one report and fans the change out (live order and position updates). */
  async applyReport(tenantId: TenantId, r: ExecutionReport): Promise<ReportResult> {
    const now = this.#deps.clock?.() ?? new Date();
    const result = await applyExecutionReport(this.#deps, this.options, tenantId, r, now);
    if (result.order) this.#orderChanged(tenantId, result.order);
    if (result.outcome === 'applied' && r.kind === 'fill') {
      this.#publish(
        positionUpdatesChannel(tenantId),
        JSON.stringify({ symbol: r.symbol, ts: now.toISOString() }),
      );
    }
    return result;
  }

  /** Applies a run of state-only reports (no fills) in one transaction and fans the changes out. */
  async applyReports(tenantId: TenantId, rs: readonly ExecutionReport[]): Promise<ReportResult[]> {
    const results = await applyExecutionReports(this.#deps, tenantId, rs, this.#now());
    for (const result of results) if (result.order) this.#orderChanged(tenantId, result.order);
    return results;
  }

  /**
   * Balances of the desk's paper account (`connectionId` null) or of one linked connection.
   * Interim: the paper account only; linked connections arrive with the dispatcher leases.
   */
  async brokerAccount(tenantId: TenantId, connectionId: string | null): Promise<BrokerAccount> {
    const session = await this.brokers.trySession(tenantId, connectionId);
    if (session) return session.adapter.getAccount();
    if (connectionId === null) {
      // Held by another process: the paper account is PostgreSQL's books (it is rebuilt from them).
      return withTenant(this.#deps.db, tenantId, async (tx) => {
        const v = await valueDesk(tx, tenantId, this.quotes, this.options.startingCapital, this.#now());
        const cash = v.pnl.cash;
        return {
          accountId: tenantId.slice(0, 8),
          currency: 'USD',
          cash,
          buyingPower: cash.startsWith('-') ? '0' : cash,
          equity: v.pnl.equity,
          brokerStatus: 'ACTIVE',
        };
      });
    }
    return this.brokers.readOnlyAccount(tenantId, connectionId);
  }

  #now(): Date {
    return this.#deps.clock?.() ?? new Date();
  }

  /** Local listeners for halt messages from any process (subscriptions, engine bridge). */
  onHalt(listener: (m: HaltMessage) => void): () => void {
    this.#haltListeners.add(listener);
    return () => this.#haltListeners.delete(listener);
  }

  /**
   * Equity snapshot for every desk holding a position (interval), or one desk. Every server runs
   * the interval timer; per desk one of them writes per interval: under the desk's own advisory
   * lock, a desk whose last interval snapshot is younger than half the interval is skipped.
   */
  async snapshotAll(reason: 'interval' | 'reconcile'): Promise<number> {
    const desks = await this.#deps.db.select({ id: tenants.id }).from(tenants);
    let n = 0;
    const now = this.#deps.clock?.() ?? new Date();
    for (const d of desks) {
      const wrote = await withTenant(this.#deps.db, d.id, async (tx) => {
        if (reason === 'interval') {
          await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`aegis:equity-interval:${d.id}`}))`);
          const since = new Date(now.getTime() - this.options.equityIntervalMs / 2);
          const [recent] = await tx
            .select({ ts: equitySnapshots.ts })
            .from(equitySnapshots)
            .where(
              and(
                eq(equitySnapshots.tenantId, d.id),
                eq(equitySnapshots.reason, 'interval'),
                gt(equitySnapshots.ts, since),
              ),
            )
            .limit(1);
          if (recent) return false; // another server wrote this interval's
        }
        const open = await tx
          .select({ symbol: positions.symbol })
          .from(positions)
          .where(and(eq(positions.tenantId, d.id), ne(positions.quantity, '0')))
          .limit(1);
        if (open.length === 0) return false;
        const desk = asTenantId(d.id);
        const v = await valueDesk(tx, desk, this.#deps.quotes, this.options.startingCapital, now);
        await writeEquitySnapshot(tx, desk, v, reason, now);
        return true;
      });
      if (wrote) n++;
    }
    return n;
  }

  #orderChanged(tenantId: TenantId, order: OrderView): void {
    this.#publish(
      orderUpdatesChannel(tenantId),
      JSON.stringify({ id: order.id, status: order.status, version: order.version }),
    );
  }

  #publish(channel: string, message: string): void {
    void withDeadline(this.#deps.bus.publish(channel, message), PUBLISH_TIMEOUT_MS, 'live update publish', {
      unref: true,
    }).catch((err: unknown) => this.#deps.log.debug({ err, channel }, 'live update publish failed'));
  }
}

function parseDispatchNudge(raw: string): TenantId | null {
  try {
    const m = JSON.parse(raw) as { tenantId?: unknown };
    // Parsed at the edge: a uuid published by a dispatcher that read it from its desk (outbox.ts).
    return typeof m.tenantId === 'string' && /^[0-9a-f-]{36}$/i.test(m.tenantId)
      ? asTenantId(m.tenantId)
      : null;
  } catch {
    return null;
  }
}
