import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { decodeVenuePrice, decodeVenuePriceUpdate } from '@aegis/shared/market/venue-prices';
import { describe, expect, it } from 'vitest';
import { wallClockUs } from '../feeds/feed.ts';
import { SymbolTable } from '../feeds/symbol-table.ts';
import { createTickRecord, type TickRecord } from '../feeds/tick.ts';
import { PricePublisher } from './price-publisher.ts';

const log = createLogger({ name: 'price-publisher-test', level: 'silent' });

function setup() {
  const bus = new MemoryBus();
  const symbols = new SymbolTable({ capacity: 8, shards: 1 });
  const pub = new PricePublisher({
    bus,
    venue: 'SIM',
    prefix: 't:',
    symbolTable: symbols,
    capacity: 8,
    publishMs: 60_000, // rounds are driven by publishNow() below
    log,
  });
  const updates: string[] = [];
  const passedOn: TickRecord[] = [];
  const sink = pub.sinkFor({ publish: (t) => passedOn.push({ ...t }) > 0 });
  const snapshot = async () => {
    const raw = await bus.hgetall('t:prices:SIM');
    return Object.fromEntries(
      Object.entries(raw).map(([k, v]) => {
        const d = decodeVenuePrice(v);
        if (!d.ok) throw new Error(d.error);
        return [k, d.price];
      }),
    );
  };
  return { bus, symbols, pub, updates, sink, passedOn, snapshot };
}

const quote = (symbolId: number, tsUs: number, bid: number, ask: number): TickRecord => ({
  ...createTickRecord(),
  symbolId,
  tsEventUs: tsUs,
  kind: 2,
  price: (bid + ask) / 2,
  bid,
  ask,
  bidSize: 5,
  askSize: 7,
});

describe('PricePublisher', () => {
  it('publishes the latest top of book and trade per instrument, coalesced, as snapshot and update', async () => {
    const s = setup();
    const updates: string[] = [];
    await s.bus.subscribe('t:prices:SIM:updates', (m) => updates.push(m));
    const id = s.symbols.intern('SYN0000');
    const now = wallClockUs();
    s.sink.publish(quote(id, now - 3000, 124.5, 124.52));
    s.sink.publish(quote(id, now - 2000, 124.51, 124.53));
    s.sink.publish({ ...quote(id, now - 1000, 124.51, 124.53), kind: 1, price: 124.53, size: 3 });
    expect(s.passedOn).toHaveLength(3); // every tick still reaches the pipeline
    await s.pub.publishNow();
    const snap = await s.snapshot();
    expect(snap.SYN0000?.quote).toMatchObject({ bid: '124.51', ask: '124.53', bidSize: '5', askSize: '7' });
    expect(snap.SYN0000?.trade).toMatchObject({ price: '124.53', size: '3' });
    await new Promise((r) => setImmediate(r));
    expect(updates).toHaveLength(1); // three ticks, one round
    const u = decodeVenuePriceUpdate(updates[0] as string);
    expect(u.ok && u.update.prices.map((p) => p.instrument)).toEqual(['SYN0000']);
    expect(s.pub.pricesPublished).toBe(1);
  });

  it('refuses a tick dated beyond the skew in the future and never lets it block later real ticks', async () => {
    const s = setup();
    const id = s.symbols.intern('SYN0001');
    const now = wallClockUs();
    s.sink.publish(quote(id, now + 50 * 60_000_000, 62.26, 62.27)); // a poisoned quote: 50 minutes in the future
    expect(s.pub.rejectedFuture).toBe(1);
    await s.pub.publishNow();
    expect(await s.snapshot()).toEqual({});
    s.sink.publish(quote(id, now - 1000, 124.5, 124.52));
    await s.pub.publishNow();
    expect((await s.snapshot()).SYN0001?.quote?.bid).toBe('124.5');
  });

  it('refuses implausibly old ticks and ignores out-of-order ones', async () => {
    const s = setup();
    const id = s.symbols.intern('SYN0002');
    const now = wallClockUs();
    s.sink.publish(quote(id, Date.UTC(1970, 0, 1, 0, 0, 1) * 1000, 1, 2));
    expect(s.pub.rejectedOld).toBe(1);
    s.sink.publish(quote(id, now - 1000, 100, 100.1));
    s.sink.publish(quote(id, now - 5000, 90, 90.1)); // older than what is held
    await s.pub.publishNow();
    expect((await s.snapshot()).SYN0002?.quote?.bid).toBe('100');
  });

  it('republishes every priced instrument, changed or not (a Redis that restarted empty)', async () => {
    const s = setup();
    const updates: string[] = [];
    await s.bus.subscribe('t:prices:SIM:updates', (m) => updates.push(m));
    const id = s.symbols.intern('SYN0004');
    s.symbols.intern('SYN0005'); // known, never priced
    s.sink.publish(quote(id, wallClockUs() - 1000, 20, 20.02));
    await s.pub.publishNow();
    await s.pub.publishNow(); // nothing changed: no round
    s.pub.markAll();
    await s.pub.publishNow();
    await new Promise((r) => setImmediate(r));
    expect(s.pub.rounds).toBe(2);
    const instruments = updates.map((m) => {
      const u = decodeVenuePriceUpdate(m);
      return u.ok ? u.update.prices.map((p) => p.instrument) : [];
    });
    expect(instruments).toEqual([['SYN0004'], ['SYN0004']]);
  });

  it('keeps the instruments of a failed round for the next one', async () => {
    const s = setup();
    const id = s.symbols.intern('SYN0003');
    s.sink.publish(quote(id, wallClockUs() - 1000, 10, 10.01));
    const hset = s.bus.hset.bind(s.bus);
    s.bus.hset = async () => {
      throw new Error('bus down');
    };
    await s.pub.publishNow();
    expect(s.pub.publishErrors).toBe(1);
    s.bus.hset = hset;
    await s.pub.publishNow();
    expect((await s.snapshot()).SYN0003?.quote?.bid).toBe('10');
  });
});
