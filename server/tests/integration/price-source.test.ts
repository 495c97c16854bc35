import { randomUUID } from 'node:crypto';
import { createDb } from '@aegis/shared/db/client';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { publishVenuePrices, type TestVenuePrice } from '@aegis/shared/testing/venue-prices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRuntime } from '../../src/execution/runtime.ts';
import { type RunningServer, startServer } from '../../src/http.ts';
import { testExecution } from './support/test-execution.ts';
import { waitUntil } from './support/wait.ts';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * One source of execution prices (docs/architecture.md, "One price source"), through the real server: prices come
 * from the venue price source on Redis only. Desk A's ingested order flow — a quote dated 50
 * minutes ahead at half the price, a plausible quote at half the price, a trade print through
 * desk B's resting limit — never reaches desk B's fills, reference price or resting orders; a
 * future-dated venue price never blocks later real ones; two server processes on the same
 * Redis prefix read the same prices, and one that starts late has them at once.
 */
let t: TestServer;
let a: Awaited<ReturnType<typeof signIn>>;
let b: Awaited<ReturnType<typeof signIn>>;
let deskB: TenantId;
const SYMBOL = 'PSX-USD';
const VENUE = 'SIM';
const ex = (s: RunningServer = t.server): ExecutionRuntime => s.deps.execution!;
const execOptions = testExecution({
  outboxIntervalMs: 100,
  paper: { seed: 3 },
});

/** Publishes a venue price and waits until the given servers' books hold it. */
async function venuePrice(p: Omit<TestVenuePrice, 'venue' | 'instrument'>, servers = [t.server]) {
  const ts = p.ts ?? new Date();
  await publishVenuePrices(t.server.deps.bus, `${t.redisPrefix}:`, [
    { venue: VENUE, instrument: SYMBOL, ...p, ts },
  ]);
  for (const s of servers) {
    await waitUntil(
      () => ex(s).quotes.get(SYMBOL),
      (q) => q?.tsQuote?.getTime() === ts.getTime(),
      'the venue price in the server',
    );
  }
}

const orderOf = (c: Client, order: Record<string, unknown>) =>
  c.orders.place.mutate({
    idempotencyKey: randomUUID(),
    order: {
      symbol: SYMBOL,
      side: 'buy',
      orderType: 'market',
      timeInForce: order.orderType === 'limit' ? 'gtc' : 'day',
      quantity: '1',
      ...order,
    } as never,
  });

const settled = (c: Client, id: string) =>
  waitUntil(
    () => c.orders.get.query({ id }),
    (r) => ['filled', 'rejected', 'canceled', 'expired', 'denied'].includes(r.order.status),
    'the order to settle',
  );

