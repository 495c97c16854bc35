// One file: the per-order (loadRiskInputs) and batched (loadBatchRiskInputs) loads gather the same
// governor facts — valuation, working and recent orders, limits, halt, reducing-only — and share
// their row queries; kept together so both paths judge against facts read the same way.
import { decStr } from '@aegis/shared/accounting/decimal';
import {
  agentSettings,
  combos,
  halts,
  instruments,
  orders,
  riskLimits,
  tradeOutcomes,
} from '@aegis/shared/db';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { collapseOcoGroups } from '@aegis/shared/orders/bracket';
import { AT_BROKER_STATUSES, WORKING_STATUSES } from '@aegis/shared/orders/statuses';
import {
  type InstrumentInfo,
  type OrderIntent,
  type QuoteInfo,
  type RiskContext,
  type RiskLimits,
  resolveLimits,
} from '@aegis/shared/risk/governor';
import type { AssetClass } from '@aegis/shared/risk/limits';
import { and, desc, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Tx } from '../db/database.ts';
import { queryRows } from '../db/rows.ts';
import { combosSentSince } from './combo-rows.ts';
import { haltLatch } from './halt-latch.ts';
import { storedLimits } from './limits.ts';
import { readReducingOnly } from './reducing-only.ts';
import {
  type DeskValuation,
  dailyBase,
  dailyOf,
  legsFromRows,
  positionRows,
  valueDesk,
} from './valuation.ts';

// The status classes come from the one list (shared/src/orders/statuses.ts).
export { AT_BROKER_STATUSES, WORKING_STATUSES };

export type InstrumentRow = typeof instruments.$inferSelect & { underlyingSymbol: string | null };

const underlying = alias(instruments, 'underlying');

export async function loadInstruments(
  tx: Tx,
  symbols: readonly string[],
): Promise<Map<string, InstrumentRow>> {
  if (symbols.length === 0) return new Map();
  const rows = await tx
    .select({ i: instruments, underlyingSymbol: underlying.symbol })
    .from(instruments)
    .leftJoin(underlying, eq(underlying.id, instruments.underlyingId))
    // One array parameter rather than one per symbol: a desk's book names hundreds of symbols,
    // and building and sending a parameter each cost more than the lookup.
    .where(sql`${instruments.symbol} = any(${sql.param([...new Set(symbols)])}::text[])`);
  return new Map(rows.map((r) => [r.i.symbol, { ...r.i, underlyingSymbol: r.underlyingSymbol }]));
}

export function instrumentInfo(r: InstrumentRow): InstrumentInfo {
  return {
    symbol: r.symbol,
    assetClass: r.assetClass,
    multiplier: r.multiplier,
    calendar: r.calendar,
    status: r.status,
    underlyingSymbol: r.underlyingSymbol,
    delta: r.greeks?.delta ?? null,
  };
}

/** The governor's view of a symbol's latest quote (null when none has been seen). */
export function quoteInfoOf(quotes: QuoteBook, symbol: string): QuoteInfo | null {
  const tob = quotes.get(symbol);
  return tob && (tob.tsQuote || tob.tsTrade)
    ? {
        bid: tob.bid ? decStr(tob.bid) : null,
        ask: tob.ask ? decStr(tob.ask) : null,
        last: tob.last ? decStr(tob.last) : null,
        ts: (tob.tsQuote ?? tob.tsTrade)!,
      }
    : null;
}

export interface HaltFlags {
  readonly global: boolean;
  readonly desk: boolean;
}

/** Halts as PostgreSQL has them now: the truth, read in the order's own transaction. */
export async function readHalt(tx: Tx, tenantId: TenantId): Promise<HaltFlags> {
  // Plus halts acknowledged while PostgreSQL was unreachable and not yet durable (halt-latch.ts),
  // looked at before and after the read: an entry leaves the latch only once its row has
  // committed, but the read's snapshot may predate that commit, so a latch seen only after the
  // read would let the halt fall between the two.
  const before = haltLatch.flags(tenantId);
  const rows = await tx
    .select({ scope: halts.scope, engaged: halts.engaged })
    .from(halts)
    .where(or(isNull(halts.tenantId), eq(halts.tenantId, tenantId)));
  const after = haltLatch.flags(tenantId);
  return {
    global: before.global || after.global || rows.some((r) => r.scope === 'global' && r.engaged),
    desk: before.desk || after.desk || rows.some((r) => r.scope === 'desk' && r.engaged),
  };
}

