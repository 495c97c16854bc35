import type { Sql, TransactionSql } from 'postgres';

/**
 * Durable positions of the engine's inputs in `engine_cursors` (drizzle/0003_engine_cursors.sql).
 * The writer upserts them inside the transaction that persists the ticks they cover.
 */
export async function loadCursors(sql: Sql): Promise<Map<string, string>> {
  const rows = await sql<{ name: string; position: string }[]>`select name, position from engine_cursors`;
  return new Map(rows.map((r) => [r.name, r.position]));
}

export async function saveCursors(
  tx: TransactionSql | Sql,
  positions: Readonly<Record<string, string>>,
): Promise<void> {
  const entries = Object.entries(positions);
  if (entries.length === 0) return;
  const rows = entries.map(([name, position]) => ({ name, position }));
  await tx`
    insert into engine_cursors ${tx(rows, 'name', 'position')}
    on conflict (name) do update set position = excluded.position, updated_at = now()`;
}
