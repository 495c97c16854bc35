/**
 * The IBKR adapter against a local Client Portal gateway (support/fake-ibkr-gateway.ts) over
 * real HTTP: the documented requests and responses, the order reply questions, session lapses,
 * rate limits and delays injected by the fake.
 *
 * One file: every test drives the one adapter against the one fake gateway; each describe is one
 * area of the protocol (session, orders, brackets, faults, TLS, dispatcher).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asOrderId, asTenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionContext, CredentialSource } from '../../src/brokers/connection.ts';
import { IbkrAdapter, type IbkrAdapterOptions, ibkrAdapterFactory } from '../../src/brokers/ibkr/index.ts';
import { type BrokerCallOptions, BrokerCallPolicy } from '../../src/brokers/resilience.ts';
import { BrokerError } from '../../src/brokers/types.ts';
import { adapterContext, brokerError, reportsOf, until } from './support/adapter-harness.ts';
import { insertDeskLimits, PROTECTIVE_LIMITS } from './support/desk-limits.ts';
import { type FakeIbkrGateway, startFakeIbkrGateway } from './support/fake-ibkr-gateway.ts';
import { testExecution } from './support/test-execution.ts';
import { type Client, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

const log = createLogger({ name: 'ibkr-adapter-test', level: 'silent' });

/** The gateway holds the session: a Client Portal link has no credentials to give. */
const noCredentials: CredentialSource = {
  accessToken: () => Promise.reject(new BrokerError('BROKER_AUTH', 'gateway link: no token')),
  refreshAccessToken: () => Promise.reject(new BrokerError('BROKER_AUTH', 'gateway link: no token')),
  apiKey: () => Promise.reject(new BrokerError('BROKER_AUTH', 'gateway link: no key')),
};

let gw: FakeIbkrGateway;
const adapters: IbkrAdapter[] = [];

beforeEach(async () => {
  gw = await startFakeIbkrGateway();
});

afterEach(async () => {
  for (const a of adapters.splice(0)) a.close();
  await gw.close();
});

function harness(
  opts: {
    policy?: Partial<BrokerCallOptions>;
    adapter?: IbkrAdapterOptions;
    accountRef?: string;
    apiBaseUrl?: string;
  } = {},
) {
  const ctx = adapterContext({
    provider: 'ibkr',
    environment: 'paper',
    accountRef: opts.accountRef ?? gw.accountId,
    credentials: noCredentials,
    endpoints: { apiBaseUrl: opts.apiBaseUrl ?? gw.url },
    ...(opts.policy && { policy: opts.policy }),
  });
  const adapter = new IbkrAdapter(ctx, { pollIntervalMs: 30, tickleIntervalMs: 30, ...opts.adapter });
  adapters.push(adapter);
  const reports = reportsOf(adapter);
  return { adapter, reports, policy: ctx.policy };
}

const limitBuy = (clientOrderId: string, quantity = '10', limitPrice = '95') => ({
  clientOrderId,
  symbol: 'AAPL',
  side: 'buy' as const,
  orderType: 'limit' as const,
  timeInForce: 'day' as const,
  quantity,
  limitPrice,
});

const ticketsOf = (body: unknown): unknown[] => (body as { orders?: unknown[] } | undefined)?.orders ?? [];

const count = (method: string, path: string | RegExp) =>
  gw.requests.filter(
    (r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)),
  ).length;

