import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/http.ts';
import { createFirstAdminIfNone } from '../../src/provisioning/service.ts';
import { ORIGIN, signIn, testServerConfig } from './test-server.ts';

/**
 * A database that goes away answers 503 with Retry-After, never 500. The server reaches its own
 * test database through a TCP proxy this test owns: stopping the proxy drops every connection and
 * refuses new ones, as a PostgreSQL restart does, without touching the PostgreSQL other test
 * files share. Terminating the server's backends (pg_terminate_backend, SQLSTATE 57P01) is the
 * other way a restart shows itself.
 */
class TcpProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  port = 0;
  readonly targetHost: string;
  readonly targetPort: number;
  constructor(targetHost: string, targetPort: number) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Drops every open connection and refuses new ones (ECONNREFUSED). */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

let database: MigratedTestDatabase;
let proxy: TcpProxy;
let db: DatabaseHandle;
let server: RunningServer;
let owner: postgres.Sql;
let cookie: string;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  database = await createMigratedTestDatabase('aegis_test_dbdown');
  const target = new URL(database.appUrl);
  proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  const viaProxy = new URL(database.appUrl);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const config = testServerConfig({ DATABASE_URL: viaProxy.toString(), REDIS_URL: TEST_REDIS_URL });
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const log = createLogger({ name: 'db-down-test', level: 'debug' }, sink);
  db = createDb(viaProxy.toString(), { max: 4, applicationName: 'aegis-db-down-test' });
  server = await startServer({
    config,
    log,
    db,
    redisKeyPrefix: `aegis-test-dbdown-${process.pid}`,
    rateLimiter: null,
    execution: false,
    timeseriesUpkeep: false,
  });
  const admin = await createFirstAdminIfNone(db.db);
  if (!admin) throw new Error('first admin not created');
  owner = postgres(database.url, { max: 1, onnotice: () => {} });
  const s = await signIn(server.url, admin.email, admin.password);
  cookie = s.jar.header()!;
}, 120_000);

afterAll(async () => {
  await proxy?.start().catch(() => {});
  await server?.close();
  await db?.close();
  await owner?.end({ timeout: 5 });
  await database?.drop();
});

const listDesks = () => fetch(`${server.url}/trpc/desks.list`, { headers: { cookie } });

describe('database unreachable', () => {
  it('answers 503 with Retry-After while the database is gone, and 200 once it is back', async () => {
    expect((await listDesks()).status).toBe(200);
    const from = logs.length;
    await proxy.stop();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await listDesks();
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        const body = (await res.json()) as { error: { message: string; data: { code: string } } };
        expect(body.error.data.code).toBe('SERVICE_UNAVAILABLE');
        expect(body.error.message).toMatch(/briefly (unavailable|unreachable); retry shortly/);
      }
      // A sign-in (public procedure, a mutation) too.
      const login = await fetch(`${server.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN },
        body: JSON.stringify({ email: 'someone.typed@example.com', password: 'a-password-typed-here' }),
      });
      expect(login.status).toBe(503);
      expect(login.headers.get('retry-after')).not.toBeNull();
    } finally {
      await proxy.start();
    }
    expect((await listDesks()).status).toBe(200);
    const during = logs.slice(from);
    // Logged as an outage (warn, with the driver's code), not as a bug; nothing typed is logged.
    expect(during.some((l) => l.msg === 'call failed: service unavailable' && l.level === 'warn')).toBe(true);
    expect(during.filter((l) => l.level === 'error' && String(l.msg).startsWith('call failed'))).toEqual([]);
    expect(JSON.stringify(during)).not.toContain('someone.typed@example.com');
  });

  it('backends terminated under load (57P01) answer 200 or 503, never 500', async () => {
    const statuses = new Map<number, number>();
    for (let round = 0; round < 10; round++) {
      const calls = Array.from({ length: 4 }, () => listDesks().then((r) => r.status));
      // Only backends past their startup (their last query is one of ours): postgres.js drops
      // the promise of the array-type query it runs on each new connection, so killing one there
      // is an unhandled rejection inside the driver (porsager/postgres#1192, #1223), reported apart.
      await owner`select pg_terminate_backend(pid) from pg_stat_activity
                  where datname = current_database() and pid <> pg_backend_pid()
                    and application_name = 'aegis-db-down-test'
                    and query <> '' and query not like '%typarray%'`;
      for (const s of await Promise.all(calls)) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    process.stderr.write(`terminate rounds: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    expect([...statuses.keys()].filter((s) => s !== 200 && s !== 503)).toEqual([]);
    // Recovers: a client retrying as told gets through (the cap only ends a broken run).
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await listDesks()).status;
      expect([200, 503]).toContain(status);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});