/**
 * The limits one order on `symbol` is checked against ('*': the desk's). `assetClass` picks the
 * asset class's defaults (shared/src/risk/limits.ts); callers that loaded the instrument pass it,
 * otherwise it is read here.
 */
export async function loadLimits(
  tx: Tx,
  tenantId: TenantId,
  symbol: string,
  assetClass?: AssetClass | null,
): Promise<RiskLimits> {
  const rows = await limitRowsOf(tx, tenantId, [symbol]);
  let cls = assetClass;
  if (cls === undefined && symbol !== '*') {
    const [row] = await tx
      .select({ assetClass: instruments.assetClass })
      .from(instruments)
      .where(eq(instruments.symbol, symbol));
    cls = row?.assetClass ?? null;
  }
  return limitsOf(rows, symbol, cls ?? null);
}

type LimitRow = typeof riskLimits.$inferSelect;

/** The desk's stored limit rows: its '*' row and those of `symbols`. */
function limitRowsOf(tx: Tx, tenantId: TenantId, symbols: readonly string[]): Promise<LimitRow[]> {
  return tx
    .select()
    .from(riskLimits)
    .where(and(eq(riskLimits.tenantId, tenantId), inArray(riskLimits.symbol, ['*', ...symbols])));
}

/** The limits an order on `symbol` is checked against, from the desk's rows (`limitRowsOf`). */
function limitsOf(rows: readonly LimitRow[], symbol: string, assetClass: AssetClass | null): RiskLimits {
  const desk = rows.find((r) => r.symbol === '*');
  const inst = rows.find((r) => r.symbol === symbol && symbol !== '*');
  return resolveLimits(desk ? storedLimits(desk) : null, inst ? storedLimits(inst) : null, assetClass);
}

export interface RiskInputs {
  readonly ctx: RiskContext;
  readonly limits: RiskLimits;
  readonly instrument: InstrumentRow;
  /**
   * Why the desk is reducing-only without a halt (a broker circuit open), or null. The
   * governor sees it as a desk halt (ctx.halt.desk); the halt rows themselves are in
   * `switches`.
   */
  readonly reducingOnly: string | null;
  readonly switches: HaltFlags;
  /** Every instrument row loaded (the order's, the book's, their underlyings', `extraSymbols`). */
  readonly instrumentRows: ReadonlyMap<string, InstrumentRow>;
}

/**
 * Loads everything the governor needs in the caller's transaction (the one that will write the
 * order, after the per-desk order lock), so the check and the write see the same book.
 */
