import type { EngineConfig } from '@aegis/engine/config';
import { configuredVenueInstruments } from '@aegis/engine/feeds/venues/venue-feeds';
import type { Sql } from 'postgres';

/**
 * The instruments of the live venue feeds the single-machine start runs (ENGINE_FEED=coinbase,
 * alpaca, ccxt), registered when absent: the servers map a price to an instrument through
 * `instruments.venue`, so a venue symbol with no row would be published and never shown or
 * tradable. Rows are marked `source = 'venue'` with conservative reference data (crypto: 24x7,
 * the quote currency of the pair, fine tick and lot; Alpaca: US equities on XNYS hours, cent
 * ticks, whole shares); an admin's `instruments.load` refreshes them from the venue's own product
 * list (tick sizes, names). A row that exists already — by symbol or by (venue, venue symbol) —
 * is left as it is: an admin's edit always wins.
 */
export interface VenueInstrumentRow {
  readonly symbol: string;
  readonly venue: string;
  readonly venueSymbol: string;
  readonly assetClass: 'crypto' | 'equity';
  readonly currency: string;
  readonly tickSize: string;
  readonly lotSize: string;
  readonly calendar: '24x7' | 'XNYS';
}

/** The quote currency of a pair (`BTC-USD` → USD, `BTC/USDT` → USDT), USD when it has none. */
function quoteCurrency(venueSymbol: string): string {
  const m = /[-/]([A-Za-z0-9]{2,12})(?::.*)?$/.exec(venueSymbol);
  return m ? (m[1] as string).toUpperCase() : 'USD';
}

export function venueInstrumentRows(config: EngineConfig): VenueInstrumentRow[] {
  return configuredVenueInstruments(config).map((i) =>
    i.feed === 'alpaca'
      ? {
          symbol: i.symbol,
          venue: i.venue,
          venueSymbol: i.venueSymbol,
          assetClass: 'equity',
          currency: 'USD',
          tickSize: '0.01',
          lotSize: '1',
          calendar: 'XNYS',
        }
      : {
          symbol: i.symbol,
          venue: i.venue,
          venueSymbol: i.venueSymbol,
          assetClass: 'crypto',
          currency: quoteCurrency(i.venueSymbol),
          // Increments differ per pair (Coinbase BTC-USD 0.01, SHIB-USD 0.00000001; ccxt venues
          // vary): the finest, so no valid venue price is refused, until `instruments.load`
          // brings the venue's own.
          tickSize: '0.00000001',
          lotSize: '0.00000001',
          calendar: '24x7',
        },
  );
}

/** Inserts the configured venue instruments that do not exist yet; returns the symbols added. */
export async function registerVenueInstruments(sql: Sql, config: EngineConfig): Promise<string[]> {
  const rows = venueInstrumentRows(config);
  if (rows.length === 0) return [];
  const col = <K extends keyof VenueInstrumentRow>(k: K) => rows.map((r) => r[k]);
  const added = await sql<{ symbol: string }[]>`
    insert into instruments
      (symbol, venue, venue_symbol, asset_class, currency, tick_size, lot_size, calendar, source)
    select symbol, venue, venue_symbol, asset_class, currency, tick_size::numeric, lot_size::numeric,
           calendar, 'venue'
      from unnest(${col('symbol')}::text[], ${col('venue')}::text[], ${col('venueSymbol')}::text[],
                  ${col('assetClass')}::text[], ${col('currency')}::text[], ${col('tickSize')}::text[],
                  ${col('lotSize')}::text[], ${col('calendar')}::text[])
        as r(symbol, venue, venue_symbol, asset_class, currency, tick_size, lot_size, calendar)
    on conflict do nothing
    returning symbol`;
  return added.map((r) => r.symbol);
}
