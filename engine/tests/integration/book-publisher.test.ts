import { createLogger } from '@aegis/shared/logging';
import { decodeVenueBook, decodeVenueBookUpdate, type VenueBook } from '@aegis/shared/market/venue-books';
import { afterAll, describe, expect, it } from 'vitest';
import { BookPublisher } from '../../src/book/book-publisher.ts';
import { BookRegistry } from '../../src/book/book-registry.ts';
import { ASK, BID } from '../../src/book/book-sink.ts';
import { SymbolTable } from '../../src/feeds/symbol-table.ts';
import { redisScope } from '../support/redis-scope.ts';
import { until } from '../support/wait.ts';

/**
 * The book publisher over real Redis: its own timer publishes the snapshot hash and the update
 * channel, and a reader that subscribes, then reads the hash, keeping the highest seq per
 * instrument (the protocol in shared/src/market/venue-books.ts), ends with the engine's books.
 */
const log = createLogger({ name: 'book-publisher-it', level: 'silent' });
const { prefix, bus, close } = redisScope('book-publisher-test');
const T0 = Date.UTC(2026, 11, 4, 12) * 1000;

afterAll(close);

describe('book publisher over Redis', () => {
  it('publishes changed books on its timer; a subscribe-then-snapshot reader converges on them', async () => {
    const symbols = new SymbolTable({ capacity: 4, shards: 1 });
    const registry = new BookRegistry(4);
    const pub = new BookPublisher({
      bus,
      venue: 'COINBASE',
      prefix,
      registry,
      symbolTable: symbols,
      publishMs: 20,
      log,
    });
    const btc = symbols.intern('BTC-USD');
    const eth = symbols.intern('ETH-USD');
    registry.snapshot(btc, [43210.5, 0.25, 43210, 1.5], 2, [43211, 0.75], 1, T0);
    registry.snapshot(eth, [2301.2, 3], 1, [2301.3, 4], 1, T0);
    pub.start();
    await until('the first round', () => pub.rounds >= 1);

    // A reader as a server process runs it.
    const seen = new Map<string, VenueBook>();
    const keep = (b: VenueBook) => {
      const held = seen.get(b.instrument);
      if (!held || b.seq > held.seq) seen.set(b.instrument, b);
    };
    let bad = 0;
    const unsubscribe = await bus.subscribe(`${prefix}books:COINBASE:updates`, (m) => {
      const d = decodeVenueBookUpdate(m);
      if (d.ok) for (const b of d.value.books) keep(b);
      else bad++;
    });
    for (const v of Object.values(await bus.hgetall(`${prefix}books:COINBASE`))) {
      const d = decodeVenueBook(v);
      if (d.ok) keep(d.value);
      else bad++;
    }
    expect(seen.get('BTC-USD')?.bids).toEqual([
      ['43210.5', '0.25'],
      ['43210', '1.5'],
    ]);

    registry.update(btc, ASK, 43210.75, 2, T0 + 1000);
    registry.update(btc, BID, 43210.5, 0, T0 + 2000);
    registry.clear(eth);
    await until(
      'the changes',
      () => (seen.get('BTC-USD')?.seq ?? 0) >= 3 && seen.get('ETH-USD')?.bids.length === 0,
    );
    const b = seen.get('BTC-USD') as VenueBook;
    expect(b.bids).toEqual([['43210', '1.5']]);
    expect(b.asks).toEqual([
      ['43210.75', '2'],
      ['43211', '0.75'],
    ]);
    expect(b.tsEvent).toBe('2026-12-04T12:00:00.002000Z');
    expect(b.features?.levels).toBe(10);
    expect(b.features?.withdrawal).toBeGreaterThan(0); // the best bid was pulled, no trade there
    expect(seen.get('ETH-USD')).toMatchObject({ bids: [], asks: [], features: null });
    expect(bad).toBe(0);

    await pub.stop();
    await unsubscribe();
    // The hash alone (a process starting now) holds the same books.
    const hash = await bus.hgetall(`${prefix}books:COINBASE`);
    const fromHash = decodeVenueBook(hash['BTC-USD'] as string);
    expect(fromHash.ok && fromHash.value.seq).toBe(b.seq);
    expect(pub.publishErrors).toBe(0);
  });
});
