import type { schema } from '@aegis/shared/db';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import type { PgTransaction } from 'drizzle-orm/pg-core';
import type { PostgresJsDatabase, PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';

/** The application role's drizzle database (RLS applies: tenant tables need `app.tenant_id`). */
export type Db = PostgresJsDatabase<typeof schema>;
/** A transaction on it; inside `withTenant` the tenant setting is in force. */
export type Tx = PgTransaction<
  PostgresJsQueryResultHKT,
  typeof schema,
  ExtractTablesWithRelations<typeof schema>
>;
/** Either: services that need no tenant setting accept both. */
export type Queryable = Db | Tx;

/**
 * Runs `fn` in a transaction scoped to one desk: `set_config('app.tenant_id', id, true)` is the
 * function form of `SET LOCAL`, so the setting ends with the transaction and a pooled connection
 * never carries one request's tenant into the next. RLS policies read it with
 * `current_setting('app.tenant_id', true)`.
 */
export async function withTenant<T>(db: Db, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
    return fn(tx);
  });
}
