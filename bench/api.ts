/**
 * The API under load: what rate does each endpoint sustain, and at what latency?
 *
 *   npm run bench:api                       (~3 minutes; prints a table; writes bench/results/api.json)
 *   npm run bench:api -- --sweep            (more rates, longer steps: ~12 minutes)
 *   BENCH_DURATION_S=10 BENCH_ONLY=auth.me,positions.list npm run bench:api
 *   BENCH_RATES=50,100 npm run bench:api    (these rates for every endpoint: CPU per request A/B)
 *   BENCH_AUTH_CACHE=off npm run bench:api  (every request validates its key in the database)
 *   BENCH_LOADGEN=inline npm run bench:api  (the load generator on the server's own thread)
 *   BENCH_LOAD_TOOL=autocannon npm run bench:api  (autocannon's per-second quotas: bursts)
 *
 * The real server (startServer from server/src/http.ts) on a fresh migrated database as the
 * application role (RLS in force), real Redis (rate limits, bus), listening on loopback; the load
 * comes at FIXED offered rates, open loop (bench/api-load.ts: each request sent when it is due,
 * its latency counted from then), so a step reports the latency at that rate rather than the
 * latency of a saturated server. The generator runs on a worker thread of its own, so the
 * server's event loop serves only the server, as it would with its clients elsewhere.
 * Callers authenticate with API keys (`Bearer`), rate limits stay on (raised so the bench's own key is never refused): every request pays the
 * whole middleware chain.
 *
 * Endpoints:
 *   - baseline: a bare node:http handler answering a JSON body of the same size as auth.me — the
 *     floor of HTTP on this machine (what the framework, auth and database add is the difference);
 *   - auth.me: the cheapest authenticated read;
 *   - positions.list: a desk read of 200 positions, marked to quotes;
 *   - risk.check: the governor's verdict for an order (read, no write);
 *   - orders.place (1 desk) and orders.place (10 desks): limit orders resting at the paper broker.
 *
 * Per endpoint and rate: achieved rate, p50/p99 (ms), errors and non-2xx, and PostgreSQL
 * statements per request sent by the server's request pool (BEGIN and COMMIT included; the
 * execution service's own pools are not counted) — a cost that does not depend on how busy the
 * machine is; per endpoint, the
 * highest offered rate whose p99 stayed under 5, 10 and 50 ms (achieving ≥ 95% of it).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createDb } from '@aegis/shared/db/client';
import { asTenantId, asUserId, type TenantId } from '@aegis/shared/ids';
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
import { createApiKey } from '../server/src/auth/api-keys.ts';
import { withTenant } from '../server/src/db/database.ts';
import { loadServerConfig } from '../server/src/env.ts';
import { startServer } from '../server/src/http.ts';
import { createFirstAdminIfNone } from '../server/src/provisioning/service.ts';
import {
  benchOrder,
  type LoadJob,
  type LoadRequest,
  type LoadResult,
  type LoadTool,
  requestFor,
  runJob,
} from './api-load.ts';

const SWEEP = process.argv.includes('--sweep');
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? (SWEEP ? 10 : 4));
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
/** BENCH_RATES=100,200: these offered rates for every endpoint instead of the defaults. */
const RATES = process.env.BENCH_RATES?.split(',').map(Number);
const READ_RATES =
  RATES ?? (SWEEP ? [100, 250, 500, 1000, 1500, 2000, 3000, 4000, 6000] : [100, 500, 1000, 1500, 2000, 3000]);
const WRITE_RATES = RATES ?? (SWEEP ? [25, 50, 100, 200, 400, 800] : [50, 200, 400]);
const BASELINE_RATES = SWEEP ? READ_RATES : [1000, 3000];
const AUTH_CACHE = process.env.BENCH_AUTH_CACHE !== 'off';
/** Where the load generator runs: its own thread (default) or the server's (`inline`). */
const LOADGEN: 'thread' | 'inline' = process.env.BENCH_LOADGEN === 'inline' ? 'inline' : 'thread';
/** How: open loop at evenly spaced instants (default), or autocannon's per-second quotas (api-load.ts). */
const LOAD_TOOL: LoadTool = process.env.BENCH_LOAD_TOOL === 'autocannon' ? 'autocannon' : 'paced';
const DESKS = 10;
const POSITIONS = 200;
const machine = machineInfo();
const log = createLogger({ name: 'bench', level: 'silent' });

