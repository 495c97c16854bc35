import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { deleteRedisKeys } from '@aegis/shared/testing/redis-keys';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import postgres, { type Sql } from 'postgres';
import { loadServerConfig } from '../../src/env.ts';
import { type RunningServer, type StartServerOptions, startServer } from '../../src/http.ts';
import { createFirstAdminIfNone } from '../../src/provisioning/service.ts';
import type { AppRouter } from '../../src/routers/_app.ts';

/**
 * A real server for one test file: a fresh migrated database (the server connects as the
 * application role, RLS in force), real Redis under a unique key prefix, listening on an
 * ephemeral port. `owner` is a connection as the owner role, for fixtures the API cannot make
 * (expiring a session, reading stored hashes).
 */
export const ORIGIN = 'http://localhost:3000';

/**
 * The configuration every test server gets (loopback, ephemeral port, the test origin, a small
 * argon2 pool, debug logs), for the database and Redis a test names, with its own overrides.
 */
export function testServerConfig(env: Record<string, string> & { DATABASE_URL: string }) {
  return loadServerConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    SERVER_HOST: '127.0.0.1',
    SERVER_PORT: '0',
    PUBLIC_ORIGIN: ORIGIN,
    ARGON2_MAX_CONCURRENCY: '2',
    ...env,
  });
}

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly database: MigratedTestDatabase;
  readonly owner: Sql;
  readonly admin: { email: string; password: string; deskId: TenantId };
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  readonly redisPrefix: string;
  close(): Promise<void>;
}

export async function startTestServer(
  overrides: Partial<Omit<StartServerOptions, 'config' | 'log' | 'db'>> & {
    env?: Record<string, string>;
    /** Connections per pool of the server's database handle (default 5). */
    dbPoolMax?: number;
  } = {},
): Promise<TestServer> {
  const database = await createMigratedTestDatabase('aegis_test_server');
  const config = testServerConfig({
    DATABASE_URL: database.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    ...overrides.env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const log = createLogger({ name: 'server-test', level: 'debug' }, sink);
  const db: DatabaseHandle = createDb(database.appUrl, { max: overrides.dbPoolMax ?? 5 });
  const redisPrefix = `aegis-test-${randomBytes(6).toString('hex')}`;
  const { env: _env, dbPoolMax: _max, ...options } = overrides;
  const server = await startServer({ config, log, db, redisKeyPrefix: redisPrefix, ...options });
  const admin = await createFirstAdminIfNone(db.db);
  if (!admin) throw new Error('first admin not created');
  const owner = postgres(database.url, { max: 2, onnotice: () => {} });
  return {
    server,
    url: server.url,
    database,
    owner,
    // The desk the provisioning just created: a desk id.
    admin: { ...admin, deskId: asTenantId(admin.deskId) },
    logs,
    redisPrefix,
    async close() {
      // Unexpected server errors are worth seeing even when the tests passed.
      for (const l of logs) {
        if (l.level === 'error' || l.level === 'fatal')
          process.stderr.write(`server log: ${JSON.stringify(l).slice(0, 2000)}\n`);
      }
      await server.close();
      await db.close();
      await deleteRedisKeys(`${redisPrefix}:*`);
      await owner.end({ timeout: 5 });
      await database.drop();
    },
  };
}

/** A browser-like cookie jar for one client. */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  readonly setCookieHeaders: string[] = [];

  store(headers: Headers): void {
    for (const c of headers.getSetCookie()) {
      this.setCookieHeaders.push(c);
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (/max-age=0/i.test(c) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export interface ClientOptions {
  jar?: CookieJar;
  /** `null`: no Origin header. Default: the allowed console origin. */
  origin?: string | null;
  bearer?: string;
  /** Receives each raw response (status, headers). */
  onResponse?: (res: Response) => void;
}

export function makeClient(url: string, options: ClientOptions = {}) {
  const origin = options.origin === undefined ? ORIGIN : options.origin;
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url}/trpc`,
        headers() {
          const h: Record<string, string> = {};
          if (origin !== null) h.origin = origin;
          const cookie = options.jar?.header();
          if (cookie) h.cookie = cookie;
          if (options.bearer) h.authorization = `Bearer ${options.bearer}`;
          return h;
        },
        async fetch(input, init) {
          const res = await fetch(input, init);
          options.jar?.store(res.headers);
          options.onResponse?.(res);
          return res;
        },
      }),
    ],
  });
}

export type Client = ReturnType<typeof makeClient>;

/** The tRPC error a call failed with (its data carries httpStatus, appCode, details, fields). */
export async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (e instanceof TRPCClientError) {
      return e as TRPCClientError<AppRouter>;
    }
    throw e;
  }
  throw new Error('expected the call to fail');
}

export const STRONG_PASSWORD = 'violet-harbor-tungsten-47';

/** Signs in with a cookie jar; when the password must change, changes it to `newPassword`. */
export async function signIn(url: string, email: string, password: string, newPassword = STRONG_PASSWORD) {
  const jar = new CookieJar();
  const client = makeClient(url, { jar });
  const res = await client.auth.login.mutate({ email, password });
  let current = password;
  if (res.user.mustChangePassword) {
    await client.auth.changePassword.mutate({ currentPassword: password, newPassword });
    current = newPassword;
  }
  return { jar, client, password: current, user: res.user };
}
