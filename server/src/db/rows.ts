/**
 * Raw SQL that returns rows, typed once. drizzle's `execute` over postgres.js answers a
 * `RowList` of `Record<string, unknown>`: the shape of a row is the statement's column list, which
 * the type system cannot read. `queryRows<Row>(db, sql…)` is the one place that says so; callers name
 * the row type next to the statement whose `select` list it mirrors, instead of each writing
 * `as unknown as Row[]`.
 */
import type { SQL } from 'drizzle-orm';

/** Any drizzle handle that runs raw SQL: a database, a transaction, the audit's own handles. */
export interface RawExecutor {
  execute(query: SQL): PromiseLike<unknown>;
}

export async function queryRows<Row>(db: RawExecutor, query: SQL): Promise<Row[]> {
  return (await db.execute(query)) as unknown as Row[];
}

/** The first row, or undefined when the statement returned none. */
export async function firstRow<Row>(db: RawExecutor, query: SQL): Promise<Row | undefined> {
  return (await queryRows<Row>(db, query))[0];
}
