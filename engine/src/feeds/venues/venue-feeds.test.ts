import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { BookRegistry } from '../../book/book-registry.ts';
import { loadEngineConfig } from '../../config.ts';
import { MalformedRecords } from '../malformed.ts';
import { SymbolTable } from '../symbol-table.ts';
import { AlpacaFeed } from './alpaca-feed.ts';
import { CcxtFeed } from './ccxt-feed.ts';
import { CoinbaseFeed } from './coinbase-feed.ts';
import { configuredVenueInstruments, createVenueFeeds, venueOfFeed } from './venue-feeds.ts';

/**
 * Config → venue feeds: each configured venue becomes its feed, named and venued as the servers
 * expect, holding the book sink of ITS venue; the instruments the embedded start registers are
 * the symbols the feeds will publish. (The feeds themselves are tested against local venue
 * servers in engine/tests/integration; the whole path in tests/e2e/venue-feeds.test.ts.)
 */
const log = createLogger({ name: 'venue-feeds-test', level: 'silent' });

function deps(env: Record<string, string>) {
  const config = loadEngineConfig(env);
  const symbolTable = new SymbolTable({ capacity: 64, shards: 2 });
  const registries = new Map<string, BookRegistry>();
  const asked: string[] = [];
  return {
    config,
    symbolTable,
    registries,
    asked,
    deps: {
      config,
      symbolTable,
      malformed: new MalformedRecords(log),
      log,
      booksFor: (venue: string) => {
        asked.push(venue);
        let r = registries.get(venue);
        if (!r) {
          r = new BookRegistry(symbolTable.capacity);
          registries.set(venue, r);
        }
        return r;
      },
    },
  };
}

const ALL = {
  ENGINE_FEED: 'synthetic,coinbase,alpaca,ccxt,orderflow',
  ENGINE_COINBASE_PRODUCTS: 'BTC-USD,ETH-USD',
  ENGINE_COINBASE_WS_URL: 'ws://127.0.0.1:1',
  ENGINE_ALPACA_SYMBOLS: 'AAPL',
  ENGINE_ALPACA_KEY_ID: 'PKTEST',
  ENGINE_ALPACA_SECRET_KEY: 'secret',
  ENGINE_CCXT_EXCHANGE: 'binance',
  ENGINE_CCXT_SYMBOLS: 'BTC/USDT',
};

describe('venue feeds from the config', () => {
  it('builds one feed per configured venue, in ENGINE_FEED order, each with its own venue and books', async () => {
    const t = deps(ALL);
    const feeds = await createVenueFeeds(t.deps);
    expect(feeds.map((f) => [f.name, f.venue])).toEqual([
      ['coinbase', 'COINBASE'],
      ['alpaca', 'ALPACA'],
      ['ccxt:binance', 'BINANCE'],
    ]);
    expect(feeds[0]).toBeInstanceOf(CoinbaseFeed);
    expect(feeds[1]).toBeInstanceOf(AlpacaFeed);
    expect(feeds[2]).toBeInstanceOf(CcxtFeed);
    // One registry per venue (a registry's changed-set has one consumer: its venue's publisher).
    expect(t.asked).toEqual(['COINBASE', 'ALPACA', 'BINANCE']);
    for (const f of feeds) {
      expect(
        venueOfFeed(f.name.startsWith('ccxt') ? 'ccxt' : (f.name as 'coinbase' | 'alpaca'), t.config),
      ).toBe(f.venue);
      const s = f.stats();
      expect(s).toMatchObject({ venue: f.venue, feed: f.name, connected: false, messagesIn: 0, gaps: 0 });
      expect(f.position()).toBeNull();
    }
    // Coinbase interns its products at construction: the instrument symbols the servers map.
    expect(t.symbolTable.idOf('BTC-USD')).toBeGreaterThanOrEqual(0);
    expect(t.symbolTable.idOf('ETH-USD')).toBeGreaterThanOrEqual(0);
  });

  it('no venue feed configured: none built, no books asked for', async () => {
    const t = deps({ ENGINE_FEED: 'synthetic,orderflow' });
    expect(await createVenueFeeds(t.deps)).toEqual([]);
    expect(t.asked).toEqual([]);
  });

  it('Alpaca from a broker connection needs the database, and says so without the keys', async () => {
    const t = deps({
      ENGINE_FEED: 'alpaca',
      ENGINE_ALPACA_SYMBOLS: 'AAPL',
      ENGINE_ALPACA_CONNECTION: '00000000-0000-4000-8000-000000000001/00000000-0000-4000-8000-0000000000aa',
      DATABASE_URL: 'postgres://u@127.0.0.1:1/db',
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    });
    await expect(createVenueFeeds(t.deps)).rejects.toThrow(/ENGINE_ALPACA_CONNECTION needs DATABASE_URL/);
  });

  it('lists the instruments the feeds publish, with the platform symbols of shared/market', () => {
    const { config } = deps(ALL);
    expect(configuredVenueInstruments(config)).toEqual([
      { venue: 'COINBASE', venueSymbol: 'BTC-USD', symbol: 'BTC-USD', feed: 'coinbase' },
      { venue: 'COINBASE', venueSymbol: 'ETH-USD', symbol: 'ETH-USD', feed: 'coinbase' },
      { venue: 'ALPACA', venueSymbol: 'AAPL', symbol: 'AAPL', feed: 'alpaca' },
      { venue: 'BINANCE', venueSymbol: 'BTC/USDT', symbol: 'BINANCE:BTC/USDT', feed: 'ccxt' },
    ]);
    expect(configuredVenueInstruments(loadEngineConfig({}))).toEqual([]);
  });
});
