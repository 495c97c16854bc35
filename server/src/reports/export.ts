import { orders } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import { EXPORT_MAX_ROWS, type exportInput } from '@aegis/shared/schemas/reports';
import { stringify } from 'csv-stringify/sync';
import { and, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { z } from 'zod';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Tx } from '../db/database.ts';
import { toOrderView } from '../execution/order-rows.ts';
import { type Cell, safeCell } from './csv-cells.ts';
import { blotter, pnlByDayReport, pnlByInstrument } from './queries.ts';

type ExportInput = z.infer<typeof exportInput>;

/**
 * A CSV export of the desk's orders, fills (the blotter's rows), positions with P&L, or P&L by
 * day: RFC 4180 (csv-stringify), a header row, numbers as the exact decimal strings the API
 * carries (no float rounding), times in UTC ISO-8601. Cells that a spreadsheet would run as a
 * formula (starting with = + - @ tab or CR) are prefixed with a quote when they are not numbers.
 */
export async function exportCsv(
  tx: Tx,
  tenantId: TenantId,
  input: ExportInput,
  ctx: { quotes: QuoteBook; startingCapital: string; now: Date },
) {
  const range = input.range;
  let header: string[];
  let rows: Cell[][];
  if (input.kind === 'orders') {
    const where: SQL[] = [eq(orders.tenantId, tenantId)];
    if (range.from) where.push(gte(orders.createdAt, new Date(range.from)));
    if (range.to) where.push(lte(orders.createdAt, new Date(range.to)));
    if (range.symbol) where.push(eq(orders.symbol, range.symbol));
    const list = (
      await tx
        .select()
        .from(orders)
        .where(and(...where))
        .orderBy(desc(orders.createdAt), desc(orders.id))
        .limit(EXPORT_MAX_ROWS + 1)
    ).map(toOrderView);
    header = [
      'created_at',
      'id',
      'client_order_id',
      'symbol',
      'side',
      'type',
      'time_in_force',
      'quantity',
      'limit_price',
      'stop_price',
      'status',
      'filled_quantity',
      'avg_fill_price',
      'fees',
      'reject_reason',
      'origin',
      'broker',
      'broker_order_id',
      'proposal_id',
      'updated_at',
    ];
    rows = list.map((o) => [
      o.createdAt,
      o.id,
      o.clientOrderId,
      o.symbol,
      o.side,
      o.orderType,
      o.timeInForce,
      o.quantity,
      o.limitPrice,
      o.stopPrice,
      o.status,
      o.filledQuantity,
      o.avgFillPrice,
      o.fees,
      o.rejectReason,
      o.origin,
      o.broker,
      o.brokerOrderId,
      o.proposalId,
      o.updatedAt,
    ]);
  } else if (input.kind === 'fills') {
    const list = await blotter(tx, tenantId, range, EXPORT_MAX_ROWS + 1);
    header = [
      'time',
      'symbol',
      'side',
      'quantity',
      'price',
      'notional',
      'fee',
      'liquidity',
      'order_id',
      'client_order_id',
      'order_type',
      'origin',
      'account',
      'execution_id',
    ];
    rows = list.map((f) => [
      f.ts,
      f.symbol,
      f.side,
      f.quantity,
      f.price,
      f.notional,
      f.fee,
      f.liquidity,
      f.orderId,
      f.clientOrderId,
      f.orderType,
      f.origin,
      f.account,
      f.executionId,
    ]);
  } else if (input.kind === 'positions') {
    const list = (await pnlByInstrument(tx, tenantId, ctx.quotes)).filter(
      (p) => !range.symbol || p.symbol === range.symbol,
    );
    header = [
      'symbol',
      'quantity',
      'avg_cost',
      'mark',
      'realized_pnl',
      'unrealized_pnl',
      'fees',
      'net_pnl',
      'as_of',
    ];
    rows = list.map((p) => [
      p.symbol,
      p.quantity,
      p.avgCost,
      p.mark,
      p.realizedPnl,
      p.unrealizedPnl,
      p.fees,
      p.netPnl,
      ctx.now.toISOString(),
    ]);
  } else {
    const list = await pnlByDayReport(tx, tenantId, range);
    header = [
      'day',
      'realized_pnl',
      'fees',
      'net_realized',
      'fills',
      'notional',
      'equity_close',
      'equity_change',
    ];
    rows = list.map((d) => [
      d.day,
      d.realizedPnl,
      d.fees,
      d.netRealized,
      d.fills,
      d.notional,
      d.equityClose,
      d.equityChange,
    ]);
  }
  const truncated = rows.length > EXPORT_MAX_ROWS;
  if (truncated) rows = rows.slice(0, EXPORT_MAX_ROWS);
  const csv = stringify([header, ...rows.map((r) => r.map(safeCell))], { record_delimiter: '\r\n' });
  const stamp = ctx.now.toISOString().slice(0, 19).replaceAll(':', '').replace('T', '-');
  return {
    filename: `aegis-${input.kind.replace('_', '-')}-${stamp}.csv`,
    contentType: 'text/csv' as const,
    rows: rows.length,
    csv,
    truncated,
  };
}
