import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { pnlByDay } from '@aegis/shared/accounting/pnl-by-day';
import { type equitySnapshots, fills, instruments, orders, proposals, tenants } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import type { BlotterRow, ReportRange } from '@aegis/shared/schemas/reports';
import { and, asc, desc, eq, gte, lte, type SQL, sql } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Tx } from '../db/database.ts';
import { norm } from '../execution/order-rows.ts';
import { listPositions } from '../execution/queries.ts';

/** P&L per instrument: the positions' realized, unrealized (at the live mark) and fees. */
export async function pnlByInstrument(tx: Tx, tenantId: TenantId, quotes: QuoteBook) {
  const rows = await listPositions(tx, tenantId, quotes);
  return rows.map((p) => ({
    symbol: p.symbol,
    quantity: p.quantity,
    avgCost: p.avgCost,
    mark: p.mark,
    realizedPnl: p.realizedPnl,
    unrealizedPnl: p.unrealizedPnl,
    fees: p.fees,
    netPnl: decStr(
      dec(p.realizedPnl)
        .plus(dec(p.unrealizedPnl ?? '0'))
        .minus(dec(p.fees)),
    ),
  }));
}

/**
 * P&L per trading day (the desk's timezone): realized from every fill replayed at average cost
 * (so earlier days' fills count for the cost basis even when the range starts later), and the
 * equity at each day's last snapshot with its change from the previous day's.
 */
export async function pnlByDayReport(tx: Tx, tenantId: TenantId, range: ReportRange) {
  const [desk] = await tx.select({ tz: tenants.timezone }).from(tenants).where(eq(tenants.id, tenantId));
  const tz = desk?.tz ?? 'UTC';
  const dayOf = (col: typeof fills.ts | typeof equitySnapshots.ts) =>
    sql<string>`to_char(${col} at time zone ${tz}, 'YYYY-MM-DD')`;
  const where: SQL[] = [eq(fills.tenantId, tenantId)];
  if (range.to) where.push(lte(fills.ts, new Date(range.to)));
  if (range.symbol) where.push(eq(fills.symbol, range.symbol));
  const rows = await tx
    .select({
      day: dayOf(fills.ts),
      symbol: fills.symbol,
      side: fills.side,
      quantity: fills.quantity,
      price: fills.price,
      fee: fills.fee,
      multiplier: instruments.multiplier,
    })
    .from(fills)
    .leftJoin(instruments, eq(instruments.symbol, fills.symbol))
    .where(and(...where))
    .orderBy(asc(fills.ts), asc(fills.id));
  const [first] = range.from
    ? await tx
        .select({
          d: sql<string>`to_char(${new Date(range.from).toISOString()}::timestamptz at time zone ${tz}, 'YYYY-MM-DD')`,
        })
        .from(tenants)
        .where(eq(tenants.id, tenantId))
    : [];
  const fromDay = first?.d;
  const days = pnlByDay(rows.map((r) => ({ ...r, multiplier: r.multiplier ?? '1' }))).filter(
    (d) => !fromDay || d.day >= fromDay,
  );

  // Equity: the last snapshot of each day (the whole desk; a symbol filter does not apply).
  const closes = range.symbol
    ? []
    : [
        ...(await tx.execute<{ day: string; equity: string }>(sql`
          select distinct on (d.day) d.day, d.equity from (
            select to_char(ts at time zone ${tz}, 'YYYY-MM-DD') as day, equity::text as equity, ts
              from equity_snapshots where tenant_id = ${tenantId}) d
          order by d.day, d.ts desc`)),
      ];
  const closeOf = new Map(closes.map((c) => [c.day, c.equity]));
  const sortedCloses = [...closeOf.keys()].sort();
  return days.map((d) => {
    const close = closeOf.get(d.day) ?? null;
    const prevDay = sortedCloses.filter((k) => k < d.day).at(-1);
    const prev = prevDay ? closeOf.get(prevDay) : undefined;
    return {
      ...d,
      equityClose: close === null ? null : norm(close),
      equityChange: close !== null && prev !== undefined ? decStr(dec(close).minus(dec(prev))) : null,
    };
  });
}

/**
 * Where a fill's order came from, worded as the order drawer words it: an order placed from a
 * proposal is an "agent proposal" (or a "desk proposal" when a person wrote the idea), whoever
 * clicked approve; otherwise the order's own origin (human, api, agent).
 */
function blotterOrigin(origin: string, decider: string | null): string {
  if (decider === null) return origin;
  return decider === 'human' ? 'desk proposal' : 'agent proposal';
}

/** The trade blotter: fills with their orders, newest first, at most `limit` rows. */
export async function blotter(
  tx: Tx,
  tenantId: TenantId,
  range: ReportRange,
  limit: number,
): Promise<BlotterRow[]> {
  const where: SQL[] = [eq(fills.tenantId, tenantId)];
  if (range.from) where.push(gte(fills.ts, new Date(range.from)));
  if (range.to) where.push(lte(fills.ts, new Date(range.to)));
  if (range.symbol) where.push(eq(fills.symbol, range.symbol));
  const rows = await tx
    .select({
      ts: sql<string>`to_char(${fills.ts} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
      symbol: fills.symbol,
      side: fills.side,
      quantity: fills.quantity,
      price: fills.price,
      fee: fills.fee,
      liquidity: fills.liquidity,
      executionId: fills.executionId,
      orderId: orders.id,
      clientOrderId: orders.clientOrderId,
      orderType: orders.orderType,
      origin: orders.origin,
      decider: proposals.decider,
      broker: orders.broker,
      connection: orders.brokerConnectionId,
      multiplier: instruments.multiplier,
    })
    .from(fills)
    .innerJoin(orders, and(eq(orders.tenantId, fills.tenantId), eq(orders.id, fills.orderId)))
    .leftJoin(instruments, eq(instruments.symbol, fills.symbol))
    .leftJoin(proposals, and(eq(proposals.tenantId, orders.tenantId), eq(proposals.id, orders.proposalId)))
    .where(and(...where))
    .orderBy(desc(fills.ts), desc(fills.id))
    .limit(limit);
  return rows.map((r) => ({
    ts: r.ts,
    symbol: r.symbol,
    side: r.side,
    quantity: norm(r.quantity),
    price: norm(r.price),
    fee: norm(r.fee),
    notional: decStr(
      dec(r.quantity)
        .times(dec(r.price))
        .times(dec(r.multiplier ?? '1')),
    ),
    liquidity: r.liquidity,
    orderId: r.orderId,
    clientOrderId: r.clientOrderId,
    orderType: r.orderType,
    origin: blotterOrigin(r.origin, r.decider),
    account: r.connection ? `${r.broker}:${r.connection}` : 'paper',
    executionId: r.executionId,
  }));
}
