import { createRequire } from 'node:module';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import { sleep } from '@aegis/shared/testing/wait';
import { TRPCClientError } from '@trpc/client';
import type postgres from 'postgres';
import type { Sql } from 'postgres';
import type { AppRouter } from '../../src/routers/_app.ts';
import type { Client } from './test-server.ts';

/**
 * The moving parts of the chaos suite (chaos.test.ts): a seeded random source, an order client
 * that retries with the SAME idempotency key until it gets a definitive answer, and the
 * observations of the database the suite measures with. The engine process lives in
 * chaos-engine.ts, the ledger check in chaos-ledger.ts, the tally in chaos-report.ts. Nothing here
 * asserts; the test does.
 */

// ---------------------------------------------------------------------------------------------
// Seeded randomness: the restart schedule is random but reproducible from the printed seed.
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny 32-bit PRNG, enough for a schedule (not for anything secret). */
export function seededRandom(seed: number): { next(): number; between(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, between: (lo, hi) => lo + (hi - lo) * next() };
}

// Re-exported so the chaos tests take every helper from the harness.
export { sleep };

/**
 * Polls `read` until it returns a truthy value or `capMs` passes (then null). The cap only bounds
 * a broken run; it is never asserted on.
 */
export async function pollUntil<T>(
  read: () => Promise<T | null | undefined | false>,
  capMs: number,
  everyMs = 200,
): Promise<T | null> {
  const deadline = Date.now() + capMs;
  for (;;) {
    const v = await read().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) return null;
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Orders with idempotent retries.
// ---------------------------------------------------------------------------------------------

type OrderView = Awaited<ReturnType<Client['orders']['place']['mutate']>>;

/** What one attempt of `orders.place` came back with. */
export type AttemptResult =
  | { kind: 'order'; order: OrderView }
  | { kind: 'retryable'; why: string; status: number | null; retryAfter: string | null }
  | { kind: 'refused'; status: number | null; code: string; message: string };

/** Statuses a client retries with the same key: the server did not give a definitive answer. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

export function classify(err: unknown, lastResponse: Response | null): AttemptResult {
  if (err instanceof TRPCClientError) {
    const e = err as TRPCClientError<AppRouter>;
    const status = e.data?.httpStatus ?? null;
    const retryAfter = lastResponse?.headers.get('retry-after') ?? null;
    if (status === null) {
      // No HTTP answer: our own per-attempt timeout fired, or the connection failed.
      const cause = (e.cause as Error | undefined)?.name ?? '';
      const timedOut = cause === 'AbortError' || cause === 'TimeoutError' || /aborted/i.test(e.message);
      return {
        kind: 'retryable',
        why: timedOut ? 'client timeout' : `network: ${e.message}`,
        status,
        retryAfter,
      };
    }
    if (RETRYABLE_STATUS.has(status))
      return { kind: 'retryable', why: `${status} ${e.data?.code ?? ''}`, status, retryAfter };
    return { kind: 'refused', status, code: String(e.data?.code ?? ''), message: e.message };
  }
  const name = (err as Error)?.name ?? '';
  if (name === 'AbortError' || name === 'TimeoutError')
    return { kind: 'retryable', why: 'client timeout', status: null, retryAfter: null };
  return {
    kind: 'retryable',
    why: `network: ${(err as Error)?.message ?? String(err)}`,
    status: null,
    retryAfter: null,
  };
}

/** One order's life as the client saw it. */
export interface OrderRecord {
  readonly index: number;
  /** When its first attempt started, ms after the run began. */
  readonly startedAtMs: number;
  readonly key: string;
  readonly input: PlaceOrderInput;
  attempts: number;
  /** Every order id the server answered this key with (more than one = a duplicate). */
  readonly orderIds: Set<string>;
  final: OrderView | null;
  refused: { status: number | null; code: string; message: string } | null;
  /** Gave up without a definitive answer (only when the run's cap was reached). */
  gaveUp: boolean;
}

export interface RetryStats {
  retried: number;
  byReason: Map<string, number>;
  status500: number;
  status503: number;
  status503WithoutRetryAfter: number;
  clientTimeouts: number;
}

export function newRetryStats(): RetryStats {
  return {
    retried: 0,
    byReason: new Map(),
    status500: 0,
    status503: 0,
    status503WithoutRetryAfter: 0,
    clientTimeouts: 0,
  };
}

export interface PlacingClient {
  readonly client: Client;
  /** The last raw response this client received (one request at a time per client). */
  lastResponse(): Response | null;
  /** Forget the last response before a new attempt. */
  reset(): void;
}

/**
 * Places one order, retrying with the same idempotency key on network errors, timeouts, 429 and
 * 5xx until the server answers with an order (accepted or denied) or a definitive refusal (4xx).
 * Only `deadline` stops it: an order still undecided then counts as lost.
 */
export async function placeWithRetries(
  pc: PlacingClient,
  rec: OrderRecord,
  stats: RetryStats,
  opts: { attemptTimeoutMs: number; deadline: number },
): Promise<void> {
  for (;;) {
    rec.attempts++;
    pc.reset();
    let result: AttemptResult;
    try {
      const order = await pc.client.orders.place.mutate(
        { idempotencyKey: rec.key, order: rec.input },
        { signal: AbortSignal.timeout(opts.attemptTimeoutMs) },
      );
      result = { kind: 'order', order };
    } catch (err) {
      result = classify(err, pc.lastResponse());
    }
    if (result.kind === 'order') {
      rec.orderIds.add(result.order.id);
      rec.final = result.order;
      return;
    }
    if (result.kind === 'refused') {
      rec.refused = { status: result.status, code: result.code, message: result.message };
      return;
    }
    stats.retried++;
    stats.byReason.set(result.why, (stats.byReason.get(result.why) ?? 0) + 1);
    if (result.status === 500) stats.status500++;
    if (result.status === 503) {
      stats.status503++;
      if (result.retryAfter === null) stats.status503WithoutRetryAfter++;
    }
    if (result.why === 'client timeout') stats.clientTimeouts++;
    if (Date.now() > opts.deadline) {
      rec.gaveUp = true;
      return;
    }
    // Honour Retry-After (bounded, so the test keeps moving), else a short capped backoff.
    const hinted = Number(result.retryAfter);
    const wait =
      Number.isFinite(hinted) && hinted > 0
        ? Math.min(hinted * 1000, 2000)
        : Math.min(2000, 100 * 2 ** Math.min(rec.attempts, 5));
    await sleep(wait);
  }
}

/**
 * A read through the API, retried while the server answers 503 (its contract: "retry shortly",
 * with Retry-After) or the connection fails, up to `capMs`; any other answer is returned or thrown.
 * Returns the answer and how many 503s preceded it.
 */
export async function readWithRetries<T>(
  read: () => Promise<T>,
  capMs = 30_000,
): Promise<{ value: T; unavailable: number }> {
  const deadline = Date.now() + capMs;
  let unavailable = 0;
  for (;;) {
    try {
      return { value: await read(), unavailable };
    } catch (err) {
      const r = classify(err, null);
      if (r.kind !== 'retryable' || Date.now() > deadline) throw err;
      unavailable++;
      await sleep(500);
    }
  }
}

/**
 * The order of a given index, deterministic: rotating symbols; most are small market orders that
 * alternate buy and sell (they fill at once and keep the position near flat); every fifth is a
 * day limit buy 3% under the bid, which rests at the broker. Quantities differ per index, so the
 * duplicate-order rule never sees two identical orders.
 */
export function orderFor(
  index: number,
  symbols: readonly string[],
  bidOf: (s: string) => number,
): PlaceOrderInput {
  const symbol = symbols[index % symbols.length] as string;
  const quantity = (1 + index / 1000).toFixed(3);
  if (index % 5 === 4) {
    const limit = Math.max(0.01, Math.floor(bidOf(symbol) * 0.97 * 100) / 100).toFixed(2);
    return { symbol, side: 'buy', orderType: 'limit', timeInForce: 'day', quantity, limitPrice: limit };
  }
  const side = Math.floor(index / symbols.length) % 2 === 0 ? 'buy' : 'sell';
  return { symbol, side, orderType: 'market', timeInForce: 'day', quantity };
}

// ---------------------------------------------------------------------------------------------
// Observations of the database (as the owner role: every desk, no RLS).
// ---------------------------------------------------------------------------------------------

/**
 * The suite's own connection to the database (owner role), from the driver's CommonJS build: a
 * second instance of postgres.js, apart from the ES module the server and the engine load. A
 * driver failure then names its instance in the stack (`postgres/cjs/src/…` is this observer,
 * `postgres/src/…` the code under test). Short connect timeout: it must not hang on a
 * restarting database.
 */
export function observerSql(url: string): Sql {
  const cjsPostgres = createRequire(import.meta.url)('postgres') as typeof postgres;
  return cjsPostgres(url, { max: 2, onnotice: () => {}, connect_timeout: 2, idle_timeout: 5 });
}

export async function tickCount(owner: Sql): Promise<number> {
  const [r] = await owner`select count(*)::bigint as n from ticks`;
  return Number(r?.n ?? 0);
}

/**
 * After a PostgreSQL restart has completed (`upAt`): how long until the engine's writer stores a
 * tick again. The baseline is the first count read after the restart, so a tick counts only if it
 * was written after the database came back. Null when nothing was written within `capMs`.
 */
export async function measureEngineRecovery(owner: Sql, upAt: number, capMs: number): Promise<number | null> {
  let baseline: number | null = null;
  const deadline = upAt + capMs;
  while (Date.now() < deadline) {
    const n = await tickCount(owner).catch(() => null);
    if (n !== null) {
      if (baseline === null) baseline = n;
      else if (n > baseline) return Date.now() - upAt;
    }
    await sleep(100);
  }
  return null;
}

/** Latest bid per symbol from the ticks the engine stored (quotes are kind 2). */
export async function latestBids(owner: Sql, symbols: readonly string[]): Promise<Map<string, number>> {
  const rows = await owner`
    select distinct on (symbol) symbol, bid::float8 as bid from ticks
    where kind = 2 and bid is not null and symbol = any(${symbols as string[]})
    order by symbol, ts desc`;
  return new Map(rows.map((r) => [r.symbol as string, Number(r.bid)]));
}
