import { decCached, decStr } from '@aegis/shared/accounting/decimal';
import { unrealizedPnl } from '@aegis/shared/accounting/position';
import { equitySnapshots, fills, orders } from '@aegis/shared/db';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { OrderId, TenantId } from '@aegis/shared/ids';
import { TERMINAL_STATUSES, WORKING_STATUSES } from '@aegis/shared/orders/statuses';
import type { FillView, ListOrdersInput } from '@aegis/shared/schemas/order';
import type {
  EquityPoint,
  EquitySeriesInput,
  PnlSummary,
  PositionView,
} from '@aegis/shared/schemas/order-accounting';
import { and, asc, desc, eq, gte, inArray, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Tx } from '../db/database.ts';
import { type BrandedOrderView, norm, toOrderView } from './order-rows.ts';
import { markedLegs, valueDesk } from './valuation.ts';

/** Read side of execution for routers: every query runs in the caller's RLS-scoped transaction. */

export async function listOrders(
  tx: Tx,
  tenantId: TenantId,
  q: ListOrdersInput,
): Promise<BrandedOrderView[]> {
  const where: SQL[] = [eq(orders.tenantId, tenantId)];
  if (q.status === 'working') where.push(inArray(orders.status, [...WORKING_STATUSES]));
  if (q.status === 'terminal') where.push(inArray(orders.status, [...TERMINAL_STATUSES]));
  if (q.symbol) where.push(eq(orders.symbol, q.symbol));
  if (q.before) where.push(lt(orders.createdAt, q.before));
  const rows = await tx
    .select()
    .from(orders)
    .where(and(...where))
    .orderBy(desc(orders.createdAt), desc(orders.id))
    .limit(q.limit);
  return rows.map(toOrderView);
}

export async function getOrderWithFills(
  tx: Tx,
  tenantId: TenantId,
  orderId: OrderId,
): Promise<{ order: BrandedOrderView; fills: FillView[] }> {
  const [row] = await tx
    .select()
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), eq(orders.id, orderId)));
  if (!row) throw new AppError(ErrorCode.NOT_FOUND, 'order not found');
  const fs = await tx
    .select({
      fill: fills,
      tsMicros: sql<string>`to_char(${fills.ts} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(fills)
    .where(and(eq(fills.tenantId, tenantId), eq(fills.orderId, orderId)))
    .orderBy(asc(fills.ts));
  return {
    order: toOrderView(row),
    fills: fs.map(({ fill: f, tsMicros }) => ({
      id: f.id,
      orderId: f.orderId,
      executionId: f.executionId,
      ts: f.ts.toISOString(),
      tsMicros,
      symbol: f.symbol,
      side: f.side,
      quantity: norm(f.quantity),
      price: norm(f.price),
      fee: norm(f.fee),
      liquidity: f.liquidity,
    })),
  };
}

export async function listPositions(tx: Tx, tenantId: TenantId, quotes: QuoteBook): Promise<PositionView[]> {
  const legs = await markedLegs(tx, tenantId, quotes);
  const views: PositionView[] = [];
  for (const l of legs) {
    // Stored text: parsed once while it holds (decCached), as the valuation does.
    const qty = decCached(l.position.quantity);
    if (qty.isZero() && decCached(l.position.realizedPnl).isZero()) continue;
    const mark = l.mark;
    views.push({
      symbol: l.position.symbol,
      quantity: norm(l.position.quantity),
      avgCost: norm(l.position.avgCost),
      mark,
      marketValue: mark === null ? null : decStr(qty.times(decCached(mark)).times(decCached(l.multiplier))),
      unrealizedPnl: mark === null ? null : decStr(unrealizedPnl(l.position, mark, l.multiplier)),
      realizedPnl: norm(l.position.realizedPnl),
      fees: norm(l.position.fees),
      openedAt: l.openedAt?.toISOString() ?? null,
      updatedAt: l.updatedAt.toISOString(),
    });
  }
  return views;
}

export async function pnlSummary(
  tx: Tx,
  tenantId: TenantId,
  quotes: QuoteBook,
  startingCapital: string,
  now: Date,
): Promise<PnlSummary> {
  const v = await valueDesk(tx, tenantId, quotes, startingCapital, now);
  return {
    accounting: 'average_cost',
    ...v.pnl,
    dailyPnl: v.daily.net,
    sessionStart: v.sessionStart.toISOString(),
  };
}

export async function equitySeries(tx: Tx, tenantId: TenantId, q: EquitySeriesInput): Promise<EquityPoint[]> {
  const where: SQL[] = [eq(equitySnapshots.tenantId, tenantId)];
  if (q.from) where.push(gte(equitySnapshots.ts, q.from));
  if (q.to) where.push(lte(equitySnapshots.ts, q.to));
  // Newest `limit` points, returned oldest first for charting.
  const rows = await tx
    .select()
    .from(equitySnapshots)
    .where(and(...where))
    .orderBy(desc(equitySnapshots.ts))
    .limit(q.limit);
  return rows.reverse().map((r) => ({
    ts: r.ts.toISOString(),
    equity: norm(r.equity),
    cash: norm(r.cash),
    realizedPnl: norm(r.realizedPnl),
    unrealizedPnl: norm(r.unrealizedPnl),
    fees: norm(r.fees),
    grossExposure: norm(r.grossExposure),
    netExposure: norm(r.netExposure),
    reason: r.reason,
  }));
}
