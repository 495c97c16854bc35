import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTestOptionChain } from './support/option-contracts.ts';
import { until } from './support/wait.ts';
import { type Client, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * Combo procedures over HTTP (the console's and scripts' path, outputs validated): prices
 * published on the venue price source as the engine does, the server's own runtime dispatching
 * to the desk's paper account.
 */
let t: TestServer;
let client: Client;
const U = 'CMBR';
const C100 = 'CMBR-261218C100';
const C105 = 'CMBR-261218C105';

const quotes = (c100: [string, string], c105: [string, string]) =>
  venuePrices(t, [
    { venue: 'TESTOPT', instrument: U, bid: '99.99', ask: '100.01', bidSize: '1000', askSize: '1000' },
    { venue: 'TESTOPT', instrument: C100, bid: c100[0], ask: c100[1], bidSize: '50', askSize: '50' },
    { venue: 'TESTOPT', instrument: C105, bid: c105[0], ask: c105[1], bidSize: '50', askSize: '50' },
  ]);

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null, execution: { outboxIntervalMs: 100 } });
  ({ client } = await signIn(t.url, t.admin.email, t.admin.password));
  await insertTestOptionChain(t.owner, U, [
    { symbol: C100, right: 'call', strike: '100', delta: 0.6 },
    { symbol: C105, right: 'call', strike: '105', delta: 0.4 },
  ]);
  await t.owner`insert into risk_limits ${t.owner({
    tenant_id: t.admin.deskId,
    symbol: '*',
    max_spread_bps: 500,
    max_order_notional: '100000',
  } as never)}`;
});
afterAll(async () => {
  await t?.close();
});

const combo = {
  strategy: 'vertical' as const,
  legs: [
    { symbol: C100, side: 'buy' as const, ratio: 1 },
    { symbol: C105, side: 'sell' as const, ratio: 1 },
  ],
  quantity: '1',
  orderType: 'limit' as const,
  netLimitPrice: '2.9',
  timeInForce: 'day' as const,
};

describe('combo procedures', () => {
  it('checkCombo, placeCombo, the legs in orders.list, then the fill, combo and positions.strategies', async () => {
    await quotes(['4.98', '5.00'], ['2.00', '2.01']);
    const check = await client.orders.checkCombo.query(combo);
    expect(check).toMatchObject({ allowed: true, maxLoss: '290', netPrice: '2.9' });
    expect(check.verdicts.some((v) => v.message?.startsWith(`leg ${C105} (sell 1×)`))).toBe(true);

    const placed = await client.orders.placeCombo.mutate({ idempotencyKey: randomUUID(), combo });
    expect(placed).toMatchObject({ status: 'pending_new', maxLoss: '290', quantity: '1' });
    expect(placed.legs.map((l) => [l.symbol, l.side, l.ratio, l.quantity])).toEqual([
      [C100, 'buy', 1, '1'],
      [C105, 'sell', 1, '1'],
    ]);
    await until(
      'the combo working',
      async () => (await client.orders.combo.query({ id: placed.id })).status === 'new',
    );
    const legIds = new Set(placed.legs.map((l) => l.id));
    const listed = await client.orders.list.query({ status: 'working', limit: 10 });
    expect(listed.filter((o) => legIds.has(o.id)).length).toBe(2);

    await quotes(['4.98', '4.99'], ['2.09', '2.10']); // net 2.90: marketable
    const filled = await until('the combo filled', async () => {
      const c = await client.orders.combo.query({ id: placed.id });
      return c.status === 'filled' && c;
    });
    expect(filled).toMatchObject({ avgNetPrice: '2.9', filledQuantity: '1' });
    expect((await client.orders.combos.query({ limit: 10 })).map((c) => c.id)).toContain(placed.id);

    const [s] = await client.positions.strategies.query();
    expect(s).toMatchObject({ comboId: placed.id, strategy: 'vertical' });
    expect(s!.legs.map((l) => [l.symbol, l.quantity, l.avgPrice])).toEqual([
      [C100, '1', '4.99'],
      [C105, '-1', '2.09'],
    ]);
    const positions = await client.positions.list.query();
    // Per symbol, the multiplier applied: 1 contract × 100 at the mid 4.985.
    expect(positions.find((p) => p.symbol === C100)?.marketValue).toBe('498.5');
  });

  it('cancelCombo ends both legs; a second cancel of the finished combo is a conflict', async () => {
    await quotes(['4.98', '5.00'], ['2.00', '2.01']);
    const placed = await client.orders.placeCombo.mutate({
      idempotencyKey: randomUUID(),
      combo: { ...combo, netLimitPrice: '1', quantity: '2' },
    });
    await until(
      'the combo working',
      async () => (await client.orders.combo.query({ id: placed.id })).status === 'new',
    );
    await client.orders.cancelCombo.mutate({ comboId: placed.id });
    // The combo reads cancelled as soon as one leg is (it can no longer fill all-or-none); the
    // other leg's cancel may still be on its way, so wait for both.
    const done = await until('the combo and both legs cancelled', async () => {
      const c = await client.orders.combo.query({ id: placed.id });
      return c.status === 'cancelled' && c.legs.every((l) => l.status === 'cancelled') && c;
    });
    expect(done.legs.map((l) => l.status)).toEqual(['cancelled', 'cancelled']);
    await expect(client.orders.cancelCombo.mutate({ comboId: placed.id })).rejects.toMatchObject({
      data: { code: 'CONFLICT' },
    });
  });
});
