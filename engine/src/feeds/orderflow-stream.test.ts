import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { MalformedRecords } from './malformed.ts';
import { OrderflowStreamFeed } from './orderflow-stream.ts';
import { SymbolTable } from './symbol-table.ts';
import { copyTick, createTickRecord, type TickRecord } from './tick.ts';

const log = createLogger({ name: 'orderflow-test', level: 'silent' });
const STREAM = 'aegis:orderflow';

const trade = (i: number, extra: Record<string, string> = {}) => ({
  ts: `2026-01-01T00:00:0${i % 10}.000001Z`,
  symbol: 'BTC-USD',
  kind: 'trade',
  seq: String(i),
  side: i % 2 ? 'buy' : 'sell',
  price: '42000.5',
  size: '0.25',
  ...extra,
});

function setup(bus: MemoryBus, consumer = 'engine-1') {
  const table = new SymbolTable({ capacity: 10, shards: 1 });
  const malformed = new MalformedRecords(log);
  const feed = new OrderflowStreamFeed(
    {
      bus,
      stream: STREAM,
      consumer,
      symbolTable: table,
      malformed,
      log,
      blockMs: 20,
      claimIdleMs: 50,
      claimEveryMs: 10,
    },
    createTickRecord(),
  );
  const got: TickRecord[] = [];
  const running = feed.run({ publish: (t) => got.push(copyTick(t, createTickRecord())) > 0 });
  return { feed, got, malformed, running, table };
}

