import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { orders, positions } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import { type BookInstrument, type DeskGreeks, deskGreeks } from '@aegis/shared/options/greeks-book';
import type { DeskGreeksView } from '@aegis/shared/schemas/greeks';
import { and, eq, inArray, ne } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Tx } from '../db/database.ts';
import { loadInstruments, loadLimits, WORKING_STATUSES } from '../execution/risk-context.ts';
import { normBand, readHedgeSettings } from './store.ts';

/**
 * A desk's Greeks as the console and the hedger see them: its non-flat positions, their
 * instruments and underlyings, marks from this process's quote book (the one price source),
 * the desk's effective net-delta and open-legs limits and the hedger's bands.
 */

export interface GreeksOptions {
  /** Continuous risk-free rate for implied volatility and Greeks. */
  readonly rate: number;
  /** Dividend yield of equity underlyings (BSM); others none. */
  readonly dividendYield: number;
}

export interface LoadedDeskGreeks {
  readonly view: DeskGreeksView;
  readonly book: DeskGreeks;
  readonly instruments: Readonly<Record<string, BookInstrument & { lotSize: string; calendar: string }>>;
  readonly marks: Readonly<Record<string, string>>;
  /** Every symbol whose price moves the view (positions and their underlyings). */
  readonly priceSymbols: ReadonlySet<string>;
}

type InstrumentRow = Awaited<ReturnType<typeof loadInstruments>> extends Map<string, infer R> ? R : never;

function bookInstrument(r: InstrumentRow): BookInstrument & { lotSize: string; calendar: string } {
  const iv = (r.greeks as { iv?: unknown } | null)?.iv;
  return {
    symbol: r.symbol,
    assetClass: r.assetClass,
    multiplier: r.multiplier,
    underlyingSymbol: r.underlyingSymbol,
    optionRight: r.optionRight,
    strike: r.strike,
    expiry: r.expiry,
    greeks: typeof iv === 'number' ? { iv } : null,
    lotSize: r.lotSize,
    calendar: r.calendar,
  };
}

/**
 * Loads instruments and marks for `symbols` and their underlyings (two levels: an option on a
 * future whose own underlying is an index still finds the future).
 */
export async function loadPricing(tx: Tx, symbols: readonly string[], quotes: QuoteBook) {
  const rows = await loadInstruments(tx, symbols);
  const under = [...rows.values()]
    .map((r) => r.underlyingSymbol)
    .filter((s): s is string => !!s && !rows.has(s));
  if (under.length > 0) for (const [s, r] of await loadInstruments(tx, under)) rows.set(s, r);
  const instruments: Record<string, BookInstrument & { lotSize: string; calendar: string }> = {};
  const marks: Record<string, string> = {};
  for (const [s, r] of rows) {
    instruments[s] = bookInstrument(r);
    const m = quotes.mark(s);
    if (m) marks[s] = decStr(m);
  }
  return { instruments, marks };
}

export async function loadDeskGreeks(
  tx: Tx,
  tenantId: TenantId,
  quotes: QuoteBook,
  now: Date,
  options: GreeksOptions,
): Promise<LoadedDeskGreeks> {
  const held = await tx
    .select({ symbol: positions.symbol, quantity: positions.quantity })
    .from(positions)
    .where(and(eq(positions.tenantId, tenantId), ne(positions.quantity, '0')));
  const working = await tx
    .selectDistinct({ symbol: orders.symbol })
    .from(orders)
    .where(and(eq(orders.tenantId, tenantId), inArray(orders.status, [...WORKING_STATUSES])));
  const settings = await readHedgeSettings(tx, tenantId);
  const targets = settings?.enabled ? settings.targets : [];
  const { instruments, marks } = await loadPricing(
    tx,
    [...held.map((p) => p.symbol), ...targets.flatMap((t) => [t.underlying, t.hedgeSymbol])],
    quotes,
  );
  const book = deskGreeks({
    positions: held.map((p) => ({ symbol: p.symbol, quantity: decStr(dec(p.quantity)) })),
    instruments,
    marks,
    rate: options.rate,
    dividendYield: options.dividendYield,
    now,
  });
  const limits = await loadLimits(tx, tenantId, '*');
  const open = new Set([...held.map((p) => p.symbol), ...working.map((w) => w.symbol)]);
  const bands = new Map(targets.map((t) => [t.underlying, normBand(t.band)]));
  const priceSymbols = new Set<string>();
  for (const p of held) {
    priceSymbols.add(p.symbol);
    const u = instruments[p.symbol]?.underlyingSymbol;
    if (u) priceSymbols.add(u);
  }
  for (const t of targets) priceSymbols.add(t.hedgeSymbol).add(t.underlying);
  const view: DeskGreeksView = {
    asOf: now.toISOString(),
    totals: book.totals,
    byUnderlying: book.byUnderlying.map((g) => ({
      underlying: g.underlying,
      price: g.price,
      totals: g.totals,
      band: bands.get(g.underlying) ?? null,
    })),
    positions: [...book.positions],
    missing: [...book.missing],
    limits: {
      maxNetDelta: limits.maxNetDelta,
      maxOpenLegs: limits.maxOpenLegs,
      openLegs: open.size,
    },
  };
  return { view, book, instruments, marks, priceSymbols };
}
