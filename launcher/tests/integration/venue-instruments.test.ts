import { loadEngineConfig } from '@aegis/engine/config';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerVenueInstruments } from '../../src/start/venue-instruments.ts';

/**
 * Embedded start, venue feeds: the instruments the configured venue feeds publish are registered
 * when absent (so the servers can map their prices through instruments.venue), on the migrated
 * schema (venue_symbol, source — migration 0016); a second start adds nothing; a row that exists
 * (an admin's, or the same venue symbol under another symbol) is left as it is.
 */
let db: MigratedTestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await createMigratedTestDatabase('aegis_test_venue_instruments');
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end({ timeout: 1 });
  await db?.drop();
});

describe('registerVenueInstruments', () => {
  it('adds the configured venue symbols once, as venue rows, and never overwrites a row', async () => {
    // An admin already edited AAPL.
    await sql`
      insert into instruments (symbol, venue, venue_symbol, asset_class, currency, tick_size, lot_size, calendar, source, name)
      values ('AAPL', 'ALPACA', 'AAPL', 'equity', 'USD', 0.01, 1, 'XNAS', 'admin', 'Apple Inc.')`;
    const config = loadEngineConfig({
      ENGINE_FEED: 'synthetic,coinbase,alpaca,ccxt',
      ENGINE_COINBASE_PRODUCTS: 'BTC-USD,ETH-BTC',
      ENGINE_ALPACA_SYMBOLS: 'AAPL,MSFT',
      ENGINE_ALPACA_KEY_ID: 'k',
      ENGINE_ALPACA_SECRET_KEY: 's',
      ENGINE_CCXT_EXCHANGE: 'binance',
      ENGINE_CCXT_SYMBOLS: 'BTC/USDT',
    });
    const added = await registerVenueInstruments(sql, config);
    expect(added.sort()).toEqual(['BINANCE:BTC/USDT', 'BTC-USD', 'ETH-BTC', 'MSFT']);
    const rows = await sql<
      {
        symbol: string;
        venue: string;
        venue_symbol: string;
        asset_class: string;
        currency: string;
        calendar: string;
        source: string;
        name: string | null;
      }[]
    >`select symbol, venue, venue_symbol, asset_class, currency, calendar, source, name
        from instruments order by symbol`;
    expect(rows).toEqual([
      {
        symbol: 'AAPL',
        venue: 'ALPACA',
        venue_symbol: 'AAPL',
        asset_class: 'equity',
        currency: 'USD',
        calendar: 'XNAS',
        source: 'admin',
        name: 'Apple Inc.',
      },
      {
        symbol: 'BINANCE:BTC/USDT',
        venue: 'BINANCE',
        venue_symbol: 'BTC/USDT',
        asset_class: 'crypto',
        currency: 'USDT',
        calendar: '24x7',
        source: 'venue',
        name: null,
      },
      {
        symbol: 'BTC-USD',
        venue: 'COINBASE',
        venue_symbol: 'BTC-USD',
        asset_class: 'crypto',
        currency: 'USD',
        calendar: '24x7',
        source: 'venue',
        name: null,
      },
      {
        symbol: 'ETH-BTC',
        venue: 'COINBASE',
        venue_symbol: 'ETH-BTC',
        asset_class: 'crypto',
        currency: 'BTC',
        calendar: '24x7',
        source: 'venue',
        name: null,
      },
      {
        symbol: 'MSFT',
        venue: 'ALPACA',
        venue_symbol: 'MSFT',
        asset_class: 'equity',
        currency: 'USD',
        calendar: 'XNYS',
        source: 'venue',
        name: null,
      },
    ]);
    // A restart: nothing new.
    expect(await registerVenueInstruments(sql, config)).toEqual([]);
    // No venue feed configured: nothing to do.
    expect(await registerVenueInstruments(sql, loadEngineConfig({}))).toEqual([]);
  });
});
