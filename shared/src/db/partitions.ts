import type { Sql, TransactionSql } from 'postgres';

/** A pool or an open transaction: each call is one statement. */
type Queryable = Sql | TransactionSql;

/**
 * Typed calls to the time-series upkeep functions of drizzle/0001_timeseries.sql. The SQL is the
 * same on both storage paths (TimescaleDB or native partitions); these work as the app role.
 */

/** Relations managed by aegis_timeseries_tables(). */
export const TIMESERIES_TABLES = [
  'ticks',
  'orderflow_events',
  'features',
  'signals',
  'equity_snapshots',
  'bars_1s',
] as const;
export type TimeseriesTable = (typeof TIMESERIES_TABLES)[number];

export interface UpkeepRow {
  table_name: TimeseriesTable;
  /** Partitions created (always 0 on TimescaleDB: chunks appear on insert). */
  created: number;
  /** Partitions dropped by retention (0 on TimescaleDB: its retention policies do it). */
  dropped: number;
}

/** The daily job: partitions for yesterday .. today + daysAhead, then retention. */
export async function runPartitionUpkeep(sql: Queryable, daysAhead = 7): Promise<UpkeepRow[]> {
  return sql<UpkeepRow[]>`select table_name, created, dropped from aegis_partition_upkeep(${daysAhead}::int)`;
}

/** Creates missing daily partitions covering [from, to); returns how many. */
export async function ensurePartitions(
  sql: Queryable,
  table: TimeseriesTable,
  from: Date,
  to: Date,
): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`select aegis_ensure_partitions(${table}::regclass, ${from}, ${to}) as n`;
  return row?.n ?? 0;
}

/** Drops partitions (chunks) entirely before `before`; returns how many. */
export async function dropPartitionsBefore(
  sql: Queryable,
  table: TimeseriesTable,
  before: Date,
): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`select aegis_drop_partitions_before(${table}::regclass, ${before}) as n`;
  return row?.n ?? 0;
}

/**
 * Materializes bars_1s and bars_1m for the whole buckets inside [from, to) (both null: rebuild
 * from every retained tick). Must not run inside an explicit transaction on TimescaleDB
 * (refresh_continuous_aggregate refuses one), so call it on the pool, never on a `tx`.
 * On TimescaleDB only the owner can force a refresh; for the app role it is a no-op and the
 * refresh policies keep the bars current.
 */
export async function refreshBars(
  sql: Queryable,
  from: Date | null = null,
  to: Date | null = null,
): Promise<void> {
  await sql`call aegis_refresh_bars(${from}::timestamptz, ${to}::timestamptz)`;
}