describe('IBKR adapter: session and account', () => {
  it('maps the portfolio summary and positions, after reading /iserver/accounts once', async () => {
    const { adapter } = harness();
    gw.setCash('50000');
    const account = await adapter.getAccount();
    expect(account).toEqual({
      accountId: 'DU1234567',
      currency: 'USD',
      cash: '50000',
      buyingPower: '200000',
      equity: '50000',
      brokerStatus: 'true',
    });
    gw.setQuote('AAPL', '99.9', '100.1');
    await adapter.placeOrder({ ...limitBuy('P1', '10', '101') });
    expect(await adapter.listPositions()).toEqual([{ symbol: 'AAPL', quantity: '10', avgCost: '100.1' }]);
    expect(count('GET', '/iserver/accounts')).toBe(1);
    expect(count('GET', '/portfolio/accounts')).toBe(1);
    expect(count('POST', '/iserver/auth/status')).toBe(1);
  });

  it("a link made without an account id trades the gateway's selected account; another account is refused", async () => {
    const pending = harness({ accountRef: 'pending:00000000-0000-4000-8000-000000000011' }).adapter;
    expect((await pending.getAccount()).accountId).toBe('DU1234567');
    expect(count('GET', '/portfolio/DU1234567/summary')).toBe(1);
    // The gateway's bare address stands for its /v1/api.
    const bare = harness({ apiBaseUrl: gw.url.replace(/\/v1\/api$/, '') }).adapter;
    expect((await bare.getAccount()).accountId).toBe('DU1234567');
    const foreign = harness({ accountRef: 'U7654321' }).adapter;
    const err = await brokerError(foreign.getAccount());
    expect(err.brokerCode).toBe('BROKER_AUTH');
    expect(err.retryable).toBe(false);
  });

  it('looks a symbol up once (secdef search) and picks the US stock', async () => {
    const { adapter } = harness();
    await adapter.placeOrder(limitBuy('C1'));
    await adapter.placeOrder(limitBuy('C2'));
    expect(count('GET', '/iserver/secdef/search')).toBe(1);
    const posts = gw.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/orders'));
    for (const p of posts) expect((p.body as { orders: { conid: number }[] }).orders[0]!.conid).toBe(265598);
    const err = await brokerError(adapter.placeOrder({ ...limitBuy('C3'), symbol: 'NOPE' }));
    expect(err.brokerCode).toBe('BROKER_REJECTED');
  });

  it('a lapsed session fails every call with REAUTH_REQUIRED; re-auth at the gateway → onReconnect and recovery', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    let reconnects = 0;
    adapter.onReconnect(() => reconnects++);
    gw.lapse();
    const e1 = await brokerError(adapter.getAccount());
    expect(e1.brokerCode).toBe('BROKER_REAUTH_REQUIRED');
    expect(e1.retryable).toBe(false);
    expect(adapter.sessionLapsed).toBe(true);
    const e2 = await brokerError(adapter.placeOrder(limitBuy('L1')));
    expect(e2.brokerCode).toBe('BROKER_REAUTH_REQUIRED');
    expect(gw.order('L1')).toBeUndefined();
    gw.reauthenticate();
    await until(() => reconnects === 1); // the tickle timer's probe saw the session back
    expect(adapter.sessionLapsed).toBe(false);
    const accountsBefore = count('GET', '/iserver/accounts');
    expect(accountsBefore).toBeGreaterThanOrEqual(2); // read again for the new brokerage session
    await adapter.placeOrder(limitBuy('L2'));
    await until(() => reports.some((r) => r.clientOrderId === 'L2' && r.kind === 'accepted'));
    expect((await adapter.getAccount()).accountId).toBe('DU1234567');
  });

  it('fills made while the session was down are reported once it is back', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    await adapter.placeOrder(limitBuy('D1', '4'));
    await until(() => reports.some((r) => r.clientOrderId === 'D1' && r.kind === 'accepted'));
    let reconnects = 0;
    adapter.onReconnect(() => reconnects++);
    gw.lapse();
    await until(() => adapter.sessionLapsed);
    gw.fill('D1', '4', '95');
    gw.reauthenticate();
    await until(() => reports.some((r) => r.clientOrderId === 'D1' && r.kind === 'fill'));
    expect(reconnects).toBe(1);
    expect(reports.filter((r) => r.kind === 'fill').map((r) => r.cumQty)).toEqual(['4']);
  });

  it('a competing session is a lapse too', async () => {
    const { adapter } = harness();
    await adapter.getAccount();
    gw.lapse(true);
    expect((await brokerError(adapter.listOpenOrders())).brokerCode).toBe('BROKER_REAUTH_REQUIRED');
    gw.reauthenticate();
    expect(await adapter.listOpenOrders()).toEqual([]);
  });

  it('keeps the session alive with /tickle', async () => {
    const { adapter } = harness();
    await adapter.connect();
    await until(() => count('POST', '/tickle') >= 2);
  });
});

