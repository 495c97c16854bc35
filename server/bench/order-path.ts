/**
 * orders.place under load: how many orders per second does one desk (and ten desks) take, and
 * what does each order cost the database?
 *
 *   npm run bench:orders              (prints a table; writes bench/results/orders.json)
 *   BENCH_SECONDS=5 BENCH_RATES=100,250,500 BENCH_DESK_RATES=500,1000 npm run bench:orders
 *
 * The real server (startServer, HTTP tRPC, API keys with trade scope, RLS, real Redis for the
 * bus) on a fresh migrated database. Orders are resting limit buys far under the market, so
 * every order passes the governor and is written with its outbox and audit rows. Open-loop
 * load: requests start at a fixed rate whatever the latency (at most BENCH_MAX_INFLIGHT in
 * flight; the rest count as `shed`), keep-alive HTTP.
 *
 * Two placements in the same run: `per-order` (one desk transaction per order: the path before
 * batching) and `batched` (the default). Per-order cost is counted on the PostgreSQL wire: the
 * server connects through a counting proxy (a worker thread) that reads the frontend protocol —
 * statements (Execute / simple Query), round trips (Sync / simple Query), transactions (BEGIN) —
 * and pg_stat_activity is sampled every few ms to see what the server's backends wait on
 * (advisory/row locks, WAL flush, or the client = a round trip in flight).
 */

