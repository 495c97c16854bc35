// Over 400 lines on purpose: `startServer` is the one place that opens the process's resources
// (database, bus, Redis, caches), starts every runtime in dependency order and closes them in the
// reverse order; split, the start and the shutdown sequence could no longer be read side by side.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Bus, createBus } from '@aegis/shared/bus/index';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { migrationStatus } from '@aegis/shared/db/migrate';
import { withDeadline } from '@aegis/shared/deadline';
import type { Logger } from '@aegis/shared/logging';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { Redis } from 'ioredis';
import { type DecisionsTuning, startDecisions } from './agent/runtime.ts';
import { type AlertOptions, startAlerts } from './alerts/runtime.ts';
import { AuthCache, type AuthInvalidationHub, authInvalidations } from './auth/auth-cache.ts';
import { passwordProcedurePaths, refusePasswordBatch } from './auth/credential-batches.ts';
import { type LoginThrottle, MemoryLoginThrottle, RedisLoginThrottle } from './auth/login-throttle.ts';
import { handleOAuthCallback, OAUTH_CALLBACK_PREFIX } from './auth/oauth/callback-route.ts';
import { tokenCryptoOf } from './auth/oauth/crypto-registry.ts';
import { oauthConnectionResolvers } from './auth/oauth/resolvers.ts';
import { OutageAuthorizations } from './auth/outage-authorization.ts';
import { PasswordHasher } from './auth/password.ts';
import { deleteExpiredSessions } from './auth/session.ts';
import { QuoteBook } from './brokers/quote-book.ts';
import { type Context, createContextFactory, type RequestRateLimiter, type ServerDeps } from './context.ts';
import type { ServerConfig } from './env.ts';
import { retryAfterSecondsOf } from './errors.ts';
import { ExecutionRuntime } from './execution/runtime.ts';
import type { ExecutionOptions } from './execution/types.ts';
import { type HedgingOptions, type HedgingRuntime, startHedging } from './hedging/runtime.ts';
import { startTimeseriesUpkeep } from './maintenance/timeseries-upkeep.ts';
import { RequestMetrics } from './metrics/request-metrics.ts';
import { metricsAllowed, renderServerMetrics } from './metrics/server-metrics.ts';
import { closeRecommendLimiters } from './options/rate-limits.ts';
import { RateLimiter } from './rate-limit/limiter.ts';
import { createRateLimitRedis, waitForRedisReady } from './rate-limit/redis-client.ts';
import { MemoryWindowStore, RedisWindowStore } from './rate-limit/window-store.ts';
import { appRouter } from './routers/_app.ts';

/**
 * The HTTP server: tRPC at /trpc (queries, mutations, SSE subscriptions), GET /health
 * (liveness) and GET /health/ready (database, bus, migrations). `startServer` is what both the
 * daemon entry (main.ts) and the single-process launcher (`npm start`) call.
 */

export interface StartServerOptions {
  readonly config: ServerConfig;
  readonly log: Logger;
  /** Shared bus (single-process mode passes the in-process one); default: from REDIS_URL. */
  readonly bus?: Bus;
  /** Shared database handle (application role); default: opened from DATABASE_URL. */
  readonly db?: DatabaseHandle;
  /** Overrides for tests: login throttle, rate limiter (null disables it), Redis key prefix. */
  readonly loginThrottle?: LoginThrottle;
  readonly rateLimiter?: RequestRateLimiter | null;
  readonly redisKeyPrefix?: string;
  /** Signal consumer / agent knobs (tests). */
  readonly decisions?: DecisionsTuning;
  /** Partition upkeep and bar refresh on a schedule (default on; tests may turn it off). */
  readonly timeseriesUpkeep?: boolean;
  /** Execution service options (tests: paper broker, intervals); `false` runs without it. */
  readonly execution?: Partial<ExecutionOptions> | false;
  /** The delta-neutral hedger (interval, pricing); `false` runs without it. Needs execution. */
  readonly hedging?: Partial<HedgingOptions> | false;
  /** Desk alerts; `false` runs none (tests of other parts). */
  readonly alerts?: AlertOptions | false;
  /** Validated sessions and keys kept in process (auth/auth-cache.ts); `false` reads every time. */
  readonly authCache?: { readonly ttlMs?: number } | false;
  /** Where session and key changes are announced; default this process's. A test passes its own
   *  to stand for a separate process that hears them over the bus only. */
  readonly authInvalidations?: AuthInvalidationHub;
}

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  readonly server: Server;
  readonly deps: ServerDeps;
  /** The delta-neutral hedger of this process, when it runs one. */
  readonly hedging: HedgingRuntime | null;
  close(): Promise<void>;
}

