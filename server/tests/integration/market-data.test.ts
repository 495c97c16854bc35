/**
 * marketData.* through a real server (HTTP and SSE), real PostgreSQL and Redis. Prices and books
 * come the way production makes them: published on the bus as the engine does; ticks are written
 * into `ticks` and bars materialized with `call aegis_refresh_bars(...)` (the owner role). Bar
 * values are checked against a plain computation over the same ticks.
 *
 * One file: the marketData procedures share one server and the ticks, bars and books it seeds.
 */
import { dec, decStr } from '@aegis/shared/accounting/decimal';
import {
  type VenueBook,
  venueBookSchema,
  venueBooksChannel,
  venueBooksKey,
} from '@aegis/shared/market/venue-books';
import { BAR_INTERVAL_SECONDS, type BarInterval, type BarView } from '@aegis/shared/schemas/market-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketStartMs } from '../../src/market/bars.ts';
import { nextSeq, reference, type Trade, trades } from './bar-reference.ts';
import { streamingClient } from './decisions-support.ts';
import { waitUntil } from './support/wait.ts';
import { type Client, failure, makeClient, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

const VENUE = 'SIM';
const Q = 'MDQ-USD'; // quotes, book, day change
const TOP = 'MDT-USD'; // a quote, no L2 book
const NONE = 'MDN-USD'; // nothing published
const BARS = 'MDB-USD'; // historic ticks, materialized
const LIVE = 'MDL-USD'; // recent ticks, partly materialized

let t: TestServer;
let client: Client;
let readKey = '';

async function insertTrades(symbol: string, list: readonly Trade[]): Promise<void> {
  const rows = list.flatMap((x) => [
    {
      ts: x.ts,
      ts_ingest: x.ts,
      symbol,
      seq: x.seq,
      kind: 1,
      price: x.price,
      size: x.size,
      aggressor: x.aggressor,
    },
    // A quote tick beside each trade: bars and time and sales must ignore it.
    {
      ts: x.ts,
      ts_ingest: x.ts,
      symbol,
      seq: x.seq + 1_000_000,
      kind: 2,
      price: '1',
      size: '0',
      aggressor: 0,
    },
  ]);
  for (let i = 0; i < rows.length; i += 1000) {
    await t.owner`insert into ticks ${t.owner(rows.slice(i, i + 1000), 'ts', 'ts_ingest', 'symbol', 'seq', 'kind', 'price', 'size', 'aggressor')}`;
  }
}

let bookSeq = 0;
/** Publishes a book as the engine does: the snapshot hash, then the update message. */
async function publishBook(
  instrument: string,
  bids: [string, string][],
  asks: [string, string][],
  opts: { seq?: number; hashToo?: boolean } = {},
): Promise<VenueBook> {
  const now = new Date().toISOString();
  const book = venueBookSchema.parse({
    venue: VENUE,
    instrument,
    bids,
    asks,
    seq: opts.seq ?? ++bookSeq,
    tsEvent: now,
    tsIngest: now,
    features: { imbalance: 0.25, levels: 3, withdrawal: 0.1 },
  } satisfies VenueBook);
  const prefix = `${t.redisPrefix}:`;
  if (opts.hashToo !== false) {
    await t.server.deps.bus.hset(venueBooksKey(prefix, VENUE), { [instrument]: JSON.stringify(book) });
  }
  await t.server.deps.bus.publish(
    venueBooksChannel(prefix, VENUE),
    JSON.stringify({ venue: VENUE, books: [book] }),
  );
  return book;
}

const subscriber = () => streamingClient(t.url, { bearer: readKey });

const historicTrades: Trade[] = [];
const liveTrades: Trade[] = [];
/** Start of yesterday (UTC) + 8 h: aligned to every interval up to 4 h. */
const T0 = bucketStartMs(Date.now(), 86_400) - 86_400_000 + 8 * 3_600_000;

beforeAll(async () => {
  // No scheduled bar refresh: the test decides what is materialized.
  t = await startTestServer({ rateLimiter: null, timeseriesUpkeep: false });
  for (const symbol of [Q, TOP, NONE, BARS, LIVE]) {
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
      values (${symbol}, ${VENUE}, 'crypto', '0.01', '0.0001', '24x7')`;
  }
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  readKey = (await s.client.keys.create.mutate({ name: 'market data', scopes: ['read'] })).key;
  client = makeClient(t.url, { bearer: readKey });

  historicTrades.push(...trades(T0, T0 + 3 * 3_600_000, 900, 7));
  await insertTrades(BARS, historicTrades);
  await t.owner`call aegis_refresh_bars(${new Date(T0 - 3_600_000)}::timestamptz, ${new Date(T0 + 4 * 3_600_000)}::timestamptz)`;
});
afterAll(async () => {
  await t?.close();
});

describe('marketData.quote', () => {
  it('reflects the published venue prices, with the day change from the bars', async () => {
    const day = bucketStartMs(Date.now(), 86_400);
    const first = new Date(day + Math.min(1000, Math.floor((Date.now() - day) / 2)));
    await insertTrades(Q, [
      { ts: first, seq: nextSeq(), price: '100', size: '1', aggressor: 1 },
      { ts: new Date(first.getTime() + 1), seq: nextSeq(), price: '104', size: '1', aggressor: -1 },
    ]);
    const ts = new Date();
    await venuePrices(t, [
      {
        venue: VENUE,
        instrument: Q,
        bid: '109.9',
        ask: '110.15',
        bidSize: '3',
        askSize: '4.5',
        last: '110',
        lastSize: '0.25',
        ts,
      },
    ]);
    const q = await client.marketData.quote.query({ symbol: Q });
    expect(q).toEqual({
      symbol: Q,
      venue: VENUE,
      bid: '109.9',
      ask: '110.15',
      bidSize: '3',
      askSize: '4.5',
      spread: '0.25',
      last: '110',
      lastSize: '0.25',
      tsQuote: ts.toISOString(),
      tsTrade: ts.toISOString(),
      dayOpen: '100',
      dayChange: '10',
      dayChangePct: 10,
    });

    const [a, b] = await client.marketData.quotes.query({ symbols: [NONE, Q] });
    expect(a).toMatchObject({ symbol: NONE, bid: null, ask: null, spread: null, last: null, dayOpen: null });
    expect(b).toEqual(q);
  });

  it('refuses an unknown symbol with a suggestion', async () => {
    const err = await failure(client.marketData.quote.query({ symbol: 'MDQ-USX' }));
    expect(err.data?.code).toBe('BAD_REQUEST');
    expect(err.message).toMatch(/unknown instrument MDQ-USX — did you mean .*MDQ-USD/);
    const many = await failure(client.marketData.quotes.query({ symbols: [Q, 'MDB-USDD'] }));
    expect(many.message).toMatch(/MDB-USDD.*did you mean .*MDB-USD/);
    for (const call of [
      () => client.marketData.bars.query({ symbol: 'NOPE-1', interval: '1m' }),
      () => client.marketData.book.query({ symbol: 'NOPE-1' }),
      () => client.marketData.trades.query({ symbol: 'NOPE-1' }),
    ]) {
      expect((await failure(call())).message).toContain('unknown instrument NOPE-1');
    }
  });
});

describe('marketData.book', () => {
  it('serves the published L2 book; newest seq wins; invalid payloads are counted, never stored', async () => {
    const ex = t.server.deps.execution!;
    await ex.bookFeed.refresh();
    const published = await publishBook(
      Q,
      [
        ['109.9', '3'],
        ['109.8', '7.25'],
        ['109.5', '10'],
      ],
      [
        ['110.15', '4.5'],
        ['110.2', '1'],
      ],
    );
    const book = await waitUntil(
      () => client.marketData.book.query({ symbol: Q, levels: 2 }),
      (b) => b.depth === 'l2',
      'the L2 book',
    );
    expect(book).toEqual({
      symbol: Q,
      venue: VENUE,
      bids: [
        ['109.9', '3'],
        ['109.8', '7.25'],
      ],
      asks: [
        ['110.15', '4.5'],
        ['110.2', '1'],
      ],
      tsEvent: published.tsEvent,
      depth: 'l2',
      features: { imbalance: 0.25, levels: 3, withdrawal: 0.1 },
    });

    // An older version after a newer one is ignored; one channel keeps order, so once the newer
    // one (seq + 2) shows, the older one was seen and refused.
    const stale = ex.bookFeed.ignoredStale;
    const invalid = ex.bookFeed.rejectedInvalid;
    await publishBook(Q, [['1', '1']], [['2', '1']], { seq: published.seq - 1, hashToo: false });
    await t.server.deps.bus.publish(
      venueBooksChannel(`${t.redisPrefix}:`, VENUE),
      '{"venue":"SIM","books":[{"nope":1}]}',
    );
    await t.server.deps.bus.publish(venueBooksChannel(`${t.redisPrefix}:`, VENUE), 'not json');
    const newer = await publishBook(Q, [['109.95', '2']], [['110.1', '2']]);
    const after = await waitUntil(
      () => client.marketData.book.query({ symbol: Q }),
      (b) => b.tsEvent === newer.tsEvent && b.bids[0]?.[0] === '109.95',
      'the newer book',
    );
    expect(after.bids).toEqual([['109.95', '2']]);
    expect(ex.bookFeed.ignoredStale).toBeGreaterThan(stale);
    expect(ex.bookFeed.rejectedInvalid).toBe(invalid + 2);
  });

  it('falls back to the top of book, else none', async () => {
    const ts = new Date();
    await venuePrices(t, [
      { venue: VENUE, instrument: TOP, bid: '5.01', ask: '5.03', bidSize: '12', askSize: '9', ts },
    ]);
    expect(await client.marketData.book.query({ symbol: TOP })).toEqual({
      symbol: TOP,
      venue: VENUE,
      bids: [['5.01', '12']],
      asks: [['5.03', '9']],
      tsEvent: ts.toISOString(),
      depth: 'top',
      features: null,
    });
    expect(await client.marketData.book.query({ symbol: NONE })).toMatchObject({
      bids: [],
      asks: [],
      depth: 'none',
      tsEvent: null,
    });
  });
});

describe('marketData.bars', () => {
  const intervals: BarInterval[] = ['1s', '5s', '15s', '30s', '1m', '5m', '15m', '30m', '1h', '4h', '1d'];
  for (const interval of intervals) {
    it(`${interval} bars equal a plain computation over the ticks`, async () => {
      const width = BAR_INTERVAL_SECONDS[interval];
      const from = new Date(bucketStartMs(T0, width));
      const to = new Date(T0 + 3 * 3_600_000);
      const bars = await client.marketData.bars.query({
        symbol: BARS,
        interval,
        from: from.toISOString(),
        to: to.toISOString(),
        limit: 5000,
      });
      const expected = reference(historicTrades, interval).filter((b) => b.time <= to.toISOString());
      expect(bars.length).toBeGreaterThan(0);
      expect(bars).toEqual(expected);
    });
  }

  it('without a range: the newest `limit` bars, widening the window over a gap', async () => {
    const to = new Date(T0 + 3 * 3_600_000);
    const minutes = await client.marketData.bars.query({
      symbol: BARS,
      interval: '1m',
      to: to.toISOString(),
      limit: 7,
    });
    expect(minutes).toEqual(reference(historicTrades, '1m').slice(-7));
    // Two hours after the last trade: 50 s back holds nothing; the window widens.
    const late = new Date(T0 + 5 * 3_600_000);
    const seconds = await client.marketData.bars.query({
      symbol: BARS,
      interval: '1s',
      to: late.toISOString(),
      limit: 50,
    });
    expect(seconds).toEqual(reference(historicTrades, '1s').slice(-50));
  });

  it('completes the buckets not materialized yet from ticks', async () => {
    const now = Date.now();
    liveTrades.push(...trades(now - 5 * 60_000, now - 1, 300, 11));
    await insertTrades(LIVE, liveTrades);
    // Materialize whole buckets up to two minutes ago only; the rest is in `ticks` alone.
    const cut = new Date(bucketStartMs(now, 60) - 120_000);
    await t.owner`call aegis_refresh_bars(${new Date(now - 3_600_000)}::timestamptz, ${cut}::timestamptz)`;
    const [m] = await t.owner<{ n: number; max: Date }[]>`
      select count(*)::int as n, max(bucket) as max from bars_1m where symbol = ${LIVE}`;
    expect(m!.n).toBeGreaterThan(0);
    expect(m!.max.getTime()).toBeLessThan(cut.getTime());

    for (const interval of ['1s', '5s', '1m', '5m'] as const) {
      const bars = await client.marketData.bars.query({
        symbol: LIVE,
        interval,
        from: new Date(now - 10 * 60_000).toISOString(),
        limit: 5000,
      });
      expect(bars, interval).toEqual(reference(liveTrades, interval));
    }
    // The newest bar (no range) is the forming one, current to the last trade.
    const [last] = await client.marketData.bars.query({ symbol: LIVE, interval: '1m', limit: 1 });
    expect(last).toEqual(reference(liveTrades, '1m').at(-1));
  });

  it('takes any valid time as a bound (clamped to the years bars can exist in)', async () => {
    const first = await client.marketData.bars.query({
      symbol: BARS,
      interval: '1m',
      from: '0001-01-01T00:00:00Z',
      to: '9999-12-31T23:59:59Z',
      limit: 5,
    });
    expect(first).toEqual(reference(historicTrades, '1m').slice(0, 5));
    const newest = await client.marketData.bars.query({
      symbol: BARS,
      interval: '1d',
      to: '9999-12-31T23:59:59Z',
      limit: 5000,
    });
    expect(newest).toEqual(reference(historicTrades, '1d'));
    expect(
      await client.marketData.bars.query({ symbol: BARS, interval: '1h', to: '1970-01-01T00:00:00Z' }),
    ).toEqual([]);
  });

  it('refuses from after to', async () => {
    const err = await failure(
      client.marketData.bars.query({
        symbol: BARS,
        interval: '1m',
        from: new Date(T0 + 60_000).toISOString(),
        to: new Date(T0).toISOString(),
      }),
    );
    expect(err.data?.code).toBe('BAD_REQUEST');
  });
});

describe('marketData.trades', () => {
  it('time and sales: trades only, newest first, limited', async () => {
    const prints = await client.marketData.trades.query({ symbol: BARS, limit: 5 });
    const expected = [...historicTrades]
      .sort((a, b) => b.ts.getTime() - a.ts.getTime() || b.seq - a.seq)
      .slice(0, 5)
      .map((x) => ({
        ts: x.ts.toISOString().replace('Z', '000Z'),
        price: decStr(dec(x.price)),
        size: decStr(dec(x.size)),
        aggressor: x.aggressor,
      }));
    expect(prints).toEqual(expected);
  });
});

describe('live subscriptions over SSE', () => {
  it('onQuotes: the snapshot of every symbol, then changes; a resume starts from the snapshot', async () => {
    const sub = subscriber();
    const events: { id: string; data: { symbol: string; bid: string | null } }[] = [];
    let started!: () => void;
    const isStarted = new Promise<void>((r) => {
      started = r;
    });
    const s1 = sub.marketData.onQuotes.subscribe(
      { symbols: [Q, TOP] },
      { onStarted: () => started(), onData: (d) => events.push(d) },
    );
    try {
      await isStarted;
      await waitUntil(
        () => events,
        (e) => e.length >= 2,
        'the snapshot',
      );
      expect(events.slice(0, 2).map((e) => e.data.symbol)).toEqual([Q, TOP]);
      expect(events[1]!.data.bid).toBe('5.01');

      await venuePrices(t, [{ venue: VENUE, instrument: Q, bid: '111.5', ask: '111.6', last: '111.55' }]);
      const changed = await waitUntil(
        () => events,
        (e) => e.some((x) => x.data.symbol === Q && x.data.bid === '111.5'),
        'the changed quote',
      );
      expect(changed.find((x) => x.data.bid === '111.5')!.id).toMatch(/^MDQ-USD@/);
    } finally {
      s1.unsubscribe();
    }

    const lastEventId = events.at(-1)!.id;
    const resumed: typeof events = [];
    const s2 = sub.marketData.onQuotes.subscribe(
      { symbols: [Q, TOP], lastEventId },
      { onData: (d) => resumed.push(d) },
    );
    try {
      await waitUntil(
        () => resumed,
        (e) => e.length >= 2,
        'the snapshot on resume',
      );
      expect(resumed.slice(0, 2).map((e) => [e.data.symbol, e.data.bid])).toEqual([
        [Q, '111.5'],
        [TOP, '5.01'],
      ]);
      expect(resumed[0]).toEqual(events.filter((e) => e.data.symbol === Q).at(-1));
    } finally {
      s2.unsubscribe();
    }
  });

  it('onBars: the forming bar as it changes, and a resume replays the bars since the last id', async () => {
    const sub = subscriber();
    const events: { id: string; data: BarView }[] = [];
    const s1 = sub.marketData.onBars.subscribe(
      { symbol: LIVE, interval: '1m' },
      { onData: (d) => events.push(d) },
    );
    try {
      const first = await waitUntil(
        () => events,
        (e) => e.length >= 1,
        'the current bar',
      );
      expect(first[0]).toEqual({ id: first[0]!.data.time, data: reference(liveTrades, '1m').at(-1) });

      // A new trade: the forming bar (its minute) arrives with it.
      const fresh: Trade = { ts: new Date(), seq: nextSeq(), price: '250.5', size: '2', aggressor: 1 };
      liveTrades.push(fresh);
      await insertTrades(LIVE, [fresh]);
      const expected = reference(liveTrades, '1m').at(-1)!;
      await waitUntil(
        () => events,
        (e) => e.some((x) => JSON.stringify(x.data) === JSON.stringify(expected)),
        'the forming bar',
      );
      expect(events.at(-1)!.id).toBe(expected.time);
    } finally {
      s1.unsubscribe();
    }

    // Resume from an earlier bar: every bar from that one on, from the database, in order.
    const all = reference(liveTrades, '1m');
    const from = all[1]!.time;
    const resumed: typeof events = [];
    const s2 = sub.marketData.onBars.subscribe(
      { symbol: LIVE, interval: '1m', lastEventId: from },
      { onData: (d) => resumed.push(d) },
    );
    try {
      const want = all.slice(1);
      await waitUntil(
        () => resumed,
        (e) => e.length >= want.length,
        'the replayed bars',
      );
      expect(resumed.slice(0, want.length)).toEqual(want.map((b) => ({ id: b.time, data: b })));
    } finally {
      s2.unsubscribe();
    }
  });

  it('onBook: the ladder, then its changes', async () => {
    const sub = subscriber();
    const events: { data: { bids: [string, string][]; depth: string } }[] = [];
    const s = sub.marketData.onBook.subscribe({ symbol: Q, levels: 5 }, { onData: (d) => events.push(d) });
    try {
      await waitUntil(
        () => events,
        (e) => e.length >= 1,
        'the book',
      );
      expect(events[0]!.data.depth).toBe('l2');
      await publishBook(Q, [['111.4', '8']], [['111.7', '1']]);
      await waitUntil(
        () => events,
        (e) => e.some((x) => x.data.bids[0]?.[0] === '111.4'),
        'the changed book',
      );
    } finally {
      s.unsubscribe();
    }
  });
});
