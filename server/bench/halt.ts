import { asOrderId, asTenantId } from '@aegis/shared/ids';
/**
 * Halt under load: how fast does a desk halt take hold?
 *
 *   npm run bench:halt-sweep            (prints a table; writes bench/results/halt.json)
 *   BENCH_RUNS=5 BENCH_TRADERS=8 BENCH_WORKING=200 npm run bench:halt-sweep
 *
 * Per run: a fresh desk with BENCH_WORKING resting limit orders at the paper broker, and
 * BENCH_TRADERS concurrent loops placing more orders as fast as the service takes them. Then the
 * desk switch is engaged and we measure, from the moment `engage` is called:
 *   - engage → last accepted order: when the last order that was NOT denied returned (orders in
 *     flight when the switch committed); after that every order is denied;
 *   - engage → all cancels sent: when the broker had received a cancel for every working order;
 *   - engage → pub/sub heard: when a second process's subscriber got `aegis:halt`.
 * Baseline, same run shape: the naive way — flip the switch, then cancel each working order with
 * its own request (one transaction and one broker call per order, sequentially).
 * Real PostgreSQL (TEST_DATABASE_URL) and, when reachable, real Redis for the pub/sub leg.
 */

import { randomUUID } from 'node:crypto';
import { type Bus, MemoryBus, RedisBus } from '@aegis/shared/bus/index';
import { createDb } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { createMigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres from 'postgres';
import { QuoteBook } from '../src/brokers/quote-book.ts';
import { ExecutionRuntime } from '../src/execution/runtime.ts';
import { HALT_CHANNEL } from '../src/execution/types.ts';

const machine = machineInfo();
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TRADERS = Number(process.env.BENCH_TRADERS ?? 8);
const WORKING = Number(process.env.BENCH_WORKING ?? 200);
const log = createLogger({ name: 'bench', level: 'silent' });

async function redisOrMemory(): Promise<{ pub: Bus; sub: Bus; kind: string }> {
  const probe = new RedisBus(TEST_REDIS_URL, {
    log,
    redisOptions: { maxRetriesPerRequest: 0, connectTimeout: 500 },
  });
  try {
    await probe.ping();
    return { pub: probe, sub: new RedisBus(TEST_REDIS_URL, { log }), kind: 'redis' };
  } catch {
    await probe.close().catch(() => {});
    const m = new MemoryBus();
    return { pub: m, sub: m, kind: 'memory' };
  }
}

interface RunResult {
  readonly working: number;
  readonly ordersDuringLoad: number;
  readonly lastAcceptedMs: number;
  readonly allCancelsSentMs: number;
  readonly pubsubMs: number | null;
  readonly deniedAfter: number;
}

/**
 * The bench desk's explicit limits: the duplicate guard, order-rate throttle and collar removed
 * (the bench places many similar orders fast, off the market), exposure wide enough for any
 * BENCH_WORKING. A NULL column would only inherit the platform default, never switch a rule off.
 */
async function benchLimits(owner: postgres.Sql, tenantId: string): Promise<void> {
  const at = { at: new Date().toISOString(), by: null };
  const removed = { duplicateWindowMs: at, maxOrdersPerMinute: at, priceCollarBps: at };
  await owner`insert into risk_limits (tenant_id, symbol, max_gross_exposure, max_net_exposure, max_net_delta, removed_limits)
    values (${tenantId}, '*', '1000000000', '1000000000', '1000000000', ${owner.json(removed)})`;
}

/** A fresh bench desk: its limits, a BTC-USD quote and an execution runtime publishing on `bus`. */
async function benchDesk(db: ReturnType<typeof createDb>, owner: postgres.Sql, bus: Bus, label: string) {
  const tenantId = asTenantId(randomUUID());
  const actor = { type: 'user' as const, id: randomUUID() };
  await owner`insert into tenants (id, slug, name) values (${tenantId}, ${`${label}-${tenantId.slice(0, 8)}`}, ${label})`;
  await benchLimits(owner, tenantId);
  const quotes = new QuoteBook();
  quotes.setQuote('BTC-USD', '50000', '50010', '5', '5', new Date());
  const rt = new ExecutionRuntime({
    db: db.db,
    bus,
    quotes,
    log,
    options: { startingCapital: '100000000000' },
  });
  /** A resting limit buy below the market. */
  const place = (limitPrice: number) =>
    rt.orders.place({
      tenantId,
      actor,
      origin: 'human',
      idempotencyKey: randomUUID(),
      input: {
        symbol: 'BTC-USD',
        side: 'buy',
        orderType: 'limit',
        timeInForce: 'gtc',
        quantity: '0.01',
        limitPrice: String(limitPrice),
      },
    });
  return { tenantId, actor, rt, place };
}

/** Places WORKING orders (20 at a time, the i-th at `priceOf(i)`) and sends them to the paper broker. */
async function restWorking(desk: Awaited<ReturnType<typeof benchDesk>>, priceOf: (i: number) => number) {
  const ids: string[] = [];
  for (let i = 0; i < WORKING; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, (_, k) => desk.place(priceOf(i + k))));
    ids.push(...batch.map((o) => o.id));
  }
  await desk.rt.dispatcher.dispatchTenant(desk.tenantId);
  await desk.rt.brokers.drain();
  return { ids, broker: await desk.rt.brokers.paper(desk.tenantId) };
}