type RequestWithId = IncomingMessage & { requestId?: string };

const MAX_BODY_BYTES = 1024 * 1024;
/** `orderflow.ingest` alone: up to 5,000 events (~200 bytes each) per call. */
const MAX_INGEST_BODY_BYTES = 8 * 1024 * 1024;
const INGEST_PATH = '/trpc/orderflow.ingest';

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { config, log } = options;
  const ownDb = options.db === undefined;
  const database = options.db ?? createDb(config.databaseUrl, { applicationName: 'aegis-server' });
  const ownBus = options.bus === undefined;
  const bus = options.bus ?? createBus({ redisUrl: config.redisUrl, log });
  const prefix = options.redisKeyPrefix ?? 'aegis';

  // One fail-fast Redis connection for login throttling and rate limits (ioredis reconnects in
  // the background); without REDIS_URL both keep their state in this process.
  let redis: Redis | null = null;
  if (config.redisUrl && (options.loginThrottle === undefined || options.rateLimiter === undefined)) {
    redis = createRateLimitRedis(config.redisUrl, log);
    if (!(await waitForRedisReady(redis)))
      log.warn('redis not ready at start: sign-in and mutations refuse until it is');
  }
  const loginThrottle =
    options.loginThrottle ??
    (redis ? new RedisLoginThrottle(redis, { prefix: `${prefix}:` }) : new MemoryLoginThrottle());
  const rateLimiter =
    options.rateLimiter === undefined
      ? new RateLimiter({
          store: redis ? new RedisWindowStore(redis) : new MemoryWindowStore(),
          settings: { keyPrefix: `${prefix}:rl`, ...config.rateLimit },
          log,
        })
      : options.rateLimiter;

  // Signal consumer and decision agent (streams named from the same prefix). Its own pool, for
  // the reason the execution service has one (below): approving runs inside a desk procedure
  // that already holds a request transaction from the shared pool, and opens its own
  // transactions; with as many concurrent approvals as the shared pool has connections, every
  // connection would be held by a request waiting for another one (races.test.ts).
  const decisionsDb = createDb(config.databaseUrl, { max: 4, applicationName: 'aegis-decisions' });
  const decisions = await startDecisions({
    config,
    db: decisionsDb.db,
    bus,
    log,
    prefix,
    ...(options.decisions ? { tuning: options.decisions } : {}),
    // Declared below and read only at use; until then (temporal dead zone) there is none.
    execution: () => {
      try {
        return execution;
      } catch {
        return undefined;
      }
    },
  });

  // Orders, brokers, reconciliation, halt: recovers pending outbox rows and unknown
  // orders before serving. Its own pool: a desk procedure holds a request transaction from the
  // shared pool while it calls the execution service, so sharing one pool could deadlock under
  // load (every connection held by a request waiting for a connection).
  const executionDb =
    options.execution === false
      ? undefined
      : createDb(config.databaseUrl, { max: 6, applicationName: 'aegis-execution' });
  const execution =
    executionDb === undefined
      ? undefined
      : new ExecutionRuntime({
          db: executionDb.db,
          bus,
          quotes: new QuoteBook(),
          log: log.child({ module: 'execution' }),
          // The venue prices the engine publishes under the same prefix (ENGINE_STREAM_PREFIX).
          options: {
            pricePrefix: `${prefix}:`,
            // Linked connections: secrets and endpoints from the OAuth code (auth/oauth/).
            connections: oauthConnectionResolvers({
              db: executionDb.db,
              config,
              log: log.child({ module: 'oauth' }),
              crypto: tokenCryptoOf(config),
            }),
            ...options.execution,
          },
        });
  await execution?.start();

  // The delta-neutral hedger (hedging/): passes per desk on a timer and on position changes,
  // placing through this process's execution service. Its own small pool, for the reason above.
  const hedgingDb =
    execution === undefined || options.hedging === false
      ? undefined
      : createDb(config.databaseUrl, { max: 2, applicationName: 'aegis-hedger' });
  const hedging: HedgingRuntime | null =
    hedgingDb === undefined || options.hedging === false
      ? null
      : startHedging({
          db: hedgingDb.db,
          bus,
          log,
          execution: () => execution,
          autonomousEnabled: config.autonomousEnabled,
          publishProposal: (tenantId, view) => decisions.workflow.publish(tenantId, view),
          options: {
            greeks: { rate: config.options.riskFreeRate, dividendYield: config.options.dividendYield },
            ...options.hedging,
          },
        });

  // Desk alerts (alerts/): notification centre and signed webhooks.
  // Its own small pool: the scan and the sender open desk transactions on their own timers.
  const alertsDb =
    options.alerts === false
      ? undefined
      : createDb(config.databaseUrl, { max: 3, applicationName: 'aegis-alerts' });
  const alerts =
    alertsDb === undefined || options.alerts === false
      ? null
      : startAlerts({
          db: alertsDb.db,
          sql: alertsDb.sql,
          bus,
          log,
          options: {
            crypto: tokenCryptoOf(config),
            ...(execution ? { quotes: execution.quotes } : {}),
            targets: {
              allowLocalhost: config.alerts.allowLocalhost,
              allowPrivateAddresses: config.alerts.allowPrivateTargets,
            },
            retentionMs: config.alerts.retentionMs,
            ...options.alerts,
          },
        });

  const passwords = new PasswordHasher({ maxConcurrency: config.argon2MaxConcurrency });
  await passwords.warmUp();

  // Validated credentials for a few seconds; dropped at once (here and, over the bus, in every
  // other server) when a session ends or a key is revoked.
  const authCache = options.authCache === false ? undefined : new AuthCache(options.authCache ?? {});
  const unregisterAuthCache = authCache
    ? await (options.authInvalidations ?? authInvalidations).register({ cache: authCache, bus, log })
    : null;

  const deps: ServerDeps = {
    config,
    db: database.db,
    sql: database.sql,
    log,
    bus,
    passwords,
    loginThrottle,
    ...(rateLimiter ? { rateLimiter } : {}),
    decisions,
    ...(execution ? { execution } : {}),
    outageAuthorizations: new OutageAuthorizations(),
    ...(authCache ? { authCache } : {}),
  };

  const createContext = createContextFactory(deps);
  const passwordPaths = passwordProcedurePaths(appRouter);
  const trpcHandler = (maxBodySize: number) =>
    createHTTPHandler({
      router: appRouter,
      basePath: '/trpc/',
      maxBodySize,
      // A batch is many calls for the price of one request (and one rate-limit check per call
      // still lets it fan out): cap it; tRPC refuses a larger one with 400 before parsing inputs.
      maxBatchSize: config.trpcMaxBatchSize,
      createContext(opts) {
        refusePasswordBatch(opts.info, passwordPaths);
        return createContext(opts);
      },
      onError({ error, path, ctx }) {
        // Unexpected errors inside procedures are logged by the observe middleware (with user and
        // desk); this catches what fails outside them (context creation, malformed requests).
        if (error.code === 'INTERNAL_SERVER_ERROR' && !ctx) {
          log.error({ err: error.cause ?? error, path }, 'tRPC request failed');
        }
      },
      responseMeta({ ctx, errors }) {
        const headers = new Headers({ 'cache-control': 'no-store' });
        const c = ctx as Context | undefined;
        if (c) {
          headers.set('x-request-id', c.requestId);
          for (const cookie of c.response.cookies) headers.append('set-cookie', cookie);
        }
        const retry = errors.map(retryAfterSecondsOf).filter((s): s is number => s !== undefined);
        if (retry.length > 0) headers.set('retry-after', String(Math.max(...retry)));
        return { headers };
      },
    });
  // Per-procedure counts and latency, recorded here (whatever the outcome, batches included).
  const requestMetrics = new RequestMetrics(Object.keys(appRouter._def.procedures));
  const sqlOptions = database.sql.options as { max?: number; connection?: { application_name?: string } };
  const metricsSources = {
    requests: requestMetrics,
    sql: database.sql,
    applicationName: sqlOptions.connection?.application_name ?? 'aegis',
    poolMax: typeof sqlOptions.max === 'number' ? sqlOptions.max : null,
    redis,
    authCache,
  };
  const trpc = trpcHandler(MAX_BODY_BYTES);
  // Order-flow batches are the one large body; only that procedure, unbatched, gets the room.
  const trpcIngest = trpcHandler(MAX_INGEST_BODY_BYTES);

  const server = createServer((req: RequestWithId, res: ServerResponse) => {
    req.requestId = randomUUID();
    res.setHeader('x-request-id', req.requestId);
    res.setHeader('x-content-type-options', 'nosniff');
    const path = (req.url ?? '/').split('?')[0];
    if (path?.startsWith('/trpc/')) {
      const procedures = path.slice('/trpc/'.length);
      const started = performance.now();
      res.once('close', () =>
        requestMetrics.observe(procedures, res.statusCode, (performance.now() - started) / 1000),
      );
    }
    if (path === INGEST_PATH) {
      trpcIngest(req, res);
      return;
    }
    if (path === '/trpc' || path?.startsWith('/trpc/')) {
      trpc(req, res);
      return;
    }
    if (req.method === 'GET' && path?.startsWith(OAUTH_CALLBACK_PREFIX)) {
      handleOAuthCallback(req, res, path.slice(OAUTH_CALLBACK_PREFIX.length), {
        db: database.db,
        config,
        log,
        crypto: tokenCryptoOf(config),
        ...(execution && { execution }),
      });
      return;
    }
    if (req.method === 'GET' && path === '/health') {
      sendJson(res, 200, { status: 'ok', service: 'server', uptimeSeconds: Math.round(process.uptime()) });
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      // Only for a scraper on this host (server-metrics.ts); anyone else finds nothing here.
      if (!metricsAllowed(req)) {
        sendJson(res, 404, { error: 'not found' });
        return;
      }
      renderServerMetrics(metricsSources).then(
        (body) => {
          res.writeHead(200, {
            'content-type': 'text/plain; version=0.0.4; charset=utf-8',
            'cache-control': 'no-store',
          });
          res.end(body);
        },
        (err) => {
          log.error({ err }, 'metrics rendering failed');
          sendJson(res, 500, { error: 'internal' });
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/health/ready') {
      readiness(deps).then(
        (r) => sendJson(res, r.status === 'ready' ? 200 : 503, r),
        (err) => {
          log.error({ err }, 'readiness check failed');
          sendJson(res, 503, { status: 'not_ready' });
        },
      );
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  });
  // Slow clients must not hold sockets: the whole request (headers and body) must arrive within
  // 30 s. This bounds receiving only, so long-lived SSE responses are unaffected.
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url, bus: bus.kind, redis: redis ? 'on' : 'off' }, 'server listening');

  // Expired sessions are deleted when met; this sweeps the ones never presented again.
  const sweep = setInterval(() => {
    deleteExpiredSessions(deps.db).catch((err) => log.warn({ err }, 'session sweep failed'));
  }, 3600_000);
  sweep.unref();
  const timeseries =
    options.timeseriesUpkeep === false ? null : startTimeseriesUpkeep({ sql: database.sql, log });

  let closing: Promise<void> | null = null;
  return {
    port,
    url,
    server,
    deps,
    hedging,
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        requestMetrics.close();
        await timeseries?.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Open SSE streams and idle keep-alive sockets would hold close() forever.
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 5_000).unref();
        });
        await hedging?.stop().catch((err) => log.warn({ err }, 'hedger stop failed'));
        await alerts?.close().catch((err) => log.warn({ err }, 'alerts close failed'));
        await alertsDb?.close().catch((err) => log.warn({ err }, 'alerts pool close failed'));
        await hedgingDb?.close().catch((err) => log.warn({ err }, 'hedger pool close failed'));
        await unregisterAuthCache?.().catch((err: unknown) => log.warn({ err }, 'auth cache close failed'));
        await closeRecommendLimiters().catch((err) =>
          log.warn({ err }, 'recommendation limiters close failed'),
        );
        await decisions.close().catch((err) => log.warn({ err }, 'decisions close failed'));
        await decisionsDb.close().catch((err) => log.warn({ err }, 'decisions pool close failed'));
        await execution?.stop().catch((err) => log.warn({ err }, 'execution stop failed'));
        await executionDb?.close().catch((err) => log.warn({ err }, 'execution pool close failed'));
        if (redis) redis.disconnect();
        if (ownBus) await bus.close().catch((err) => log.warn({ err }, 'bus close failed'));
        if (ownDb) await database.close();
        log.info('server stopped');
      })();
      return closing;
    },
  };
}

export interface Readiness {
  status: 'ready' | 'not_ready';
  db: 'ok' | 'error';
  bus: 'ok' | 'error';
  migrations: 'current' | 'pending' | 'unknown';
}

/** Each readiness check (database, bus, migrations) answers within this, or counts as failed. */
const READINESS_CHECK_MS = 2_000;

async function readiness(deps: ServerDeps): Promise<Readiness> {
  const withTimeout = <T>(p: PromiseLike<T>) => withDeadline(p, READINESS_CHECK_MS, 'readiness check');
  const [db, bus, migrations] = await Promise.all([
    withTimeout(deps.sql`select 1`).then(
      () => 'ok' as const,
      () => 'error' as const,
    ),
    withTimeout(deps.bus.ping()).then(
      () => 'ok' as const,
      () => 'error' as const,
    ),
    withTimeout(migrationStatus(deps.sql)).then(
      (s) => (s.current ? ('current' as const) : ('pending' as const)),
      () => 'unknown' as const,
    ),
  ]);
  const ready = db === 'ok' && bus === 'ok' && migrations === 'current';
  return { status: ready ? 'ready' : 'not_ready', db, bus, migrations };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(json);
}
