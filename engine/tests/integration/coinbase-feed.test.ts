/**
 * The Coinbase Advanced Trade feed against a local WebSocket server speaking Coinbase's documented
 * market-data format (tests/support/fake-coinbase-ws.ts), writing into the engine's real
 * BookRegistry and a collecting tick sink. No timing thresholds: every wait is for an observable
 * state (a count reached, a request seen), bounded only so a broken feed fails instead of hanging.
 *
 * Over 400 lines on purpose: one suite against one local Coinbase stream and its helpers.
 */
import { createLogger } from '@aegis/shared/logging';
import { afterEach, describe, expect, it } from 'vitest';
import { BookRegistry } from '../../src/book/book-registry.ts';
import { ASK, BID, type BookSide } from '../../src/book/book-sink.ts';
import { MalformedRecords } from '../../src/feeds/malformed.ts';
import { SymbolTable } from '../../src/feeds/symbol-table.ts';
import { copyTick, createTickRecord, type TickRecord, type TickSink } from '../../src/feeds/tick.ts';
import { CoinbaseFeed, type CoinbaseFeedOptions } from '../../src/feeds/venues/coinbase-feed.ts';
import type { VenueFeedContext } from '../../src/feeds/venues/venue-feed.ts';
import { type FakeCoinbaseOptions, FakeCoinbaseWs } from '../support/fake-coinbase-ws.ts';

const log = createLogger({ name: 'coinbase-feed-test', level: 'silent' });
const PRODUCTS = ['BTC-USD', 'ETH-USD'];

interface Harness {
  fake: FakeCoinbaseWs;
  feed: CoinbaseFeed;
  books: BookRegistry;
  table: SymbolTable;
  malformed: MalformedRecords;
  ticks: TickRecord[];
  run: Promise<void>;
  id: (product: string) => number;
  /** The feed's book for a product, best first, as the fake's `bookOf` gives it. */
  bookOf: (product: string) => { bids: [number, number][]; asks: [number, number][] };
  until: (what: string, check: () => boolean, timeoutMs?: number) => Promise<void>;
}

const running: Harness[] = [];

afterEach(async () => {
  for (const h of running.splice(0)) {
    h.feed.stop();
    await h.run;
    await h.fake.close();
  }
});

async function start(
  fakeOptions: FakeCoinbaseOptions = {},
  feedOptions: Partial<CoinbaseFeedOptions> = {},
  sinkOverride?: (ticks: TickRecord[]) => TickSink,
): Promise<Harness> {
  const fake = await FakeCoinbaseWs.start({
    heartbeatIntervalMs: 0,
    products: [
      { productId: 'BTC-USD', midTicks: 5_000_000, levels: 5 },
      { productId: 'ETH-USD', midTicks: 300_000, levels: 5 },
    ],
    ...fakeOptions,
  });
  const table = new SymbolTable({ capacity: 16, shards: 2 });
  const malformed = new MalformedRecords(log);
  const books = new BookRegistry(16);
  const ctx: VenueFeedContext = {
    symbolTable: table,
    malformed,
    log,
    books,
    maxFutureSkewMs: 2000,
    backoff: { initialMs: 10, maxMs: 100 },
  };
  const feed = new CoinbaseFeed({ url: fake.url, productIds: PRODUCTS, ctx, ...feedOptions });
  const ticks: TickRecord[] = [];
  const sink: TickSink = sinkOverride?.(ticks) ?? {
    publish: (t) => {
      ticks.push(copyTick(t, createTickRecord()));
      return true;
    },
  };
  const run = feed.run(sink);
  const id = (p: string) => table.idOf(p);
  const scratch = new Float64Array(2 * 512);
  const side = (p: string, s: BookSide) => {
    const n = books.levels(id(p), s, 512, scratch);
    const out: [number, number][] = [];
    for (let i = 0; i < n; i++) out.push([scratch[2 * i] as number, scratch[2 * i + 1] as number]);
    return out;
  };
  const h: Harness = {
    fake,
    feed,
    books,
    table,
    malformed,
    ticks,
    run,
    id,
    bookOf: (p) => ({ bids: side(p, BID), asks: side(p, ASK) }),
    until: (what, check, timeoutMs = 20_000) => fake.waitFor(what, check, timeoutMs),
  };
  running.push(h);
  return h;
}

