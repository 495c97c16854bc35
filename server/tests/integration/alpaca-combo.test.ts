import { randomUUID } from 'node:crypto';
import { asComboId, asTenantId } from '@aegis/shared/ids';
import type { PlaceComboInput } from '@aegis/shared/schemas/combo';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionReport } from '../../src/brokers/types.ts';
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
  await fx.stopRuntime(); // first: nothing of the last test may land after the clear
  await clearTrading(fx.owner, ['combos', 'broker_connections']);
  alpaca = await startFakeAlpaca({ authorize: (a) => a.kind === 'key' && a.keyId === 'PKTEST' });
  const [conn] = await fx.owner`
    insert into broker_connections (tenant_id, provider, account_ref, environment, link_kind, status)
    values (${fx.tenantId}, 'alpaca', ${alpaca.accountNumber}, 'paper', 'api_key', 'active') returning id`;
  connectionId = conn!.id as string;
  await fx.replaceRuntime({
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

  it('a cancel Alpaca refuses (422 not cancelable) leaves the combo working: both legs back to new, the refusal reported, nothing half-done', async () => {
    const c = await place(vertical());
    await settleUntil(async () => (await combo(c.id)).status === 'new', 'the combo accepted');
    const root = mlegOrders()[0]!;
    const venueStatus = root.status;
    const adapter = await fx.runtime.brokers.get(asTenantId(fx.tenantId), connectionId);
    const reports: ExecutionReport[] = [];
    const off = adapter.onExecutionReport((r) => reports.push(r));
    // Alpaca's documented refusal of a cancel (DELETE /v2/orders/{id}): 422, code 42210000.
    alpaca.failNext({
      method: 'DELETE',
      path: `/v2/orders/${root.id}`,
      status: 422,
      body: { code: 42210000, message: 'order is not cancelable' },
    });
    const requested = await fx.runtime.combos.cancel(asTenantId(fx.tenantId), asComboId(c.id), actor);
    expect(requested.legs.map((l) => l.status)).toEqual(['pending_cancel', 'pending_cancel']);
    await settleUntil(async () => (await combo(c.id)).status === 'new', 'the cancel refused');
    off();

    // The refusal reaches the platform as a cancel reject on each leg, with Alpaca's reason.
    const rejects = reports.filter((r) => r.kind === 'cancel_rejected');
    expect(rejects.map((r) => r.clientOrderId).sort()).toEqual(
      requested.legs.map((l) => l.clientOrderId).sort(),
    );
    for (const r of rejects) expect(r.reason).toContain('not cancelable');
    // Both legs are working again, unfilled; the combo with them; Alpaca still works the order.
    const after = await combo(c.id);
    expect(after.legs.map((l) => [l.status, l.filledQuantity])).toEqual([
      ['new', '0'],
      ['new', '0'],
    ]);
    expect(alpaca.orders.get(root.id)!.status).toBe(venueStatus);
    expect(alpaca.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([
      `/v2/orders/${root.id}`,
    ]);
    // Nothing half-written: each leg's timeline is new → pending_cancel → new, no fill, and the
    // cancel's outbox row is done, not left to be retried.
    for (const l of after.legs) {
      const events = await fx.owner`
        select from_status, to_status from order_events where order_id = ${l.id} order by id`;
      expect(events.slice(-2).map((e) => [e.from_status, e.to_status])).toEqual([
        ['new', 'pending_cancel'],
        ['pending_cancel', 'new'],
      ]);
    }
    expect((await fx.owner`select count(*)::int as n from fills`)[0]!.n).toBe(0);
    const cancels = await fx.owner`
      select dispatched_at, attempts, last_error from outbox where topic = 'broker.cancelCombo'`;
    expect(cancels).toHaveLength(1);
    expect(cancels[0]!.dispatched_at).not.toBeNull();
    expect(cancels[0]!.last_error).toBeNull();

    // The combo can be cancelled again (no cancel left pending), and this time Alpaca takes it.
    await fx.runtime.combos.cancel(asTenantId(fx.tenantId), asComboId(c.id), actor);
    await settleUntil(async () => (await combo(c.id)).status === 'cancelled', 'the second cancel');
    expect((await combo(c.id)).legs.map((l) => l.status)).toEqual(['cancelled', 'cancelled']);
    expect(alpaca.orders.get(root.id)!.status).toBe('canceled');
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
