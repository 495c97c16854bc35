import { createServer } from 'node:net';
import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { MapBookSink } from '../../../tests/support/map-book-sink.ts';
import { MalformedRecords } from '../malformed.ts';
import { SymbolTable } from '../symbol-table.ts';
import { CoinbaseFeed } from './coinbase-feed.ts';
import type { VenueFeedContext } from './venue-feed.ts';

const log = createLogger({ name: 'coinbase-feed-unit', level: 'silent' });

function ctx(capacity = 8): VenueFeedContext {
  return {
    symbolTable: new SymbolTable({ capacity, shards: 1 }),
    malformed: new MalformedRecords(log),
    log,
    books: new MapBookSink(),
    maxFutureSkewMs: 1000,
    backoff: { initialMs: 5, maxMs: 20 },
  };
}

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('CoinbaseFeed options', () => {
  it('refuses bad options with every issue named', () => {
    expect(() => new CoinbaseFeed({ productIds: [], ctx: ctx() })).toThrow(/productIds/);
    expect(() => new CoinbaseFeed({ productIds: ['btc_usd'], ctx: ctx() })).toThrow(/Coinbase product id/);
    expect(() => new CoinbaseFeed({ url: 'http://x', productIds: ['BTC-USD'], ctx: ctx() })).toThrow(
      /ws:\/\//,
    );
    expect(() => new CoinbaseFeed({ productIds: ['BTC-USD'], heartbeatTimeoutMs: 0, ctx: ctx() })).toThrow(
      /heartbeatTimeoutMs/,
    );
  });

  it('interns its products at construction, and fails loudly when the symbol table is full', () => {
    const c = ctx(1);
    new CoinbaseFeed({ productIds: ['BTC-USD'], ctx: c });
    expect(c.symbolTable.idOf('BTC-USD')).toBe(0);
    expect(() => new CoinbaseFeed({ productIds: ['ETH-USD'], ctx: c })).toThrow(/symbol table/);
  });

  it('reports a fresh feed as disconnected with nothing counted', () => {
    const feed = new CoinbaseFeed({ productIds: ['BTC-USD'], ctx: ctx() });
    expect(feed.stats()).toMatchObject({
      venue: 'COINBASE',
      feed: 'coinbase',
      transport: 'ws',
      connected: false,
      messagesIn: 0,
      reconnects: 0,
      lastMessageAtMs: 0,
    });
    expect(Number.isNaN(feed.stats().clockSkewMs)).toBe(true);
    expect(feed.position()).toBeNull();
  });
});

describe('CoinbaseFeed without a venue', () => {
  it('keeps retrying a refused connection with backoff, and stop() ends run()', async () => {
    const feed = new CoinbaseFeed({
      url: `ws://127.0.0.1:${await deadPort()}`,
      productIds: ['BTC-USD'],
      ctx: ctx(),
    });
    const run = feed.run({ publish: () => true });
    while (feed.stats().reconnects < 3) await new Promise((r) => setTimeout(r, 5));
    await expect(feed.run({ publish: () => true })).rejects.toThrow(/already running/);
    feed.stop();
    await run;
    expect(feed.stats().connected).toBe(false);
    expect(feed.ticksIn).toBe(0);
  });
});
