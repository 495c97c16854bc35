import { randomBytes, randomUUID } from 'node:crypto';
import { brokerConnections } from '@aegis/shared/db';
import { createDb, withTenant } from '@aegis/shared/db/client';
import { asTenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { decodeVenueBook, type VenueBook, venueBooksKey } from '@aegis/shared/market/venue-books';
import { decodeVenuePrice, type VenuePrice, venuePricesKey } from '@aegis/shared/market/venue-prices';
import { createMigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../engine/src/config.ts';
import { startHttpServer } from '../../engine/src/http.ts';
import { type EngineHandle, startEngine } from '../../engine/src/index.ts';
import { FakeAlpacaStream } from '../../engine/tests/support/fake-alpaca-stream.ts';
import { FakeBinanceVenue } from '../../engine/tests/support/fake-binance-venue.ts';
import { FakeCoinbaseWs } from '../../engine/tests/support/fake-coinbase-ws.ts';
import { redisScope } from '../../engine/tests/support/redis-scope.ts';
import { until } from '../../engine/tests/support/wait.ts';
import { tokenCryptoOf } from '../../server/src/auth/oauth/crypto-registry.ts';
import { bindingOf, sealOrRefuse } from '../../server/src/auth/oauth/link-service.ts';
import { loadServerConfig } from '../../server/src/env.ts';

/**
 * The daemon path end to end, in-process: a local Coinbase Advanced Trade WebSocket (its market
 * maker streaming a seeded random walk with trades) → the engine started from its config with
 * ENGINE_FEED=coinbase → real Redis. The venue's prices and L2 books land under
 * `<prefix>prices:COINBASE` / `<prefix>books:COINBASE`, decode with the shared schemas, and once
 * the market stops they equal the venue's own book level for level; a lost message (sequence gap)
 * is counted, resynced, and the books converge again; /metrics (over HTTP) shows the feed's
 * counters; nothing is published under the synthetic venue; stop() is clean.
 */
const log = createLogger({ name: 'venue-feeds-e2e', level: 'silent' });
const { prefix, bus, close } = redisScope('venue-feeds-e2e');
const PRODUCTS = ['BTC-USD', 'ETH-USD', 'SOL-USD'];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});
afterAll(close);

async function prices(venue: string): Promise<Record<string, VenuePrice>> {
  const out: Record<string, VenuePrice> = {};
  for (const [k, v] of Object.entries(await bus.hgetall(venuePricesKey(prefix, venue)))) {
    const d = decodeVenuePrice(v);
    if (!d.ok) throw new Error(`bad price for ${k}: ${d.error}`);
    out[k] = d.price;
  }
  return out;
}