describe('IBKR adapter: orders', () => {
  it('answers the gateway questions with {confirmed:true} and sends the documented ticket', async () => {
    const { adapter } = harness();
    gw.askQuestions([
      ['You are submitting an order without market data. Are you sure?'],
      ['The price is more than 3% away from the last trade. Are you sure?'],
    ]);
    const ack = await adapter.placeOrder(limitBuy('Q1', '5', '95.5'));
    expect(ack.status).toBe('new');
    expect(ack.brokerOrderId).toBe(String(gw.order('Q1')!.orderId));
    const replies = gw.requests.filter((r) => r.path.startsWith('/iserver/reply/'));
    expect(replies.map((r) => r.body)).toEqual([{ confirmed: true }, { confirmed: true }]);
    const post = gw.requests.find((r) => r.path === '/iserver/account/DU1234567/orders');
    expect(post?.body).toEqual({
      orders: [
        { conid: 265598, cOID: 'Q1', orderType: 'LMT', side: 'BUY', quantity: 5, tif: 'DAY', price: 95.5 },
      ],
    });
  });

  it('gives up after a bounded number of questions', async () => {
    const { adapter } = harness({ adapter: { maxReplies: 1 } });
    gw.askQuestions([['one?'], ['two?'], ['three?']]);
    const err = await brokerError(adapter.placeOrder(limitBuy('Q2')));
    expect(err.brokerCode).toBe('BROKER_REJECTED');
    expect(gw.order('Q2')).toBeUndefined();
  });

  it('maps order types: STP price = stop, STOP_LIMIT price = limit and auxPrice = stop', async () => {
    const { adapter } = harness();
    await adapter.placeOrder({
      clientOrderId: 'T1',
      symbol: 'MSFT',
      side: 'sell',
      orderType: 'stop_limit',
      timeInForce: 'gtc',
      quantity: '2',
      limitPrice: '300',
      stopPrice: '301',
    });
    const post = gw.requests.find((r) => r.path.endsWith('/orders') && r.method === 'POST');
    expect(ticketsOf(post?.body)[0]).toMatchObject({
      conid: 272093,
      orderType: 'STOP_LIMIT',
      side: 'SELL',
      price: 300,
      auxPrice: 301,
      tif: 'GTC',
    });
    const view = await adapter.getOrderByClientId('T1');
    expect(view).toMatchObject({
      orderType: 'stop_limit',
      limitPrice: '300',
      stopPrice: '301',
      timeInForce: 'gtc',
    });
    const fok = await brokerError(adapter.placeOrder({ ...limitBuy('T2'), timeInForce: 'fok' }));
    expect(fok.brokerCode).toBe('BROKER_REJECTED');
  });

  it('cancels by the IBKR order id found under our cOID; a second cancel is a cancel reject', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    await adapter.placeOrder(limitBuy('X1'));
    await adapter.cancelOrder('X1');
    await until(() => reports.some((r) => r.clientOrderId === 'X1' && r.kind === 'cancelled'));
    const orderId = gw.order('X1')!.orderId;
    expect(count('DELETE', `/iserver/account/DU1234567/order/${orderId}`)).toBe(1);
    await adapter.cancelOrder('X1');
    expect(reports.filter((r) => r.clientOrderId === 'X1').map((r) => r.kind)).toEqual([
      'accepted',
      'cancelled',
      'cancel_rejected',
    ]);
    expect((await brokerError(adapter.cancelOrder('nope'))).brokerCode).toBe('BROKER_NOT_FOUND');
  });

  it('gets an order by client order id (order_ref), null when unknown', async () => {
    const { adapter } = harness();
    await adapter.placeOrder(limitBuy('G1', '7', '90'));
    expect(await adapter.getOrderByClientId('G1')).toEqual({
      clientOrderId: 'G1',
      symbol: 'AAPL',
      side: 'buy',
      orderType: 'limit',
      timeInForce: 'day',
      quantity: '7',
      limitPrice: '90',
      stopPrice: null,
      brokerOrderId: String(gw.order('G1')!.orderId),
      status: 'new',
      filledQuantity: '0',
      avgFillPrice: null,
      rejectReason: null,
      bracketLink: null,
    });
    expect(await adapter.getOrderByClientId('unknown')).toBeNull();
    expect((await adapter.listOpenOrders()).map((o) => o.clientOrderId)).toEqual(['G1']);
  });

  it('is idempotent on the client order id, in one process and after a restart', async () => {
    const first = harness().adapter;
    const a1 = await first.placeOrder(limitBuy('I1'));
    const a2 = await first.placeOrder(limitBuy('I1'));
    expect(a2).toEqual(a1);
    expect(count('POST', '/iserver/account/DU1234567/orders')).toBe(1);
    // A new process (no memory): the gateway refuses the duplicate cOID; the order is adopted.
    const second = harness().adapter;
    const a3 = await second.placeOrder(limitBuy('I1'));
    expect(a3.brokerOrderId).toBe(a1.brokerOrderId);
    expect(count('POST', '/iserver/account/DU1234567/orders')).toBe(2);
    expect((await second.listOpenOrders()).length).toBe(1);
  });

  it('a placement that timed out but landed is adopted on retry (never a second order)', async () => {
    const { adapter } = harness({ policy: { timeoutMs: 200 } });
    await adapter.getAccount();
    gw.failNext({ method: 'POST', path: '/iserver/account/DU1234567/orders', delayMs: 500 });
    expect((await brokerError(adapter.placeOrder(limitBuy('TO1')))).brokerCode).toBe('BROKER_TIMEOUT');
    await until(() => gw.order('TO1') !== undefined); // the gateway took it after all
    const ack = await adapter.placeOrder(limitBuy('TO1'));
    expect(ack.brokerOrderId).toBe(String(gw.order('TO1')!.orderId));
    expect((await adapter.listOpenOrders()).filter((o) => o.clientOrderId === 'TO1')).toHaveLength(1);
  });

  it('a refused ticket is a rejection (200 and 400 { error }), never retried', async () => {
    const { adapter } = harness();
    gw.rejectNext('Order rejected - reason: insufficient buying power');
    const e1 = await brokerError(adapter.placeOrder(limitBuy('R1')));
    expect(e1.brokerCode).toBe('BROKER_REJECTED');
    expect(e1.retryable).toBe(false);
    expect(e1.context.brokerMessage).toMatch(/insufficient/);
    gw.rejectNext('Invalid price', 400);
    const e2 = await brokerError(adapter.placeOrder(limitBuy('R2')));
    expect(e2.brokerCode).toBe('BROKER_REJECTED');
    expect(count('POST', '/iserver/account/DU1234567/orders')).toBe(2);
  });

  it('an order IBKR deactivates after accepting it is reported rejected', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    await adapter.placeOrder(limitBuy('R3'));
    await until(() => reports.some((r) => r.clientOrderId === 'R3'));
    gw.rejectLive('R3');
    await until(() => reports.some((r) => r.clientOrderId === 'R3' && r.kind === 'rejected'));
    expect((await adapter.getOrderByClientId('R3'))?.status).toBe('rejected');
  });
});