import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { createDb, withTenant } from '@aegis/shared/db/client';
import { asTenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import {
  backendCpuBetween,
  backendCpuSeconds,
  machineInfo,
  writeBenchResult,
} from '@aegis/shared/testing/bench-report';
import { createMigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres from 'postgres';
import { verify } from '../src/audit/service.ts';
import { type RunningServer, startServer } from '../src/http.ts';
import { createFirstAdminIfNone } from '../src/provisioning/service.ts';
import { signIn, testServerConfig } from '../tests/integration/test-server.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const RATES = (process.env.BENCH_RATES ?? '100,250,500').split(',').map(Number);
const DESK_RATES = (process.env.BENCH_DESK_RATES ?? '500,1000').split(',').map(Number);
const DESKS = 10;
// Below the server's request pool (BENCH_POOL): a request holds a pooled connection for its whole
// transaction, and the instrument registry's refresh needs one more from the same pool.
const POOL = Number(process.env.BENCH_POOL ?? 40);
const MAX_INFLIGHT = Math.min(POOL - 4, Number(process.env.BENCH_MAX_INFLIGHT ?? 36));
const MODES = (process.env.BENCH_MODES ?? 'per-order,batched').split(',') as ('per-order' | 'batched')[];
// BENCH_WIRE=off: the server connects straight to PostgreSQL, with no counting proxy and no
// pg_stat_activity sampler (both take CPU from the same two cores): the rate without the
// measurement's own cost; the per-order counts are then not reported.
const WIRE = process.env.BENCH_WIRE !== 'off';
const log = createLogger({ name: 'bench', level: process.env.BENCH_LOG === 'warn' ? 'warn' : 'silent' });
const progress = (m: string) => process.stderr.write(`[bench:orders] ${m}\n`);

// ---------------------------------------------------------------------------------------------
// PostgreSQL wire counter: a TCP proxy in a worker thread, reading the client → server stream.
// ---------------------------------------------------------------------------------------------
const PROXY_SOURCE = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const trace = new Map();
const c = { statements: 0, roundTrips: 0, begins: 0, commits: 0, bytesIn: 0, bytesOut: 0, writes: 0 };
const server = net.createServer((client) => {
  const upstream = net.connect(workerData.port, workerData.host);
  // No Nagle delay on either side of the relay: small pipelined messages go at once.
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let started = false;
  client.on('data', (chunk) => {
    upstream.write(chunk);
    c.bytesOut += chunk.length;
    c.writes++;
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (!started) {
        if (buf.length < 4) break;
        const len = buf.readInt32BE(0);
        if (buf.length < len) break;
        buf = buf.subarray(len);
        started = true;
        continue;
      }
      if (buf.length < 5) break;
      const type = String.fromCharCode(buf[0]);
      const len = buf.readInt32BE(1);
      if (buf.length < len + 1) break;
      // A statement runs on Execute (extended protocol) or as a simple Query; a prepared one is
      // parsed on its connection's first run only, so Parse counts first runs, not statements.
      if (type === 'E' || type === 'Q') c.statements++;
      if (type === 'Q' || type === 'P') {
        const body = buf.subarray(5, Math.min(len + 1, 5 + 64));
        let text = body.toString('latin1');
        if (type === 'P') text = text.slice(text.indexOf('\\0') + 1);
        text = text.trimStart().toLowerCase();
        if (workerData.trace) { const k = text.replace(/\\s+/g, ' ').slice(0, 60); trace.set(k, (trace.get(k) || 0) + 1); }
        if (text.startsWith('begin')) c.begins++;
        if (text.startsWith('commit')) c.commits++;
      }
      if (type === 'S' || type === 'Q') c.roundTrips++;
      buf = buf.subarray(len + 1);
    }
  });
  upstream.on('data', (chunk) => { c.bytesIn += chunk.length; client.write(chunk); });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.end());
  upstream.on('close', () => client.end());
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => { if (m === 'read') parentPort.postMessage({ counters: { ...c }, trace: [...trace].sort((a, b) => b[1] - a[1]) }); });
`;

interface WireCounters {
  statements: number;
  roundTrips: number;
  begins: number;
  commits: number;
  bytesIn: number;
  bytesOut: number;
  writes: number;
}

async function startWireCounter(host: string, port: number) {
  const worker = new Worker(PROXY_SOURCE, {
    eval: true,
    workerData: { host, port, trace: !!process.env.BENCH_TRACE },
  });
  const listening = await new Promise<number>((resolve) =>
    worker.once('message', (m: { port: number }) => resolve(m.port)),
  );
  return {
    port: listening,
    read: () =>
      new Promise<WireCounters>((resolve) => {
        worker.once('message', (m: { counters: WireCounters; trace: [string, number][] }) => {
          if (process.env.BENCH_TRACE) progress(JSON.stringify(m.trace.slice(0, 60), null, 0));
          resolve(m.counters);
        });
        worker.postMessage('read');
      }),
    close: () => worker.terminate(),
  };
}

// ---------------------------------------------------------------------------------------------
// What the server's backends are doing: pg_stat_activity sampled while the load runs.
// ---------------------------------------------------------------------------------------------
function startActivitySampler(owner: postgres.Sql, dbName: string) {
  const counts = new Map<string, number>();
  let samples = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const rows = await owner<{ s: string }[]>`
        select case
          when state = 'active' and wait_event_type is null then 'running'
          when state = 'active' then wait_event_type || ':' || wait_event
          when state like 'idle in transaction%' then 'idle in transaction (app round trip)'
          else null end as s
        from pg_stat_activity
        where datname = ${dbName} and application_name like 'aegis%' and pid <> pg_backend_pid()`;
      samples++;
      for (const r of rows) if (r.s) counts.set(r.s, (counts.get(r.s) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async finish(): Promise<Record<string, number>> {
      stop = true;
      await loop;
      // Average number of the server's backends in each state at any instant.
      return Object.fromEntries(
        [...counts]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [k, Math.round((v / Math.max(1, samples)) * 100) / 100]),
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Open-loop load over keep-alive HTTP.
// ---------------------------------------------------------------------------------------------
interface LoadResult {
  readonly offered: number;
  readonly achieved: number;
  readonly ok: number;
  readonly failed: number;
  readonly shed: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_INFLIGHT });

function post(url: URL, key: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${key}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let orderSeq = 0;
const orderBody = () =>
  JSON.stringify({
    idempotencyKey: randomUUID(),
    order: {
      symbol: 'BTC-USD',
      side: 'buy',
      orderType: 'limit',
      timeInForce: 'gtc',
      quantity: '0.01',
      limitPrice: String(20000 + (orderSeq++ % 10000)),
    },
  });

async function drive(
  baseUrl: string,
  keys: readonly string[],
  rate: number,
  seconds: number,
): Promise<LoadResult> {
  const url = new URL('/trpc/orders.place', baseUrl);
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let shed = 0;
  let inflight = 0;
  let sent = 0;
  let lastDone = 0;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (sent < due) {
      const key = keys[sent % keys.length]!;
      sent++;
      if (inflight >= MAX_INFLIGHT) {
        shed++;
        continue;
      }
      inflight++;
      const started = performance.now();
      pending.push(
        post(url, key, orderBody())
          .then((status) => {
            if (status === 200) {
              ok++;
              latencies.push(performance.now() - started);
            } else failed++;
          })
          .catch(() => {
            failed++;
          })
          .finally(() => {
            inflight--;
            lastDone = performance.now();
          }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const watchdog = setInterval(
    () => progress(`  ${ok + failed}/${sent - shed} answered, ${inflight} in flight`),
    5_000,
  );
  await Promise.all(pending);
  clearInterval(watchdog);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const elapsed = Math.max(seconds * 1000, lastDone - t0) / 1000;
  return {
    offered: rate,
    achieved: Math.round(ok / elapsed),
    ok,
    failed,
    shed,
    p50: Math.round(q(0.5) * 10) / 10,
    p99: Math.round(q(0.99) * 10) / 10,
    max: Math.round((latencies.at(-1) ?? 0) * 10) / 10,
  };
}

// ---------------------------------------------------------------------------------------------
// One server per placement mode, on its own database.
// ---------------------------------------------------------------------------------------------
interface Fixture {
  readonly server: RunningServer;
  readonly keys: string[];
  readonly deskIds: string[];
  readonly owner: postgres.Sql;
  readonly wire: Awaited<ReturnType<typeof startWireCounter>> | null;
  readonly dbName: string;
  readonly db: ReturnType<typeof createDb>;
  close(): Promise<void>;
}

async function setUp(mode: 'per-order' | 'batched'): Promise<Fixture> {
  const database = await createMigratedTestDatabase('aegis_bench_orders');
  const app = new URL(database.appUrl);
  const wire = WIRE ? await startWireCounter(app.hostname, Number(app.port || 5432)) : null;
  if (wire) {
    app.hostname = '127.0.0.1';
    app.port = String(wire.port);
  }
  const config = testServerConfig({
    DATABASE_URL: app.toString(),
    REDIS_URL: TEST_REDIS_URL,
    LOG_LEVEL: 'error',
    ARGON2_MAX_CONCURRENCY: '2',
  });
  const db = createDb(app.toString(), { max: POOL, applicationName: 'aegis-server' });
  const server = await startServer({
    config,
    log,
    db,
    redisKeyPrefix: `aegis-bench-${randomBytes(6).toString('hex')}`,
    rateLimiter: null,
    execution: {
      orderPlacement: mode,
      startingCapital: '100000000000',
      // Resting orders never fill; the equity and reconcile loops stay out of the measurement.
      equityIntervalMs: 3_600_000,
      reconcileIntervalMs: 3_600_000,
    },
  });
  progress(`${mode}: server up`);
  const owner = postgres(database.url, { max: 3, onnotice: () => {} });
  await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
    values ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
  const admin = await createFirstAdminIfNone(db.db);
  if (!admin) throw new Error('first admin not created');
  const { client } = await signIn(server.url, admin.email, admin.password);
  const deskIds = [admin.deskId];
  for (let i = 1; i < DESKS; i++) deskIds.push((await client.desks.create.mutate({ name: `Bench ${i}` })).id);
  const keys: string[] = [];
  const removed = { at: new Date().toISOString(), by: null };
  for (const deskId of deskIds) {
    await client.auth.switchDesk.mutate({ deskId });
    keys.push((await client.keys.create.mutate({ name: 'bench', scopes: ['trade'] })).key);
    // Wide money limits; the protective rules that a stream of near-identical orders off the
    // market would trip (duplicate guard, throttle, collar, reference age) removed.
    await owner`insert into risk_limits (tenant_id, symbol, max_order_notional, max_gross_exposure, max_net_exposure, max_net_delta, removed_limits)
      values (${deskId}, '*', '1000000000', '1000000000000', '1000000000000', '1000000000000',
              ${owner.json({ duplicateWindowMs: removed, maxOrdersPerMinute: removed, priceCollarBps: removed, maxReferenceAgeMs: removed })})`;
  }
  const quotes = server.deps.execution!.quotes;
  const tick = () => quotes.setQuote('BTC-USD', '50000', '50010', '5', '5', new Date());
  tick();
  const ticker = setInterval(tick, 200);
  progress(`${mode}: ${deskIds.length} desks, keys made`);
  // Warm up every desk's key cache and connection pools (not measured).
  await drive(server.url, keys, 50, 1);
  return {
    server,
    keys,
    deskIds,
    owner,
    wire,
    db,
    dbName: new URL(database.url).pathname.slice(1),
    async close() {
      clearInterval(ticker);
      await server.close();
      await db.close();
      await owner.end({ timeout: 5 });
      await wire?.close();
      await database.drop();
    },
  };
}

interface Row extends LoadResult {
  readonly mode: string;
  readonly desks: number;
  /** Null with BENCH_WIRE=off. */
  readonly perOrder: {
    readonly transactions: number;
    readonly statements: number;
    readonly roundTrips: number;
    readonly socketWrites: number;
  } | null;
  readonly cpuMsPerOrder: number;
  /** CPU of the database's backends (the sampler's own queries included), per order. */
  readonly pgCpuMsPerOrder: number;
  /** Average number of the server's backends in each state (pg_stat_activity samples). */
  readonly backends: Record<string, number>;
}

async function measure(f: Fixture, mode: string, desks: number, rate: number): Promise<Row> {
  progress(`${mode}: ${desks} desk(s) at ${rate}/s`);
  const keys = f.keys.slice(0, desks);
  const before = await f.wire?.read();
  const pg0 = await backendCpuSeconds(f.owner, f.dbName);
  const cpu0 = process.cpuUsage();
  const sampler = WIRE ? startActivitySampler(f.owner, f.dbName) : null;
  const r = await drive(f.server.url, keys, rate, SECONDS);
  const backends = (await sampler?.finish()) ?? {};
  const cpu = process.cpuUsage(cpu0);
  const pgSeconds = backendCpuBetween(pg0, await backendCpuSeconds(f.owner, f.dbName));
  const after = await f.wire?.read();
  const n = Math.max(1, r.ok);
  const per = (k: keyof WireCounters) =>
    before && after ? Math.round(((after[k] - before[k]) / n) * 10) / 10 : 0;
  return {
    mode,
    desks,
    ...r,
    perOrder: f.wire
      ? {
          transactions: per('begins'),
          statements: per('statements'),
          roundTrips: per('roundTrips'),
          socketWrites: per('writes'),
        }
      : null,
    // This process runs the server, the load generator and the sampler: an upper bound.
    cpuMsPerOrder: Math.round(((cpu.user + cpu.system) / 1000 / n) * 10) / 10,
    pgCpuMsPerOrder: Math.round(((pgSeconds * 1000) / n) * 10) / 10,
    backends,
  };
}

const rows: Row[] = [];
const chains: { mode: string; deskId: string; rows: number }[] = [];
for (const mode of MODES) {
  const f = await setUp(mode);
  try {
    for (const rate of RATES) rows.push(await measure(f, mode, 1, rate));
    for (const rate of DESK_RATES) rows.push(await measure(f, mode, DESKS, rate));
    // The desks' audit chains must still verify after the load (batched appends included).
    for (const deskId of f.deskIds) {
      const v = await withTenant(f.db.db, deskId, (tx) => verify(tx, { tenantId: asTenantId(deskId) }));
      if (!v.ok) throw new Error(`${mode}: audit chain of desk ${deskId} broken: ${JSON.stringify(v)}`);
      chains.push({ mode, deskId, rows: v.rows });
    }
  } finally {
    await f.close();
  }
}

const pad = (v: unknown, w: number) => String(v).padStart(w);
console.log(
  `${'mode'.padEnd(10)}${pad('desks', 6)}${pad('offered/s', 10)}${pad('got/s', 7)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('fail', 6)}${pad('shed', 6)}${pad('tx/ord', 8)}${pad('stmt/ord', 9)}${pad('rt/ord', 8)}${pad('cpu ms', 8)}${pad('pg ms', 7)}  backends (avg in state)`,
);
for (const r of rows) {
  const b = Object.entries(r.backends)
    .slice(0, 4)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `${r.mode.padEnd(10)}${pad(r.desks, 6)}${pad(r.offered, 10)}${pad(r.achieved, 7)}${pad(r.p50, 9)}${pad(r.p99, 9)}${pad(r.failed, 6)}${pad(r.shed, 6)}${pad(r.perOrder?.transactions ?? '–', 8)}${pad(r.perOrder?.statements ?? '–', 9)}${pad(r.perOrder?.roundTrips ?? '–', 8)}${pad(r.cpuMsPerOrder, 8)}${pad(r.pgCpuMsPerOrder, 7)}  ${b}`,
  );
}
const file = writeBenchResult('orders', {
  machine: machineInfo(),
  seconds: SECONDS,
  maxInflight: MAX_INFLIGHT,
  baseline: 'per-order: one desk transaction per order (the path before batching), same run',
  wireCounted: WIRE,
  rows,
  auditChainsVerified: chains,
});
console.log(
  `\naudit chains verified: ${chains.length} (${chains.reduce((n, c) => n + c.rows, 0)} rows)\nwrote ${file}`,
);
agent.destroy();
process.exit(0);
