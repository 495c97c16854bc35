import { dec, decCached, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { type DeskPnl, deskPnl, type MarkedPosition } from '@aegis/shared/accounting/pnl';
import { unrealizedPnl } from '@aegis/shared/accounting/position';
import { equitySnapshots, instruments, positions, tenants } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
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

/** Midnight of `now` in the desk's timezone: an expression over the `tenants` row. */
const localMidnight = (now: Date) =>
  sql<Date>`(date_trunc('day', ${now.toISOString()}::timestamptz at time zone ${tenants.timezone}) at time zone ${tenants.timezone})`;
const utcMidnight = (now: Date) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));

export async function sessionStartOf(tx: Tx, tenantId: TenantId, now: Date): Promise<Date> {
  const [row] = await tx
    .select({ start: localMidnight(now).mapWith((v: string | Date) => new Date(v)) })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  // Desks are always in `tenants`; fall back to UTC midnight rather than failing an order.
  return row?.start ?? utcMidnight(now);
}

export async function multipliersOf(tx: Tx, symbols: readonly string[]): Promise<Map<string, string>> {
  if (symbols.length === 0) return new Map();
  const rows = await tx
    .select({ symbol: instruments.symbol, multiplier: instruments.multiplier })
    .from(instruments)
    .where(inArray(instruments.symbol, [...symbols]));
  return new Map(rows.map((r) => [r.symbol, r.multiplier]));
}

type PositionRow = typeof positions.$inferSelect;
type Leg = DeskValuation['legs'][number];

/** The desk's position rows (one statement). */
export function positionRows(tx: Tx, tenantId: TenantId): Promise<PositionRow[]> {
  return tx.select().from(positions).where(eq(positions.tenantId, tenantId));
}

/**
 * Position rows as marked legs: the latest quote's mark (null when none) and the instrument's
 * multiplier (`multiplierOf`; '1' when the symbol has no instrument row).
 */
export function legsFromRows(
  rows: readonly PositionRow[],
  quotes: QuoteBook,
  multiplierOf: (symbol: string) => string | undefined,
): Leg[] {
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
      multiplier: multiplierOf(r.symbol) ?? '1',
      openedAt: r.openedAt,
      updatedAt: r.updatedAt,
    };
  });
}

/**
 * The desk's positions with their marks and multipliers (one statement, no P&L). The instrument's
 * multiplier comes by a join: a second statement listing every symbol of a book of hundreds
 * was longer than the one it served, and too long to keep prepared.
 */
export async function markedLegs(tx: Tx, tenantId: TenantId, quotes: QuoteBook) {
  const rows = await tx
    .select({ position: positions, multiplier: instruments.multiplier })
    .from(positions)
    .leftJoin(instruments, eq(instruments.symbol, positions.symbol))
    .where(eq(positions.tenantId, tenantId));
  const mults = new Map<string, string>();
  for (const r of rows) if (r.multiplier !== null) mults.set(r.position.symbol, r.multiplier);
  return legsFromRows(
    rows.map((r) => r.position),
    quotes,
    (s) => mults.get(s),
  );
}

/** The P&L figures of the equity snapshot daily P&L is measured from. */
export interface DailyBase {
  readonly realizedPnl: string;
  readonly fees: string;
  readonly unrealizedPnl: string;
}

/**
 * The last equity snapshot at or before the session start (midnight in the desk's timezone, as
 * `sessionStartOf` computes it, UTC midnight when the desk has no row), in one statement; null
 * when there is none.
 */
export async function dailyBase(tx: Tx, tenantId: TenantId, now: Date): Promise<DailyBase | null> {
  const [row] = await tx
    .select({
      realizedPnl: equitySnapshots.realizedPnl,
      fees: equitySnapshots.fees,
      unrealizedPnl: equitySnapshots.unrealizedPnl,
    })
    .from(equitySnapshots)
    .where(
      and(
        eq(equitySnapshots.tenantId, tenantId),
        lte(
          equitySnapshots.ts,
          sql`coalesce((select ${localMidnight(now)} from ${tenants} where ${tenants.id} = ${tenantId}), ${utcMidnight(now).toISOString()}::timestamptz)`,
        ),
      ),
    )
    .orderBy(desc(equitySnapshots.ts))
    .limit(1);
  return row ?? null;
}

/**
 * Net P&L since the session start: today's realized (net of fees) and unrealized P&L of `legs`
 * (a leg with no mark at its average cost) less those of `base`. The one computation behind
 * `valueDesk(...).daily` and the governor's daily P&L.
 */
export function dailyOf(
  legs: readonly MarkedPosition[],
  base: DailyBase | null | undefined,
): DeskValuation['daily'] {
  let realized = ZERO;
  let fees = ZERO;
  let unrealized = ZERO;
  for (const l of legs) {
    const p = l.position;
    realized = realized.plus(decCached(p.realizedPnl));
    fees = fees.plus(decCached(p.fees));
    unrealized = unrealized.plus(unrealizedPnl(p, l.mark ?? p.avgCost, l.multiplier));
  }
  const baseRealized = base ? dec(base.realizedPnl).minus(dec(base.fees)) : ZERO;
  const baseUnrealized = base ? dec(base.unrealizedPnl) : ZERO;
  const r = realized.minus(fees).minus(baseRealized);
  const u = unrealized.minus(baseUnrealized);
  return { realized: decStr(r), unrealized: decStr(u), net: decStr(r.plus(u)) };
}

export async function valueDesk(
  tx: Tx,
  tenantId: TenantId,
  quotes: QuoteBook,
  startingCapital: string,
  now: Date,
): Promise<DeskValuation> {
  // Independent reads, pipelined on the transaction's connection.
  const [legs, sessionStart, base] = await Promise.all([
    markedLegs(tx, tenantId, quotes),
    sessionStartOf(tx, tenantId, now),
    dailyBase(tx, tenantId, now),
  ]);
  const pnl = deskPnl(startingCapital, legs);
  return { pnl, legs, sessionStart, daily: dailyOf(legs, base) };
}

/** Appends one equity snapshot for the desk (on every fill, on an interval, after reconciling). */
export async function writeEquitySnapshot(
  tx: Tx,
  tenantId: TenantId,
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
