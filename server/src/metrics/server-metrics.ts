import type { IncomingMessage } from 'node:http';
import { withDeadline } from '@aegis/shared/deadline';
import { MetricsText } from '@aegis/shared/metrics/prometheus-text';
import type { Redis } from 'ioredis';
import type { Sql } from 'postgres';
import type { AuthCache } from '../auth/auth-cache.ts';
import { REQUEST_DURATION_BUCKETS_S, type RequestMetrics } from './request-metrics.ts';

/**
 * The server's `/metrics` (Prometheus text 0.0.4): requests and latency per tRPC procedure,
 * event-loop delay, the database pool and transactions, Redis, and the auth cache.
 *
 * What it holds: procedure names, status classes and process-wide counts — never a tenant,
 * user, key or token (nothing in it is per desk). Who may read it: only a scraper on this host
 * (`metricsAllowed`): anything that came through a proxy or the console's forwarder, or from
 * another address, gets 404 as if there were no such path.
 */

export interface ServerMetricsSources {
  readonly requests: RequestMetrics;
  readonly sql: Sql;
  /** The application_name of this server's pool (its connections in pg_stat_activity). */
  readonly applicationName: string;
  readonly poolMax: number | null;
  /** The rate limiter's connection (the server's own Redis client), when there is one. */
  readonly redis: Redis | null;
  readonly authCache: AuthCache | undefined;
}

/** A scrape from this host, not relayed by a proxy or the console (their headers say so). */
export function metricsAllowed(req: IncomingMessage): boolean {
  const peer = req.socket.remoteAddress ?? '';
  const loopback = peer === '127.0.0.1' || peer === '::1' || peer === '::ffff:127.0.0.1';
  const relayed =
    req.headers['x-forwarded-for'] !== undefined ||
    req.headers.forwarded !== undefined ||
    req.headers['x-real-ip'] !== undefined ||
    Object.keys(req.headers).some((h) => h.startsWith('x-aegis-'));
  return loopback && !relayed;
}

export async function renderServerMetrics(s: ServerMetricsSources): Promise<string> {
  const m = new MetricsText();

  // requests per procedure
  const procedures = [...s.requests.procedures()].sort(([a], [b]) => a.localeCompare(b));
  for (const [procedure, p] of procedures) {
    for (const [status, n] of p.byStatus) {
      m.counter(
        'aegis_server_requests_total',
        'tRPC calls per procedure and HTTP status class (a batch counts once per procedure in it)',
        n,
        { procedure, status },
      );
    }
  }
  for (const [procedure, p] of procedures) {
    m.histogram(
      'aegis_server_request_duration_seconds',
      'Time from request to response end, per procedure',
      { bounds: REQUEST_DURATION_BUCKETS_S, counts: p.counts, sum: p.sum },
      1,
      { procedure },
    );
  }

  // event loop
  const lag = s.requests.takeEventLoopDelay();
  for (const [quantile, v] of [
    ['0.5', lag.p50],
    ['0.99', lag.p99],
    ['1', lag.max],
  ] as const) {
    m.gauge(
      'aegis_server_event_loop_delay_seconds',
      'Event-loop delay since the previous scrape (quantile 1 = max)',
      v,
      { quantile },
    );
  }

  // database: this server's pool (by its application_name) and the database's transactions
  if (s.poolMax !== null)
    m.gauge('aegis_server_db_pool_max', 'Connections the request pool may open', s.poolMax);
  try {
    const states = await withDeadline(
      s.sql<{ state: string | null; n: number }[]>`
        select coalesce(state, 'unknown') as state, count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name = ${s.applicationName}
        group by 1`,
      1_000,
      'metrics: pg_stat_activity',
    );
    for (const state of ['active', 'idle', 'idle in transaction']) {
      m.gauge(
        'aegis_server_db_connections',
        'Open connections of this pool (application_name) by state, from pg_stat_activity',
        states.find((r) => r.state === state)?.n ?? 0,
        { state },
      );
    }
    const [db] = await withDeadline(
      s.sql<{ commits: string; rollbacks: string }[]>`
        select xact_commit::text as commits, xact_rollback::text as rollbacks
        from pg_stat_database where datname = current_database()`,
      1_000,
      'metrics: pg_stat_database',
    );
    if (db) {
      const help = 'Transactions of the whole database (every client), from pg_stat_database';
      m.counter('aegis_server_db_transactions_total', help, Number(db.commits), { outcome: 'commit' });
      m.counter('aegis_server_db_transactions_total', help, Number(db.rollbacks), { outcome: 'rollback' });
    }
    m.gauge('aegis_server_db_up', '1 when the scrape could query the database', 1);
  } catch {
    m.gauge('aegis_server_db_up', '1 when the scrape could query the database', 0);
  }

  // Redis (rate limits, sign-in throttle)
  if (s.redis) {
    const ready = s.redis.status === 'ready';
    m.gauge('aegis_server_redis_up', '1 when the rate-limit Redis connection is ready', ready ? 1 : 0);
    if (ready) {
      const started = performance.now();
      const ok = await withDeadline(s.redis.ping(), 500, 'metrics: redis ping').then(
        () => true,
        () => false,
      );
      if (ok)
        m.gauge(
          'aegis_server_redis_ping_seconds',
          'Round trip of one PING on the rate-limit connection, at scrape time',
          (performance.now() - started) / 1000,
        );
    }
  }

  // auth cache
  if (s.authCache) {
    const c = s.authCache;
    m.counter('aegis_server_auth_cache_hits_total', 'Requests authenticated from the cache', c.stats.hits);
    m.counter(
      'aegis_server_auth_cache_misses_total',
      'Requests authenticated from the database',
      c.stats.misses,
    );
    m.counter(
      'aegis_server_auth_cache_invalidations_total',
      'Session, key and user changes applied to the cache',
      c.stats.invalidations,
    );
    m.gauge('aegis_server_auth_cache_entries', 'Cached credentials', c.size.sessions, { kind: 'session' });
    m.gauge('aegis_server_auth_cache_entries', 'Cached credentials', c.size.apiKeys, { kind: 'api_key' });
    m.gauge('aegis_server_auth_cache_entries', 'Cached credentials', c.size.desks, { kind: 'desks' });
    m.counter(
      'aegis_server_auth_cache_desk_hits_total',
      'Desk lists served from the cache',
      c.stats.deskHits,
    );
    m.counter(
      'aegis_server_auth_cache_desk_misses_total',
      'Desk lists read from the database',
      c.stats.deskMisses,
    );
  }
  return m.toString();
}