describe('orderflow stream feed', () => {
  it('maps trades and quotes to ticks and acknowledges only on commit', async () => {
    const bus = new MemoryBus();
    await bus.xadd(STREAM, trade(1));
    await bus.xadd(STREAM, {
      ts: '2026-01-01T00:00:01Z',
      symbol: 'ETH-USD',
      kind: 'quote',
      bid: '3000',
      ask: '3000.5',
      bidSize: '2',
      askSize: '3',
    });
    await bus.xadd(STREAM, { ts: '2026-01-01T00:00:01Z', symbol: 'ETH-USD', kind: 'depth', levels: '[]' });
    const { feed, got, running, table } = setup(bus);
    await expect.poll(() => feed.position(), { timeout: 10_000 }).toBe('3');
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({
      kind: 1,
      aggressor: 1,
      price: 42000.5,
      size: 0.25,
      seq: 1,
      tsEventUs: Date.UTC(2026, 0, 1, 0, 0, 1) * 1000 + 1,
    });
    expect(table.symbolOf((got[0] as TickRecord).symbolId)).toBe('BTC-USD');
    expect(got[1]).toMatchObject({
      kind: 2,
      aggressor: 0,
      bid: 3000,
      ask: 3000.5,
      price: 3000.25,
      bidSize: 2,
      askSize: 3,
    });
    expect((await bus.pending(STREAM, 'engine')).count).toBe(3);
    await feed.commit(feed.position());
    expect((await bus.pending(STREAM, 'engine')).count).toBe(0);
    feed.stop();
    await running;
  });

  it('drains its own pending entries after a crash before reading new ones', async () => {
    const bus = new MemoryBus();
    for (let i = 0; i < 4; i++) await bus.xadd(STREAM, trade(i));
    const a = setup(bus);
    await expect.poll(() => a.got.length, { timeout: 10_000 }).toBe(4);
    await a.feed.commit('2'); // the first two became durable, then the process died
    a.feed.stop();
    await a.running;
    await bus.xadd(STREAM, trade(4));
    const b = setup(bus);
    await expect.poll(() => b.got.length, { timeout: 10_000 }).toBe(3);
    expect(b.got.map((t) => t.seq)).toEqual([2, 3, 4]);
    await b.feed.commit(b.feed.position());
    expect((await bus.pending(STREAM, 'engine')).count).toBe(0);
    b.feed.stop();
    await b.running;
  });

  it('reclaims entries stuck on a dead consumer and dead-letters poison entries', async () => {
    const bus = new MemoryBus();
    await bus.ensureGroup(STREAM, 'engine', '0');
    await bus.xadd(STREAM, trade(1));
    await bus.xadd(STREAM, trade(2));
    // a dead consumer took both; entry 2 has been delivered too many times already
    await bus.readGroup(STREAM, 'engine', 'dead');
    for (let i = 0; i < 5; i++) await bus.readGroup(STREAM, 'engine', 'dead', { id: '0' });
    await bus.ack(STREAM, 'engine', []);
    await new Promise((r) => setTimeout(r, 60));
    const c = setup(bus, 'engine-2');
    await expect.poll(() => c.feed.claimed + c.feed.deadLettered, { timeout: 10_000 }).toBe(2);
    expect(c.feed.deadLettered).toBe(2);
    expect(await bus.xlen(`${STREAM}:dead`)).toBe(2);
    c.feed.stop();
    await c.running;
  });

  it('never re-claims its own in-flight entries (a database outage longer than claimIdleMs)', async () => {
    const bus = new MemoryBus();
    for (let i = 0; i < 3; i++) await bus.xadd(STREAM, trade(i));
    const { feed, got, running } = setup(bus);
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(3);
    // several sweeps (every 10 ms, idle 50 ms) while nothing is committed
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toHaveLength(3);
    expect(feed.position()).toBe('3');
    expect(feed.claimed).toBe(0);
    await feed.commit(feed.position());
    expect((await bus.pending(STREAM, 'engine')).count).toBe(0);
    feed.stop();
    await running;
  });

  it.each([
    ['payload', { symbol: 'X', kind: 'trade' }],
    ['payload', { ts: '2026-01-01T00:00:00Z', symbol: 'X', kind: 'trade', size: '1' }],
    ['timestamp', trade(1, { ts: 'soon' })],
    ['symbol', trade(1, { symbol: 'has space' })],
    ['kind', trade(1, { kind: 'auction' })],
    ['aggressor', trade(1, { side: 'up' })],
    ['number', trade(1, { price: '1e' })],
    ['price', trade(1, { price: '0' })],
    ['size', trade(1, { size: '-2' })],
    ['quote', { ts: '2026-01-01T00:00:00Z', symbol: 'X', kind: 'quote', bid: '10', ask: '9' }],
  ])('counts, skips and acknowledges a malformed entry (%s)', async (kind, fields) => {
    const bus = new MemoryBus();
    await bus.xadd(STREAM, fields as Record<string, string>);
    await bus.xadd(STREAM, trade(7));
    const { feed, got, malformed, running } = setup(bus);
    await expect.poll(() => feed.position(), { timeout: 10_000 }).toBe('2');
    expect(got.map((t) => t.seq)).toEqual([7]);
    expect(malformed.count(`orderflow:${STREAM}`, kind as never)).toBe(1);
    await feed.commit(feed.position());
    expect((await bus.pending(STREAM, 'engine')).count).toBe(0);
    feed.stop();
    await running;
  });

  it.each([
    ['a desk id', { tenantId: '00000000-0000-4000-8000-00000000000a' }],
    ['an empty desk id', { tenantId: '' }],
  ])(
    'refuses an entry that carries a tenantId (%s): desk flow never becomes a market tick',
    async (_, extra) => {
      // What orderflow.ingest used to publish: a desk's research data on the shared stream. One
      // desk's flow must not reach the ticks, features and signals every desk shares.
      const bus = new MemoryBus();
      await bus.xadd(STREAM, trade(1, { ...extra, source: 'desk-a', id: 'x' }));
      await bus.xadd(STREAM, trade(2, { source: 'operator-bridge', venue: 'SIM' }));
      const { feed, got, malformed, running } = setup(bus);
      await expect.poll(() => feed.position(), { timeout: 10_000 }).toBe('2');
      expect(got.map((t) => t.seq)).toEqual([2]);
      expect(feed.ticksIn).toBe(1);
      expect(malformed.count(`orderflow:${STREAM}`, 'desk_flow' as never)).toBe(1);
      // Refused entries are acknowledged like any malformed one: never redelivered.
      await feed.commit(feed.position());
      expect((await bus.pending(STREAM, 'engine')).count).toBe(0);
      feed.stop();
      await running;
    },
  );
});