describe('IBKR adapter: executions', () => {
  it('partial fills: each execution once (deduplicated by execution id), the same ids from getExecutions', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    await adapter.placeOrder(limitBuy('F1', '10', '95'));
    gw.fill('F1', '3', '95');
    await until(() => reports.some((r) => r.kind === 'fill'));
    expect((await adapter.getOrderByClientId('F1'))?.status).toBe('partially_filled');
    gw.fill('F1', '7', '94.5');
    await until(() => reports.filter((r) => r.kind === 'fill').length === 2);
    // Let several more polls see the same executions: nothing is delivered twice.
    const polls = count('GET', '/iserver/account/trades');
    await until(() => count('GET', '/iserver/account/trades') >= polls + 3);
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.map((f) => [f.lastQty, f.lastPx, f.cumQty, f.leavesQty])).toEqual([
      ['3', '95', '3', '7'],
      ['7', '94.5', '10', '0'],
    ]);
    expect(new Set(reports.map((r) => r.executionId)).size).toBe(reports.length);
    expect(fills[0]!.executionId).toMatch(/^0000e0d5\./);
    expect(fills[1]!.avgPx).toBe('94.65');
    expect(fills[0]!.fee).toBe('1');
    const replay = await adapter.getExecutions('F1');
    expect(replay.map((r) => r.executionId)).toEqual(reports.map((r) => r.executionId));
    expect(await adapter.getExecutions('unknown')).toEqual([]);
    expect(await adapter.getOrderByClientId('F1')).toMatchObject({ status: 'filled', avgFillPrice: '94.65' });
  });

  it('native bracket: parent + children with parentId; legs sized to the entry fills; OCA on a stop-out', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    gw.setQuote('AAPL', '99.9', '100.1');
    await adapter.placeOrder({
      ...limitBuy('B1', '10', '99'),
      bracket: {
        ocoGroup: asOrderId('B1'),
        legs: [
          { clientOrderId: 'B1S', role: 'stop', price: '95' },
          { clientOrderId: 'B1T', role: 'target', price: '110' },
        ],
      },
    });
    const post = gw.requests.find((r) => r.method === 'POST' && r.path.endsWith('/orders'));
    expect(ticketsOf(post?.body)).toEqual([
      { conid: 265598, cOID: 'B1', orderType: 'LMT', side: 'BUY', quantity: 10, tif: 'DAY', price: 99 },
      {
        conid: 265598,
        cOID: 'B1S',
        orderType: 'STP',
        side: 'SELL',
        quantity: 10,
        tif: 'GTC',
        price: 95,
        parentId: 'B1',
      },
      {
        conid: 265598,
        cOID: 'B1T',
        orderType: 'LMT',
        side: 'SELL',
        quantity: 10,
        tif: 'GTC',
        price: 110,
        parentId: 'B1',
      },
    ]);
    await until(() => reports.filter((r) => r.kind === 'accepted').length === 3);
    expect(await adapter.getOrderByClientId('B1S')).toMatchObject({
      quantity: '0',
      bracketLink: { parentClientOrderId: 'B1', role: 'stop', ocoGroup: 'B1' },
    });
    gw.fill('B1', '4', '99');
    await until(() => reports.filter((r) => r.kind === 'restated' && r.orderQty === '4').length === 2);
    gw.fill('B1', '6', '99');
    await until(() => reports.filter((r) => r.kind === 'restated' && r.orderQty === '10').length === 2);
    gw.setQuote('AAPL', '94', '94.2'); // through the stop
    await until(() => reports.some((r) => r.clientOrderId === 'B1T' && r.kind === 'cancelled'));
    const stopFill = reports.find((r) => r.clientOrderId === 'B1S' && r.kind === 'fill');
    expect(stopFill).toMatchObject({ side: 'sell', lastQty: '10', lastPx: '94', cumQty: '10' });
    expect(await adapter.listPositions()).toEqual([]);
  });
});

