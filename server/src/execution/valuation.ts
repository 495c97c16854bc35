import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { type DeskPnl, deskPnl, type MarkedPosition } from '@aegis/shared/accounting/pnl';
import { equitySnapshots, instruments, positions, tenants } from '@aegis/shared/db';
import { and, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Tx } from '../db/database.ts';

/**
 * A desk's valuation from its positions (average cost) and the latest marks. A leg with no
 * mark (no quote seen since start) is valued at its average cost: zero unrealized P&L rather
 * than a guess. Daily P&L is today's net P&L less the net P&L of the last equity snapshot at or
 * before the session start (midnight in the desk's timezone).
 */
export interface DeskValuation {
  readonly pnl: DeskPnl;
  readonly legs: readonly (MarkedPosition & { readonly openedAt: Date | null; readonly updatedAt: Date })[];
  readonly sessionStart: Date;
  /** Net P&L since the session start: realized part (net of fees) and unrealized part. */
  readonly daily: { readonly realized: string; readonly unrealized: string; readonly net: string };
}

export async function sessionStartOf(tx: Tx, tenantId: string, now: Date): Promise<Date> {
  const [row] = await tx
    .select({
      start:
        sql<Date>`(date_trunc('day', ${now.toISOString()}::timestamptz at time zone ${tenants.timezone}) at time zone ${tenants.timezone})`.mapWith(
          (v: string | Date) => new Date(v),
        ),
    })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  // Desks are always in `tenants`; fall back to UTC midnight rather than failing an order.
  return row?.start ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export async function multipliersOf(tx: Tx, symbols: readonly string[]): Promise<Map<string, string>> {
  if (symbols.length === 0) return new Map();
  const rows = await tx
    .select({ symbol: instruments.symbol, multiplier: instruments.multiplier })
    .from(instruments)
    .where(inArray(instruments.symbol, [...symbols]));
  return new Map(rows.map((r) => [r.symbol, r.multiplier]));
}

/** The desk's positions with their marks and multipliers (two statements, no P&L). */
export async function markedLegs(tx: Tx, tenantId: string, quotes: QuoteBook) {
  const rows = await tx.select().from(positions).where(eq(positions.tenantId, tenantId));
  const mults = await multipliersOf(
    tx,
    rows.map((r) => r.symbol),
  );
  return rows.map((r) => {
    const mark = quotes.mark(r.symbol);
    return {
      position: {
        symbol: r.symbol,
        quantity: r.quantity,
        avgCost: r.avgCost,
        realizedPnl: r.realizedPnl,
        fees: r.fees,
      },
      mark: mark ? decStr(mark) : null,
      multiplier: mults.get(r.symbol) ?? '1',
      openedAt: r.openedAt,
      updatedAt: r.updatedAt,
    };
  });
}

export async function valueDesk(
  tx: Tx,
  tenantId: string,
  quotes: QuoteBook,
  startingCapital: string,
  now: Date,
): Promise<DeskValuation> {
  const legs = await markedLegs(tx, tenantId, quotes);
  const pnl = deskPnl(startingCapital, legs);
  const sessionStart = await sessionStartOf(tx, tenantId, now);
  const [base] = await tx
    .select()
    .from(equitySnapshots)
    .where(and(eq(equitySnapshots.tenantId, tenantId), lte(equitySnapshots.ts, sessionStart)))
    .orderBy(desc(equitySnapshots.ts))
    .limit(1);
  const baseRealized = base ? dec(base.realizedPnl).minus(dec(base.fees)) : dec(0);
  const baseUnrealized = base ? dec(base.unrealizedPnl) : dec(0);
  const realized = dec(pnl.realizedPnl).minus(dec(pnl.fees)).minus(baseRealized);
  const unrealized = dec(pnl.unrealizedPnl).minus(baseUnrealized);
  return {
    pnl,
    legs,
    sessionStart,
    daily: {
      realized: decStr(realized),
      unrealized: decStr(unrealized),
      net: decStr(realized.plus(unrealized)),
    },
  };
}

/** Appends one equity snapshot for the desk (on every fill, on an interval, after reconciling). */
export async function writeEquitySnapshot(
  tx: Tx,
  tenantId: string,
  v: DeskValuation,
  reason: 'fill' | 'interval' | 'reconcile',
  ts: Date,
): Promise<void> {
  await tx.insert(equitySnapshots).values({
    tenantId,
    ts,
    equity: v.pnl.equity,
    cash: v.pnl.cash,
    realizedPnl: v.pnl.realizedPnl,
    unrealizedPnl: v.pnl.unrealizedPnl,
    fees: v.pnl.fees,
    grossExposure: v.pnl.grossExposure,
    netExposure: v.pnl.netExposure,
    reason,
  });
}
