import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import {
  BOOK_PUBLISH_LEVELS,
  decodeVenueBook,
  decodeVenueBookUpdate,
  type VenueBook,
} from '@aegis/shared/market/venue-books';
import { describe, expect, it } from 'vitest';
import { SymbolTable } from '../feeds/symbol-table.ts';
import { BookPublisher, CHUNK_BOOKS } from './book-publisher.ts';
import { BookRegistry } from './book-registry.ts';
import { ASK, BID } from './book-sink.ts';

const log = createLogger({ name: 'book-publisher-test', level: 'silent' });
const T0 = Date.UTC(2026, 11, 4, 12) * 1000;

function setup() {
  const bus = new MemoryBus();
  const symbols = new SymbolTable({ capacity: 8, shards: 1 });
  const registry = new BookRegistry(8);
  const pub = new BookPublisher({
    bus,
    venue: 'COINBASE',
    prefix: 't:',
    registry,
    symbolTable: symbols,
    publishMs: 60_000, // rounds are driven by publishNow() below
    log,
  });
  const updates: string[] = [];
  const subscribed = bus.subscribe('t:books:COINBASE:updates', (m) => updates.push(m));
  /** The snapshot hash, every value checked against venueBookSchema. */
  const snapshot = async (): Promise<Record<string, VenueBook>> => {
    const raw = await bus.hgetall('t:books:COINBASE');
    return Object.fromEntries(
      Object.entries(raw).map(([k, v]) => {
        const d = decodeVenueBook(v);
        if (!d.ok) throw new Error(d.error);
        return [k, d.value];
      }),
    );
  };
  /** Update messages so far, each checked against venueBookUpdateSchema: instruments per round. */
  const rounds = async (): Promise<VenueBook[][]> => {
    await subscribed;
    await new Promise((r) => setImmediate(r));
    return updates.map((m) => {
      const d = decodeVenueBookUpdate(m);
      if (!d.ok) throw new Error(d.error);
      expect(d.value.venue).toBe('COINBASE');
      return d.value.books;
    });
  };
  return { bus, symbols, registry, pub, snapshot, rounds, subscribed };
}

