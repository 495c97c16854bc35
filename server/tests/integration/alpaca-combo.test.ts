import { randomUUID } from 'node:crypto';
import { asComboId, asTenantId } from '@aegis/shared/ids';
import type { PlaceComboInput } from '@aegis/shared/schemas/combo';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/execution/types.ts';
import type { ExecutionFixture } from './execution-fixture.ts';
import { clearTrading, insertDeskLimits } from './support/desk-limits.ts';
import { type FakeAlpaca, startFakeAlpaca } from './support/fake-alpaca.ts';
import { verticalSpread } from './support/option-contracts.ts';
import { COMBO_DESK_LIMITS, createOptionDesk, quoteCallVertical } from './support/option-desk.ts';

/**
 * Combos routed to a linked Alpaca connection go out as one multi-leg options order
 * (`order_class: mleg`) through the real execution path (PostgreSQL, governor, outbox, the Alpaca
 * adapter over real sockets to the fake Alpaca server, reports from its trade_updates stream).
 */
let fx: ExecutionFixture;
let actor: Actor;
let alpaca: FakeAlpaca;
let connectionId: string;

const U = 'CMBY';
const C100 = 'CMBY261218C00100000';
const C105 = 'CMBY261218C00105000';

beforeAll(async () => {
  ({ fx, actor } = await createOptionDesk(U, { c100: C100, c105: C105 }));
});
afterAll(async () => {
  await fx?.close();
});

beforeEach(async () => {
  await clearTrading(fx.owner, ['combos', 'broker_connections']);
  alpaca = await startFakeAlpaca({ authorize: (a) => a.kind === 'key' && a.keyId === 'PKTEST' });
  const [conn] = await fx.owner`
    insert into broker_connections (tenant_id, provider, account_ref, environment, link_kind, status)
    values (${fx.tenantId}, 'alpaca', ${alpaca.accountNumber}, 'paper', 'api_key', 'active') returning id`;
  connectionId = conn!.id as string;
  fx.replaceRuntime({
    options: {
      brokerTimeoutMs: 400,
      connections: {
        credentialsFor: () => ({
          accessToken: async () => 'unused',
          refreshAccessToken: async () => 'unused',
          apiKey: async () => ({ apiKey: 'PKTEST', apiSecret: 'sekret' }),
        }),
        endpointsFor: () => ({ apiBaseUrl: alpaca.url, streamUrl: alpaca.streamUrl }),
      },
    },
  });
  await insertDeskLimits(fx.owner, fx.tenantId, COMBO_DESK_LIMITS);
  quoteCallVertical(fx, U, { c100: C100, c105: C105 });
});
afterEach(async () => {
  fx.runtime.brokers.close();
  await alpaca.close();
});

const vertical = (over: Partial<PlaceComboInput> = {}) =>
  verticalSpread(C100, C105, { brokerConnectionId: connectionId, ...over });
const place = (input: PlaceComboInput) =>
  fx.runtime.combos.place({
    tenantId: fx.tenantId,
    actor,
    origin: 'human',
    idempotencyKey: randomUUID(),
    input,
  });
const combo = (id: string) => fx.runtime.combos.get(fx.tenantId, asComboId(id));
const mlegRequests = () => alpaca.orderRequests.filter((b) => b.order_class === 'mleg');
const mlegOrders = () =>
  [...alpaca.orders.values()].filter((o) => o.order_class === 'mleg' && o.symbol === '');

