import { instruments } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { and, eq, inArray, ne, notInArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type AuditActor, audit } from '../audit/service.ts';
import type { Db } from '../db/database.ts';
import type { ServerConfig } from '../env.ts';
import { type AuditMeta, type InstrumentRegistry, trimDecimal } from './instrument-registry.ts';
import { loadAlpacaAssets } from './loaders/alpaca-assets.ts';
import { ccxtExchangeIdOf, loadCcxtMarkets } from './loaders/ccxt-markets.ts';
import { loadCoinbaseProducts } from './loaders/coinbase-products.ts';
import type { Catalogue, CatalogueEntry, CatalogueRequest } from './loaders/venue-catalogue.ts';

/**
 * instruments.load: reads a venue's published instrument list (loaders/) and merges it into the
 * registry in one transaction, audited on the platform chain.
 *
 *   new symbol                          inserted, source 'venue'
 *   row from this venue or the seed     updated when a field differs (source becomes 'venue')
 *   row an admin edited (source admin)  left alone, counted `keptAdmin`: an admin's correction
 *                                       outlives the venue's next refresh
 *   symbol or venue symbol held by a    left alone, counted `conflicts`
 *   row of another venue
 *   listed before, not any more         delisted (full loads only, rows from this venue)
 */
export const instrumentLoadResult = z.object({
  venue: z.string(),
  /** Instruments the venue listed that the loader could use. */
  listed: z.number(),
  inserted: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  keptAdmin: z.number(),
  conflicts: z.number(),
  delisted: z.number(),
  /** Entries left out, by reason (malformed, unsupported). */
  skipped: z.record(z.string(), z.number()),
});
export type InstrumentLoadResult = z.infer<typeof instrumentLoadResult>;

const LOADABLE = 'COINBASE, ALPACA, or a ccxt exchange id in upper case (BINANCE, KRAKEN, OKX…)';

/** Fetches the venue's list (no database work). */
export async function fetchCatalogue(
  config: ServerConfig,
  venue: string,
  req: CatalogueRequest,
): Promise<Catalogue> {
  if (venue === 'COINBASE') return loadCoinbaseProducts(config.brokers.coinbase.api.live.apiBaseUrl, req);
  if (venue === 'ALPACA') {
    const keys = config.instrumentSources.alpacaKeys;
    if (!keys)
      throw new AppError(
        'PRECONDITION_FAILED',
        'venue: loading ALPACA needs ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY on the server',
        { field: 'venue' },
      );
    return loadAlpacaAssets(config.brokers.alpaca.api.live.apiBaseUrl, keys, req);
  }
  if (venue === 'SIM')
    throw new AppError('BAD_INPUT', 'venue: SIM instruments are registered by the single-machine start', {
      field: 'venue',
    });
  const id = ccxtExchangeIdOf(venue);
  if (!id)
    throw new AppError('BAD_INPUT', `venue: no instrument list for ${venue}; loadable: ${LOADABLE}`, {
      field: 'venue',
    });
  return loadCcxtMarkets(id, { apiBaseUrl: config.brokers.ccxtApiBaseUrl }, req);
}

type Row = typeof instruments.$inferSelect;

const sameAs = (r: Row, e: CatalogueEntry) =>
  r.venue === e.venue &&
  r.venueSymbol === e.venueSymbol &&
  r.name === e.name &&
  r.assetClass === e.assetClass &&
  r.currency === e.currency &&
  trimDecimal(r.tickSize) === e.tickSize &&
  trimDecimal(r.lotSize) === e.lotSize &&
  trimDecimal(r.multiplier) === e.multiplier &&
  r.calendar === e.calendar &&
  r.status === e.status;

const CHUNK = 500;

