import { randomUUID } from 'node:crypto';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerError, BrokerErrorCode } from '../../src/brokers/types.ts';
import { toTRPCError } from '../../src/errors.ts';
import type { ExecutionRuntime } from '../../src/execution/runtime.ts';
import { insertDeskLimits, PROTECTIVE_LIMITS } from './support/desk-limits.ts';
import {
  type BrokerDouble,
  brokerDoubleFactory,
  brokerDoubleResolvers,
  startBrokerDouble,
} from './support/dispatcher-broker-double.ts';
import { placeOrder, testExecution } from './support/test-execution.ts';
import { until } from './support/wait.ts';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * Routing orders to a linked connection (orders.place `brokerConnectionId`), the refusals (unknown,
 * another desk's, not active), cancels through a connection that needs relinking, the
 * connection's circuit breaker moving the desk to reducing-only and back, and broker errors
 * reaching the client as structured details. The broker is a real local HTTP double.
 */
let t: TestServer;
let client: Client;
let deskId: TenantId;
let double: BrokerDouble;
let connectionId: string;
const ex = (): ExecutionRuntime => t.server.deps.execution!;

const place = (order: Record<string, unknown>) => placeOrder(client, { quantity: '0.01', ...order });

const statusOf = async (id: string) =>
  (await t.owner<{ status: string }[]>`select status from orders where id = ${id}`)[0]?.status;

beforeAll(async () => {
  double = await startBrokerDouble();
  double.setPrice('BTC-USD', '50000');
  t = await startTestServer({
    rateLimiter: null,
    execution: testExecution({
      outboxIntervalMs: 100,
      brokerTimeoutMs: 2_000,
      breaker: { breakAfter: 2, halfOpenAfterMs: 300, timeoutMs: 2_000 },
      adapterFactories: { 'test-http': brokerDoubleFactory },
      connections: brokerDoubleResolvers(double.url),
    }),
  });
  deskId = asTenantId(t.admin.deskId);
  ({ client } = await signIn(t.url, t.admin.email, t.admin.password));
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
    values ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
  await insertDeskLimits(t.owner, deskId, {}, PROTECTIVE_LIMITS);
  const [provider] = await t.owner<{ id: string }[]>`
    insert into oauth_providers (tenant_id, slug, name, authorization_url, token_url, client_id, api_base_url, api_protocol)
    values (${deskId}, 'double', 'Broker double', ${`${double.url}/authorize`}, ${`${double.url}/token`}, 'client', ${double.url}, 'test-http')
    returning id`;
  const [conn] = await t.owner<{ id: string }[]>`
    insert into broker_connections (tenant_id, provider, provider_config_id, account_ref, environment, link_kind, status)
    values (${deskId}, 'oauth:double', ${provider!.id}, 'ACC1', 'paper', 'oauth', 'active') returning id`;
  connectionId = conn!.id;
  await venuePrices(t, [{ venue: 'X', instrument: 'BTC-USD', bid: '50000', ask: '50010', last: '50005' }]);
});
afterAll(async () => {
  await t?.close();
  await double?.close();
});

describe('routing orders to a linked connection', () => {
  it('sends the order through the connection once, records provider and connection, applies the fill', async () => {
    const o = await place({ brokerConnectionId: connectionId });
    expect(o).toMatchObject({
      status: 'pending_new',
      broker: 'oauth:double',
      brokerConnectionId: connectionId,
    });
    await until('filled', async () => (await statusOf(o.id)) === 'filled');
    expect(double.placeCalls.get(o.clientOrderId)).toBe(1);
    const [row] = await t.owner<{ broker: string; broker_connection_id: string }[]>`
      select broker, broker_connection_id from orders where id = ${o.id}`;
    expect(row).toEqual({ broker: 'oauth:double', broker_connection_id: connectionId });
    const fills = await t.owner`select 1 from fills where order_id = ${o.id}`;
    expect(fills.length).toBe(1);
    // This process holds the connection's dispatch lease.
    const [lease] = await t.owner<{ holder: string }[]>`
      select holder from execution_leases where resource = ${`connection:${connectionId}`}`;
    expect(lease?.holder).toBe(ex().brokers.leases.holder);
    // Balances: the connection's through its adapter, the paper account's from the paper broker.
    expect(await ex().brokerAccount(deskId, connectionId)).toMatchObject({
      accountId: 'ACC1',
      cash: '100000',
    });
    expect((await ex().brokerAccount(deskId, null)).accountId).toBe(deskId.slice(0, 8));
  });

  it('an order without a connection still goes to the paper account', async () => {
    const o = await place({});
    expect(o).toMatchObject({ broker: 'paper', brokerConnectionId: null });
    await until('filled at the paper broker', async () => (await statusOf(o.id)) === 'filled');
    expect(double.placeCalls.has(o.clientOrderId)).toBe(false);
  });

  it('refuses an unknown connection, another desk’s, and one that is not active, naming the field', async () => {
    const unknown = await failure(place({ brokerConnectionId: randomUUID() }));
    expect(unknown.data).toMatchObject({
      appCode: 'NOT_FOUND',
      details: { field: 'order.brokerConnectionId' },
    });

    const other = randomUUID();
    await t.owner`insert into tenants (id, slug, name) values (${other}, ${`other-${other.slice(0, 6)}`}, 'Other')`;
    const [foreign] = await t.owner<{ id: string }[]>`
      insert into broker_connections (tenant_id, provider, account_ref, environment, link_kind, status)
      values (${other}, 'alpaca', 'OTHER1', 'paper', 'oauth', 'active') returning id`;
    const cross = await failure(place({ brokerConnectionId: foreign!.id }));
    expect(cross.data).toMatchObject({
      appCode: 'NOT_FOUND',
      details: { field: 'order.brokerConnectionId' },
    });

    for (const status of ['needs_relink', 'reauth_required', 'revoked', 'error'] as const) {
      const [c] = await t.owner<{ id: string }[]>`
        insert into broker_connections (tenant_id, provider, account_ref, environment, link_kind, status)
        values (${deskId}, 'alpaca', ${`ACC-${status}`}, 'paper', 'oauth', ${status}) returning id`;
      const e = await failure(place({ brokerConnectionId: c!.id }));
      expect(e.data).toMatchObject({
        appCode: 'PRECONDITION_FAILED',
        details: { reason: 'connection_not_active', field: 'order.brokerConnectionId', status },
      });
      expect(e.message).toContain('order.brokerConnectionId');
    }
    const [alpaca] = await t.owner<{ n: number }[]>`
      select count(*)::int as n from orders where broker = 'alpaca'`;
    expect(alpaca!.n).toBe(0);
  });

  it('a connection whose adapter cannot be built holds only its own orders back', async () => {
    const [provider] = await t.owner<{ id: string }[]>`
      insert into oauth_providers (tenant_id, slug, name, authorization_url, token_url, client_id, api_base_url, api_protocol)
      values (${deskId}, 'nowhere', 'No adapter', 'https://x.invalid/a', 'https://x.invalid/t', 'c', 'https://x.invalid', 'no-such-protocol')
      returning id`;
    const [c] = await t.owner<{ id: string }[]>`
      insert into broker_connections (tenant_id, provider, provider_config_id, account_ref, environment, link_kind, status)
      values (${deskId}, 'oauth:nowhere', ${provider!.id}, 'NW1', 'paper', 'oauth', 'active') returning id`;
    const stuck = await place({ brokerConnectionId: c!.id, quantity: '0.011' });
    const paper = await place({ quantity: '0.012' });
    await until('the paper order filled', async () => (await statusOf(paper.id)) === 'filled');
    expect(await statusOf(stuck.id)).toBe('pending_new');
    // Cancelled while unsent; once the provider's protocol is fixed the session opens and the
    // order ends cancelled without ever reaching a broker.
    await client.orders.cancel.mutate({ orderId: stuck.id });
    await t.owner`update oauth_providers set api_protocol = 'test-http' where id = ${provider!.id}`;
    await until('cancelled unsent', async () => (await statusOf(stuck.id)) === 'cancelled');
    expect(double.placeCalls.has(stuck.clientOrderId)).toBe(false);
  });

  it('a connection that needs relinking takes no new order, but its working order can still be cancelled', async () => {
    const o = await place({
      brokerConnectionId: connectionId,
      orderType: 'limit',
      limitPrice: '40000',
      timeInForce: 'gtc',
    });
    await until('resting at the broker', async () => (await statusOf(o.id)) === 'new');
    await t.owner`update broker_connections set status = 'needs_relink' where id = ${connectionId}`;
    try {
      const refused = await failure(place({ brokerConnectionId: connectionId }));
      expect(refused.data?.appCode).toBe('PRECONDITION_FAILED');
      const c = await client.orders.cancel.mutate({ orderId: o.id });
      expect(c.status).toBe('pending_cancel');
      await until('cancelled at the broker', async () => (await statusOf(o.id)) === 'cancelled');
      expect(double.cancelCalls.get(o.clientOrderId)).toBe(1);
    } finally {
      await t.owner`update broker_connections set status = 'active' where id = ${connectionId}`;
    }
  });
});

describe('the connection’s circuit breaker', () => {
  it('opening moves the desk to reducing-only (no cancels), closing lifts it; both audited', async () => {
    // A resting order: reducing-only must not cancel it (unlike the halt).
    const resting = await place({
      brokerConnectionId: connectionId,
      orderType: 'limit',
      limitPrice: '40000',
      timeInForce: 'gtc',
    });
    await until('resting at the broker', async () => (await statusOf(resting.id)) === 'new');

    double.down = true;
    let stuck: Awaited<ReturnType<typeof place>>;
    try {
      stuck = await place({ brokerConnectionId: connectionId, quantity: '0.02' });
      await until('the desk reducing-only', async () => {
        const [r] = await t.owner<{ n: number }[]>`
          select count(*)::int as n from desk_reducing_only where tenant_id = ${deskId}`;
        return r!.n === 1;
      });
      // New risk is denied on every route (the desk is reducing-only), with the reason.
      const buy = await place({ quantity: '0.03' });
      expect(buy.status).toBe('denied');
      const verdict = buy.denial?.find((v) => v.code === 'DESK_HALT');
      expect(verdict?.message).toMatch(/reducing-only .*circuit open/);
      // Risk-reducing orders pass: the desk is long from the earlier fills.
      const sell = await place({ side: 'sell', quantity: '0.005' });
      expect(sell.status).toBe('pending_new');
      expect(await statusOf(resting.id)).toBe('new');
    } finally {
      double.down = false;
    }
    // The breaker's half-open probe succeeds (the outbox retries the stuck order) and closes it.
    await until('reducing-only lifted', async () => {
      const [r] = await t.owner<{ n: number }[]>`
        select count(*)::int as n from desk_reducing_only where tenant_id = ${deskId}`;
      return r!.n === 0;
    });
    await until('the stuck order filled', async () => (await statusOf(stuck.id)) === 'filled');
    expect(double.placeCalls.get(stuck.clientOrderId)).toBe(1);
    expect((await place({ quantity: '0.03' })).status).toBe('pending_new');
    const audit = await t.owner<{ details: string }[]>`
      select details from audit_log where action = 'execution.reducing_only' order by seq`;
    expect(audit.map((a) => a.details)).toEqual([
      expect.stringMatching(/^desk reducing-only: oauth:double circuit open/),
      expect.stringMatching(/^desk reducing-only lifted/),
    ]);
    await client.orders.cancel.mutate({ orderId: resting.id });
  });
});

describe('reconciliation per resource', () => {
  it('the paper account and the connection each match their own orders and fills', async () => {
    await ex().dispatcher.dispatchTenant(deskId);
    await ex().brokers.drain();
    await until('nothing working', async () => {
      const [r] = await t.owner<{ n: number }[]>`
        select count(*)::int as n from orders where tenant_id = ${deskId}
          and status in ('pending_new', 'new', 'partially_filled', 'pending_cancel', 'unknown')`;
      return r!.n === 0;
    });
    // Rebuilt from PostgreSQL (as after a restart): the paper account holds the paper fills only.
    ex().brokers.close();
    const paper = await ex().brokers.paper(deskId);
    const [paperNet] = await t.owner<{ q: string }[]>`
      select coalesce(sum(case when f.side = 'buy' then f.quantity else -f.quantity end), 0)::text as q
      from fills f join orders o on o.id = f.order_id
      where f.tenant_id = ${deskId} and o.broker_connection_id is null`;
    const held = (await paper.listPositions()).find((p) => p.symbol === 'BTC-USD');
    expect(Number(held?.quantity ?? '0')).toBeCloseTo(Number(paperNet!.q), 8);
    expect((await ex().reconciler.reconcile(deskId, 'manual', null)).ok).toBe(true);
    const live = await ex().reconciler.reconcile(deskId, 'manual', connectionId);
    expect(live).toMatchObject({ ok: true, positionMismatches: [], orderMismatches: [] });
  });
});

describe('broker errors in a request path', () => {
  it('become an AppError whose details are the structured BrokerErrorDetails', () => {
    const e = toTRPCError(
      new BrokerError(BrokerErrorCode.RATE_LIMITED, 'slow down', {
        operation: 'getAccount',
        broker: 'alpaca',
        context: { httpStatus: 429, retryAfterS: 3 },
      }),
    );
    expect(e.code).toBe('TOO_MANY_REQUESTS');
    const app = e.cause as unknown as { code: string; details: Record<string, unknown> };
    expect(app.code).toBe('RATE_LIMITED');
    expect(app.details).toEqual({
      type: 'broker_error',
      operation: 'getAccount',
      broker: 'alpaca',
      code: 'BROKER_RATE_LIMITED',
      message: 'slow down',
      retryable: true,
      context: { httpStatus: 429, retryAfterS: 3 },
      retryAfterSeconds: 3,
    });
    expect(
      toTRPCError(new BrokerError(BrokerErrorCode.AUTH, 'token refused', { broker: 'alpaca' })).code,
    ).toBe('PRECONDITION_FAILED');
  });
});
