// One file: the group commit is one pipeline (claim keys → lock → risk inputs → judge in memory
// → batched writes → complete keys) whose steps share the batch's in-memory state; its fallback
// to the per-order path lives in service.ts.
import { randomUUID } from 'node:crypto';
import { idempotencyKeys, orders, outbox } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import { asOrderId, type OrderId, type TenantId } from '@aegis/shared/ids';
import { evaluateOrder, type OrderIntent, type RiskDecision } from '@aegis/shared/risk/governor';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { recordBatch } from '../audit/service.ts';
import {
  clientOrderIdFor,
  type IdempotencyScope,
  insertClaims,
  replay,
  requestHash,
  type StoredOutcome,
} from './idempotency.ts';
import { type BrandedOrderView, newOrderRow, toOrderView } from './order-rows.ts';
import { instrumentInfo, loadBatchRiskInputs, quoteInfoOf } from './risk-context.ts';
import type { Actor, ExecutionDeps, ExecutionOptions } from './types.ts';

/**
 * Group commit for `orders.place`. A desk's orders are serialized anyway (the governor must see
 * every earlier order of the desk, so placement holds the desk's order lock until commit); with
 * one transaction per order the desk's throughput is one over the lock's hold time — about twenty
 * round trips and a WAL flush. Here the orders that arrive while a desk's transaction is running
 * wait in a queue, and the next transaction takes all of them:
 *
 *   claim every idempotency key (one INSERT … ON CONFLICT) → desk order lock → the risk inputs
 *   once → judge the orders one after another in memory, each seeing the ones accepted before it
 *   → one INSERT of the orders, one of the outbox rows, one audit append (one chain lock, one
 *   head read, consecutive seqs) → every key completed (one UPDATE) → one commit.
 *
 * What does not change: the desk lock is still a PostgreSQL advisory lock (other processes and
 * the per-order paths — brackets, combos, halt — serialize with a batch exactly as with an
 * order); an order is denied or accepted against the same facts as if it had committed alone
 * right after its predecessor; the audit chain is the chain `record` would have written; a key
 * gets one result. A request's own error (an unknown instrument) is its key's stored result and
 * writes nothing else. If the batch transaction fails for any other reason, nothing of it
 * committed and each order is placed again on its own (the per-order path) so one bad order
 * cannot fail the others.
 */

export interface BatchRequest {
  readonly tenantId: TenantId;
  readonly scope: IdempotencyScope;
  readonly input: PlaceOrderInput;
  readonly intent: OrderIntent;
  readonly origin: 'human' | 'api' | 'agent';
  readonly actor: Actor;
  readonly createdBy: string;
  readonly requestId: string | null;
  readonly ip: string | null;
}

/** How one request of a batch ended: placed here, a key to replay, or an error to throw. */
export type BatchOutcome =
  | { readonly kind: 'placed'; readonly order: BrandedOrderView }
  | { readonly kind: 'replay'; readonly orderId: OrderId }
  | { readonly kind: 'error'; readonly error: unknown }
  /** Same key as an earlier request of the batch: goes into the next batch (then replays). */
  | { readonly kind: 'again' };

interface Waiting {
  readonly req: BatchRequest;
  readonly resolve: (o: BatchOutcome) => void;
}

/** The per-desk queue: at most one batch transaction per desk in this process at a time. */
export class DeskBatcher {
  readonly #queues = new Map<TenantId, Waiting[]>();
  readonly #run: (tenantId: TenantId, reqs: readonly BatchRequest[]) => Promise<BatchOutcome[]>;
  readonly #max: number;

  constructor(
    run: (tenantId: TenantId, reqs: readonly BatchRequest[]) => Promise<BatchOutcome[]>,
    max: number,
  ) {
    this.#run = run;
    this.#max = max;
  }

  submit(req: BatchRequest): Promise<BatchOutcome> {
    return new Promise((resolve) => {
      const q = this.#queues.get(req.tenantId);
      if (q) {
        q.push({ req, resolve });
        return;
      }
      this.#queues.set(req.tenantId, [{ req, resolve }]);
      void this.#drain(req.tenantId);
    });
  }

  async #drain(tenantId: TenantId): Promise<void> {
    const q = this.#queues.get(tenantId)!;
    while (q.length > 0) {
      const batch = q.splice(0, this.#max);
      let outcomes: BatchOutcome[];
      try {
        outcomes = await this.#run(
          tenantId,
          batch.map((w) => w.req),
        );
      } catch (error) {
        outcomes = batch.map(() => ({ kind: 'error', error }) as const);
      }
      batch.forEach((w, i) => {
        const o = outcomes[i]!;
        if (o.kind === 'again') q.push(w);
        else w.resolve(o);
      });
    }
    this.#queues.delete(tenantId);
  }
}

const scopeKey = (s: Pick<IdempotencyScope, 'principal' | 'procedure' | 'key'>) =>
  `${s.principal}\u0000${s.procedure}\u0000${s.key}`;

/**
 * One batch transaction (see the file comment). Returns one outcome per request, in order.
 * Throws only when the transaction failed as a whole (nothing committed).
 */
