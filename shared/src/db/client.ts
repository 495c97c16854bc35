import { sql as dsql } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres, { type Sql, type TransactionSql } from 'postgres';
import * as schema from './schema/index.ts';

export type AegisSchema = typeof schema;
export type Db = PostgresJsDatabase<AegisSchema>;
/** A drizzle transaction handle (what `db.transaction(fn)` passes to `fn`). */
export type DbTx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface CreateDbOptions {
  /** Connections per pool (the raw pool and drizzle's pool each get this many); default 10. */
  max?: number;
  /** Seconds an idle connection is kept; default 30. */
  idleTimeout?: number;
  /** Seconds to wait for a connection (TCP + startup); default 5. */
  connectTimeout?: number;
  /** Seconds before a connection is recycled (spreads reconnects); default 30 min. */
  maxLifetime?: number;
  /** Shows in pg_stat_activity; default `aegis`. */
  applicationName?: string;
  /**
   * Server-side limit on one statement (`statement_timeout`), ms; default 30 s. Set per
   * connection at startup, so it holds for every query of the pool, drizzle's included.
   */
  statementTimeoutMs?: number;
  /** Server-side limit on waiting for a lock (`lock_timeout`), ms; default 10 s. */
  lockTimeoutMs?: number;
  /**
   * `idle_in_transaction_session_timeout`, ms; default 60 s: a transaction whose client went
   * quiet (a stuck process, a lost network) releases its locks instead of holding them forever.
   */
  idleInTransactionTimeoutMs?: number;
}

/**
 * Every PostgreSQL call has a deadline (crash-only recovery, docs/runbook.md "PostgreSQL"): the connect timeout bounds
 * reaching the server, the statement and lock timeouts bound the server's work, the idle-in-
 * transaction timeout frees what a vanished client held, and TCP keepalive notices a dead peer.
 * A stalled server that answers nothing at all is the one case these cannot end: code that must
 * stay live through it (the engine's writer) races its own deadline and drops the connection.
 */
export const DB_TIMEOUT_DEFAULTS = Object.freeze({
  connectTimeoutSeconds: 5,
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
  keepAliveSeconds: 10,
});

/** One postgres.js pool with the timeouts above (the engine's writer and signal pools use it). */
export function connectSql(url: string, opts: CreateDbOptions = {}): Sql {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    idle_timeout: opts.idleTimeout ?? 30,
    connect_timeout: opts.connectTimeout ?? DB_TIMEOUT_DEFAULTS.connectTimeoutSeconds,
    max_lifetime: opts.maxLifetime ?? 30 * 60,
    keep_alive: DB_TIMEOUT_DEFAULTS.keepAliveSeconds,
    // NOTICEs (TimescaleDB, partition upkeep) would otherwise go to console.log.
    onnotice: () => {},
    connection: {
      application_name: opts.applicationName ?? 'aegis',
      statement_timeout: opts.statementTimeoutMs ?? DB_TIMEOUT_DEFAULTS.statementTimeoutMs,
      lock_timeout: opts.lockTimeoutMs ?? DB_TIMEOUT_DEFAULTS.lockTimeoutMs,
      idle_in_transaction_session_timeout:
        opts.idleInTransactionTimeoutMs ?? DB_TIMEOUT_DEFAULTS.idleInTransactionTimeoutMs,
    },
  });
  learnArrayTypesOnce(sql);
  return sql;
}

/**
 * postgres.js looks up the array types (`fetch_types`) on every new connection before its first
 * query. A connection terminated during that lookup (a PostgreSQL restart, pg_terminate_backend)
 * escapes the driver as an unhandled rejection, which ends a Node process (porsager/postgres
 * #1223, open). The parsers it learns are shared by every connection of the client, so one
 * successful query is enough: after it, new connections skip the lookup, and a restart can no
 * longer catch one inside it. The client reads `options.fetch_types` at each connect.
 */
function learnArrayTypesOnce(sql: Sql): void {
  const options = sql.options as { fetch_types: boolean };
  const attempt = (): void => {
    sql`select 1`.then(
      () => {
        options.fetch_types = false;
      },
      (err: { code?: string }) => {
        // Closed before it ever connected: nothing left to learn for.
        if (err?.code === 'CONNECTION_ENDED' || err?.code === 'CONNECTION_DESTROYED') return;
        setTimeout(attempt, 1_000).unref();
      },
    );
  };
  attempt();
}

export interface DatabaseHandle {
  /** Raw postgres.js client: COPY, LISTEN, hand-written SQL. */
  readonly sql: Sql;
  /** Drizzle over its own postgres.js client (drizzle rewrites the parsers of the client it gets). */
  readonly db: Db;
  /** Ends both pools, waiting up to `timeoutSeconds` for queries in flight. */
  close(timeoutSeconds?: number): Promise<void>;
}

/** Opens the two pools the server and the engine use. Connect as the application role. */
export function createDb(url: string, opts: CreateDbOptions = {}): DatabaseHandle {
  const sql = connectSql(url, opts);
  const drizzleClient = connectSql(url, opts);
  const db = drizzle({ client: drizzleClient, schema });
  return {
    sql,
    db,
    async close(timeoutSeconds = 5) {
      await Promise.all([
        sql.end({ timeout: timeoutSeconds }),
        drizzleClient.end({ timeout: timeoutSeconds }),
      ]);
    },
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertTenantId(tenantId: string): void {
  // RLS casts the setting to uuid: a malformed id would fail every query with a cast error.
  if (!UUID_RE.test(tenantId)) throw new TypeError('tenantId must be a uuid');
}

/**
 * Runs `fn` in a drizzle transaction scoped to one desk: `app.tenant_id` is set with
 * set_config(..., true) (= SET LOCAL), so RLS policies see it and it ends with the transaction;
 * a pooled connection never carries one desk's id into another request.
 */
export async function withTenant<T>(db: Db, tenantId: string, fn: (tx: DbTx) => Promise<T>): Promise<T> {
  assertTenantId(tenantId);
  return db.transaction(async (tx) => {
    await tx.execute(dsql`select set_config('app.tenant_id', ${tenantId}, true)`);
    return fn(tx);
  });
}

/** The same for the raw client. */
export async function withTenantSql<T>(
  sql: Sql,
  tenantId: string,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  assertTenantId(tenantId);
  return sql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenantId}, true)`;
    return fn(tx);
  }) as Promise<T>;
}