describe('BookPublisher', () => {
  it('publishes each changed book once per round, whole, as schema-valid snapshot and update', async () => {
    const s = setup();
    await s.subscribed;
    const btc = s.symbols.intern('BTC-USD');
    const eth = s.symbols.intern('ETH-USD');
    s.registry.snapshot(btc, [100, 1, 99.5, 2], 2, [100.5, 3], 1, T0);
    s.registry.snapshot(eth, [10, 1], 1, [10.1, 1], 1, T0);
    for (let k = 1; k <= 100; k++) s.registry.update(btc, BID, 99, k, T0 + k); // 100 changes
    s.registry.update(btc, ASK, 0.1 + 0.2, 0, T0 + 200); // a no-op with an inexact price
    s.registry.update(btc, ASK, 100.7, 0.1 + 0.2, T0 + 300);
    await s.pub.publishNow();
    const snap = await s.snapshot();
    expect(Object.keys(snap).sort()).toEqual(['BTC-USD', 'ETH-USD']);
    const b = snap['BTC-USD'] as VenueBook;
    expect(b.bids).toEqual([
      ['100', '1'],
      ['99.5', '2'],
      ['99', '100'],
    ]);
    expect(b.asks).toEqual([
      ['100.5', '3'],
      ['100.7', '0.3'],
    ]);
    expect(b.seq).toBe(s.registry.version(btc));
    expect(b.seq).toBe(102); // snapshot + 100 updates + the new ask
    expect(b.tsEvent).toBe('2026-12-04T12:00:00.000300Z');
    // Bid depth 1 + 2 + 100 = 103, ask depth 3 + 0.3 (features are rounded to 12 digits).
    expect(b.features).toMatchObject({ levels: 10, withdrawal: 0 });
    expect(b.features?.imbalance).toBeCloseTo((103 - 3.3) / (103 + 3.3), 11);
    const rounds = await s.rounds();
    expect(rounds.map((r) => r.map((x) => x.instrument))).toEqual([['BTC-USD', 'ETH-USD']]);
    expect(rounds[0]?.[0]).toEqual(b); // the update carries the same book as the hash
    expect(s.pub.booksPublished).toBe(2);
    await s.pub.publishNow(); // nothing changed: no round
    expect(s.pub.rounds).toBe(1);
  });

  it('publishes at most BOOK_PUBLISH_LEVELS levels per side', async () => {
    const s = setup();
    const id = s.symbols.intern('BTC-USD');
    const bids: number[] = [];
    const asks: number[] = [];
    for (let k = 0; k < 80; k++) {
      bids.push(1000 - k, 1);
      asks.push(1001 + k, 1);
    }
    s.registry.snapshot(id, bids, 80, asks, 80, T0);
    await s.pub.publishNow();
    const b = (await s.snapshot())['BTC-USD'] as VenueBook;
    expect(b.bids).toHaveLength(BOOK_PUBLISH_LEVELS);
    expect(b.asks).toHaveLength(BOOK_PUBLISH_LEVELS);
    expect(b.bids[BOOK_PUBLISH_LEVELS - 1]).toEqual([String(1000 - BOOK_PUBLISH_LEVELS + 1), '1']);
  });

  it('publishes a cleared book with empty sides, no features and a higher seq', async () => {
    const s = setup();
    const id = s.symbols.intern('BTC-USD');
    s.registry.snapshot(id, [100, 1], 1, [101, 1], 1, T0);
    await s.pub.publishNow();
    const before = (await s.snapshot())['BTC-USD'] as VenueBook;
    s.registry.clear(id);
    await s.pub.publishNow();
    const after = (await s.snapshot())['BTC-USD'] as VenueBook;
    expect(after).toMatchObject({ bids: [], asks: [], features: null });
    expect(after.seq).toBeGreaterThan(before.seq);
    expect(Date.parse(after.tsEvent)).toBeGreaterThan(Date.parse(before.tsEvent));
  });

  it('keeps the books of a failed round for the next one, with their newest state', async () => {
    const s = setup();
    const id = s.symbols.intern('BTC-USD');
    s.registry.snapshot(id, [100, 1], 1, [101, 1], 1, T0);
    const hset = s.bus.hset.bind(s.bus);
    s.bus.hset = async () => {
      throw new Error('bus down');
    };
    await s.pub.publishNow();
    expect(s.pub.publishErrors).toBe(1);
    expect(s.registry.changedCount).toBe(1);
    expect(await s.snapshot()).toEqual({});
    s.registry.update(id, BID, 100, 5, T0 + 1);
    s.bus.hset = hset;
    await s.pub.publishNow();
    const b = (await s.snapshot())['BTC-USD'] as VenueBook;
    expect(b.bids).toEqual([['100', '5']]);
    expect(b.seq).toBe(2);
    expect((await s.rounds()).length).toBe(1);
  });

  it('has at most one round in flight; changes made meanwhile go in the next round', async () => {
    const s = setup();
    const id = s.symbols.intern('BTC-USD');
    const other = s.symbols.intern('ETH-USD');
    s.registry.snapshot(id, [100, 1], 1, [101, 1], 1, T0);
    const hset = s.bus.hset.bind(s.bus);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    s.bus.hset = async (k, f) => {
      calls++;
      await gate;
      return hset(k, f);
    };
    const first = s.pub.publishNow();
    s.registry.snapshot(other, [10, 1], 1, [11, 1], 1, T0 + 1);
    s.registry.update(id, BID, 100, 2, T0 + 2);
    expect(s.pub.publishNow()).toBe(first); // joins the round in flight
    expect(calls).toBe(1);
    release();
    await first;
    await s.pub.publishNow();
    const rounds = await s.rounds();
    expect(rounds.map((r) => r.map((x) => `${x.instrument}@${x.seq}`))).toEqual([
      ['BTC-USD@1'],
      ['ETH-USD@1', 'BTC-USD@2'],
    ]);
  });

  it('republishes every book on markAll, and leaves out names the bus schema refuses', async () => {
    const s = setup();
    const a = s.symbols.intern('BTC-USD');
    const idx = s.symbols.intern('^GSPC'); // valid in the symbol table, not on the bus
    s.registry.snapshot(a, [100, 1], 1, [101, 1], 1, T0);
    s.registry.snapshot(idx, [5000, 1], 1, [5001, 1], 1, T0);
    await s.pub.publishNow();
    expect(s.pub.skippedNames).toBe(1);
    s.registry.markAll();
    await s.pub.publishNow();
    const rounds = await s.rounds();
    expect(rounds.map((r) => r.map((x) => x.instrument))).toEqual([['BTC-USD'], ['BTC-USD']]);
  });

  it('splits a large round into chunks of CHUNK_BOOKS books', async () => {
    const bus = new MemoryBus();
    const symbols = new SymbolTable({ capacity: 1100, shards: 1 });
    const registry = new BookRegistry(1100);
    const pub = new BookPublisher({
      bus,
      venue: 'BINANCE',
      prefix: 't:',
      registry,
      symbolTable: symbols,
      publishMs: 60_000,
      log,
    });
    const messages: string[] = [];
    await bus.subscribe('t:books:BINANCE:updates', (m) => messages.push(m));
    for (let k = 0; k < CHUNK_BOOKS * 2 + 1; k++) {
      registry.snapshot(symbols.intern(`BINANCE:C${k}/USDT`), [1, 1], 1, [2, 1], 1, T0);
    }
    await pub.publishNow();
    await new Promise((r) => setImmediate(r));
    const sizes = messages.map((m) => {
      const d = decodeVenueBookUpdate(m);
      if (!d.ok) throw new Error(d.error);
      return d.value.books.length;
    });
    expect(sizes).toEqual([CHUNK_BOOKS, CHUNK_BOOKS, 1]);
    expect(Object.keys(await bus.hgetall('t:books:BINANCE'))).toHaveLength(CHUNK_BOOKS * 2 + 1);
    expect(pub.stats()).toEqual({
      rounds: 1,
      booksPublished: CHUNK_BOOKS * 2 + 1,
      publishErrors: 0,
      skippedNames: 0,
    });
  });

  it('dates a book by the publish time when its event time is unusable', async () => {
    const s = setup();
    const id = s.symbols.intern('BTC-USD');
    s.registry.snapshot(id, [100, 1], 1, [101, 1], 1, 1e300);
    await s.pub.publishNow();
    const b = (await s.snapshot())['BTC-USD'] as VenueBook;
    expect(b.tsEvent).toBe(b.tsIngest);
    expect(s.pub.publishErrors).toBe(0);
  });

  it('stop() sends a last round', async () => {
    const s = setup();
    s.pub.start();
    const id = s.symbols.intern('BTC-USD');
    s.registry.snapshot(id, [100, 1], 1, [101, 1], 1, T0);
    await s.pub.stop();
    expect(Object.keys(await s.snapshot())).toEqual(['BTC-USD']);
  });
});
