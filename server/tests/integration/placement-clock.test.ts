import { randomUUID } from 'node:crypto';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * The governor judges an order at the time it is decided, not when the request arrived. An order
 * that waits for the desk's order lock (another placement, or a database that just came back)
 * must not find the venue price newer than its own clock and call it "dated in the future"
 * (found by the chaos suite: 1–3 orders per run denied after a PostgreSQL restart).
 */
let t: TestServer;
let admin: Client;
let locker: Sql;
const SYMBOL = 'CLK-USD';

beforeAll(async () => {
  t = await startTestServer({
    rateLimiter: null,
    execution: {
      outboxIntervalMs: 100,
      paper: { seed: 5, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '0' },
    },
  });
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values (${SYMBOL}, 'SIM', 'crypto', '0.01', '0.0001', '24x7')`;
  admin = (await signIn(t.url, t.admin.email, t.admin.password)).client;
  locker = postgres(t.database.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await locker?.end({ timeout: 1 });
  await t?.close();
});

describe('order placement clock', () => {
  it('an order that waited for the desk lock is judged on the prices of the moment it is decided', async () => {
    await venuePrices(t, [{ venue: 'SIM', instrument: SYMBOL, bid: '100.00', ask: '100.02' }]);
    // Another placement holds the desk's order lock (the same advisory key the service takes).
    await locker`select pg_advisory_lock(hashtextextended(${`aegis.orders:${t.admin.deskId}`}, 0))`;
    let order: Awaited<ReturnType<typeof admin.orders.place.mutate>> | undefined;
    const placing = admin.orders.place
      .mutate({
        idempotencyKey: randomUUID(),
        order: { symbol: SYMBOL, side: 'buy', orderType: 'market', timeInForce: 'day', quantity: '1' },
      })
      .then((o) => {
        order = o;
      });
    // While it waits, the venue moves on: a fresh price, newer than the request by more than the
    // 2 s future skew the governor allows.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(order).toBeUndefined();
    await venuePrices(t, [{ venue: 'SIM', instrument: SYMBOL, bid: '100.10', ask: '100.12' }]);
    await locker`select pg_advisory_unlock(hashtextextended(${`aegis.orders:${t.admin.deskId}`}, 0))`;
    await placing;
    const failed = (order?.denial ?? []).filter((v) => !v.passed);
    expect(failed).toEqual([]);
    expect(order?.status).not.toBe('denied');
  });
});