export async function loadVenueInstruments(
  db: Db,
  registry: InstrumentRegistry,
  config: ServerConfig,
  input: { venue: string; venueSymbols?: readonly string[] | undefined },
  actor: AuditActor,
  meta: AuditMeta = {},
): Promise<InstrumentLoadResult> {
  const catalogue = await fetchCatalogue(config, input.venue, { venueSymbols: input.venueSymbols });
  const result = await db.transaction(async (tx) => {
    // One load per venue at a time (two admins, two servers): the second waits and sees the first.
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`aegis.instruments.load:${input.venue}`}, 0))`,
    );
    const symbols = catalogue.entries.map((e) => e.symbol);
    const existing = new Map<string, Row>();
    for (let i = 0; i < symbols.length; i += CHUNK) {
      const rows = await tx
        .select()
        .from(instruments)
        .where(inArray(instruments.symbol, symbols.slice(i, i + CHUNK)));
      for (const r of rows) existing.set(r.symbol, r);
    }
    // (venue, venue symbol) → symbol of rows not in this load, to catch a clash before the insert.
    const held = new Map(
      (
        await tx
          .select({ symbol: instruments.symbol, venueSymbol: instruments.venueSymbol })
          .from(instruments)
          .where(eq(instruments.venue, catalogue.venue))
      ).map((r) => [r.venueSymbol, r.symbol]),
    );
    const counts = { inserted: 0, updated: 0, unchanged: 0, keptAdmin: 0, conflicts: 0, delisted: 0 };
    const writes: CatalogueEntry[] = [];
    for (const e of catalogue.entries) {
      const r = existing.get(e.symbol);
      const holder = held.get(e.venueSymbol);
      if (holder !== undefined && holder !== e.symbol) counts.conflicts++;
      else if (!r) {
        counts.inserted++;
        writes.push(e);
      } else if (r.source === 'admin') counts.keptAdmin++;
      else if (r.venue !== e.venue && r.source === 'venue') counts.conflicts++;
      else if (sameAs(r, e) && r.source === 'venue') counts.unchanged++;
      else {
        counts.updated++;
        writes.push(e);
      }
    }
    const now = new Date();
    for (let i = 0; i < writes.length; i += CHUNK) {
      await tx
        .insert(instruments)
        .values(writes.slice(i, i + CHUNK).map((e) => ({ ...e, source: 'venue' as const, updatedAt: now })))
        .onConflictDoUpdate({
          target: instruments.symbol,
          set: {
            venue: sql`excluded.venue`,
            venueSymbol: sql`excluded.venue_symbol`,
            name: sql`excluded.name`,
            assetClass: sql`excluded.asset_class`,
            currency: sql`excluded.currency`,
            tickSize: sql`excluded.tick_size`,
            lotSize: sql`excluded.lot_size`,
            multiplier: sql`excluded.multiplier`,
            calendar: sql`excluded.calendar`,
            status: sql`excluded.status`,
            source: sql`excluded.source`,
            updatedAt: sql`excluded.updated_at`,
          },
        });
    }
    if (catalogue.complete) {
      const gone = await tx
        .update(instruments)
        .set({ status: 'delisted', updatedAt: now })
        .where(
          and(
            eq(instruments.venue, catalogue.venue),
            eq(instruments.source, 'venue'),
            ne(instruments.status, 'delisted'),
            ...(symbols.length > 0 ? [notInArray(instruments.symbol, symbols)] : []),
          ),
        )
        .returning({ symbol: instruments.symbol });
      counts.delisted = gone.length;
    }
    const out: InstrumentLoadResult = {
      venue: catalogue.venue,
      listed: catalogue.entries.length,
      ...counts,
      skipped: { ...catalogue.skipped },
    };
    await audit.record(tx, {
      action: 'instruments.load',
      actor,
      tenantId: null,
      ...meta,
      targetType: 'venue',
      targetId: catalogue.venue,
      payload: { ...out, venueSymbols: input.venueSymbols ?? null },
      details: `${catalogue.venue}: ${counts.inserted} new, ${counts.updated} updated, ${counts.delisted} delisted`,
    });
    return out;
  });
  registry.invalidate();
  return result;
}
