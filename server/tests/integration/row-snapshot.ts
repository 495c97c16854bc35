import type { Sql } from 'postgres';

/**
 * An exact fingerprint of every table's visible rows, read as the owner (no RLS in the way):
 * per table the row count and the newest row version (max xmin). An insert or update creates a
 * row version with a newer xmin; a delete lowers the count; a rolled-back write leaves nothing
 * visible. So two equal snapshots mean no committed row changed in between.
 */
export type RowSnapshot = ReadonlyMap<string, string>;

export async function tableNames(owner: Sql): Promise<string[]> {
  const rows = await owner<{ name: string }[]>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
      and c.relname not like '\\_\\_drizzle%' order by 1`;
  return rows.map((r) => r.name);
}

export function snapshotter(owner: Sql, tables: readonly string[]) {
  const query = tables
    .map(
      (t) =>
        `select '${t}' as t, count(*)::text || '/' || coalesce(max(xmin::text::bigint), 0)::text as v from "${t}"`,
    )
    .join(' union all ');
  return async (): Promise<RowSnapshot> => {
    const rows = await owner.unsafe<{ t: string; v: string }[]>(query);
    return new Map(rows.map((r) => [r.t, r.v]));
  };
}

/** Tables whose fingerprint differs. */
export function changedTables(before: RowSnapshot, after: RowSnapshot): string[] {
  return [...after.keys()].filter((t) => before.get(t) !== after.get(t));
}
