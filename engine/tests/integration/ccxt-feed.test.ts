/**
 * The ccxt venue feed against a local Binance Spot venue (REST + WebSocket in Binance's
 * documented formats, tests/support/fake-binance-venue.ts), through ccxt's own `binance` and
 * `pro.binance` classes pointed at it: poll and WebSocket modes give the book, quote ticks and
 * trade ticks; a lost depth event is a counted gap resynced from a fresh REST snapshot; malformed
 * messages are counted; a dropped connection reconnects; 100k trades through the socket all
 * arrive; REST 429/5xx back off; an unlisted symbol is dropped with one log line. The book is the
 * engine's BookRegistry.
 *
 * Over 400 lines on purpose: the ccxt feed's poll and WebSocket modes are checked against the same
 * local venue and helpers.
 */
import { createLogger } from '@aegis/shared/logging';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BookRegistry } from '../../src/book/book-registry.ts';
import { ASK, BID } from '../../src/book/book-sink.ts';
import { MalformedRecords } from '../../src/feeds/malformed.ts';
import { SymbolTable } from '../../src/feeds/symbol-table.ts';
import type { TickSink } from '../../src/feeds/tick.ts';
import { BinanceRawDecoder } from '../../src/feeds/venues/ccxt-decode.ts';
import { CcxtFeed, type CcxtFeedOptions } from '../../src/feeds/venues/ccxt-feed.ts';
import type { VenueFeedContext } from '../../src/feeds/venues/venue-feed.ts';
import { CollectingSink, sideOf } from '../support/collecting-sink.ts';
import { FakeBinanceVenue, priceString } from '../support/fake-binance-venue.ts';
import { until } from '../support/wait.ts';

interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

let venue: FakeBinanceVenue;
let books: BookRegistry;
let symbols: SymbolTable;
let logLines: LogLine[];
let ctx: VenueFeedContext;
const running: { feed: CcxtFeed; done: Promise<void> }[] = [];

beforeEach(async () => {
  venue = await new FakeBinanceVenue().start();
  books = new BookRegistry(64);
  symbols = new SymbolTable({ capacity: 64, shards: 1 });
  logLines = [];
  const log = createLogger(
    { name: 'ccxt-feed-it', level: 'debug' },
    { write: (s: string) => logLines.push(JSON.parse(s) as LogLine) },
  );
  ctx = {
    symbolTable: symbols,
    malformed: new MalformedRecords(log),
    log,
    books,
    maxFutureSkewMs: 5_000,
    backoff: { initialMs: 20, maxMs: 200 },
  };
});

afterEach(async () => {
  for (const r of running.splice(0)) {
    r.feed.stop();
    await r.done;
  }
  await venue.close();
});

function start(
  opts: Partial<CcxtFeedOptions> & { mode: 'auto' | 'ws' | 'poll' },
  sink: TickSink = new CollectingSink(),
) {
  const feed = new CcxtFeed({
    exchangeId: 'binance',
    symbols: ['BTC/USDT'],
    pollMs: 50,
    urls: { rest: venue.url, ws: venue.wsUrl },
    ctx,
    ...opts,
  });
  const done = feed.run(sink);
  running.push({ feed, done });
  return { feed, sink: sink as CollectingSink, done };
}

const btc = () => symbols.idOf('BINANCE:BTC/USDT');
const px = (ticks: number) => Number(priceString(ticks));

/** The fake's book in the feed's units, `n` levels a side. */
function venueBook(symbol: string, n = 100) {
  const b = venue.book(symbol);
  return {
    bids: b.bids.slice(0, n).map(([p, q]) => [px(p), q]),
    asks: b.asks.slice(0, n).map(([p, q]) => [px(p), q]),
  };
}
function ourBook(id: number, n = 100) {
  return { bids: sideOf(books, id, BID).slice(0, n), asks: sideOf(books, id, ASK).slice(0, n) };
}