interface Step {
  readonly endpoint: string;
  readonly offeredRate: number;
  readonly achievedRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  /** Statements (round trips, BEGIN and COMMIT included) the request pool sent per request. */
  readonly dbStatementsPerRequest: number | null;
  /**
   * CPU of this process per request: the server and the load generator together (the baseline's
   * figure is the load generator's and bare HTTP's share). Unlike the rate and the latency it
   * hardly depends on what else the machine runs.
   */
  readonly cpuMsPerRequest: number;
  /** CPU of the bench database's backends per request (PostgreSQL is local). */
  readonly pgCpuMsPerRequest: number;
  /** The server's event loop (this thread): its longest delay in the step, and its p99 (1 ms resolution). */
  readonly loopDelayMaxMs: number;
  readonly loopDelayP99Ms: number;
}

interface Target {
  readonly name: string;
  readonly rates: readonly number[];
  /** The request shape (plain data: it crosses to the load generator's thread). */
  readonly request: LoadRequest;
}

async function main(): Promise<void> {
  const database = await createMigratedTestDatabase('aegis_bench_api');
  const owner = postgres(database.url, { max: 2, onnotice: () => {} });
  const config = loadServerConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    SERVER_HOST: '127.0.0.1',
    SERVER_PORT: '0',
    PUBLIC_ORIGIN: 'http://localhost:3000',
    DATABASE_URL: database.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    // Limits stay on (each request pays its Redis round trip) but never refuse the bench.
    RATE_LIMIT_READS: '1000000',
    RATE_LIMIT_MUTATIONS: '1000000',
  });
  const db = createDb(database.appUrl, { max: 10, applicationName: 'aegis-server' });
  // Counts every statement the request pool sends (postgres.js calls `debug` once per query).
  const statements = { count: 0 };
  // Both clients of the handle: drizzle's (what procedures use) and the raw one.
  const drizzleClient = (db.db as unknown as { $client: postgres.Sql }).$client;
  for (const client of [db.sql, drizzleClient]) {
    (client.options as { debug?: unknown }).debug = () => {
      statements.count++;
    };
  }
  const prefix = `aegis-bench-${randomUUID().slice(0, 8)}`;
  const server = await startServer({
    config,
    log,
    db,
    redisKeyPrefix: prefix,
    timeseriesUpkeep: false,
    ...(AUTH_CACHE ? {} : { authCache: false as const }),
    hedging: false,
    alerts: false,
    execution: {
      outboxIntervalMs: 50,
      equityIntervalMs: 3_600_000,
      reconcileIntervalMs: 3_600_000,
      startingCapital: '100000000000',
      paper: { seed: 1, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '0' },
    },
  });
  const baseline = await startBaseline();
  try {
    const admin = await createFirstAdminIfNone(db.db);
    if (!admin) throw new Error('first admin not created');
    const [user] = await owner<{ id: string }[]>`select id from users where lower(email) = ${admin.email}`;
    await owner`update users set must_change_password = false where id = ${user!.id}`;
    // The desks made here (the admin's by provisioning, the others inserted below): desk ids.
    const desks: TenantId[] = [asTenantId(admin.deskId)];
    for (let i = 1; i < DESKS; i++) {
      const id = randomUUID();
      await owner`insert into tenants (id, slug, name) values (${id}, ${`bench-${i}`}, ${`Bench ${i}`})`;
      await owner`insert into memberships (tenant_id, user_id, role) values (${id}, ${user!.id}, 'admin')`;
      desks.push(asTenantId(id));
    }
    await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
      values ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
    const at = { at: new Date().toISOString(), by: null };
    const removed = { duplicateWindowMs: at, maxOrdersPerMinute: at, priceCollarBps: at };
    for (const desk of desks) {
      await owner`insert into risk_limits (tenant_id, symbol, max_gross_exposure, max_net_exposure, max_net_delta, removed_limits)
        values (${desk}, '*', '1000000000000', '1000000000000', '1000000000000', ${owner.json(removed)})`;
    }
    // 200 positions on the first desk (instruments so each one is marked and valued).
    const symbols = Array.from({ length: POSITIONS }, (_, i) => `P${String(i).padStart(3, '0')}-USD`);
    for (const s of symbols) {
      await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
        values (${s}, 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
      await owner`insert into positions (tenant_id, symbol, quantity, avg_cost, opened_at)
        values (${admin.deskId}, ${s}, '3', '100', now())`;
    }
    const quotes = server.deps.execution!.quotes;
    const refreshQuotes = () => {
      const now = new Date();
      quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', now);
      for (const s of symbols) quotes.setQuote(s, '101', '101.02', '10', '10', now);
    };
    refreshQuotes();
    const quoteTimer = setInterval(refreshQuotes, 1_000);

    const keys: string[] = [];
    for (const desk of desks) {
      const { key } = await withTenant(db.db, desk, (tx) =>
        createApiKey(tx, {
          tenantId: desk,
          userId: asUserId(user!.id),
          name: 'bench',
          scopes: ['read', 'trade'],
          expiresAt: null,
        }),
      );
      keys.push(key);
    }
    const get = (path: string): LoadRequest => ({
      kind: 'fixed',
      method: 'GET',
      path,
      headers: { authorization: `Bearer ${keys[0]!}` },
    });
    const query = (path: string, input: unknown) =>
      `/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`;

    const targets: Target[] = [
      { name: 'baseline (bare node:http)', rates: BASELINE_RATES, request: get('/me') },
      { name: 'auth.me', rates: READ_RATES, request: get(query('auth.me', {})) },
      { name: 'positions.list (200 rows)', rates: READ_RATES, request: get(query('positions.list', {})) },
      { name: 'risk.check', rates: READ_RATES, request: get(query('risk.check', benchOrder(1))) },
      { name: 'orders.place (1 desk)', rates: WRITE_RATES, request: { kind: 'place', deskKeys: [keys[0]!] } },
      {
        name: `orders.place (${DESKS} desks)`,
        rates: WRITE_RATES,
        request: { kind: 'place', deskKeys: keys },
      },
    ];

    // A correctness probe before timing anything: each endpoint answers 200 once.
    for (const target of targets) {
      const url = target.name.startsWith('baseline') ? baseline.url : server.url;
      const req = requestFor(target.request, 0);
      const res = await fetch(`${url}${req.path}`, {
        method: req.method,
        headers: req.headers,
        ...(req.body ? { body: req.body } : {}),
      });
      if (res.status !== 200)
        throw new Error(`${target.name}: probe answered ${res.status}: ${await res.text()}`);
    }

    const steps: Step[] = [];
    for (const target of targets) {
      if (ONLY && !ONLY.some((o) => target.name.startsWith(o))) continue;
      const url = target.name.startsWith('baseline') ? baseline.url : server.url;
      // Warm-up (JIT, pools, prepared statements), not recorded.
      await run(url, target.request, target.rates[0]!, 1);
      const isServer = !target.name.startsWith('baseline');
      for (const rate of target.rates) {
        const statementsBefore = statements.count;
        const pg0 = await backendCpuSeconds(owner, database.name);
        const cpu0 = process.cpuUsage();
        const loop = monitorEventLoopDelay({ resolution: 1 });
        loop.enable();
        const r = await run(url, target.request, rate, DURATION_S);
        const cpu = process.cpuUsage(cpu0);
        loop.disable();
        const pgSeconds = backendCpuBetween(pg0, await backendCpuSeconds(owner, database.name));
        const sent = statements.count - statementsBefore;
        const n = Math.max(1, r.requests);
        const step: Step = {
          endpoint: target.name,
          offeredRate: rate,
          ...r,
          dbStatementsPerRequest: isServer && r.requests > 0 ? round2(sent / r.requests) : null,
          cpuMsPerRequest: round2((cpu.user + cpu.system) / 1000 / n),
          pgCpuMsPerRequest: round2((pgSeconds * 1000) / n),
          loopDelayMaxMs: round2(loop.max / 1e6),
          loopDelayP99Ms: round2(loop.percentile(99) / 1e6),
        };
        steps.push(step);
        process.stdout.write(
          `${target.name.padEnd(28)} ${String(rate).padStart(6)}/s → ${String(step.achievedRate).padStart(6)}/s  p50 ${step.p50Ms.toFixed(2)} ms  p99 ${step.p99Ms.toFixed(2)} ms  errors ${step.errors}  non-2xx ${step.non2xx}  db stmts/req ${step.dbStatementsPerRequest ?? '-'}  cpu ms/req ${step.cpuMsPerRequest}  pg cpu ms/req ${step.pgCpuMsPerRequest}  loop delay max ${step.loopDelayMaxMs} ms\n`,
        );
        // Past saturation every higher rate only queues more: stop this endpoint.
        if (step.achievedRate < rate * 0.8 || step.p99Ms > 500) break;
      }
    }
    clearInterval(quoteTimer);

    const summary = summarize(steps);
    console.log('');
    console.table(
      steps.map((s) => ({
        endpoint: s.endpoint,
        'offered/s': s.offeredRate,
        'achieved/s': s.achievedRate,
        'p50 ms': s.p50Ms,
        'p99 ms': s.p99Ms,
        errors: s.errors,
        'non-2xx': s.non2xx,
        'db stmts/req': s.dbStatementsPerRequest,
        'cpu ms/req': s.cpuMsPerRequest,
        'pg cpu ms/req': s.pgCpuMsPerRequest,
        'loop max ms': s.loopDelayMaxMs,
      })),
    );
    console.table(summary);
    const path = writeBenchResult('api', {
      benchmark: 'api',
      ranAt: new Date().toISOString(),
      machine,
      settings: {
        authCache: AUTH_CACHE,
        sweep: SWEEP,
        durationSeconds: DURATION_S,
        desks: DESKS,
        positions: POSITIONS,
        loadGenerator: LOADGEN,
        loadTool: LOAD_TOOL,
      },
      steps,
      summary,
    });
    console.log(`results: ${path}`);
  } finally {
    await loadThread?.terminate();
    await baseline.close();
    await server.close();
    await db.close();
    await owner.end({ timeout: 5 });
    await database.drop();
  }
}

