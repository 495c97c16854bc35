/**
 * Raw SQL that returns rows, typed once. drizzle's `execute` over postgres.js answers a
 * `RowList` of `Record<string, unknown>`: the shape of a row is the statement's column list, which
 * the type system cannot read. `rows<Row>(db, sql…)` is the one place that says so; callers name
 * the row type next to the statement whose `select` list it mirrors, instead of each writing
 * `as unknown as Row[]`.
 */
import type { SQL } from 'drizzle-orm';
import type { Queryable } from './database.ts';

export async function rows<Row>(db: Queryable, query: SQL): Promise<Row[]> {
  return (await db.execute(query)) as unknown as Row[];
}

/** The first row, or undefined when the statement returned none. */
export async function firstRow<Row>(db: Queryable, query: SQL): Promise<Row | undefined> {
  return (await rows<Row>(db, query))[0];
}