describe('IBKR adapter: faults', () => {
  it('a 429 on a read is retried; on an order it is a retryable RATE_LIMITED error, sent once', async () => {
    const { adapter } = harness();
    gw.failNext({ path: /\/summary$/, status: 429, headers: { 'retry-after': '1' } });
    expect((await adapter.getAccount()).cash).toBe('100000');
    expect(count('GET', '/portfolio/DU1234567/summary')).toBe(2);
    gw.failNext({ method: 'POST', path: '/iserver/account/DU1234567/orders', status: 429 });
    const err = await brokerError(adapter.placeOrder(limitBuy('RL1')));
    expect(err.brokerCode).toBe('BROKER_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(count('POST', '/iserver/account/DU1234567/orders')).toBe(1);
    expect(gw.order('RL1')).toBeUndefined();
  });

  it('concurrent lookups share one paced read of live orders (no 429 from IBKR pacing)', async () => {
    await gw.close();
    gw = await startFakeIbkrGateway({ paceMs: 60_000 });
    const { adapter } = harness();
    await adapter.placeOrder(limitBuy('PC1'));
    const views = await Promise.all([
      adapter.getOrderByClientId('PC1'),
      adapter.getOrderByClientId('PC1'),
      adapter.listOpenOrders(),
    ]);
    expect(views[0]?.clientOrderId).toBe('PC1');
    expect(views[2]).toHaveLength(1);
    expect(count('GET', '/iserver/account/orders')).toBe(1);
    // A later read inside the pacing window is IBKR's 429: retryable, after the read retries.
    const err = await brokerError(adapter.getOrderByClientId('PC1'));
    expect(err.brokerCode).toBe('BROKER_RATE_LIMITED');
    expect(err.context.retryAfterS).toBe(60);
  });

  it('a gateway that answers late times out (BROKER_TIMEOUT)', async () => {
    const { adapter } = harness({ policy: { timeoutMs: 200, readAttempts: 1 } });
    await adapter.getAccount();
    gw.failNext({ path: '/iserver/account/orders', delayMs: 1_000 });
    const err = await brokerError(adapter.getOrderByClientId('any'));
    expect(err.brokerCode).toBe('BROKER_TIMEOUT');
    expect(err.retryable).toBe(true);
  });

  it('a response off the documented shape is a PROTOCOL error', async () => {
    const { adapter } = harness();
    gw.failNext({ path: /\/summary$/, status: 200, body: { totalcashvalue: 'lots' } });
    expect((await brokerError(adapter.getAccount())).brokerCode).toBe('BROKER_PROTOCOL');
  });

  it('TLS: the self-signed gateway is refused by default, trusted with its certificate or on loopback when configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ibkr-tls-'));
    try {
      // A self-signed certificate for localhost, as the gateway ships one.
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const key = readFileSync(join(dir, 'key.pem'), 'utf8');
      await gw.close();
      gw = await startFakeIbkrGateway({ tls: { key, cert } });
      expect(gw.url.startsWith('https://localhost:')).toBe(true);
      const plain = harness({ policy: { readAttempts: 1 } }).adapter;
      const refused = await brokerError(plain.getAccount());
      expect(refused.brokerCode).toBe('BROKER_UNAVAILABLE'); // certificate not trusted: nothing sent
      const pinned = harness({ adapter: { tls: { ca: cert } } }).adapter;
      expect((await pinned.getAccount()).cash).toBe('100000');
      const loopback = harness({ adapter: { tls: { allowSelfSignedLoopback: true } } }).adapter;
      expect((await loopback.getAccount()).cash).toBe('100000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unverified TLS is refused for a gateway that is not on loopback', () => {
    const policy = new BrokerCallPolicy({ broker: 'ibkr' });
    const ctx: ConnectionContext = {
      connectionId: 'c',
      tenantId: asTenantId('t'),
      provider: 'ibkr',
      environment: 'live',
      accountRef: 'U1',
      credentials: noCredentials,
      endpoints: { apiBaseUrl: 'https://gateway.example.net:5000/v1/api' },
      policy,
      log,
    };
    expect(() => new IbkrAdapter(ctx, { tls: { allowSelfSignedLoopback: true } })).toThrow(/loopback/);
    new IbkrAdapter(
      { ...ctx, endpoints: { apiBaseUrl: 'https://localhost:5000/v1/api' } },
      {
        tls: { allowSelfSignedLoopback: true },
      },
    ).close();
  });
});

describe('IBKR through the execution dispatcher', () => {
  let t: TestServer;
  let client: Client;
  let connectionId: string;
  /** One gateway for the server's life: the dispatcher builds the connection's adapter once. */
  let dgw: FakeIbkrGateway;

  beforeAll(async () => {
    dgw = await startFakeIbkrGateway();
    t = await startTestServer({
      rateLimiter: null,
      execution: testExecution({
        outboxIntervalMs: 100,
        brokerTimeoutMs: 2_000,
        adapterFactories: { ibkr: ibkrAdapterFactory({ pollIntervalMs: 50, tickleIntervalMs: 50 }) },
        connections: { credentialsFor: () => noCredentials, endpointsFor: () => ({ apiBaseUrl: dgw.url }) },
      }),
    });
    const deskId = t.admin.deskId;
    ({ client } = await signIn(t.url, t.admin.email, t.admin.password));
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
      values ('AAPL', 'X', 'equity', '0.01', '1', '24x7', 'active')`;
    await insertDeskLimits(t.owner, deskId, {}, PROTECTIVE_LIMITS);
    const [conn] = await t.owner<{ id: string }[]>`
      insert into broker_connections (tenant_id, provider, account_ref, environment, link_kind, status)
      values (${deskId}, 'ibkr', 'DU1234567', 'paper', 'gateway', 'active') returning id`;
    connectionId = conn!.id;
    await venuePrices(t, [{ venue: 'X', instrument: 'AAPL', bid: '99.9', ask: '100.1', last: '100' }]);
  });
  afterAll(async () => {
    await t?.close();
    await dgw?.close();
  });

  it('an order on an IBKR connection reaches the gateway once, after its questions, and is recorded filled', async () => {
    dgw.setQuote('AAPL', '99.9', '100.1');
    dgw.askQuestions([['You are submitting an order without market data. Are you sure?']]);
    const o = await client.orders.place.mutate({
      idempotencyKey: randomUUID(),
      order: {
        symbol: 'AAPL',
        side: 'buy',
        orderType: 'market',
        timeInForce: 'day',
        quantity: '5',
        brokerConnectionId: connectionId,
      } as never,
    });
    expect(o).toMatchObject({ broker: 'ibkr', brokerConnectionId: connectionId });
    const status = async () =>
      (await t.owner<{ status: string }[]>`select status from orders where id = ${o.id}`)[0]?.status;
    while ((await status()) !== 'filled') await new Promise((r) => setTimeout(r, 50));
    const fills = await t.owner<{ quantity: string; price: string }[]>`
      select quantity::text, price::text from fills where order_id = ${o.id}`;
    expect(fills.map((f) => [Number(f.quantity), Number(f.price)])).toEqual([[5, 100.1]]);
    const posts = dgw.requests.filter(
      (r) => r.method === 'POST' && r.path === '/iserver/account/DU1234567/orders',
    );
    expect(posts).toHaveLength(1);
    expect(ticketsOf(posts[0]?.body)).toMatchObject([
      { cOID: o.clientOrderId, orderType: 'MKT', quantity: 5 },
    ]);
  });

  it('a bracketed entry goes out as parent + children; legs are restated as the entry fills and end OCA', async () => {
    dgw.setQuote('AAPL', '99.9', '100.1');
    const o = await client.orders.place.mutate({
      idempotencyKey: randomUUID(),
      order: {
        symbol: 'AAPL',
        side: 'buy',
        orderType: 'limit',
        limitPrice: '99',
        timeInForce: 'day',
        quantity: '10',
        brokerConnectionId: connectionId,
        bracket: { stopPrice: '95', targetPrice: '110' },
      } as never,
    });
    const rows = async () =>
      t.owner<{ client_order_id: string; status: string; quantity: string; bracket_role: string | null }[]>`
        select client_order_id, status, quantity::text, bracket_role from orders
        where id = ${o.id} or parent_order_id = ${o.id} order by client_order_id`;
    const waitFor = async (check: (r: Awaited<ReturnType<typeof rows>>) => boolean) => {
      while (!check(await rows())) await new Promise((r) => setTimeout(r, 50));
    };
    await waitFor((r) => r.length === 3 && r.every((x) => x.status === 'new'));
    const post = dgw.requests.find(
      (r) =>
        r.method === 'POST' &&
        ticketsOf(r.body).some((x) => (x as { cOID?: string }).cOID === o.clientOrderId),
    );
    expect(ticketsOf(post?.body).map((x) => (x as { parentId?: string }).parentId ?? null)).toEqual([
      null,
      o.clientOrderId,
      o.clientOrderId,
    ]);
    dgw.fill(o.clientOrderId, '10', '99');
    await waitFor((r) => r.filter((x) => x.bracket_role && Number(x.quantity) === 10).length === 2);
    dgw.setQuote('AAPL', '94', '94.2'); // through the stop
    await waitFor((r) => r.filter((x) => x.status === 'filled' || x.status === 'cancelled').length === 3);
    const end = await rows();
    expect(end.map((x) => [x.bracket_role, x.status])).toEqual([
      [null, 'filled'],
      ['stop', 'filled'],
      ['target', 'cancelled'],
    ]);
  });
});