export async function loadRiskInputs(
  tx: Tx,
  tenantId: TenantId,
  order: OrderIntent,
  deps: {
    quotes: QuoteBook;
    startingCapital: string;
    now: Date;
    /** More instruments to load with their marks (a combo's other legs). */
    extraSymbols?: readonly string[];
  },
): Promise<RiskInputs> {
  const { now, quotes } = deps;
  // Independent reads issued together: postgres.js pipelines them on the transaction's
  // connection, so each round costs one round trip rather than one per statement. Round 1: what
  // needs nothing else (the order's own instrument, for its limits' asset-class defaults).
  const [posRows, base, workingRows, limitRows, orderInsts, [settings], switches, reducingOnly] =
    await Promise.all([
      positionRows(tx, tenantId),
      dailyBase(tx, tenantId, now),
      tx
        .select({
          symbol: orders.symbol,
          side: orders.side,
          leavesQty: sql<string>`(${orders.quantity} - ${orders.filledQuantity})::text`,
          limitPrice: orders.limitPrice,
          ocoGroup: orders.ocoGroup,
        })
        .from(orders)
        .where(and(eq(orders.tenantId, tenantId), inArray(orders.status, [...WORKING_STATUSES]))),
      limitRowsOf(tx, tenantId, [order.symbol]),
      loadInstruments(tx, [order.symbol, ...(deps.extraSymbols ?? [])]),
      tx
        .select({ automationEnabled: agentSettings.automationEnabled })
        .from(agentSettings)
        .where(eq(agentSettings.tenantId, tenantId)),
      readHalt(tx, tenantId),
      readReducingOnly(tx, tenantId),
    ]);
  // The two legs of a bracket can never both fill: the group counts once (its larger leaves).
  const working = collapseOcoGroups(workingRows);
  const limits = limitsOf(limitRows, order.symbol, orderInsts.get(order.symbol)?.assetClass ?? null);
  const windowMs = Math.max(60_000, limits.duplicateWindowMs ?? 0); // null: removed
  const streak = limits.lossStreakCount ?? 1; // null: streak limit removed, nothing to look at
  const symbols = new Set<string>([
    order.symbol,
    ...(deps.extraSymbols ?? []),
    ...posRows.map((r) => r.symbol),
    ...working.map((w) => w.symbol),
  ]);
  // Round 2: what depends on round 1 (the book's instruments, the limits' windows).
  const [others, recent, recentCombos, outcomes] = await Promise.all([
    loadInstruments(
      tx,
      [...symbols].filter((s) => !orderInsts.has(s)),
    ),
    recentOrders(tx, tenantId, new Date(now.getTime() - windowMs)),
    // One entry per combo for the throttle; its symbol matches no order, so the single-order
    // duplicate guard never takes a combo for a duplicate (combos have their own guard).
    tx
      .select({ id: combos.id, createdAt: combos.createdAt })
      .from(combos)
      .where(combosSentSince(tenantId, new Date(now.getTime() - windowMs))),
    lastOutcomes(tx, tenantId, Math.max(1, streak)),
  ]);
  for (const c of recentCombos) {
    recent.push({
      symbol: `combo:${c.id}`,
      side: 'buy',
      orderType: 'market',
      quantity: '0',
      limitPrice: null,
      stopPrice: null,
      createdAt: c.createdAt,
    });
  }
  recent.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  // Reducing-only (a broker's circuit open) is judged like a desk halt, without its cancels.
  const halt = { global: switches.global, desk: switches.desk || reducingOnly !== null };

  const insts = new Map([...orderInsts, ...others]);
  // The positions valued as valueDesk values them (multipliers from the rows just loaded).
  const legs = legsFromRows(posRows, quotes, (s) => insts.get(s)?.multiplier);
  const valuation = { legs, daily: dailyOf(legs, base) };
  for (const i of [...insts.values()]) if (i.underlyingSymbol) symbols.add(i.underlyingSymbol);
  const instrument = insts.get(order.symbol);
  if (!instrument) throw new AppError(ErrorCode.NOT_FOUND, `unknown instrument ${order.symbol}`);

  const ctx: RiskContext = {
    now,
    instrument: instrumentInfo(instrument),
    quote: quoteInfoOf(quotes, order.symbol),
    ...deskContext(quotes, insts, symbols, valuation, {
      workingOrders: working,
      recentOrders: recent,
      recentTradePnls: outcomes.map((o) => o.pnl),
      automationEnabled: settings?.automationEnabled ?? true,
      halt,
    }),
  };
  return { ctx, limits, instrument, reducingOnly, switches, instrumentRows: insts };
}

/**
 * What a batch of orders on one desk is judged against (placement-batch.ts), read once after the
 * desk's order lock: the same facts as `loadRiskInputs`, but
 * - working orders summed per (symbol, side) in SQL (the book only adds their leaves; OCO groups
 *   still come row by row, to count once at their larger leaves);
 * - the last minute of orders counted in SQL, and only up to the largest throttle limit in play
 *   (a count at the limit already denies), instead of every row being sent over;
 * - recent rows only for the duplicate guard: the batch's symbols within the duplicate window.
 * The caller adds each order it accepts to `working`, `recent` and `recentCount` before judging
 * the next, so order n of the batch sees orders 1..n-1 exactly as it would have seen them
 * committed.
 */
export interface BatchRiskBase {
  readonly ctx: Omit<RiskContext, 'instrument' | 'quote' | 'now'>;
  readonly limitsBySymbol: ReadonlyMap<string, RiskLimits>;
  readonly instrumentRows: ReadonlyMap<string, InstrumentRow>;
  readonly reducingOnly: string | null;
  readonly switches: HaltFlags;
  readonly working: WorkingOrderInfo[];
  readonly recent: RecentOrderRow[];
  readonly recentCount: number;
}

