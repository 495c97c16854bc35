import type { Sql } from 'postgres';

/**
 * Desk state the execution tests set up and wipe between tests, written as the owner role: the
 * trading tables in an order their foreign keys allow deleting, and the desk's risk-limit row.
 */

/** The tables one test's trading leaves rows in, children before parents. */
const TRADING_TABLES = [
  'fills',
  'outbox',
  'idempotency_keys',
  'trade_outcomes',
  'equity_snapshots',
  'positions',
  'orders',
  'risk_limits',
  'halts',
  'agent_settings',
] as const;

/**
 * Deletes every row of the trading tables, and of `alsoAfterOrders` (tables orders point at, such
 * as combos, proposals or broker_connections) right after `orders`.
 */
export async function clearTrading(sql: Sql, alsoAfterOrders: readonly string[] = []): Promise<void> {
  for (const t of TRADING_TABLES) {
    await sql.unsafe(`delete from ${t}`);
    if (t === 'orders') for (const also of alsoAfterOrders) await sql.unsafe(`delete from ${also}`);
  }
}

/** The rules a desk may remove outright ("no limit"), so a test turns on only the rule it probes. */
export const PROTECTIVE_LIMITS = [
  'priceCollarBps',
  'maxReferenceAgeMs',
  'maxSpreadBps',
  'duplicateWindowMs',
  'maxOrdersPerMinute',
] as const;

/** The `removed_limits` value recording `fields` as explicitly removed now. */
const removals = (sql: Sql, fields: readonly string[]) => {
  const at = { at: new Date().toISOString(), by: null };
  return sql.json(Object.fromEntries(fields.map((f) => [f, at])));
};

/**
 * Inserts the desk row (symbol '*') with money limits wide enough for whole-coin orders (one BTC
 * is already the platform's default order notional), `over` merged in, and `removed` recorded as
 * explicit removals.
 */
export async function insertDeskLimits(
  sql: Sql,
  tenantId: string,
  over: Record<string, unknown> = {},
  removed: readonly string[] = [],
): Promise<void> {
  await sql`insert into risk_limits ${sql({
    tenant_id: tenantId,
    symbol: '*',
    max_order_notional: '10000000',
    max_gross_exposure: '100000000',
    max_net_exposure: '100000000',
    max_net_delta: '100000000',
    max_daily_loss: '10000000',
    ...over,
    ...(removed.length > 0 && { removed_limits: removals(sql, removed) }),
  } as never)}`;
}

/** Merges `values` into the desk row; `removed` replaces its explicit removals. */
export async function mergeDeskLimits(
  sql: Sql,
  tenantId: string,
  values: Record<string, string | number>,
  removed: readonly string[] = [],
): Promise<void> {
  await sql`update risk_limits set ${sql({ ...values, removed_limits: removals(sql, removed) } as never)}
    where tenant_id = ${tenantId} and symbol = '*'`;
}
