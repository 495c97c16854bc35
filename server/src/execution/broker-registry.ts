import { orders } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import { PaperBroker } from '../brokers/paper.ts';
import type { BrokerAdapter, ExecutionReport } from '../brokers/types.ts';
import { norm } from './order-rows.ts';
import type { ExecutionDeps, ExecutionOptions } from './types.ts';
import { multipliersOf, valueDesk } from './valuation.ts';

/**
 * One broker adapter per desk. Today every desk trades on the paper broker; a linked live broker
 * (broker_connections) will be chosen here. This registry and the rest of server/src/execution/
 * are the only code that may import an adapter (tests/architecture enforces it).
 *
 * The paper account is rebuilt from PostgreSQL when first used in a process (positions, open
 * orders that reached it, cash), so a restart continues the same account. Reports go to
 * `onReport` one at a time per desk, in the order the broker emitted them.
 */
export class BrokerRegistry {
  readonly #deps: ExecutionDeps;
  readonly #opts: ExecutionOptions;
  readonly #onReport: (tenantId: string, report: ExecutionReport) => Promise<unknown>;
  readonly #brokers = new Map<string, Promise<PaperBroker>>();
  readonly #queues = new Map<string, Promise<unknown>>();

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
  async drain(): Promise<void> {
    await Promise.all([...this.#queues.values()]);
  }

  close(): void {
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
            inArray(orders.status, ['new', 'partially_filled', 'pending_cancel']),
          ),
        );
      const mults = await multipliersOf(tx, [
        ...new Set([...valuation.legs.map((l) => l.position.symbol), ...open.map((o) => o.symbol)]),
      ]);
      return { valuation, open, mults };
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
      })),
    });
    broker.onExecutionReport((r) => this.#enqueue(tenantId, r));
    this.#deps.log.info({ tenantId, cash: broker.cash }, 'paper account restored');
    return broker;
  }

  /** Transient database failures (failover, serialization) get a few retries; a fill is idempotent. */
  async #applyWithRetry(tenantId: string, r: ExecutionReport): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#onReport(tenantId, r);
      } catch (err) {
        if (attempt >= 4) throw err;
        this.#deps.log.warn({ err, tenantId, executionId: r.executionId, attempt }, 'execution report retry');
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  #enqueue(tenantId: string, r: ExecutionReport): void {
    const prev = this.#queues.get(tenantId) ?? Promise.resolve();
    const next = prev
      .then(() => this.#applyWithRetry(tenantId, r))
      .catch((err: unknown) =>
        // Given up: the broker still has the truth; reconciliation finds the difference and halts
        // automation for the desk until a person looks.
        this.#deps.log.error(
          { err, tenantId, executionId: r.executionId, kind: r.kind },
          'applying an execution report failed',
        ),
      );
    this.#queues.set(tenantId, next);
    void next.then(() => {
      if (this.#queues.get(tenantId) === next) this.#queues.delete(tenantId);
    });
  }
}
