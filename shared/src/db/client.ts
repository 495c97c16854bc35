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
  /** Seconds to wait for a connection; default 10. */
  connectTimeout?: number;
  /** Seconds before a connection is recycled (spreads reconnects); default 30 min. */
  maxLifetime?: number;
  /** Shows in pg_stat_activity; default `aegis`. */
  applicationName?: string;
}

export interface DatabaseHandle {
  /** Raw postgres.js client: COPY, LISTEN, hand-written SQL. */
  readonly sql: Sql;
  /** Drizzle over its own postgres.js client (drizzle rewrites the parsers of the client it gets). */
  readonly db: Db;
  /** Ends both pools, waiting up to `timeoutSeconds` for queries in flight. */
  close(timeoutSeconds?: number): Promise<void>;
}

function connect(url: string, opts: CreateDbOptions): Sql {
  return postgres(url, {
    max: opts.max ?? 10,
    idle_timeout: opts.idleTimeout ?? 30,
    connect_timeout: opts.connectTimeout ?? 10,
    max_lifetime: opts.maxLifetime ?? 30 * 60,
    // NOTICEs (TimescaleDB, partition upkeep) would otherwise go to console.log.
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? 'aegis' },
  });
}

/** Opens the two pools the server and the engine use. Connect as the application role. */
export function createDb(url: string, opts: CreateDbOptions = {}): DatabaseHandle {
  const sql = connect(url, opts);
  const drizzleClient = connect(url, opts);
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
