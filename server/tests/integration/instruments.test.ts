/**
 * The instrument registry over the real server (fresh database, RLS, the permission matrix):
 * search ranking, refusals that name the closest symbols, platform-admin edits with their audit
 * rows, venue loads from local venues speaking the documented catalogue APIs, and every
 * procedure that takes a symbol refusing an unknown one.
 *
 * One file: the registry's procedures share one server and its seeded catalogue; each describe is
 * one procedure group.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBinance } from './support/fake-binance.ts';
import { alpacaAsset, coinbaseProduct, FakeVenueCatalogues } from './support/fake-venue-catalogues.ts';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let admin: Client;
let trader: Client;
let viewer: Client;
let deskAdmin: Client;
const venues = new FakeVenueCatalogues();
const binance = new FakeBinance();

beforeAll(async () => {
  await venues.start();
  await binance.start();
  t = await startTestServer({
    env: {
      COINBASE_API_URL: venues.url,
      ALPACA_API_URL: venues.url,
      ALPACA_API_KEY_ID: venues.alpacaKeys.keyId,
      ALPACA_API_SECRET_KEY: venues.alpacaKeys.secretKey,
      CCXT_API_BASE_URL: binance.url,
    },
  });
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, name) values
    ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.00000001', '24x7', 'Bitcoin / US Dollar'),
    ('BTC-USDT', 'COINBASE', 'crypto', '0.01', '0.00000001', '24x7', 'Bitcoin / Tether'),
    ('BTC-EUR', 'COINBASE', 'crypto', '0.01', '0.00000001', '24x7', 'Bitcoin / Euro'),
    ('ETH-USD', 'COINBASE', 'crypto', '0.01', '0.00000001', '24x7', 'Ethereum / US Dollar'),
    ('ETH-BTC', 'COINBASE', 'crypto', '0.00001', '0.00000001', '24x7', 'Ethereum / Bitcoin'),
    ('AAPL', 'ALPACA', 'equity', '0.01', '1', 'XNAS', 'Apple Inc.'),
    ('BINANCE:BTC/USDT', 'BINANCE', 'crypto', '0.01', '0.00001', '24x7', null)`;
  const a = await signIn(t.url, t.admin.email, t.admin.password);
  admin = a.client;
  for (const role of ['trader', 'viewer', 'admin'] as const) {
    const created = await admin.users.create.mutate({
      email: `${role}-instruments@example.com`,
      displayName: role,
      role,
    });
    const s = await signIn(t.url, `${role}-instruments@example.com`, created.oneTimePassword!);
    if (role === 'trader') trader = s.client;
    else if (role === 'viewer') viewer = s.client;
    else deskAdmin = s.client;
  }
});
afterAll(async () => {
  await t?.close();
  await venues.close();
  await binance.close();
});

describe('instruments.search', () => {
  it('the trigger fills venue_symbol from the symbol (prefix stripped for ccxt venues)', async () => {
    const rows = await t.owner<{ symbol: string; venue_symbol: string; source: string }[]>`
      select symbol, venue_symbol, source from instruments where symbol in ('BTC-USD', 'BINANCE:BTC/USDT') order by symbol`;
    expect(rows).toEqual([
      { symbol: 'BINANCE:BTC/USDT', venue_symbol: 'BTC/USDT', source: 'seed' },
      { symbol: 'BTC-USD', venue_symbol: 'BTC-USD', source: 'seed' },
    ]);
  });

  it('exact first, then prefixes (closest first), then fuzzy matches', async () => {
    const hits = await viewer.instruments.search.query({ query: 'btc-usd' });
    expect(hits[0]).toMatchObject({ symbol: 'BTC-USD', match: 'exact', score: 1, venueSymbol: 'BTC-USD' });
    expect(hits[1]).toMatchObject({ symbol: 'BTC-USDT', match: 'prefix' });
    const firstFuzzy = hits.findIndex((h) => h.match === 'fuzzy');
    const lastPrefix = hits.map((h) => h.match).lastIndexOf('prefix');
    expect(lastPrefix).toBeLessThan(firstFuzzy === -1 ? Number.POSITIVE_INFINITY : firstFuzzy);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);

    const prefix = await viewer.instruments.search.query({ query: 'BTC' });
    expect(prefix.filter((h) => h.match === 'prefix').map((h) => h.symbol)).toEqual([
      'BTC-EUR',
      'BTC-USD',
      'BTC-USDT',
      // Through its venue symbol BTC/USDT; as long as BTC-USDT, so after it by symbol length.
      'BINANCE:BTC/USDT',
    ]);
  });

  it('matches the venue symbol and the name; venue and asset class filter', async () => {
    expect((await viewer.instruments.search.query({ query: 'BTC/USDT' }))[0]).toMatchObject({
      symbol: 'BINANCE:BTC/USDT',
      match: 'exact',
    });
    expect((await viewer.instruments.search.query({ query: 'appl' }))[0]).toMatchObject({
      symbol: 'AAPL',
      match: 'prefix',
    });
    const onlyEquity = await viewer.instruments.search.query({ query: 'a', assetClass: 'equity' });
    expect(onlyEquity.map((h) => h.symbol)).toEqual(['AAPL']);
    const onlyBinance = await viewer.instruments.search.query({ query: 'BTC', venue: 'BINANCE' });
    expect(onlyBinance.map((h) => h.symbol)).toEqual(['BINANCE:BTC/USDT']);
  });

  it('typos find the instrument fuzzily', async () => {
    const hits = await viewer.instruments.search.query({ query: 'ETH-UDS', limit: 3 });
    expect(hits[0]).toMatchObject({ symbol: 'ETH-USD', match: 'fuzzy' });
    expect(hits[0]!.score).toBeLessThan(0.5);
  });

  it('an instrument added behind the snapshot (another process, SQL) is found, never refused as unknown', async () => {
    await viewer.instruments.search.query({ query: 'ADA' }); // the snapshot is loaded now
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size)
      values ('ADA-USD', 'COINBASE', 'crypto', '0.0001', '0.01')`;
    expect((await viewer.instruments.get.query({ symbol: 'ADA-USD' })).venueSymbol).toBe('ADA-USD');
    expect((await viewer.instruments.search.query({ query: 'ADA-USD' }))[0]).toMatchObject({
      symbol: 'ADA-USD',
      match: 'exact',
    });
  });

  it('get refuses an unknown symbol naming the closest ones; list pages in symbol order', async () => {
    const e = await failure(viewer.instruments.get.query({ symbol: 'BTC-USDX' }));
    expect(e.data?.code).toBe('BAD_REQUEST');
    expect(e.message).toMatch(/^symbol: unknown instrument BTC-USDX — did you mean BTC-USD(T)?, BTC-USD(T)?/);
    expect(e.data?.fields).toEqual([{ path: 'symbol', message: expect.stringContaining('did you mean') }]);
    expect(e.data?.details).toMatchObject({
      reason: 'unknown_instrument',
      unknown: [{ symbol: 'BTC-USDX', suggestions: expect.arrayContaining(['BTC-USD', 'BTC-USDT']) }],
    });
    expect(await viewer.instruments.get.query({ symbol: 'AAPL' })).toMatchObject({
      venue: 'ALPACA',
      tickSize: '0.01',
      lotSize: '1',
      calendar: 'XNAS',
      name: 'Apple Inc.',
    });
    const page1 = await viewer.instruments.list.query({ limit: 3 });
    expect(page1.items.map((i) => i.symbol)).toEqual(['AAPL', 'ADA-USD', 'BINANCE:BTC/USDT']);
    const page2 = await viewer.instruments.list.query({ limit: 3, cursor: page1.nextCursor! });
    expect(page2.items[0]!.symbol).toBe('BTC-EUR');
    expect((await viewer.instruments.list.query({ venue: 'ALPACA' })).items.map((i) => i.symbol)).toEqual([
      'AAPL',
    ]);
  });
});

describe('admin edits', () => {
  const msft = {
    symbol: 'MSFT',
    venue: 'ALPACA',
    name: 'Microsoft Corporation',
    assetClass: 'equity' as const,
    currency: 'USD',
    tickSize: '0.01',
    lotSize: '1',
    calendar: 'XNAS' as const,
  };

  it('trader, viewer and a desk admin who is not a platform admin cannot edit or load', async () => {
    for (const c of [trader, viewer, deskAdmin]) {
      expect((await failure(c.instruments.upsert.mutate(msft))).data?.code).toBe('FORBIDDEN');
      expect((await failure(c.instruments.load.mutate({ venue: 'COINBASE' }))).data?.code).toBe('FORBIDDEN');
      expect(
        (await failure(c.instruments.setStatus.mutate({ symbol: 'AAPL', status: 'halted' }))).data?.code,
      ).toBe('FORBIDDEN');
    }
    expect((await t.owner`select count(*)::int as n from instruments where symbol = 'MSFT'`)[0]!.n).toBe(0);
  });

  it('a platform admin creates and edits, each change on the platform audit chain', async () => {
    const created = await admin.instruments.upsert.mutate(msft);
    expect(created).toMatchObject({ symbol: 'MSFT', venueSymbol: 'MSFT', source: 'admin', status: 'active' });
    const edited = await admin.instruments.upsert.mutate({ ...msft, tickSize: '0.0001' });
    expect(edited.tickSize).toBe('0.0001');
    const halted = await admin.instruments.setStatus.mutate({ symbol: 'MSFT', status: 'halted' });
    expect(halted.status).toBe('halted');
    // Seen at once by the registry the procedures use (the snapshot is refreshed on change).
    expect((await viewer.instruments.get.query({ symbol: 'MSFT' })).status).toBe('halted');
    const rows = await t.owner<
      { action: string; tenant_id: string | null; target_type: string; details: string }[]
    >`
      select action, tenant_id, target_type, details from audit_log where target_type = 'instrument' order by id`;
    expect(rows).toEqual([
      { action: 'instruments.create', tenant_id: null, target_type: 'instrument', details: 'MSFT on ALPACA' },
      { action: 'instruments.update', tenant_id: null, target_type: 'instrument', details: 'MSFT on ALPACA' },
      {
        action: 'instruments.setStatus',
        tenant_id: null,
        target_type: 'instrument',
        details: 'MSFT active → halted',
      },
    ]);
  });

  it('refuses a venue symbol that maps to another instrument, a taken venue symbol, and bad values', async () => {
    const mapped = await failure(
      admin.instruments.upsert.mutate({ ...msft, symbol: 'ETH/USDT', venue: 'BINANCE', currency: 'USDT' }),
    );
    expect(mapped.message).toContain('BINANCE:ETH/USDT');
    // Venues without a feed mapping (futures on CME) take any venue symbol, once per venue.
    const es = {
      ...msft,
      symbol: 'ESZ6',
      venue: 'CME',
      venueSymbol: 'ESZ6',
      assetClass: 'future' as const,
      calendar: 'CME' as const,
    };
    expect((await admin.instruments.upsert.mutate(es)).venueSymbol).toBe('ESZ6');
    const taken = await failure(admin.instruments.upsert.mutate({ ...es, symbol: 'ES-DEC26' }));
    expect(taken.data?.code).toBe('CONFLICT');
    expect(taken.message).toBe('venueSymbol: CME ESZ6 is already ESZ6');
    const bad = await failure(
      admin.instruments.upsert.mutate({ ...msft, tickSize: '0', calendar: 'XLON' as 'XNYS' }),
    );
    expect(bad.data?.fields?.map((f) => f.path).sort()).toEqual(['calendar', 'tickSize']);
  });
});

describe('loading venue instrument lists', () => {
  it('Coinbase: spot products in, halted and malformed ones counted, seed rows taken over', async () => {
    venues.coinbase = [
      coinbaseProduct('BTC-USD'),
      coinbaseProduct('SOL-USD', { price_increment: '0.001', base_increment: '0.0001' }),
      coinbaseProduct('DOGE-USD', { trading_disabled: true }),
      { product_id: 42 },
      coinbaseProduct('BAD ID-USD'),
    ];
    const r = await admin.instruments.load.mutate({ venue: 'COINBASE' });
    expect(r).toEqual({
      venue: 'COINBASE',
      listed: 3,
      inserted: 2,
      updated: 1,
      unchanged: 0,
      keptAdmin: 0,
      conflicts: 0,
      delisted: 0,
      skipped: { malformed: 2 },
    });
    const req = venues.requests.find((q) => q.path === '/api/v3/brokerage/market/products')!;
    expect(req.query.get('product_type')).toBe('SPOT');
    expect(await viewer.instruments.get.query({ symbol: 'SOL-USD' })).toMatchObject({
      venue: 'COINBASE',
      venueSymbol: 'SOL-USD',
      tickSize: '0.001',
      lotSize: '0.0001',
      currency: 'USD',
      calendar: '24x7',
      source: 'venue',
      status: 'active',
      name: 'SOL / US Dollar',
    });
    expect((await viewer.instruments.get.query({ symbol: 'DOGE-USD' })).status).toBe('halted');
    expect((await viewer.instruments.get.query({ symbol: 'BTC-USD' })).source).toBe('venue');
  });

  it('a refresh keeps admin edits, delists what the venue no longer lists, reports unchanged rows', async () => {
    await admin.instruments.upsert.mutate({
      symbol: 'SOL-USD',
      venue: 'COINBASE',
      assetClass: 'crypto',
      currency: 'USD',
      tickSize: '0.01',
      lotSize: '0.0001',
      calendar: '24x7',
    });
    venues.coinbase = [
      coinbaseProduct('SOL-USD', { price_increment: '0.005' }),
      coinbaseProduct('DOGE-USD', { trading_disabled: true }),
    ];
    const r = await admin.instruments.load.mutate({ venue: 'COINBASE' });
    expect(r).toMatchObject({ listed: 2, inserted: 0, updated: 0, unchanged: 1, keptAdmin: 1, delisted: 1 });
    expect((await viewer.instruments.get.query({ symbol: 'SOL-USD' })).tickSize).toBe('0.01');
    expect((await viewer.instruments.get.query({ symbol: 'BTC-USD' })).status).toBe('delisted');
    // Seed rows of the venue (ETH-USD…) are not the venue's own list: never delisted by a load.
    expect((await viewer.instruments.get.query({ symbol: 'ETH-USD' })).status).toBe('active');
    const [audit] = await t.owner<
      { n: number }[]
    >`select count(*)::int as n from audit_log where action = 'instruments.load'`;
    expect(audit!.n).toBe(2);
  });

  it('Alpaca: with the key headers; exchanges become calendars, fractionable shares fractional lots, OTC left out', async () => {
    venues.alpaca = [
      alpacaAsset('AAPL', 'NASDAQ', 'Apple Inc. Common Stock'),
      alpacaAsset('IBM', 'NYSE', 'International Business Machines', { fractionable: true }),
      alpacaAsset('SPY', 'ARCA', 'SPDR S&P 500 ETF Trust'),
      alpacaAsset('HALTD', 'NYSE', 'Halted Corp', { tradable: false }),
      alpacaAsset('GBTC', 'OTC', 'Grayscale Bitcoin Trust'),
      alpacaAsset('GONE', 'NYSE', 'Inactive Co', { status: 'inactive' }),
    ];
    const r = await admin.instruments.load.mutate({ venue: 'ALPACA' });
    expect(r).toMatchObject({
      venue: 'ALPACA',
      listed: 4,
      inserted: 3,
      updated: 1,
      skipped: { unsupported: 1 },
    });
    const req = venues.requests.filter((q) => q.path === '/v2/assets').at(-1)!;
    expect(req.keyId).toBe(venues.alpacaKeys.keyId);
    expect(Object.fromEntries(req.query)).toEqual({ status: 'active', asset_class: 'us_equity' });
    expect(await viewer.instruments.get.query({ symbol: 'IBM' })).toMatchObject({
      calendar: 'XNYS',
      lotSize: '0.000000001',
      tickSize: '0.01',
      assetClass: 'equity',
    });
    expect((await viewer.instruments.get.query({ symbol: 'SPY' })).calendar).toBe('XNYS');
    expect(await viewer.instruments.get.query({ symbol: 'AAPL' })).toMatchObject({
      calendar: 'XNAS',
      source: 'venue',
    });
    expect((await viewer.instruments.get.query({ symbol: 'HALTD' })).status).toBe('halted');
  });

  it('Alpaca: keys the venue refuses are reported, nothing changes', async () => {
    const before = await t.owner`select symbol, updated_at from instruments order by symbol`;
    venues.alpacaKeys.secretKey = 'rotated-at-the-venue';
    try {
      const e = await failure(admin.instruments.load.mutate({ venue: 'ALPACA' }));
      expect(e.data?.code).toBe('PRECONDITION_FAILED');
      expect(e.message).toMatch(/ALPACA refused the request \(HTTP 403\)/);
      expect(e.message).not.toContain('test-secret');
    } finally {
      venues.alpacaKeys.secretKey = 'test-secret-0123456789';
    }
    expect(await t.owner`select symbol, updated_at from instruments order by symbol`).toEqual(before);
  });

  it('ccxt (Binance over REST): symbols through instrumentSymbolFor, tick and lot from precision', async () => {
    const r = await admin.instruments.load.mutate({ venue: 'BINANCE' });
    expect(r).toMatchObject({ venue: 'BINANCE', listed: 2, inserted: 1, updated: 1 });
    expect(await viewer.instruments.get.query({ symbol: 'BINANCE:ETH/USDT' })).toMatchObject({
      venue: 'BINANCE',
      venueSymbol: 'ETH/USDT',
      tickSize: '0.01',
      lotSize: '0.0001',
      currency: 'USDT',
      calendar: '24x7',
      source: 'venue',
    });
    expect(binance.requests.some((q) => q.path === '/api/v3/exchangeInfo')).toBe(true);
    // Only the venue symbols asked for.
    const only = await admin.instruments.load.mutate({ venue: 'BINANCE', venueSymbols: ['BTC/USDT'] });
    expect(only).toMatchObject({ listed: 1, unchanged: 1, delisted: 0 });
  });

  it('a venue without a loader is refused by name', async () => {
    const e = await failure(admin.instruments.load.mutate({ venue: 'NOSUCHVENUE' }));
    expect(e.data?.code).toBe('BAD_REQUEST');
    expect(e.message).toContain('no instrument list for NOSUCHVENUE');
  });
});

describe('procedures that take a symbol refuse an unknown one with suggestions', () => {
  it('orders.place (before: NOT_FOUND from deep in the risk context, no suggestion)', async () => {
    const e = await failure(
      trader.orders.place.mutate({
        idempotencyKey: 'unknown-instrument-1',
        order: { symbol: 'ETH-USX', side: 'buy', orderType: 'market', quantity: '1' },
      }),
    );
    expect(e.data?.code).toBe('BAD_REQUEST');
    expect(e.message).toMatch(/order\.symbol: unknown instrument ETH-USX — did you mean ETH-USD/);
    expect(e.data?.fields?.[0]?.path).toBe('order.symbol');
    expect((await t.owner`select count(*)::int as n from orders`)[0]!.n).toBe(0);
  });

  it('risk.check (the dry run of place)', async () => {
    const e = await failure(
      trader.risk.check.query({ symbol: 'BTC-USDD', side: 'buy', orderType: 'market', quantity: '1' }),
    );
    expect(e.data?.code).toBe('BAD_REQUEST');
    expect(e.message).toMatch(/^symbol: unknown instrument BTC-USDD — did you mean BTC-USD/);
  });

  it('orders.list with a symbol filter', async () => {
    const e = await failure(viewer.orders.list.query({ symbol: 'BTC-EURO' }));
    expect(e.message).toMatch(/symbol: unknown instrument BTC-EURO — did you mean BTC-EUR/);
    expect(await viewer.orders.list.query({ symbol: 'BTC-EUR' })).toEqual([]);
  });

  it('agent settings: an unknown symbol is refused, naming each, and nothing is saved', async () => {
    const e = await failure(
      admin.agent.settings.set.mutate({ instruments: ['BTC-EUR', 'ETHUSD', 'SOLUSD'] }),
    );
    expect(e.data?.code).toBe('BAD_REQUEST');
    expect(e.message).toMatch(
      /^instruments: unknown instrument ETHUSD — did you mean ETH-USD.*; unknown instrument SOLUSD — did you mean SOL-USD/,
    );
    expect((await admin.agent.settings.get.query()).instruments).toEqual([]);
    await admin.agent.settings.set.mutate({ instruments: ['BTC-EUR', 'ETH-USD'] });
    expect((await admin.agent.settings.get.query()).instruments).toEqual(['BTC-EUR', 'ETH-USD']);
  });

  it('backtests on the ticks table', async () => {
    const e = await failure(
      trader.backtests.create.mutate({
        name: 'unknown',
        instruments: ['ETH-USD', 'ETH-BTX'],
        data: { kind: 'ticks_table', from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z' },
      }),
    );
    expect(e.message).toMatch(/instruments: unknown instrument ETH-BTX — did you mean ETH-BTC/);
    expect((await t.owner`select count(*)::int as n from backtests`)[0]!.n).toBe(0);
  });
});