interface WorkingOrderRow {
  symbol: string;
  side: 'buy' | 'sell';
  leavesQty: string;
  limitPrice: string | null;
  ocoGroup: string | null;
}
type WorkingOrderInfo = RiskContext['workingOrders'][number];
type RecentOrderRow = RiskContext['recentOrders'][number];

export async function loadBatchRiskInputs(
  tx: Tx,
  tenantId: TenantId,
  symbols: readonly string[],
  deps: { quotes: QuoteBook; startingCapital: string; now: Date },
): Promise<BatchRiskBase> {
  const { now, quotes } = deps;
  // Independent reads issued together: postgres.js pipelines them on the transaction's
  // connection, so they cost one round trip rather than one each (the desk lock is held).
  const [valuation, workingRows, limitRows, halt0, reducingOnly, [settings], batchInsts] = await Promise.all([
    valueDesk(tx, tenantId, quotes, deps.startingCapital, now),
    queryRows<WorkingOrderRow>(
      tx,
      sql`
      select symbol, side, sum(quantity - filled_quantity)::text as "leavesQty", null as "limitPrice", null as "ocoGroup"
        from orders
       where tenant_id = ${tenantId} and status in ${sql.raw(`(${WORKING_STATUSES.map((s) => `'${s}'`).join(',')})`)}
         and oco_group is null
       group by symbol, side
      union all
      select symbol, side, (quantity - filled_quantity)::text, limit_price::text, oco_group::text
        from orders
       where tenant_id = ${tenantId} and status in ${sql.raw(`(${WORKING_STATUSES.map((s) => `'${s}'`).join(',')})`)}
         and oco_group is not null`,
    ),
    tx
      .select()
      .from(riskLimits)
      .where(and(eq(riskLimits.tenantId, tenantId), inArray(riskLimits.symbol, ['*', ...symbols]))),
    readHalt(tx, tenantId),
    readReducingOnly(tx, tenantId),
    tx
      .select({ automationEnabled: agentSettings.automationEnabled })
      .from(agentSettings)
      .where(eq(agentSettings.tenantId, tenantId)),
    loadInstruments(tx, symbols),
  ]);
  const working = collapseOcoGroups(workingRows);

  const desk = limitRows.find((r) => r.symbol === '*');
  const limitsBySymbol = new Map<string, RiskLimits>();
  for (const s of symbols) {
    const inst = limitRows.find((r) => r.symbol === s && s !== '*');
    limitsBySymbol.set(
      s,
      resolveLimits(
        desk ? storedLimits(desk) : null,
        inst ? storedLimits(inst) : null,
        batchInsts.get(s)?.assetClass ?? null,
      ),
    );
  }
  const limits = [...limitsBySymbol.values()];
  const throttles = limits.map((l) => l.maxOrdersPerMinute).filter((m): m is number => m !== null);
  const dupWindows = limits.map((l) => l.duplicateWindowMs).filter((m): m is number => m !== null);
  const streak = Math.max(1, ...limits.map((l) => l.lossStreakCount ?? 1));

  // The throttle counts single orders (bracket legs and combo legs ride in their entry's request)
  // and combos, not denied, in the last 60 s; capped at the largest limit in play.
  const cap = throttles.length > 0 ? Math.max(...throttles) : 0;
  const since = new Date(now.getTime() - 60_000).toISOString();
  const all = new Set<string>([
    ...symbols,
    ...valuation.legs.map((l) => l.position.symbol),
    ...working.map((w) => w.symbol),
  ]);
  const [others, countRows, recent, outcomes] = await Promise.all([
    loadInstruments(
      tx,
      [...all].filter((s) => !batchInsts.has(s)),
    ),
    // The throttle counts single orders (bracket and combo legs ride in their entry's request)
    // and combos, not denied, in the last 60 s; capped at the largest limit in play.
    cap === 0
      ? Promise.resolve([])
      : (tx.execute(sql`
      select (select count(*) from (select 1 from orders
                where tenant_id = ${tenantId} and created_at > ${since}::timestamptz and status <> 'denied'
                  and parent_order_id is null and combo_id is null limit ${cap}) o)
           + (select count(*) from (select 1 from combos
                where tenant_id = ${tenantId} and created_at > ${since}::timestamptz and status <> 'denied'
                limit ${cap}) c) as n`) as unknown as Promise<Array<{ n: string | number }>>),
    dupWindows.length === 0
      ? Promise.resolve([] as RecentOrderRow[])
      : recentOrders(tx, tenantId, new Date(now.getTime() - Math.max(...dupWindows)), [...symbols]),
    lastOutcomes(tx, tenantId, streak),
  ]);
  const recentCount = Math.min(cap, Number(countRows[0]?.n ?? 0));
  const insts = new Map([...batchInsts, ...others]);
  for (const i of [...insts.values()]) if (i.underlyingSymbol) all.add(i.underlyingSymbol);

  return {
    ctx: deskContext(quotes, insts, all, valuation, {
      workingOrders: working,
      recentOrders: recent,
      recentTradePnls: outcomes.map((o) => o.pnl),
      automationEnabled: settings?.automationEnabled ?? true,
      halt: { global: halt0.global, desk: halt0.desk || reducingOnly !== null },
    }),
    limitsBySymbol,
    instrumentRows: insts,
    reducingOnly,
    switches: halt0,
    working,
    recent,
    recentCount,
  };
}