let seq = 0;
const deskQuote = (tsEvent: string, bid: string, ask: string) => ({
  kind: 'quote',
  instrument: SYMBOL,
  venue: VENUE,
  tsEvent,
  source: 'desk-a-feed',
  sequence: ++seq,
  bid,
  ask,
  bidSize: '1000',
  askSize: '1000',
});

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null, execution: execOptions });
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values (${SYMBOL}, ${VENUE}, 'crypto', '0.01', '0.0001', '24x7')`;
  a = await signIn(t.url, t.admin.email, t.admin.password);
  deskB = asTenantId((await a.client.desks.create.mutate({ name: 'Desk B' })).id);
  b = await signIn(t.url, t.admin.email, a.password);
  await b.client.auth.switchDesk.mutate({ deskId: deskB });
});
afterAll(async () => {
  await t?.close();
});

describe('one source of execution prices', () => {
  it("desk A's order flow never moves desk B's prices; later venue prices are used", async () => {
    await venuePrice({ bid: '124.50', ask: '124.51', last: '124.50' });

    // Desk A: a quote 50 minutes ahead at half the price — refused, field named.
    const future = new Date(Date.now() + 50 * 60_000).toISOString();
    const refused = await failure(
      a.client.orderflow.ingest.mutate({ events: [deskQuote(future, '62.26', '62.27')] }),
    );
    expect(refused.data?.code).toBe('BAD_REQUEST');
    expect(refused.message).toContain('events[0].tsEvent');
    expect(refused.message).toMatch(/future/);

    // Desk B: a resting buy limit below the market.
    const resting = await orderOf(b.client, { orderType: 'limit', limitPrice: '120' });
    await waitUntil(
      () => b.client.orders.get.query({ id: resting.id }),
      (r) => r.order.status === 'new',
      'the limit order to rest',
    );

    // Desk A: plausibly dated research data at half the price, and a trade print through desk
    // B's limit. Stored for desk A; never prices.
    const now = new Date().toISOString();
    const stored = await a.client.orderflow.ingest.mutate({
      events: [
        deskQuote(now, '62.26', '62.27'),
        {
          kind: 'trade',
          instrument: SYMBOL,
          venue: VENUE,
          tsEvent: now,
          source: 'desk-a-feed',
          sequence: ++seq,
          price: '62.27',
          size: '50',
          side: 'sell',
        },
      ],
    });
    expect(stored.inserted).toBe(2);
    expect(ex().quotes.get(SYMBOL)?.ask?.toString()).toBe('124.51');

    // Desk B's market buy fills at the venue's ask. The venue keeps quoting (unchanged): on a
    // loaded machine the steps above can outlast the reference-age limit of the first quote.
    await venuePrice({ bid: '124.50', ask: '124.51', last: '124.50' });
    const buy = await orderOf(b.client, {});
    const filled = await settled(b.client, buy.id);
    expect(filled.order.status, JSON.stringify(filled.order.denial)).toBe('filled');
    expect(filled.fills.map((f) => f.price)).toEqual(['124.51']);

    // Its resting limit did not fill on desk A's print.
    await ex().dispatcher.dispatchTenant(deskB);
    await ex().brokers.drain();
    const still = await b.client.orders.get.query({ id: resting.id });
    expect(still.fills).toEqual([]);
    expect(still.order.status).not.toBe('filled');

    // A venue price dated in the future (a broken feed) is refused by the reader...
    await publishVenuePrices(t.server.deps.bus, `${t.redisPrefix}:`, [
      {
        venue: VENUE,
        instrument: SYMBOL,
        bid: '62.26',
        ask: '62.27',
        ts: new Date(Date.now() + 50 * 60_000),
      },
    ]);
    // ...and the later real venue price is used.
    await venuePrice({ bid: '130.00', ask: '130.01' });
    expect(ex().quoteFeed.rejectedFuture).toBeGreaterThanOrEqual(1);
    // (another quantity: the same order again would be a duplicate by the desk's rules)
    const later = await settled(b.client, (await orderOf(b.client, { quantity: '2' })).id);
    expect(later.order.status, JSON.stringify(later.order)).toBe('filled');
    expect(later.fills.map((f) => f.price)).toEqual(['130.01']);
  });

  it('two server processes on the same Redis prefix see the same prices; a late one at once', async () => {
    await venuePrice({ bid: '131.00', ask: '131.02', last: '131.01' });
    const db = createDb(t.database.appUrl, { max: 3 });
    const second = await startServer({
      config: t.server.deps.config,
      log: createLogger({ name: 'second-server', level: 'silent' }),
      db,
      redisKeyPrefix: t.redisPrefix,
      execution: execOptions,
      rateLimiter: null,
    });
    try {
      // Started after the price was published: the snapshot is there without waiting.
      const atStart = ex(second).quotes.get(SYMBOL);
      expect(atStart?.ask?.toString()).toBe('131.02');
      expect(atStart?.last?.toString()).toBe('131.01');
      await venuePrice({ bid: '132.00', ask: '132.02' }, [t.server, second]);
      const one = ex().quotes.get(SYMBOL);
      const two = ex(second).quotes.get(SYMBOL);
      expect([two?.bid?.toString(), two?.ask?.toString(), two?.tsQuote?.toISOString()]).toEqual([
        one?.bid?.toString(),
        one?.ask?.toString(),
        one?.tsQuote?.toISOString(),
      ]);
    } finally {
      await second.close();
      await db.close();
    }
  });
});