/** Subscribed to everything and both books built. */
async function ready(h: Harness): Promise<void> {
  await h.until(
    'both snapshots',
    () => h.feed.counters().snapshots >= 2 && PRODUCTS.every((p) => h.books.hasBook(h.id(p))),
  );
}

const seenRequest = (h: Harness, type: string, channel: string, afterIndex = 0) =>
  h.fake.requests.slice(afterIndex).some((r) => r.type === type && r.channel === channel);

describe('CoinbaseFeed against a local Coinbase Advanced Trade WebSocket', () => {
  it('subscribes heartbeats, level2 and market_trades (one channel per message); snapshot + updates give the book and one quote tick per update message', async () => {
    const h = await start();
    await ready(h);
    const subs = h.fake.requests.filter((r) => r.type === 'subscribe').map((r) => [r.channel, r.productIds]);
    expect(subs).toEqual([
      ['heartbeats', []],
      ['level2', PRODUCTS],
      ['market_trades', PRODUCTS],
    ]);
    expect(h.bookOf('BTC-USD')).toEqual(h.fake.bookOf('BTC-USD'));
    expect(h.bookOf('ETH-USD')).toEqual(h.fake.bookOf('ETH-USD'));
    expect(h.feed.stats()).toMatchObject({
      venue: 'COINBASE',
      feed: 'coinbase',
      transport: 'ws',
      connected: true,
    });
    // One quote tick per snapshot.
    expect(h.ticks.filter((t) => t.kind === 2)).toHaveLength(2);

    h.fake.pushL2('BTC-USD', [
      { side: 'bid', price: '49999.99', size: '7.5' }, // above the best bid (49999.99 is mid-1: resize)
      { side: 'offer', price: '50000.01', size: '0' }, // best ask removed
      { side: 'offer', price: '50000.02', size: '0.25' },
    ]);
    await h.until('the quote', () => h.ticks.length === 3);
    const q = h.ticks[2] as TickRecord;
    expect(q).toMatchObject({
      kind: 2,
      symbolId: h.id('BTC-USD'),
      bid: 49999.99,
      bidSize: 7.5,
      ask: 50000.02,
      askSize: 0.25,
    });
    expect(q.price).toBeCloseTo((49999.99 + 50000.02) / 2, 6);
    expect(h.bookOf('BTC-USD')).toEqual(h.fake.bookOf('BTC-USD'));
    // Ticks carry the platform's instrument symbols and a per-feed sequence.
    expect(h.table.symbolOf(q.symbolId)).toBe('BTC-USD');
    expect(h.ticks.map((t) => t.seq)).toEqual([0, 1, 2]);
  });

  it('trades give trade ticks with the aggressor (Coinbase reports the maker side) and the current best bid/ask', async () => {
    const h = await start();
    await ready(h);
    const before = h.ticks.length;
    h.fake.pushTrades('ETH-USD', [
      { price: '2999.99', size: '0.5', side: 'BUY' }, // a resting buy was hit: seller aggressed
      { price: '3000.01', size: '0.25', side: 'SELL' }, // a resting sell was lifted: buyer aggressed
    ]);
    await h.until('two trade ticks', () => h.ticks.length === before + 2);
    const [a, b] = h.ticks.slice(before) as [TickRecord, TickRecord];
    expect(a).toMatchObject({
      kind: 1,
      price: 2999.99,
      size: 0.5,
      aggressor: -1,
      bid: 2999.99,
      ask: 3000.01,
    });
    expect(b).toMatchObject({ kind: 1, price: 3000.01, size: 0.25, aggressor: 1 });
    expect(h.books.tradesSeen).toBe(2);
  });

  it('a sequence gap clears the books, unsubscribes and resubscribes level2, and the book becomes the fresh snapshot', async () => {
    const h = await start();
    await ready(h);
    // Coinbase's book moves on while the message carrying that change is lost.
    h.fake.setBook(
      'BTC-USD',
      [
        ['49000.00', '1'],
        ['48999.00', '2'],
      ],
      [['49001.00', '3']],
    );
    const mark = h.fake.requests.length;
    h.fake.skipSequence(3);
    h.fake.heartbeat(); // any message: its number is 3 past the expected one
    await h.until(
      'resync',
      () => seenRequest(h, 'unsubscribe', 'level2', mark) && seenRequest(h, 'subscribe', 'level2', mark),
    );
    await h.until('fresh snapshot', () => h.feed.counters().snapshots >= 4);
    const redo = h.fake.requests.slice(mark).map((r) => [r.type, r.channel]);
    expect(redo).toEqual([
      ['unsubscribe', 'level2'],
      ['subscribe', 'level2'],
    ]);
    expect(h.feed.stats()).toMatchObject({ gaps: 1, resyncs: 1, reconnects: 0 });
    expect(h.bookOf('BTC-USD')).toEqual({
      bids: [
        [49000, 1],
        [48999, 2],
      ],
      asks: [[49001, 3]],
    });
    expect(h.bookOf('ETH-USD')).toEqual(h.fake.bookOf('ETH-USD'));
    expect(h.fake.connections).toBe(1);
  });

  it('a resubscription that brings no snapshot is sent again after resyncTimeoutMs', async () => {
    const h = await start({ heartbeatIntervalMs: 20 }, { resyncTimeoutMs: 100 });
    await ready(h);
    const mark = h.fake.requests.length;
    h.fake.ignoreNextRequests(2); // the first unsubscribe + subscribe go unanswered
    h.fake.skipSequence(1);
    h.fake.heartbeat();
    await h.until(
      'a second resubscription',
      () => h.fake.requests.slice(mark).filter((r) => r.type === 'subscribe').length >= 2,
    );
    await h.until('fresh snapshot', () => h.feed.counters().snapshots >= 4);
    expect(h.feed.stats().gaps).toBe(1);
    expect(h.bookOf('BTC-USD')).toEqual(h.fake.bookOf('BTC-USD'));
    expect(h.fake.connections).toBe(1);
  });

  it('an out-of-order message is counted and dropped; the gap its lateness opened resyncs the book', async () => {
    const h = await start();
    await ready(h);
    h.fake.swapNextTwo();
    h.fake.pushL2('BTC-USD', [{ side: 'bid', price: '49999.95', size: '1' }]);
    h.fake.pushL2('BTC-USD', [{ side: 'bid', price: '49999.96', size: '1' }]);
    await h.until('out of order seen', () => h.feed.counters().outOfOrder === 1);
    await h.until('resynced', () => h.feed.counters().snapshots >= 4);
    expect(h.feed.stats().gaps).toBe(1);
    expect(h.bookOf('BTC-USD')).toEqual(h.fake.bookOf('BTC-USD'));
  });

  it('malformed messages are counted by kind and the feed keeps running', async () => {
    const h = await start();
    await ready(h);
    h.fake.sendRaw('{"channel":"l2_data","sequence_num":');
    h.fake.sendEnvelope('l2_data', 'not a list');
    h.fake.sendEnvelope('market_trades', [
      {
        type: 'update',
        trades: [
          {
            trade_id: '1',
            product_id: 'BTC-USD',
            price: 'NaN',
            size: '1',
            side: 'BUY',
            time: '2026-01-01T00:00:00Z',
          },
        ],
      },
    ]);
    const before = h.ticks.length;
    h.fake.pushTrades('BTC-USD', [{ price: '50000.01', size: '1', side: 'SELL' }]);
    await h.until('the good trade after the bad ones', () => h.ticks.length === before + 1);
    expect(h.malformed.count('coinbase', 'payload')).toBe(1);
    expect(h.malformed.count('coinbase', 'shape')).toBe(1);
    expect(h.malformed.count('coinbase', 'number')).toBe(1);
    expect(h.feed.stats()).toMatchObject({ malformed: 3, connected: true, reconnects: 0, gaps: 0 });
  });

  it('a connection dropped half way through a snapshot reconnects and ends with full books', async () => {
    const h = await start();
    // The feed may already be subscribing: cut the snapshot of whichever product comes next.
    h.fake.dropMidNextSnapshot();
    await h.until('a second connection', () => h.fake.connections >= 2);
    await ready(h);
    await h.until('books complete', () =>
      PRODUCTS.every((p) => h.bookOf(p).bids.length === 5 && h.bookOf(p).asks.length === 5),
    );
    expect(h.bookOf('BTC-USD')).toEqual(h.fake.bookOf('BTC-USD'));
    expect(h.bookOf('ETH-USD')).toEqual(h.fake.bookOf('ETH-USD'));
    expect(h.feed.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(h.feed.stats().malformed).toBe(0); // half a frame is never delivered as a message
  });

  it('a dropped connection clears the books, reconnects with backoff and resubscribes', async () => {
    const h = await start();
    await ready(h);
    h.fake.dropAll();
    await h.until(
      'reconnected and resubscribed',
      () => h.fake.connections === 2 && h.fake.requests.filter((r) => r.connection === 1).length === 3,
    );
    await h.until('books again', () => h.feed.counters().snapshots >= 4);
    expect(h.feed.stats()).toMatchObject({ reconnects: 1, connected: true });
    expect(h.bookOf('BTC-USD')).toEqual(h.fake.bookOf('BTC-USD'));
  });

  it('decodes a burst of 100k messages: every message counted, one tick each, the book equals the venue', async () => {
    const h = await start();
    await ready(h);
    const base = h.feed.stats().messagesIn;
    const ticksBefore = h.ticks.length;
    const { l2Messages, tradeMessages } = await h.fake.burst('BTC-USD', 100_000);
    expect(l2Messages + tradeMessages).toBe(100_000);
    await h.until('all decoded', () => h.feed.stats().messagesIn - base >= 100_000, 120_000);
    const got = h.ticks.slice(ticksBefore);
    expect(got.filter((t) => t.kind === 2)).toHaveLength(l2Messages);
    expect(got.filter((t) => t.kind === 1)).toHaveLength(tradeMessages);
    expect(h.feed.stats()).toMatchObject({ malformed: 0, gaps: 0, reconnects: 0, connected: true });
    expect(h.feed.ticksIn).toBe(h.ticks.length);
    expect(h.bookOf('BTC-USD')).toEqual(h.fake.bookOf('BTC-USD'));
    // Sequence numbers run without a hole or a repeat.
    for (let i = 1; i < h.ticks.length; i++)
      expect((h.ticks[i] as TickRecord).seq).toBe((h.ticks[i - 1] as TickRecord).seq + 1);
  }, 180_000);

  it('waits on the sink’s backpressure between batches: nothing is published while the sink is full, nothing lost', async () => {
    let full = false;
    let waits = 0;
    let publishedWhileFull = 0;
    const h = await start({}, {}, (ticks) => ({
      publish: (t) => {
        if (full) publishedWhileFull++;
        ticks.push(copyTick(t, createTickRecord()));
        return true;
      },
      // Full after every batch, until the next event-loop turn: the feed must wait each time.
      backpressure: () => {
        waits++;
        full = true;
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            full = false;
            resolve();
          }),
        );
      },
    }));
    await ready(h);
    const before = h.ticks.length;
    await h.fake.burst('ETH-USD', 20_000);
    await h.until('all decoded', () => h.ticks.length - before === 20_000, 60_000);
    expect(waits).toBeGreaterThan(1);
    expect(publishedWhileFull).toBe(0);
    expect(h.feed.ticksDropped).toBe(0);
  }, 120_000);

  it('stop() ends run() even while the sink never makes room', async () => {
    let full = false;
    const h = await start({}, {}, (ticks) => ({
      publish: (t) => {
        ticks.push(copyTick(t, createTickRecord()));
        return true;
      },
      backpressure: () => (full ? new Promise<void>(() => {}) : null),
    }));
    await ready(h);
    full = true;
    h.fake.pushTrades('BTC-USD', [{ price: '50000.01', size: '1', side: 'SELL' }]);
    await h.until('the trade', () => h.ticks.some((t) => t.kind === 1));
    h.feed.stop();
    await h.run;
    expect(h.feed.stats().connected).toBe(false);
  });

  it('no message within heartbeatTimeoutMs: the connection is dropped and made again', async () => {
    const h = await start({ heartbeatIntervalMs: 20 }, { heartbeatTimeoutMs: 250 });
    await ready(h);
    await h.until('a heartbeat', () => h.feed.counters().heartbeats > 0);
    h.fake.silence(true);
    await h.until('a new connection', () => h.fake.connections >= 2);
    await h.until('books again', () => h.feed.counters().snapshots >= 4);
    expect(h.feed.counters().heartbeatTimeouts).toBeGreaterThanOrEqual(1);
    expect(h.feed.stats().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('messages dated beyond the allowed clock skew are counted and publish no ticks', async () => {
    const h = await start();
    await ready(h);
    const before = h.ticks.length;
    h.fake.setClockOffsetMs(60_000);
    h.fake.pushL2('BTC-USD', [{ side: 'bid', price: '49999.90', size: '1' }]);
    h.fake.pushTrades('BTC-USD', [{ price: '50000.01', size: '1', side: 'SELL' }]);
    await h.until('both skewed', () => h.feed.stats().skewed === 2);
    expect(h.feed.stats().clockSkewMs).toBeGreaterThan(50_000);
    h.fake.setClockOffsetMs(0);
    h.fake.pushTrades('BTC-USD', [{ price: '50000.01', size: '1', side: 'SELL' }]);
    await h.until('an on-time tick', () => h.ticks.length === before + 1);
    expect((h.ticks[before] as TickRecord).kind).toBe(1);
    expect(Math.abs(h.feed.stats().clockSkewMs)).toBeLessThan(50_000);
  });

  it('sends a fresh JWT with every subscribe request when given a provider', async () => {
    let issued = 0;
    const h = await start({}, { jwt: () => `header.payload${++issued}.signature` });
    await ready(h);
    expect(h.fake.requests.every((r) => r.hasJwt)).toBe(true);
    expect(issued).toBe(3);
  });

  it('stop() ends run() and leaves the feed disconnected', async () => {
    const h = await start();
    await ready(h);
    h.feed.stop();
    await h.run;
    expect(h.feed.stats().connected).toBe(false);
    await h.until('socket closed at the venue', () => h.fake.openConnections === 0);
  });

  it('the market maker streams a consistent book the feed keeps up with', async () => {
    const h = await start({ seed: 3 });
    await ready(h);
    h.fake.startMarketMaker({ messagesPerSecond: 2000, seed: 11 });
    await h.until('some trades', () => h.ticks.filter((t) => t.kind === 1).length >= 50);
    h.fake.stopMarketMaker();
    // A heartbeat after the last market message: once the feed has it, it has everything before.
    const hb = h.feed.counters().heartbeats;
    h.fake.heartbeat();
    await h.until('caught up', () => h.feed.counters().heartbeats > hb);
    for (const p of PRODUCTS) expect(h.bookOf(p)).toEqual(h.fake.bookOf(p));
    expect(h.feed.stats()).toMatchObject({ malformed: 0, gaps: 0 });
    expect(h.ticks.every((t) => t.kind !== 2 || t.bid < t.ask)).toBe(true);
  });
});