/** The desk's last `n` closed trade outcomes, newest first: what the loss-streak rule reads. */
function lastOutcomes(tx: Tx, tenantId: TenantId, n: number) {
  return tx
    .select({ pnl: tradeOutcomes.pnl })
    .from(tradeOutcomes)
    .where(eq(tradeOutcomes.tenantId, tenantId))
    .orderBy(desc(tradeOutcomes.closedAt), desc(tradeOutcomes.createdAt))
    .limit(n);
}

/**
 * Marks for `symbols` from the venue quotes; legs with no live quote are marked at their average
 * cost (see valuation.ts).
 */
function marksOf(
  quotes: QuoteBook,
  symbols: Iterable<string>,
  valuation: Pick<DeskValuation, 'legs'>,
): Record<string, string> {
  const marks: Record<string, string> = {};
  for (const s of symbols) {
    const m = quotes.mark(s);
    if (m) marks[s] = decStr(m);
  }
  for (const l of valuation.legs)
    if (!(l.position.symbol in marks)) marks[l.position.symbol] = l.position.avgCost;
  return marks;
}

/**
 * The desk's side of a RiskContext, as the single and the batch loads both build it: reference
 * data and marks for `symbols`, positions and daily P&L from the valuation, and what each load
 * read itself (`read`).
 */
function deskContext(
  quotes: QuoteBook,
  insts: ReadonlyMap<string, InstrumentRow>,
  symbols: Iterable<string>,
  valuation: Pick<DeskValuation, 'legs' | 'daily'>,
  read: Pick<
    RiskContext,
    'workingOrders' | 'recentOrders' | 'recentTradePnls' | 'automationEnabled' | 'halt'
  >,
): Omit<RiskContext, 'instrument' | 'quote' | 'now'> {
  const instruments: Record<string, InstrumentInfo> = {};
  for (const [s, r] of insts) instruments[s] = instrumentInfo(r);
  return {
    instruments,
    marks: marksOf(quotes, symbols, valuation),
    positions: valuation.legs.map((l) => ({ symbol: l.position.symbol, quantity: l.position.quantity })),
    dailyPnl: { realized: valuation.daily.realized, unrealized: valuation.daily.unrealized },
    ...read,
  };
}

/**
 * The desk's orders placed since `since` (the throttle's and the duplicate guard's window),
 * newest first, optionally only those in `symbols`. Denied orders are not counted; bracket and
 * combo legs neither: they go out in their entry's (or combo's) one request, which is what counts.
 */
function recentOrders(tx: Tx, tenantId: TenantId, since: Date, symbols?: readonly string[]) {
  return tx
    .select({
      symbol: orders.symbol,
      side: orders.side,
      orderType: orders.orderType,
      quantity: orders.quantity,
      limitPrice: orders.limitPrice,
      stopPrice: orders.stopPrice,
      createdAt: orders.createdAt,
    })
    .from(orders)
    .where(
      and(
        eq(orders.tenantId, tenantId),
        ne(orders.status, 'denied'),
        gt(orders.createdAt, since),
        symbols ? inArray(orders.symbol, [...symbols]) : undefined,
        isNull(orders.parentOrderId),
        isNull(orders.comboId),
      ),
    )
    .orderBy(desc(orders.createdAt));
}