/** The engine started from its config (real Redis, no database), with /metrics over HTTP. */
async function startFromEnv(
  env: Record<string, string>,
): Promise<{ engine: EngineHandle; metrics: () => Promise<string> }> {
  const config = loadEngineConfig({
    REDIS_URL: TEST_REDIS_URL,
    ENGINE_STREAM_PREFIX: prefix,
    ENGINE_CONSUMER: 'engine-venue-e2e',
    ENGINE_SYMBOLS: '8',
    ENGINE_SHARDS: '2',
    ENGINE_WORKERS: '1',
    ENGINE_PRICE_PUBLISH_MS: '20',
    ENGINE_BOOK_PUBLISH_MS: '20',
    ENGINE_EXECUTION_PROVIDER: 'cpu',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const engine = await startEngine({ config, bus, log });
  cleanups.push(() => engine.stop()); // idempotent: a test that stopped it gets the same report
  const http = await startHttpServer({ engine, host: '127.0.0.1', port: 0, log });
  cleanups.push(() => http.close());
  return { engine, metrics: async () => (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text() };
}

async function books(venue: string): Promise<Record<string, VenueBook>> {
  const out: Record<string, VenueBook> = {};
  for (const [k, v] of Object.entries(await bus.hgetall(venueBooksKey(prefix, venue)))) {
    const d = decodeVenueBook(v);
    if (!d.ok) throw new Error(`bad book for ${k}: ${d.error}`);
    out[k] = d.value;
  }
  return out;
}

/**
 * Levels as numbers rounded to the wire's precision: the fake keeps sizes as binary floats
 * (2.8600000000000003) and sends them as decimals (2.86), as Coinbase would.
 */
const round = (x: number) => Number(x.toFixed(8));
const levelsOf = (levels: readonly (readonly [string | number, string | number])[]) =>
  levels.map(([p, s]) => [round(Number(p)), round(Number(s))]);

/** The engine's published books equal the venue's, level for level (top 50 per side). */
async function booksMatch(fake: FakeCoinbaseWs): Promise<boolean> {
  const published = await books('COINBASE');
  return PRODUCTS.every((p) => {
    const b = published[p];
    const want = fake.bookOf(p);
    return (
      b !== undefined &&
      JSON.stringify(levelsOf(b.bids)) === JSON.stringify(levelsOf(want.bids.slice(0, 50))) &&
      JSON.stringify(levelsOf(b.asks)) === JSON.stringify(levelsOf(want.asks.slice(0, 50)))
    );
  });
}

/** A sample's value from Prometheus text, by metric name and exact label set. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  if (!line) throw new Error(`no sample ${name}{${labels}}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** A feed that read messages, none of them malformed, over a connected WebSocket, as /metrics says. */
function expectLiveFeed(text: string, feed: string): void {
  expect(sample(text, 'aegis_engine_venue_messages_total', feed)).toBeGreaterThan(0);
  expect(sample(text, 'aegis_engine_venue_malformed_total', feed)).toBe(0);
  expect(sample(text, 'aegis_engine_venue_connected', `${feed},transport="ws"`)).toBe(1);
}

describe('venue feeds end to end (engine → Redis)', () => {
  it('Coinbase: prices and books per instrument in Redis equal the venue, gaps resync, counters in /metrics', async () => {
    const fake = await FakeCoinbaseWs.start({ heartbeatIntervalMs: 200, seed: 5 });
    cleanups.push(() => fake.close());
    const { engine, metrics } = await startFromEnv({
      ENGINE_FEED: 'coinbase',
      ENGINE_COINBASE_PRODUCTS: PRODUCTS.join(','),
      ENGINE_COINBASE_WS_URL: fake.url,
      ENGINE_BOOK_FEATURE_LEVELS: '5',
    });

    fake.startMarketMaker({ messagesPerSecond: 400, seed: 9 });
    await until('every product priced with a quote and a trade', async () => {
      const p = await prices('COINBASE');
      return PRODUCTS.every((s) => p[s]?.quote && p[s]?.trade);
    });
    fake.stopMarketMaker();
    // The market is still: once the engine has caught up, what it published is the venue's book.
    await until('published books equal the venue', () => booksMatch(fake));
    // Prices and books are published by separate coalesced rounds: wait for the price round too.
    await until('published quotes at the venue touch', async () => {
      const p = await prices('COINBASE');
      return PRODUCTS.every((s) => Number(p[s]?.quote?.bid) === fake.bookOf(s).bids[0]?.[0]);
    });
    const p = await prices('COINBASE');
    for (const s of PRODUCTS) {
      const want = fake.bookOf(s);
      const price = p[s] as VenuePrice;
      expect(price.venue).toBe('COINBASE');
      expect(price.instrument).toBe(s);
      expect(Number(price.quote?.bid)).toBe(want.bids[0]?.[0]);
      expect(Number(price.quote?.ask)).toBe(want.asks[0]?.[0]);
      expect(round(Number(price.quote?.bidSize))).toBe(round(want.bids[0]?.[1] ?? 0));
      expect(round(Number(price.quote?.askSize))).toBe(round(want.asks[0]?.[1] ?? 0));
      expect(Number(price.quote?.bid)).toBeLessThan(Number(price.quote?.ask));
      const book = (await books('COINBASE'))[s] as VenueBook;
      expect(book.features?.levels).toBe(5); // ENGINE_BOOK_FEATURE_LEVELS reached the books
      expect(book.seq).toBeGreaterThan(0);
    }
    // Only the venue feed's venue: the synthetic venue's publisher saw nothing.
    expect(await prices('SIM')).toEqual({});

    // A lost message: the gap is counted, the books are cleared and resubscribed, and converge.
    const before = engine.stats().venueFeeds[0];
    fake.skipSequence(1);
    fake.pushL2('BTC-USD', [{ side: 'bid', price: fake.bookOf('BTC-USD').bids[0]?.[0] ?? 1, size: 7.5 }]);
    await until('the gap resynced', () => {
      const s = engine.stats().venueFeeds[0];
      return (s?.gaps ?? 0) > (before?.gaps ?? 0) && (s?.resyncs ?? 0) > (before?.resyncs ?? 0);
    });
    await until('published books equal the venue again', () => booksMatch(fake));

    const text = await metrics();
    const feed = 'feed="coinbase",venue="COINBASE"';
    const stats = engine.stats().venueFeeds[0];
    expectLiveFeed(text, feed);
    expect(sample(text, 'aegis_engine_venue_gaps_total', feed)).toBe(stats?.gaps);
    expect(sample(text, 'aegis_engine_venue_gaps_total', feed)).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'aegis_engine_venue_resyncs_total', feed)).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'aegis_engine_venue_skewed_total', feed)).toBe(0);
    expect(sample(text, 'aegis_engine_venue_last_message_age_seconds', feed)).toBeLessThan(60);
    expect(Number.isFinite(sample(text, 'aegis_engine_venue_clock_skew_seconds', feed))).toBe(true);
    expect(sample(text, 'aegis_engine_book_updates_total', 'venue="COINBASE"')).toBeGreaterThan(0);
    expect(sample(text, 'aegis_engine_book_clears_total', 'venue="COINBASE"')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'aegis_engine_books_published_total', 'venue="COINBASE"')).toBeGreaterThan(0);
    expect(sample(text, 'aegis_engine_prices_published_total', 'venue="COINBASE"')).toBeGreaterThan(0);
    expect(sample(text, 'aegis_engine_ticks_in_total', 'feed="coinbase"')).toBeGreaterThan(0);

    // Stop: the feed's run() ends (its socket closed) and the last rounds are published.
    const report = await engine.stop();
    expect(report.ticksIn).toBe(engine.stats().ticksIn);
    expect(report.ticksIn).toBeGreaterThan(0);
    expect(engine.stats().venueFeeds[0]?.connected).toBe(false);
    await fake.waitFor('the engine disconnected', () => fake.openConnections === 0);
  });

  it('Alpaca: quotes become the one-level book and the quote, trades the last price; counters in /metrics', async () => {
    const fake = await FakeAlpacaStream.start({ keyId: 'PKE2E', secretKey: 'e2e-secret' });
    cleanups.push(() => fake.close());
    const symbols = ['AAPL', 'MSFT'];
    const { engine, metrics } = await startFromEnv({
      ENGINE_FEED: 'alpaca',
      ENGINE_ALPACA_SYMBOLS: symbols.join(','),
      ENGINE_ALPACA_DATA_URL: fake.urlFor('iex'),
      ENGINE_ALPACA_KEY_ID: 'PKE2E',
      ENGINE_ALPACA_SECRET_KEY: 'e2e-secret',
    });
    await until('subscribed', () => fake.subscribed(symbols));
    const stopMarket = fake.startMarket({ symbols, msgsPerSec: 300, seed: 3, startPrice: 180 });
    await until('every symbol quoted and a trade printed', async () => {
      const p = await prices('ALPACA');
      return symbols.every((s) => p[s]?.quote) && symbols.some((s) => p[s]?.trade);
    });
    stopMarket();
    // A known last state per symbol: a quote, then a trade at the ask (buyer-initiated).
    const last = {
      AAPL: { bid: 181.11, bs: 3, ask: 181.14, as: 5, px: 181.14 },
      MSFT: { bid: 410.5, bs: 7, ask: 410.52, as: 2, px: 410.5 },
    };
    const later = Date.now() + 5;
    fake.push(
      symbols.map((s) =>
        fake.quote(
          s,
          last[s as 'AAPL'].bid,
          last[s as 'AAPL'].bs,
          last[s as 'AAPL'].ask,
          last[s as 'AAPL'].as,
          later,
        ),
      ),
    );
    fake.push(symbols.map((s) => fake.trade(s, last[s as 'AAPL'].px, 42, later + 1)));
    await until('published prices and books at the last quote and trade', async () => {
      const [p, b] = [await prices('ALPACA'), await books('ALPACA')];
      return symbols.every((s) => {
        const want = last[s as 'AAPL'];
        return (
          Number(p[s]?.quote?.bid) === want.bid &&
          Number(p[s]?.trade?.price) === want.px &&
          JSON.stringify(levelsOf(b[s]?.bids ?? [])) === JSON.stringify([[want.bid, want.bs]]) &&
          JSON.stringify(levelsOf(b[s]?.asks ?? [])) === JSON.stringify([[want.ask, want.as]])
        );
      });
    });
    const p = await prices('ALPACA');
    for (const s of symbols) {
      const want = last[s as 'AAPL'];
      expect(p[s]).toMatchObject({ venue: 'ALPACA', instrument: s });
      expect(Number(p[s]?.quote?.ask)).toBe(want.ask);
      expect(Number(p[s]?.quote?.bidSize)).toBe(want.bs);
      expect(Number(p[s]?.trade?.size)).toBe(42);
    }
    const text = await metrics();
    const feed = 'feed="alpaca",venue="ALPACA"';
    expectLiveFeed(text, feed);
    expect(sample(text, 'aegis_engine_book_snapshots_total', 'venue="ALPACA"')).toBeGreaterThan(0);
    expect(sample(text, 'aegis_engine_prices_published_total', 'venue="ALPACA"')).toBeGreaterThan(0);
    await engine.stop();
    expect(engine.stats().venueFeeds[0]?.connected).toBe(false);
  });

  it('ccxt (Binance over ccxt pro): books equal the venue, prices at its touch, counters in /metrics', async () => {
    const venue = await new FakeBinanceVenue().start();
    cleanups.push(() => venue.close());
    const { engine, metrics } = await startFromEnv({
      ENGINE_FEED: 'ccxt',
      ENGINE_CCXT_EXCHANGE: 'binance',
      ENGINE_CCXT_SYMBOLS: 'BTC/USDT',
      ENGINE_CCXT_MODE: 'ws',
      ENGINE_CCXT_REST_URL: venue.url,
      ENGINE_CCXT_WS_URL: venue.wsUrl,
    });
    const instrument = 'BINANCE:BTC/USDT';
    await until('subscribed to depth and trades', () => venue.subscribers('btcusdt@trade') > 0);
    const stopMarket = venue.market('BTCUSDT', { msgsPerSec: 200, seed: 4 });
    await until('priced with a quote and a trade', async () => {
      const p = (await prices('BINANCE'))[instrument];
      return Boolean(p?.quote && p?.trade);
    });
    stopMarket();
    const px = (ticks: number) => ticks / 100;
    const want = () => {
      const b = venue.book('BTCUSDT');
      return {
        bids: b.bids.slice(0, 50).map(([p, q]) => [px(p), q]),
        asks: b.asks.slice(0, 50).map(([p, q]) => [px(p), q]),
      };
    };
    await until('the published book equals the venue', async () => {
      const b = (await books('BINANCE'))[instrument];
      const w = want();
      return (
        b !== undefined &&
        JSON.stringify(levelsOf(b.bids)) === JSON.stringify(levelsOf(w.bids as [number, number][])) &&
        JSON.stringify(levelsOf(b.asks)) === JSON.stringify(levelsOf(w.asks as [number, number][]))
      );
    });
    await until('the published quote at the venue touch', async () => {
      const p = (await prices('BINANCE'))[instrument];
      return Number(p?.quote?.bid) === want().bids[0]?.[0] && Number(p?.quote?.ask) === want().asks[0]?.[0];
    });
    const text = await metrics();
    const feed = 'feed="ccxt:binance",venue="BINANCE"';
    expectLiveFeed(text, feed);
    expect(sample(text, 'aegis_engine_book_updates_total', 'venue="BINANCE"')).toBeGreaterThan(0);
    expect(sample(text, 'aegis_engine_books_published_total', 'venue="BINANCE"')).toBeGreaterThan(0);
    await engine.stop();
    expect(engine.stats().venueFeeds[0]?.connected).toBe(false);
  });

  it("Alpaca with the keys of a desk's linked API-key connection, ticks persisted by the writer", async () => {
    const KEY = randomBytes(32).toString('base64');
    const db = await createMigratedTestDatabase('aegis_test_venue_e2e');
    cleanups.push(() => db.drop());
    const owner = postgres(db.url, { max: 2, onnotice: () => {} });
    cleanups.push(() => owner.end({ timeout: 1 }));
    // The desk inserted just below.
    const tenantId = asTenantId(randomUUID());
    const connectionId = randomUUID();
    await owner`insert into tenants (id, slug, name) values (${tenantId}, ${`e2e-${connectionId.slice(0, 8)}`}, 'E2E desk')`;
    // The row as the server's brokers.linkApiKey writes it: its sealing code, its columns.
    const server = loadServerConfig({ DATABASE_URL: db.appUrl, TOKEN_ENCRYPTION_KEYS: `k1:${KEY}` });
    const drizzle = createDb(db.appUrl);
    try {
      await withTenant(drizzle.db, tenantId, (tx) =>
        tx.insert(brokerConnections).values({
          id: connectionId,
          tenantId,
          provider: 'alpaca',
          accountRef: `pending:${connectionId}`,
          label: 'Alpaca',
          environment: 'paper',
          linkKind: 'api_key',
          status: 'active',
          credentialsEnc: sealOrRefuse(
            tokenCryptoOf(server),
            JSON.stringify({ apiKey: 'PKLINKED', apiSecret: 'linked-secret' }),
            bindingOf(tenantId, connectionId, 'credentials'),
          ),
        }),
      );
    } finally {
      await drizzle.close();
    }
    const fake = await FakeAlpacaStream.start({ keyId: 'PKLINKED', secretKey: 'linked-secret' });
    cleanups.push(() => fake.close());
    const { engine } = await startFromEnv({
      DATABASE_URL: db.appUrl,
      ENGINE_FEED: 'alpaca',
      ENGINE_ALPACA_SYMBOLS: 'NVDA',
      ENGINE_ALPACA_DATA_URL: fake.urlFor('iex'),
      ENGINE_ALPACA_CONNECTION: `${tenantId}/${connectionId}`,
      TOKEN_ENCRYPTION_KEYS: `k1:${KEY}`,
      ENGINE_WRITER_FLUSH_MS: '20',
    });
    // Authenticated with the connection's keys (the fake refuses any other) and subscribed.
    await until('subscribed', () => fake.subscribed(['NVDA']));
    const t = Date.now();
    fake.push([fake.quote('NVDA', 120.1, 4, 120.12, 6, t), fake.trade('NVDA', 120.12, 25, t + 1)]);
    await until('NVDA priced', async () => Number((await prices('ALPACA')).NVDA?.trade?.price) === 120.12);
    await until('the venue ticks persisted', async () => {
      const [r] = await owner<{ n: number }[]>`select count(*)::int as n from ticks where symbol = 'NVDA'`;
      return (r?.n ?? 0) >= 2;
    });
    const rows = await owner<{ kind: number; price: string; bid: string | null; ask: string | null }[]>`
      select kind, price::text, bid::text, ask::text from ticks where symbol = 'NVDA' order by ts, kind desc`;
    expect(rows.map((r) => [r.kind, Number(r.price), Number(r.bid), Number(r.ask)])).toEqual([
      [2, 120.11, 120.1, 120.12],
      [1, 120.12, 120.1, 120.12],
    ]);
    expect(engine.stats().venueFeeds[0]).toMatchObject({ feed: 'alpaca', connected: true, malformed: 0 });
    await engine.stop();
  });
});