describe('the local Binance venue to a raw client', () => {
  it('serves combined streams ({stream, data}) that BinanceRawDecoder turns into ticks over a REST snapshot', async () => {
    const ws = new WebSocket(
      `${venue.url.replace('http', 'ws')}/stream?streams=btcusdt@trade/btcusdt@depth@100ms`,
    );
    const raw: string[] = [];
    ws.on('message', (d) => raw.push(d.toString()));
    await new Promise((r) => ws.once('open', r));
    await until('subscribed', () => venue.subscribers('btcusdt@trade') === 1);
    const dec = new BinanceRawDecoder({
      symbolTable: symbols,
      books,
      malformed: ctx.malformed,
      markets: [{ id: 'BTCUSDT', symbol: 'BTC/USDT' }],
    });
    const depth = (await (await fetch(`${venue.url}/api/v3/depth?symbol=BTCUSDT&limit=100`)).json()) as {
      lastUpdateId: number;
      bids: [string, string][];
      asks: [string, string][];
    };
    dec.snapshot('BTCUSDT', depth.lastUpdateId, depth.bids, depth.asks, Date.now() * 1000);
    const mid = 6_000_000;
    venue.depthUpdate('BTCUSDT', [[mid - 1, 0]], [[mid + 1, 2]]);
    venue.trade('BTCUSDT', mid + 1, 0.5, false);
    await until('two messages', () => raw.length === 2);
    ws.close();
    const sink = new CollectingSink();
    for (const m of raw) dec.onMessage(m, sink);
    expect(JSON.parse(raw[0] as string).stream).toBe('btcusdt@depth@100ms');
    expect(sink.ticks.map((t) => [t.kind, t.price, t.aggressor, t.bid, t.ask])).toEqual([
      [2, (px(mid - 2) + px(mid + 1)) / 2, 0, px(mid - 2), px(mid + 1)],
      [1, px(mid + 1), 1, px(mid - 2), px(mid + 1)],
    ]);
    expect(ourBook(btc())).toEqual(venueBook('BTCUSDT'));
  });
});

