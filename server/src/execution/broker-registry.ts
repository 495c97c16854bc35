import { orders } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import { PaperBroker } from '../brokers/paper.ts';
import type { BrokerAdapter, BrokerOrder, ExecutionReport } from '../brokers/types.ts';
import { transientKindOf } from '../transient-errors.ts';
import { norm } from './order-rows.ts';
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

/**
 * One broker adapter per desk. Today every desk trades on the paper broker; a linked live broker
 * (broker_connections) will be chosen here. This registry and the rest of server/src/execution/
 * are the only code that may import an adapter (tests/architecture enforces it).
 *
 * The paper account is rebuilt from PostgreSQL when first used in a process (positions, open
 * orders that reached it, cash), so a restart continues the same account. Reports go to
 * `onReport` one at a time per desk, in the order the broker emitted them, at least once:
 * applying is idempotent by execution id, so a report retried after an outage, or re-fetched from
 * the broker, is applied exactly once.
 */
export class BrokerRegistry {
  readonly #deps: ExecutionDeps;
  readonly #opts: ExecutionOptions;
  readonly #onReport: (tenantId: string, report: ExecutionReport) => Promise<unknown>;
  readonly #brokers = new Map<string, Promise<PaperBroker>>();
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Reports queued per desk and not yet taken up (bounded by MAX_BACKLOG). */
  readonly #backlog = new Map<string, number>();
  /** Orders per desk whose reports are re-fetched from the broker once the queue drains. */
  readonly #resync = new Map<string, Set<string>>();
  readonly #catchUpDue = new Set<string>();
  #closed = false;

  constructor(
    deps: ExecutionDeps,
    opts: ExecutionOptions,
    onReport: (tenantId: string, report: ExecutionReport) => Promise<unknown>,
  ) {
    this.#deps = deps;
    this.#opts = opts;
    this.#onReport = onReport;
  }

  get(tenantId: string): Promise<BrokerAdapter> {
    return this.paper(tenantId);
  }

  /** The desk's paper account (paper-only controls: halts, end of day, drift injection in tests). */
  paper(tenantId: string): Promise<PaperBroker> {
    let b = this.#brokers.get(tenantId);
    if (!b) {
      b = this.#create(tenantId);
      this.#brokers.set(tenantId, b);
      b.catch(() => this.#brokers.delete(tenantId));
    }
    return b;
  }

  /** The desks whose account is open in this process. */
  async opened(): Promise<{ tenantId: string; broker: PaperBroker }[]> {
    const out: { tenantId: string; broker: PaperBroker }[] = [];
    for (const [tenantId, b] of this.#brokers) {
      const broker = await b.catch(() => null);
      if (broker) out.push({ tenantId, broker });
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
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.#queues.values()]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.#closed = true;
    for (const b of this.#brokers.values()) void b.then((x) => x.close()).catch(() => {});
    this.#brokers.clear();
  }

  async #create(tenantId: string): Promise<PaperBroker> {
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
      return { valuation, open, mults, parents: new Map(parents.map((x) => [x.id, x])) };
    });
    const broker = new PaperBroker({
      accountId: tenantId.slice(0, 8),
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
      cash: snapshot.valuation.pnl.cash,
      positions: snapshot.valuation.legs.map((l) => ({
        ...l.position,
        quantity: norm(l.position.quantity),
        avgCost: norm(l.position.avgCost),
      })),
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
      })),
      bracketEntries: [...snapshot.parents.values()].map((x) => ({
        clientOrderId: x.clientOrderId,
        filledQuantity: norm(x.filledQuantity),
      })),
    });
    broker.onExecutionReport((r) => this.#enqueue(tenantId, r));
    this.#deps.log.info({ tenantId, cash: broker.cash }, 'paper account restored');
    return broker;
  }

  /**
   * Applies a live report. While the database is unreachable the report is retried with capped
   * backoff for as long as it takes (never dropped: the broker would not send it again). Any other
   * failure gets a few attempts; if it still fails the order is re-fetched from the broker later.
   */
  async #applyWithRetry(tenantId: string, r: ExecutionReport): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#onReport(tenantId, r);
        if (attempt > 1) this.#catchUpLater(tenantId);
        return;
      } catch (err) {
        const transient = transientKindOf(err) !== null;
        if (this.#closed || (!transient && attempt >= 4)) {
          this.#deps.log.error(
            { err, tenantId, executionId: r.executionId, kind: r.kind },
            'applying an execution report failed; the order is re-fetched from the broker',
          );
          this.#resyncLater(tenantId, r.clientOrderId);
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

  #enqueue(tenantId: string, r: ExecutionReport): void {
    const backlog = this.#backlog.get(tenantId) ?? 0;
    if (backlog >= MAX_BACKLOG) {
      // Bounded memory: past the cap a report is not held here; the broker keeps it and the
      // order is re-fetched (getExecutions) once the backlog has drained.
      this.#resyncLater(tenantId, r.clientOrderId);
      return;
    }
    this.#backlog.set(tenantId, backlog + 1);
    this.#chain(tenantId, async () => {
      this.#backlog.set(tenantId, (this.#backlog.get(tenantId) ?? 1) - 1);
      // An order waiting for a re-fetch takes its reports from there, in the broker's order.
      if (this.#resync.get(tenantId)?.has(r.clientOrderId)) return;
      await this.#applyWithRetry(tenantId, r);
    });
  }

  /** Runs `job` after everything queued for the desk (reports are applied one at a time per desk). */
  #chain(tenantId: string, job: () => Promise<void>): Promise<void> {
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
  #resyncLater(tenantId: string, clientOrderId: string): void {
    let set = this.#resync.get(tenantId);
    if (!set) {
      set = new Set();
      this.#resync.set(tenantId, set);
    }
    const first = set.size === 0;
    set.add(clientOrderId);
    if (first) void this.#chain(tenantId, () => this.#runResync(tenantId));
  }

  async #runResync(tenantId: string): Promise<void> {
    const set = this.#resync.get(tenantId);
    while (set && set.size > 0 && !this.#closed) {
      const clientOrderId = set.values().next().value as string;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.replay(tenantId, clientOrderId);
          break;
        } catch (err) {
          if (this.#closed) return;
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
   * reconciliation. Every order of the desk the broker may still be working is re-fetched and
   * its missing reports applied; nothing here halts automation (reconciliation still decides).
   */
  #catchUpLater(tenantId: string): void {
    if (this.#catchUpDue.has(tenantId)) return;
    this.#catchUpDue.add(tenantId);
    void this.#chain(tenantId, async () => {
      this.#catchUpDue.delete(tenantId);
      try {
        const open = await withTenant(this.#deps.db, tenantId, (tx) =>
          tx
            .select({ clientOrderId: orders.clientOrderId })
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
        for (const o of open) this.#resyncLater(tenantId, o.clientOrderId);
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
   * Throws when the database cannot take them (the caller retries). A cancel-reject is skipped:
   * replayed late it could undo a newer cancel request, and it changes nothing the broker holds.
   * Returns the broker's view of the order (null: the broker does not know it).
   */
  async replay(tenantId: string, clientOrderId: string): Promise<BrokerOrder | null> {
    const broker = await this.get(tenantId);
    const [known, reports] = await Promise.all([
      broker.getOrderByClientId(clientOrderId),
      broker.getExecutions(clientOrderId),
    ]);
    for (const r of reports) {
      if (r.kind === 'cancel_rejected') continue;
      await this.#onReport(tenantId, r);
    }
    return known;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());