/** The load generator's thread, started on first use (none with `BENCH_LOADGEN=inline`). */
let loadThread: Worker | null = null;

function onLoadThread(job: LoadJob): Promise<LoadResult> {
  loadThread ??= new Worker(new URL('./api-load.ts', import.meta.url), {
    workerData: { benchApiLoad: true },
  });
  const w = loadThread;
  return new Promise((resolve, reject) => {
    const onMessage = (m: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
      w.off('error', reject);
      if (m.ok) resolve(m.result);
      else reject(new Error(`load generator: ${m.error}`));
    };
    w.once('message', onMessage);
    w.once('error', reject);
    w.postMessage(job);
  });
}

/** One fixed-rate step. */
async function run(
  url: string,
  request: LoadRequest,
  rate: number,
  seconds: number,
): Promise<
  Omit<
    Step,
    | 'endpoint'
    | 'offeredRate'
    | 'dbStatementsPerRequest'
    | 'cpuMsPerRequest'
    | 'pgCpuMsPerRequest'
    | 'loopDelayMaxMs'
    | 'loopDelayP99Ms'
  >
> {
  const job: LoadJob = { tool: LOAD_TOOL, url, request, rate, seconds };
  const r = LOADGEN === 'inline' ? await runJob(job) : await onLoadThread(job);
  return {
    // Answers per second over the step (a server that fell behind answers after it ends).
    achievedRate: Math.round(r.total / r.seconds),
    p50Ms: round2(r.p50),
    p99Ms: round2(r.p99),
    maxMs: round2(r.max),
    requests: r.total,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

/** The highest offered rate each endpoint sustained (≥ 95% achieved, no errors) under each p99 bound. */
function summarize(steps: readonly Step[]) {
  const names = [...new Set(steps.map((s) => s.endpoint))];
  return names.map((endpoint) => {
    const ok = steps.filter(
      (s) => s.endpoint === endpoint && s.achievedRate >= s.offeredRate * 0.95 && s.errors + s.non2xx === 0,
    );
    const best = (boundMs: number) =>
      Math.max(0, ...ok.filter((s) => s.p99Ms < boundMs).map((s) => s.offeredRate)) || null;
    return {
      endpoint,
      maxRateP99Under5ms: best(5),
      maxRateP99Under10ms: best(10),
      maxRateP99Under50ms: best(50),
    };
  });
}

/** The floor: node:http answering a fixed JSON body about the size of auth.me's answer. */
async function startBaseline(): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify({
    result: {
      data: {
        kind: 'api_key',
        user: { id: randomUUID(), email: 'admin@example.com', displayName: 'Admin', isPlatformAdmin: true },
        activeDesk: { id: randomUUID(), name: 'Desk', slug: 'desk', role: 'admin' },
        desks: [{ id: randomUUID(), name: 'Desk', slug: 'desk', role: 'admin' }],
        expiresAt: null,
        reauthenticatedUntil: null,
        scopes: ['read', 'trade'],
      },
    },
  });
  const server = createServer((req, res) => {
    // Reads the header the real server would, so the comparison is like for like.
    void req.headers.authorization;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(body);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

await main();