export async function placeBatch(
  deps: Pick<ExecutionDeps, 'db' | 'quotes'>,
  opts: Pick<ExecutionOptions, 'startingCapital'>,
  clock: () => Date,
  tenantId: TenantId,
  reqs: readonly BatchRequest[],
  explain: (
    d: RiskDecision,
    inputs: { reducingOnly: string | null; switches: { global: boolean; desk: boolean } },
  ) => RiskDecision,
  describe: (input: PlaceOrderInput, d: RiskDecision) => string,
): Promise<BatchOutcome[]> {
  const outcomes: (BatchOutcome | null)[] = reqs.map(() => null);
  // A key twice in one batch: the later request waits for the next batch and replays there, as
  // a concurrent retry blocked on the first one's uncommitted key would.
  const firstOfKey = new Map<string, number>();
  reqs.forEach((r, i) => {
    const k = scopeKey(r.scope);
    if (firstOfKey.has(k)) outcomes[i] = { kind: 'again' };
    else firstOfKey.set(k, i);
  });
  const live = reqs.map((_, i) => i).filter((i) => outcomes[i] === null);
  const hashes = reqs.map((r) => requestHash(r.input));
  const claimedAt = clock();

  const placed = await withTenant(deps.db, tenantId, async (tx) => {
    // 1. Claim every key at once, in key order (two batches claiming the same keys wait on each
    // other rather than deadlock). A key held by another transaction blocks here until it ends.
    const byKey = [...live].sort((a, b) => (reqs[a]!.scope.key < reqs[b]!.scope.key ? -1 : 1));
    const claiming = insertClaims(
      tx,
      byKey.map((i) => ({ scope: { ...reqs[i]!.scope, tenantId }, hash: hashes[i]! })),
      claimedAt,
    );
    // 2. The desk's order lock, sent with the claim (it runs after it, on the same connection):
    // keys first, then the desk, as on the per-order path.
    const [claimedRows] = await Promise.all([
      claiming,
      tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`aegis.orders:${tenantId}`}, 0))`),
    ]);
    const claimed = new Set(claimedRows.map((r) => scopeKey(r)));
    const unclaimed = live.filter((i) => !claimed.has(scopeKey(reqs[i]!.scope)));
    if (unclaimed.length > 0) {
      const rows = await tx
        .select()
        .from(idempotencyKeys)
        .where(
          and(
            eq(idempotencyKeys.tenantId, tenantId),
            inArray(
              idempotencyKeys.key,
              unclaimed.map((i) => reqs[i]!.scope.key),
            ),
          ),
        )
        .for('update');
      const stored = new Map(rows.map((r) => [scopeKey(r), r]));
      for (const i of unclaimed) {
        const row = stored.get(scopeKey(reqs[i]!.scope));
        outcomes[i] = !row
          ? { kind: 'error', error: new AppError(ErrorCode.CONFLICT, 'idempotency key vanished; retry') }
          : row.requestHash !== hashes[i]
            ? {
                kind: 'error',
                error: new AppError(ErrorCode.CONFLICT, 'idempotency key reused with a different request', {
                  reason: 'idempotency_key_reused',
                }),
              }
            : row.status !== 'completed' || !row.response
              ? {
                  kind: 'error',
                  error: new AppError(
                    ErrorCode.CONFLICT,
                    'a request with this idempotency key is in progress',
                    {
                      reason: 'idempotency_in_progress',
                    },
                  ),
                }
              : replayOutcome(row.response as StoredOutcome<{ orderId: string }>);
      }
    }
    const todo = live.filter((i) => claimed.has(scopeKey(reqs[i]!.scope)));
    if (todo.length === 0) return [];

    // The governor's clock is read with the lock held (see OrderService.place).
    const base = await loadBatchRiskInputs(
      tx,
      tenantId,
      [...new Set(todo.map((i) => reqs[i]!.input.symbol))],
      {
        quotes: deps.quotes,
        startingCapital: opts.startingCapital,
        now: clock(),
      },
    );

    // 3. Judge each order against the book with the batch's earlier accepted orders in it.
    const working = [...base.working];
    const recent = [...base.recent];
    let recentCount = base.recentCount;
    const rows: (typeof orders.$inferInsert)[] = [];
    const judged: { i: number; decision: RiskDecision; clientOrderId: string }[] = [];
    const keyResults: { i: number; outcome: StoredOutcome<{ orderId: string }> }[] = [];
    for (const i of todo) {
      const r = reqs[i]!;
      const now = clock();
      const inst = base.instrumentRows.get(r.input.symbol);
      if (!inst) {
        const error = new AppError(ErrorCode.NOT_FOUND, `unknown instrument ${r.input.symbol}`);
        outcomes[i] = { kind: 'error', error };
        keyResults.push({ i, outcome: errorOutcome(error) });
        continue;
      }
      const limits = base.limitsBySymbol.get(r.input.symbol)!;
      const decision = explain(
        evaluateOrder(
          r.intent,
          {
            ...base.ctx,
            now,
            instrument: instrumentInfo(inst),
            quote: quoteInfoOf(deps.quotes, r.input.symbol),
            workingOrders: working,
            recentOrders: recent,
            ...(limits.maxOrdersPerMinute !== null && { recentOrderCount: recentCount }),
          },
          limits,
        ),
        base,
      );
      const clientOrderId = clientOrderIdFor(r.scope, claimedAt);
      if (decision.allowed) {
        working.push({
          symbol: r.input.symbol,
          side: r.input.side,
          leavesQty: r.input.quantity,
          limitPrice: r.input.limitPrice ?? null,
        });
        recent.unshift({
          symbol: r.input.symbol,
          side: r.input.side,
          orderType: r.input.orderType,
          quantity: r.input.quantity,
          limitPrice: r.input.limitPrice ?? null,
          stopPrice: r.input.stopPrice ?? null,
          createdAt: now,
        });
        recentCount++;
      }
      judged.push({ i, decision, clientOrderId });
      rows.push(
        newOrderRow(r.input, decision, {
          tenantId,
          clientOrderId,
          broker: 'paper',
          brokerConnectionId: null,
          proposalId: null,
          origin: r.origin,
          createdBy: r.createdBy,
          now,
        }),
      );
    }

    // 4. The writes: one statement each, issued together (postgres.js pipelines them on the
    // connection; they run in this order). The order ids are made here so the outbox rows, the
    // audit rows and the keys need not wait for the orders' insert to come back.
    const ids = judged.map(() => randomUUID());
    judged.forEach((j, n) => {
      rows[n]!.id = ids[n]!;
      keyResults.push({ i: j.i, outcome: { ok: true, value: { orderId: ids[n]! } } });
    });
    const allowed = judged
      .map((j, n) => ({ ...j, id: ids[n]!, at: rows[n]!.createdAt as Date }))
      .filter((j) => j.decision.allowed);
    const [inserted] = await Promise.all([
      rows.length > 0 ? tx.insert(orders).values(rows).returning() : Promise.resolve([]),
      allowed.length > 0
        ? tx.insert(outbox).values(
            allowed.map((j) => ({
              tenantId,
              topic: 'broker.place',
              aggregateId: j.id,
              payload: { orderId: j.id, clientOrderId: j.clientOrderId },
              availableAt: j.at,
            })),
          )
        : Promise.resolve(),
      recordBatch(
        tx,
        tenantId,
        judged.map((j, n) => {
          const r = reqs[j.i]!;
          return {
            action: 'orders.place',
            actor: r.actor,
            targetType: 'order',
            targetId: ids[n]!,
            outcome: j.decision.allowed ? ('ok' as const) : ('denied' as const),
            payload: { input: r.input, clientOrderId: j.clientOrderId, verdicts: j.decision.denials },
            details: describe(r.input, j.decision),
            requestId: r.requestId,
            ip: r.ip,
          };
        }),
      ),
      // 5. Every claimed key gets its result.
      keyResults.length > 0
        ? tx.execute(sql`
        update idempotency_keys k
           set status = 'completed', response = v.response
          from (select unnest(${pgArray(keyResults.map((k) => reqs[k.i]!.scope.principal))}::text[]) as principal,
                       unnest(${pgArray(keyResults.map((k) => reqs[k.i]!.scope.procedure))}::text[]) as procedure,
                       unnest(${pgArray(keyResults.map((k) => reqs[k.i]!.scope.key))}::text[]) as key,
                       unnest(${pgArray(keyResults.map((k) => JSON.stringify(k.outcome)))}::jsonb[]) as response) v
         where k.tenant_id = ${tenantId} and k.principal = v.principal and k.procedure = v.procedure and k.key = v.key`)
        : Promise.resolve(),
    ]);
    const byId = new Map(inserted.map((o) => [o.id, o]));
    const placedHere = judged.map((j, n) => {
      const row = byId.get(ids[n]!);
      if (!row) throw new AppError(ErrorCode.INTERNAL, 'order insert returned nothing');
      return { i: j.i, order: toOrderView(row) };
    });
    return placedHere;
  });
  for (const p of placed) outcomes[p.i] = { kind: 'placed', order: p.order };
  return outcomes.map(
    (o) => o ?? { kind: 'error', error: new AppError(ErrorCode.INTERNAL, 'batch lost a request') },
  );
}

function replayOutcome(outcome: StoredOutcome<{ orderId: string }>): BatchOutcome {
  try {
    return { kind: 'replay', orderId: asOrderId(replay(outcome).orderId) };
  } catch (error) {
    return { kind: 'error', error };
  }
}

function errorOutcome(err: AppError): StoredOutcome<never> {
  return {
    ok: false,
    error: { code: err.code, message: err.message, ...(err.details && { details: { ...err.details } }) },
  };
}

/** A PostgreSQL array literal of text (each element quoted and escaped). */
function pgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** True for the orders a batch takes; the rest (brackets, proposals, routed) go one by one. */
export const batchable = (input: PlaceOrderInput): boolean =>
  !input.bracket && !input.proposalId && !input.brokerConnectionId;