async function runOnce(
  db: ReturnType<typeof createDb>,
  owner: postgres.Sql,
  buses: { pub: Bus; sub: Bus },
): Promise<RunResult> {
  const desk = await benchDesk(db, owner, buses.pub, 'bench');
  const { tenantId, actor, rt } = desk;
  const place = (i: number) => desk.place(40000 + (i % 5000));
  // Working orders resting at the broker.
  const { broker } = await restWorking(desk, (i) => 40000 + (i % 5000));

  let heard: number | null = null;
  const unsub = await buses.sub.subscribe(HALT_CHANNEL, () => {
    heard ??= performance.now();
  });

  // Load: traders place orders continuously until told to stop.
  let stop = false;
  let t0 = 0;
  let lastAccepted = 0;
  let deniedAfter = 0;
  let placed = 0;
  const traders = Array.from({ length: TRADERS }, async (_, k) => {
    let i = k * 100_000;
    while (!stop) {
      const o = await place(i++);
      placed++;
      const at = performance.now();
      if (o.status !== 'denied') lastAccepted = Math.max(lastAccepted, at);
      else if (t0 > 0) deniedAfter++;
    }
  });
  const dispatching = (async () => {
    while (!stop) {
      await rt.dispatcher.dispatchTenant(tenantId);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await new Promise((r) => setTimeout(r, 300));

  t0 = performance.now();
  await rt.halts.engage({ scope: 'desk', tenantId, actor, reason: 'bench' });
  // All cancels sent = nothing left open at the broker (a cancel the broker received is applied
  // there synchronously).
  for (;;) {
    await rt.dispatcher.dispatchTenant(tenantId);
    if ((await broker.listOpenOrders()).length === 0) break;
  }
  const allSent = performance.now();
  await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await Promise.all([...traders, dispatching]);
  await rt.brokers.drain();
  await unsub();
  await rt.stop();
  return {
    working: WORKING,
    ordersDuringLoad: placed,
    lastAcceptedMs: Math.max(0, lastAccepted - t0),
    allCancelsSentMs: allSent - t0,
    pubsubMs: heard === null ? null : (heard as number) - t0,
    deniedAfter,
  };
}

async function naiveOnce(
  db: ReturnType<typeof createDb>,
  owner: postgres.Sql,
): Promise<{ allCancelsSentMs: number; working: number }> {
  // Baseline: one cancel request per working order, each its own transaction and broker call,
  // sequentially (what a script looping over orders.cancel does).
  const desk = await benchDesk(db, owner, new MemoryBus(), 'naive');
  const { tenantId, actor, rt } = desk;
  const { ids, broker } = await restWorking(desk, (i) => 40000 + i);
  const t0 = performance.now();
  for (const id of ids) {
    await rt.orders.cancel(asTenantId(tenantId), asOrderId(id), actor);
    await rt.dispatcher.dispatchTenant(tenantId);
  }
  while ((await broker.listOpenOrders()).length > 0) await rt.dispatcher.dispatchTenant(tenantId);
  const ms = performance.now() - t0;
  await rt.brokers.drain();
  await rt.stop();
  return { allCancelsSentMs: ms, working: WORKING };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(1));

async function main() {
  const database = await createMigratedTestDatabase('aegis_bench_ks');
  const owner = postgres(database.url, { max: 2, onnotice: () => {} });
  const db = createDb(database.appUrl, { max: 16 });
  const buses = await redisOrMemory();
  try {
    await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size) values ('BTC-USD', 'X', 'crypto', '0.01', '0.0001')`;
    const runs: RunResult[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await runOnce(db, owner, buses));
    const naive: { allCancelsSentMs: number }[] = [];
    for (let i = 0; i < Math.max(1, Math.min(RUNS, 3)); i++) naive.push(await naiveOnce(db, owner));

    const rows = [
      ['engage → last accepted order (ms)', runs.map((r) => r.lastAcceptedMs)],
      ['engage → all cancels sent (ms)', runs.map((r) => r.allCancelsSentMs)],
      ['engage → pub/sub heard (ms)', runs.map((r) => r.pubsubMs ?? Number.NaN)],
      ['baseline: per-order cancels, all sent (ms)', naive.map((r) => r.allCancelsSentMs)],
    ] as const;
    console.log(
      `\nhalt: ${WORKING} working orders, ${TRADERS} traders placing under load, ${RUNS} runs, bus=${buses.kind}\n`,
    );
    console.log(`${'measure'.padEnd(46)}${'p50'.padStart(10)}${'max'.padStart(10)}`);
    for (const [name, xs] of rows)
      console.log(`${name.padEnd(46)}${f(pct([...xs], 50)).padStart(10)}${f(Math.max(...xs)).padStart(10)}`);
    console.log(
      `orders placed during load per run: ${runs.map((r) => r.ordersDuringLoad).join(', ')}; denied after engage: ${runs.map((r) => r.deniedAfter).join(', ')}\n`,
    );

    const out = {
      bench: 'halt',
      date: new Date().toISOString(),
      machine,
      bus: buses.kind,
      params: { runs: RUNS, traders: TRADERS, working: WORKING },
      runs,
      baseline: naive,
      summary: Object.fromEntries(
        rows.map(([name, xs]) => [name, { p50: pct([...xs], 50), max: Math.max(...xs) }]),
      ),
    };
    console.log(`wrote ${writeBenchResult('halt', out)}`);
  } finally {
    await buses.pub.close().catch(() => {});
    if (buses.sub !== buses.pub) await buses.sub.close().catch(() => {});
    await db.close();
    await owner.end();
    await database.drop();
  }
}

await main();