/** Dispatches and applies reports until `done` holds (reports arrive over the stream). */
async function settleUntil(done: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await fx.settle();
    if (await done()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('combos at Alpaca: one multi-leg order', () => {
  it('a vertical goes out as ONE mleg request with both legs; the legs fill together and the combo is filled', async () => {
    const c = await place(vertical());
    expect(c.status).toBe('pending_new');
    await settleUntil(async () => (await combo(c.id)).status === 'new', 'the combo accepted');

    expect(mlegRequests()).toEqual([
      {
        order_class: 'mleg',
        qty: '2',
        type: 'limit',
        time_in_force: 'day',
        limit_price: '2.9',
        client_order_id: c.clientOrderId,
        legs: [
          { symbol: C100, ratio_qty: '1', side: 'buy' },
          { symbol: C105, ratio_qty: '1', side: 'sell' },
        ],
      },
    ]);
    // Nothing else was sent: no leg went out as an order of its own.
    expect(alpaca.orderRequests).toHaveLength(1);

    alpaca.fillCombo(c.clientOrderId, ['4.99', '2.10']);
    await settleUntil(async () => (await combo(c.id)).status === 'filled', 'the combo filled');
    const done = await combo(c.id);
    expect(done.legs.map((l) => [l.symbol, l.side, l.status, l.filledQuantity, l.avgFillPrice])).toEqual([
      [C100, 'buy', 'filled', '2', '4.99'],
      [C105, 'sell', 'filled', '2', '2.1'],
    ]);
    const fills = await fx.owner`select symbol, quantity::text, price::text from fills order by symbol`;
    expect(fills.map((f) => [f.symbol, Number(f.quantity), Number(f.price)])).toEqual([
      [C100, 2, 4.99],
      [C105, 2, 2.1],
    ]);
  });

  it('a retry after a lost response finds the order Alpaca took instead of placing it twice', async () => {
    // Alpaca takes the order but its answer arrives after the broker timeout.
    alpaca.delayNext({ method: 'POST', path: '/v2/orders', ms: 1_500, lateResponse: true });
    const c = await place(vertical());
    await fx.settle();
    const afterTimeout = await combo(c.id);
    expect(afterTimeout.legs.map((l) => l.status)).toEqual(['unknown', 'unknown']);
    await settleUntil(async () => (await combo(c.id)).status === 'new', 'the combo found at Alpaca');
    alpaca.fillCombo(c.clientOrderId, ['5', '2']);
    await settleUntil(async () => (await combo(c.id)).status === 'filled', 'the combo filled');
    expect(mlegRequests()).toHaveLength(1);
    expect(mlegOrders()).toHaveLength(1);
    const fills = await fx.owner`select count(*)::int as n from fills`;
    expect(fills[0]!.n).toBe(2);
  });

  it('a refused mleg rejects the combo and both legs', async () => {
    alpaca.failNext({
      method: 'POST',
      path: '/v2/orders',
      status: 403,
      body: { code: 40310000, message: 'insufficient options buying power for mleg order' },
    });
    const c = await place(vertical());
    await settleUntil(async () => (await combo(c.id)).status === 'rejected', 'the combo rejected');
    const done = await combo(c.id);
    expect(done.legs.map((l) => l.status)).toEqual(['rejected', 'rejected']);
    expect(done.legs[0]!.rejectReason).toContain('insufficient options buying power');
    expect(mlegOrders()).toHaveLength(0);
  });

  it('cancelling a working combo cancels the mleg order as one; both legs end cancelled', async () => {
    const c = await place(vertical());
    await settleUntil(async () => (await combo(c.id)).status === 'new', 'the combo accepted');
    await fx.runtime.combos.cancel(asTenantId(fx.tenantId), asComboId(c.id), actor);
    await settleUntil(async () => (await combo(c.id)).status === 'cancelled', 'the combo cancelled');
    expect((await combo(c.id)).legs.map((l) => l.status)).toEqual(['cancelled', 'cancelled']);
    const root = mlegOrders()[0]!;
    expect(root.status).toBe('canceled');
    // One DELETE, of the multi-leg order itself.
    expect(alpaca.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([
      `/v2/orders/${root.id}`,
    ]);
  });

  it('the fake refuses a malformed mleg as Alpaca does (422, the field named)', async () => {
    const res = await fetch(`${alpaca.url}/v2/orders`, {
      method: 'POST',
      headers: {
        'apca-api-key-id': 'PKTEST',
        'apca-api-secret-key': 's',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        order_class: 'mleg',
        qty: '1',
        type: 'limit',
        time_in_force: 'gtc',
        limit_price: '1.5',
        legs: [
          { symbol: C100, ratio_qty: '1', side: 'buy' },
          { symbol: C105, ratio_qty: '1', side: 'sell' },
        ],
      }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toContain('time_in_force');
  });
});