describe('ccxt feed: poll mode', () => {
  it('polls the book (quote ticks) and trades since the last one, each trade once across polls', async () => {
    const { feed, sink } = start({ mode: 'poll' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    expect(ourBook(btc())).toEqual(venueBook('BTCUSDT'));
    expect(feed.stats().transport).toBe('poll');

    const mid = 6_000_000;
    const t1 = venue.tradeQuietly('BTCUSDT', mid + 1, 0.5, false); // buyer aggressed
    const t2 = venue.tradeQuietly('BTCUSDT', mid - 1, 0.25, true); // seller aggressed
    await until('two trades', () => sink.trades().length >= 2);
    const polls = venue.count('/api/v3/aggTrades');
    await until('three more polls', () => venue.count('/api/v3/aggTrades') >= polls + 3);
    const t3 = venue.tradeQuietly('BTCUSDT', mid + 2, 1, false);
    await until('third trade', () => sink.trades().length >= 3);
    await until('two more polls', () => venue.count('/api/v3/aggTrades') >= polls + 6);

    const trades = sink.trades(btc());
    expect(trades.map((t) => [t.price, t.size, t.aggressor])).toEqual([
      [px(t1.priceTicks), 0.5, 1],
      [px(t2.priceTicks), 0.25, -1],
      [px(t3.priceTicks), 1, 1],
    ]);
    expect(trades[0]?.tsEventUs).toBe(t1.time * 1000);
    // Trades carry the book's touch; quotes are the book's top with sizes.
    expect(trades[0]?.bid).toBe(px(mid - 1));
    expect(trades[0]?.ask).toBe(px(mid + 1));
    const q = sink.quotes(btc()).at(-1);
    expect([q?.bid, q?.bidSize, q?.ask, q?.askSize]).toEqual([px(mid - 1), 1, px(mid + 1), 1]);
    // The same trades came back in later polls (since is inclusive) and were skipped.
    expect(feed.stats().duplicates).toBeGreaterThan(0);
    // Sequence numbers are the feed's own, strictly increasing.
    const seqs = sink.ticks.map((t) => t.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    // The book follows the venue's changes.
    venue.depthUpdate('BTCUSDT', [[mid - 1, 0]], [[mid + 1, 7]]);
    await until('book change', () => sideOf(books, btc(), BID)[0]?.[0] === px(mid - 2));
    expect(ourBook(btc())).toEqual(venueBook('BTCUSDT'));
  });

  it('backs off on REST 429 and 5xx, counts them and keeps polling', async () => {
    venue.failNext('/api/v3/depth', 429, { code: -1003, msg: 'Too many requests.' }, 2, 0);
    venue.failNext('/api/v3/depth', 503, {
      code: -1001,
      msg: 'Internal error; unable to process your request.',
    });
    venue.failNext('/api/v3/depth', 502, '<html>Bad Gateway</html>');
    const { feed, sink } = start({ mode: 'poll' });
    await until('book after faults', () => btc() >= 0 && books.hasBook(btc()), 30_000);
    const s = feed.stats();
    expect(s.rateLimited).toBe(2);
    expect(s.networkErrors).toBe(2);
    expect(s.reconnects).toBe(1);
    expect(s.connected).toBe(true);
    venue.tradeQuietly('BTCUSDT', 6_000_001, 0.1, false);
    await until('trade after recovery', () => sink.trades().length === 1);
    expect(logLines.some((l) => l.msg === 'venue feed: venue call failed')).toBe(true);
  });

  it('drops a symbol the venue does not list, with one log line, and streams the others', async () => {
    const { feed, sink } = start({ mode: 'poll', symbols: ['BTC/USDT', 'DOGE/USDT', 'ETH/USDT'] });
    await until('books', () => books.hasBook(btc()) && books.hasBook(symbols.idOf('BINANCE:ETH/USDT')));
    const dropped = logLines.filter((l) => l.msg === 'venue feed: symbol not listed by the venue, dropped');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.symbol).toBe('DOGE/USDT');
    expect(feed.stats().droppedSymbols).toBe(1);
    expect(symbols.idOf('BINANCE:DOGE/USDT')).toBe(-1);
    expect(sink.quotes().length).toBeGreaterThan(0);
  });
});

describe('ccxt feed: WebSocket mode (ccxt pro)', () => {
  it('keeps the book from diffs over a REST snapshot and emits quote and trade ticks', async () => {
    const { feed, sink } = start({ mode: 'ws' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    expect(feed.stats().transport).toBe('ws');
    expect(venue.count('/api/v3/depth')).toBe(1);
    expect(venue.subscribers('btcusdt@depth@100ms')).toBe(1);
    await until('trade subscription', () => venue.subscribers('btcusdt@trade') === 1);

    const mid = 6_000_000;
    venue.depthUpdate('BTCUSDT', [[mid - 1, 3]], [[mid + 1, 0]]);
    await until('diff applied', () => sideOf(books, btc(), ASK)[0]?.[0] === px(mid + 2));
    expect(ourBook(btc())).toEqual(venueBook('BTCUSDT'));
    const q = sink.quotes(btc()).at(-1);
    expect([q?.bid, q?.bidSize, q?.ask, q?.askSize]).toEqual([px(mid - 1), 3, px(mid + 2), 2]);

    const t1 = venue.trade('BTCUSDT', mid + 2, 0.5, false);
    const t2 = venue.trade('BTCUSDT', mid - 1, 0.75, true);
    await until('trades', () => sink.trades().length === 2);
    expect(sink.trades().map((t) => [t.price, t.size, t.aggressor, t.tsEventUs])).toEqual([
      [px(mid + 2), 0.5, 1, t1.time * 1000],
      [px(mid - 1), 0.75, -1, t2.time * 1000],
    ]);
    expect(sink.trades()[0]?.bid).toBe(px(mid - 1));
    expect(feed.stats().connected).toBe(true);
    expect(Number.isFinite(feed.stats().clockSkewMs)).toBe(true);
  });

  it('a lost depth event is a gap: counted, the book resynced from a fresh REST snapshot', async () => {
    const { feed } = start({ mode: 'ws' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    const mid = 6_000_000;
    venue.depthUpdate('BTCUSDT', [[mid - 3, 9]], []);
    await until('first diff', () => sideOf(books, btc(), BID)[2]?.[1] === 9);
    const depthCalls = venue.count('/api/v3/depth');
    venue.depthUpdate('BTCUSDT', [[mid - 1, 0]], [], { lose: true }); // never sent: U/u jump
    venue.depthUpdate('BTCUSDT', [], [[mid + 5, 11]]);
    await until('gap', () => feed.stats().gaps === 1);
    await until('resync snapshot', () => venue.count('/api/v3/depth') === depthCalls + 1);
    await until('resynced book', () => sideOf(books, btc(), BID)[0]?.[0] === px(mid - 2));
    expect(ourBook(btc())).toEqual(venueBook('BTCUSDT'));
    expect(feed.stats().resyncs).toBe(1);
    // And the diffs after the resync apply.
    venue.depthUpdate('BTCUSDT', [[mid - 1, 4]], []);
    await until('diff after resync', () => sideOf(books, btc(), BID)[0]?.[0] === px(mid - 1));
    expect(ourBook(btc())).toEqual(venueBook('BTCUSDT'));
  });

  it('an out-of-order (stale) depth event is ignored, the book stays equal to the venue', async () => {
    const { feed } = start({ mode: 'ws' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    const mid = 6_000_000;
    venue.depthUpdate('BTCUSDT', [[mid - 1, 2]], []);
    venue.staleDepthUpdate('BTCUSDT', [[mid - 1, 99]]);
    venue.depthUpdate('BTCUSDT', [], [[mid + 1, 6]]);
    await until('last diff', () => sideOf(books, btc(), ASK)[0]?.[1] === 6);
    expect(ourBook(btc())).toEqual(venueBook('BTCUSDT'));
    expect(feed.stats().gaps).toBe(0);
  });

  it('counts malformed messages and keeps running', async () => {
    const { feed, sink } = start({ mode: 'ws' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    await until('trade subscription', () => venue.subscribers('btcusdt@trade') === 1);
    venue.sendRaw('{not json');
    venue.sendRaw('{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"abc","q":"1","T":1,"m":true}');
    venue.sendRaw('{"e":"trade","s":"BTCUSDT","t":2,"p":"1.00","q":"1","m":true}');
    venue.sendRaw('{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["x","1"]],"a":[]}');
    // Each goes to both sockets (book and trades streams): 4 messages, 8 receptions.
    await until('malformed counted', () => feed.stats().malformed === 4 * 2);
    const mid = 6_000_000;
    venue.trade('BTCUSDT', mid + 1, 0.5, false);
    venue.depthUpdate('BTCUSDT', [[mid - 1, 5]], []);
    await until(
      'data after garbage',
      () => sink.trades().length === 1 && sideOf(books, btc(), BID)[0]?.[1] === 5,
    );
    expect(ctx.malformed.count('ccxt:binance')).toBe(feed.stats().malformed);
    expect(feed.stats().gaps).toBe(0);
  });

  it('reconnects after the venue drops the connection and resubscribes with a fresh snapshot', async () => {
    const { feed, sink } = start({ mode: 'ws' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    await until('trade subscription', () => venue.subscribers('btcusdt@trade') === 1);
    const depthCalls = venue.count('/api/v3/depth');
    const opened = venue.connectionsOpened;
    const mid = 6_000_000;
    venue.dropConnections();
    venue.depthUpdate('BTCUSDT', [[mid - 1, 8]], [], { lose: true }); // missed while down
    await until('two new sockets', () => venue.connectionsOpened === opened + 2, 30_000);
    await until(
      'resubscribed',
      () => venue.subscribers('btcusdt@trade') === 1 && venue.subscribers('btcusdt@depth@100ms') === 1,
    );
    await until('a fresh snapshot', () => venue.count('/api/v3/depth') === depthCalls + 1);
    await until('fresh book', () => sideOf(books, btc(), BID)[0]?.[1] === 8);
    expect(ourBook(btc())).toEqual(venueBook('BTCUSDT'));
    venue.trade('BTCUSDT', mid + 1, 0.5, false);
    await until('trade after reconnect', () => sink.trades().length === 1);
    // A loop counts a reconnect when data flows again: the book loop and the trades loop.
    expect(feed.stats().reconnects).toBe(2);
    expect(feed.stats().connected).toBe(true);
    expect(feed.stats().networkErrors).toBeGreaterThanOrEqual(2);
  });

  it('decodes every trade of a 100k-message burst through the socket', async () => {
    const { feed, sink } = start({ mode: 'ws' });
    await until('trade subscription', () => btc() >= 0 && venue.subscribers('btcusdt@trade') === 1);
    await until('book', () => books.hasBook(btc()));
    const n = 100_000;
    const first = venue.trades('BTCUSDT').length;
    await venue.burst('BTCUSDT', n);
    await until('all trades', () => sink.trades().length >= n, 120_000);
    const trades = sink.trades();
    expect(trades).toHaveLength(n);
    const sent = venue.trades('BTCUSDT').slice(first);
    expect(trades.map((t) => t.price)).toEqual(sent.map((t) => px(t.priceTicks)));
    expect(trades.map((t) => t.aggressor)).toEqual(sent.map((t) => (t.buyerIsMaker ? -1 : 1)));
    expect(feed.stats().malformed).toBe(0);
  }, 180_000);

  it('refuses ticks dated beyond the allowed skew ahead of local time, counted', async () => {
    const { feed, sink } = start({ mode: 'ws' });
    await until('trade subscription', () => btc() >= 0 && venue.subscribers('btcusdt@trade') === 1);
    venue.clockOffsetMs = 60_000;
    venue.trade('BTCUSDT', 6_000_001, 0.5, false);
    await until('skewed', () => feed.stats().skewed === 1);
    expect(feed.stats().clockSkewMs).toBeGreaterThan(50_000);
    venue.clockOffsetMs = 0;
    venue.trade('BTCUSDT', 6_000_001, 0.5, false);
    await until('trade', () => sink.trades().length === 1);
  });

  it('follows a deterministic market: the book equals the venue once it pauses', async () => {
    const { feed, sink } = start({ mode: 'ws' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    await until('trade subscription', () => venue.subscribers('btcusdt@trade') === 1);
    const stop = venue.market('BTCUSDT', { msgsPerSec: 2_000, seed: 7 });
    await until('trades flow', () => sink.trades().length >= 200);
    stop();
    const sent = venue.trades('BTCUSDT').length;
    await until('all trades', () => sink.trades().length === sent);
    await until(
      'book settles',
      () => JSON.stringify(ourBook(btc())) === JSON.stringify(venueBook('BTCUSDT')),
    );
    expect(feed.stats().gaps).toBe(0);
  });

  it('auto mode takes the WebSocket where ccxt pro has both watches (binance)', async () => {
    const { feed } = start({ mode: 'auto' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    expect(feed.stats().transport).toBe('ws');
    expect(venue.subscribers('btcusdt@depth@100ms')).toBe(1);
  });

  it('waits on the sink’s backpressure: nothing more is published until it has room', async () => {
    let release: () => void = () => {};
    let blocked: Promise<void> | null = null;
    const sink = new (class extends CollectingSink {
      backpressure() {
        return blocked;
      }
    })();
    const { feed } = start({ mode: 'ws' }, sink);
    await until('trade subscription', () => btc() >= 0 && venue.subscribers('btcusdt@trade') === 1);
    await until('book', () => books.hasBook(btc()));
    blocked = new Promise<void>((r) => {
      release = r;
    });
    venue.trade('BTCUSDT', 6_000_001, 0.1, false);
    await until('first trade', () => sink.trades().length === 1);
    const seen = feed.stats().messagesIn;
    for (let i = 0; i < 3; i++) venue.trade('BTCUSDT', 6_000_001, 0.1, false);
    // ccxt has received the three messages, but the trades loop is parked on the full sink.
    await until('messages received', () => feed.stats().messagesIn === seen + 3);
    expect(sink.trades()).toHaveLength(1);
    blocked = null;
    release();
    await until('the rest', () => sink.trades().length === 4);
  });

  it('counts trades lost when a full sink outlasts ccxt’s trade cache', async () => {
    let release: () => void = () => {};
    let blocked: Promise<void> | null = null;
    const sink = new (class extends CollectingSink {
      backpressure() {
        return blocked;
      }
    })();
    const { feed } = start({ mode: 'ws', tradesLimit: 10 }, sink);
    await until('trade subscription', () => btc() >= 0 && venue.subscribers('btcusdt@trade') === 1);
    blocked = new Promise<void>((r) => {
      release = r;
    });
    venue.trade('BTCUSDT', 6_000_001, 0.1, false);
    await until('first trade', () => sink.trades().length === 1);
    const seen = feed.stats().messagesIn;
    const later = Array.from({ length: 30 }, (_, i) => venue.trade('BTCUSDT', 6_000_002 + i, 0.1, false));
    await until('messages received', () => feed.stats().messagesIn === seen + 30);
    blocked = null;
    release();
    await until('what the cache kept', () => sink.trades().length === 11);
    expect(
      sink
        .trades()
        .slice(1)
        .map((t) => t.price),
    ).toEqual(later.slice(-10).map((t) => px(t.priceTicks)));
    expect(feed.stats().gaps).toBe(1);
  });

  it('stop() during backoff against an unreachable venue resolves run()', async () => {
    const closed = await new FakeBinanceVenue().start();
    await closed.close();
    const feed = new CcxtFeed({
      exchangeId: 'binance',
      symbols: ['BTC/USDT'],
      mode: 'ws',
      urls: { rest: closed.url, ws: closed.wsUrl },
      ctx,
    });
    const done = feed.run(new CollectingSink());
    await until('failures', () => feed.stats().networkErrors >= 2);
    expect(feed.stats().connected).toBe(false);
    feed.stop();
    await done;
  });

  it('stop() closes the sockets and run() resolves', async () => {
    const { feed, done } = start({ mode: 'ws' });
    await until('book', () => btc() >= 0 && books.hasBook(btc()));
    feed.stop();
    await done;
    await until('sockets closed', () => venue.subscribers('btcusdt@depth@100ms') === 0);
    expect(feed.stats().connected).toBe(false);
  });
});
