/**
 * The Alpaca adapter against a local Alpaca (support/fake-alpaca.ts) over real HTTP and a real
 * WebSocket: requests and responses as Alpaca documents them, faults injected by the fake.
 *
 * One file: every test drives the one adapter against the one fake Alpaca through the same harness;
 * each describe is one area of the protocol (orders, stream, brackets, faults).
 */
import { asOrderId } from '@aegis/shared/ids';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlpacaAdapter, type AlpacaAdapterOptions } from '../../src/brokers/alpaca/index.ts';
import { bracketOn } from '../../src/brokers/testing/order-request.ts';
import type { ExecutionReport } from '../../src/brokers/types.ts';
import { adapterHarnessFor, brokerError, TestCredentials, until } from './support/adapter-harness.ts';
import { type FakeAlpaca, startFakeAlpaca } from './support/fake-alpaca.ts';

let alpaca: FakeAlpaca;
const adapters: AlpacaAdapter[] = [];

beforeEach(async () => {
  alpaca = await startFakeAlpaca({
    authorize: (a) =>
      a.kind === 'key' ? a.keyId === 'PKTEST' && a.secret === 'sekret' : a.token === 'tok-2',
  });
});

afterEach(async () => {
  for (const a of adapters.splice(0)) a.close();
  await alpaca.close();
});

const harness = adapterHarnessFor<AlpacaAdapter, AlpacaAdapterOptions>(
  () => ({
    provider: 'alpaca',
    environment: 'paper',
    accountRef: alpaca.accountNumber,
    key: { apiKey: 'PKTEST', apiSecret: 'sekret' },
    venue: alpaca,
  }),
  (ctx, options) => new AlpacaAdapter(ctx, options),
  adapters,
);

const kinds = (rs: ExecutionReport[], id: string) =>
  rs.filter((r) => r.clientOrderId === id).map((r) => r.kind);

describe('Alpaca adapter: account and positions', () => {
  it('maps GET /v2/account and GET /v2/positions (signed quantities, average cost)', async () => {
    const { adapter } = harness();
    await adapter.connect();
    expect(await adapter.getAccount()).toEqual({
      accountId: alpaca.accountNumber,
      currency: 'USD',
      cash: '100000',
      buyingPower: '100000',
      equity: '100000',
      brokerStatus: 'ACTIVE',
    });
    alpaca.setPrice('AAPL', '100');
    alpaca.setPrice('TSLA', '50');
    await adapter.placeOrder(market('pos-1', 'AAPL', 'buy', '10'));
    await adapter.placeOrder(market('pos-2', 'TSLA', 'sell', '4'));
    await until(() => alpaca.activities.length === 2);
    const positions = await adapter.listPositions();
    expect(positions.sort((a, b) => a.symbol.localeCompare(b.symbol))).toEqual([
      { symbol: 'AAPL', quantity: '10', avgCost: '100' },
      { symbol: 'TSLA', quantity: '-4', avgCost: '50' },
    ]);
    const account = await adapter.getAccount();
    expect(account.cash).toBe('99200'); // 100000 − 1000 + 200
    // API-key links authenticate with Alpaca's key headers, never a bearer token.
    expect(alpaca.requests.every((r) => r.auth?.kind === 'key')).toBe(true);
  });
});

describe('Alpaca adapter: orders', () => {
  it('places a market order as documented and reports its acceptance and fill from the stream', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    alpaca.setPrice('AAPL', '187.25');
    const ack = await adapter.placeOrder(market('mkt-1', 'AAPL', 'buy', '5'));
    expect(ack).toMatchObject({ clientOrderId: 'mkt-1', status: 'pending_new' });
    expect(ack.brokerOrderId).toBe(alpaca.orderByClientId('mkt-1')?.id);
    expect(alpaca.orderRequests[0]).toEqual({
      symbol: 'AAPL',
      qty: '5',
      side: 'buy',
      type: 'market',
      time_in_force: 'day',
      client_order_id: 'mkt-1',
    });
    await until(() => kinds(reports, 'mkt-1').includes('fill'));
    expect(kinds(reports, 'mkt-1')).toEqual(['accepted', 'fill']);
    const fill = reports.find((r) => r.kind === 'fill');
    expect(fill).toMatchObject({
      lastQty: '5',
      lastPx: '187.25',
      cumQty: '5',
      leavesQty: '0',
      avgPx: '187.25',
      symbol: 'AAPL',
      side: 'buy',
      brokerOrderId: ack.brokerOrderId,
    });
    expect(fill?.tsEventUs).toBeGreaterThan(0);
    expect(await adapter.getOrderByClientId('mkt-1')).toMatchObject({
      status: 'filled',
      filledQuantity: '5',
      avgFillPrice: '187.25',
      quantity: '5',
    });
    expect(await adapter.getOrderByClientId('nope')).toBeNull();
  });

  it('cancels a resting limit order; a second cancel is a cancel reject', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    alpaca.setPrice('MSFT', '400');
    await adapter.placeOrder({
      ...market('lim-1', 'MSFT', 'buy', '2'),
      orderType: 'limit',
      limitPrice: '390',
      timeInForce: 'gtc',
    });
    await until(() => kinds(reports, 'lim-1').includes('accepted'));
    expect(alpaca.orderRequests[0]).toMatchObject({
      type: 'limit',
      limit_price: '390',
      time_in_force: 'gtc',
    });
    expect((await adapter.listOpenOrders()).map((o) => [o.clientOrderId, o.status, o.limitPrice])).toEqual([
      ['lim-1', 'new', '390'],
    ]);
    await adapter.cancelOrder('lim-1');
    await until(() => kinds(reports, 'lim-1').includes('cancelled'));
    expect(await adapter.listOpenOrders()).toEqual([]);
    expect((await adapter.getOrderByClientId('lim-1'))?.status).toBe('cancelled');
    await adapter.cancelOrder('lim-1');
    expect(kinds(reports, 'lim-1')).toEqual(['accepted', 'cancelled', 'cancel_rejected']);
    expect((await brokerError(adapter.cancelOrder('never-sent'))).brokerCode).toBe('BROKER_NOT_FOUND');
  });

  it('a place retried with the same client order id finds the order Alpaca already has', async () => {
    const { adapter } = harness();
    await adapter.connect();
    const first = await adapter.placeOrder({
      ...market('dup-1', 'AAPL', 'buy', '1'),
      orderType: 'limit',
      limitPrice: '10',
    });
    const again = await adapter.placeOrder({
      ...market('dup-1', 'AAPL', 'buy', '1'),
      orderType: 'limit',
      limitPrice: '10',
    });
    expect(again.brokerOrderId).toBe(first.brokerOrderId);
    expect(alpaca.orderRequests).toHaveLength(2); // Alpaca refused the second: 422 client_order_id must be unique
    expect([...alpaca.orders.values()].filter((o) => o.client_order_id === 'dup-1')).toHaveLength(1);
  });

  it('a write that times out is BROKER_TIMEOUT; the retry adopts the order Alpaca received', async () => {
    const { adapter } = harness({ policy: { timeoutMs: 300 } });
    await adapter.connect();
    alpaca.delayNext({ method: 'POST', path: '/v2/orders', ms: 1_000 });
    const err = await brokerError(
      adapter.placeOrder({ ...market('slow-1', 'AAPL', 'buy', '1'), orderType: 'limit', limitPrice: '10' }),
    );
    expect(err.brokerCode).toBe('BROKER_TIMEOUT');
    expect(err.operation).toBe('placeOrder');
    expect(err.retryable).toBe(true);
    await until(() => alpaca.orderByClientId('slow-1') !== undefined);
    const ack = await adapter.placeOrder({
      ...market('slow-1', 'AAPL', 'buy', '1'),
      orderType: 'limit',
      limitPrice: '10',
    });
    expect(ack.brokerOrderId).toBe(alpaca.orderByClientId('slow-1')?.id);
    expect(alpaca.orders.size).toBe(1);
  });

  it('partial fills report lastQty, cumQty, leavesQty and the average price', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    alpaca.setPrice('NVDA', '120');
    await adapter.placeOrder({
      ...market('pf-1', 'NVDA', 'buy', '10'),
      orderType: 'limit',
      limitPrice: '100',
    });
    await until(() => kinds(reports, 'pf-1').includes('accepted'));
    alpaca.partialFill('pf-1', '3', '99');
    alpaca.partialFill('pf-1', '2', '98');
    await until(() => kinds(reports, 'pf-1').filter((k) => k === 'fill').length === 2);
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.map((f) => [f.lastQty, f.lastPx, f.cumQty, f.leavesQty, f.avgPx])).toEqual([
      ['3', '99', '3', '7', '99'],
      ['2', '98', '5', '5', '98.6'],
    ]);
    expect(new Set(fills.map((f) => f.executionId)).size).toBe(2);
    expect(await adapter.getOrderByClientId('pf-1')).toMatchObject({
      status: 'partially_filled',
      filledQuantity: '5',
    });
    // The same fills, replayed from the FILL activities, carry the same execution ids.
    const replayed = (await adapter.getExecutions('pf-1')).filter((r) => r.kind === 'fill');
    expect(replayed.map((r) => r.executionId)).toEqual(fills.map((f) => f.executionId));
  });

  it('a buy over the buying power is a rejection (403), and Alpaca rejecting a working order is reported', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    alpaca.setPrice('AAPL', '100');
    alpaca.setBuyingPower('500');
    const err = await brokerError(adapter.placeOrder(market('poor-1', 'AAPL', 'buy', '10')));
    expect(err.brokerCode).toBe('BROKER_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.context).toMatchObject({
      httpStatus: 403,
      brokerCode: 40310000,
      brokerMessage: 'insufficient buying power',
    });
    expect(err.toDetails()).toMatchObject({
      type: 'broker_error',
      operation: 'placeOrder',
      broker: 'alpaca',
    });
    // 422 for an invalid order is a rejection of that order too.
    const invalid = await brokerError(
      adapter.placeOrder({ ...market('bad-1', 'AAPL', 'buy', '1'), orderType: 'limit' }),
    );
    expect(invalid.brokerCode).toBe('BROKER_REJECTED');
    expect(invalid.context).toMatchObject({ httpStatus: 422 });

    alpaca.setBuyingPower(null);
    await adapter.placeOrder({
      ...market('rej-1', 'AAPL', 'buy', '1'),
      orderType: 'limit',
      limitPrice: '90',
    });
    await until(() => kinds(reports, 'rej-1').includes('accepted'));
    alpaca.rejectOrder('rej-1');
    await until(() => kinds(reports, 'rej-1').includes('rejected'));
    expect((await adapter.getOrderByClientId('rej-1'))?.status).toBe('rejected');
  });
});

describe('Alpaca adapter: brackets', () => {
  it('sends order_class bracket and maps Alpaca legs to our leg client order ids', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    alpaca.setPrice('AAPL', '105');
    await adapter.placeOrder({
      ...market('BR1', 'AAPL', 'buy', '10'),
      orderType: 'limit',
      limitPrice: '100',
      timeInForce: 'gtc',
      bracket: bracketOn('BR1', { stop: '95', target: '110' }, 'entry-row-1'),
    });
    expect(alpaca.orderRequests[0]).toMatchObject({
      order_class: 'bracket',
      take_profit: { limit_price: '110' },
      stop_loss: { stop_price: '95' },
    });
    const entry = alpaca.orderByClientId('BR1');
    const [targetLeg, stopLeg] = entry?.legs ?? [];
    await until(() => kinds(reports, 'BR1T').includes('accepted'));
    // Legs accepted with the entry, holding nothing until it fills.
    expect(
      reports
        .filter((r) => r.clientOrderId !== 'BR1')
        .map((r) => [r.clientOrderId, r.kind, r.brokerOrderId, r.leavesQty]),
    ).toEqual([
      ['BR1T', 'accepted', targetLeg?.id, '0'],
      ['BR1S', 'accepted', stopLeg?.id, '0'],
    ]);

    alpaca.partialFill('BR1', '4', '100');
    await until(() => kinds(reports, 'BR1S').includes('restated'));
    expect(reports.filter((r) => r.kind === 'restated').map((r) => [r.clientOrderId, r.orderQty])).toEqual([
      ['BR1T', '4'],
      ['BR1S', '4'],
    ]);
    alpaca.setPrice('AAPL', '99'); // the rest of the entry fills
    await until(() => reports.filter((r) => r.kind === 'restated').length === 4);
    const stopView = await adapter.getOrderByClientId('BR1S');
    expect(stopView).toMatchObject({
      brokerOrderId: stopLeg?.id,
      side: 'sell',
      orderType: 'stop',
      stopPrice: '95',
      quantity: '10',
      status: 'new',
      bracketLink: { parentClientOrderId: 'BR1', role: 'stop', ocoGroup: 'entry-row-1' },
    });
    const open = await adapter.listOpenOrders();
    expect(open.map((o) => [o.clientOrderId, o.quantity]).sort()).toEqual([
      ['BR1S', '10'],
      ['BR1T', '10'],
    ]);

    alpaca.setPrice('AAPL', '111'); // the target fills; Alpaca cancels the stop (OCO)
    await until(() => kinds(reports, 'BR1S').includes('cancelled'));
    expect(reports.find((r) => r.clientOrderId === 'BR1T' && r.kind === 'fill')).toMatchObject({
      lastQty: '10',
      lastPx: '111',
      cumQty: '10',
      leavesQty: '0',
    });

    // A new process (no memory of the placement) recovers the legs through the entry, with the
    // same execution ids the live path used.
    const fresh = harness({ stream: false }).adapter;
    for (const id of ['BR1', 'BR1S', 'BR1T']) {
      const replayed = await fresh.getExecutions(id);
      const live = reports.filter((r) => r.clientOrderId === id);
      expect(replayed.map((r) => [r.kind, r.executionId])).toEqual(live.map((r) => [r.kind, r.executionId]));
    }
    expect(await fresh.getOrderByClientId('BR1T')).toMatchObject({
      status: 'filled',
      brokerOrderId: targetLeg?.id,
    });
  });

  it('an entry cancelled unfilled takes its legs with it', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    alpaca.setPrice('AAPL', '105');
    await adapter.placeOrder({
      ...market('BR2', 'AAPL', 'buy', '3'),
      orderType: 'limit',
      limitPrice: '100',
      bracket: { ocoGroup: asOrderId('g2'), legs: [{ clientOrderId: 'BR2S', role: 'stop', price: '95' }] },
    });
    expect(alpaca.orderRequests[0]).toMatchObject({ order_class: 'oto', stop_loss: { stop_price: '95' } });
    await until(() => kinds(reports, 'BR2S').includes('accepted'));
    await adapter.cancelOrder('BR2');
    await until(() => kinds(reports, 'BR2S').includes('cancelled'));
    expect(kinds(reports, 'BR2')).toEqual(['accepted', 'cancelled']);
    expect(kinds(reports, 'BR2S')).toEqual(['accepted', 'cancelled']);
  });
});

describe('Alpaca adapter: the trade_updates stream', () => {
  it('a dropped stream reconnects, fires onReconnect, and the missed fills are recovered', async () => {
    const { adapter, reports } = harness({ adapter: { pollIntervalMs: 60_000 } });
    let reconnects = 0;
    adapter.onReconnect(() => reconnects++);
    await adapter.connect();
    expect(adapter.streaming).toBe(true);
    alpaca.setPrice('AMD', '150');
    await adapter.placeOrder({
      ...market('gap-1', 'AMD', 'buy', '6'),
      orderType: 'limit',
      limitPrice: '140',
    });
    await until(() => kinds(reports, 'gap-1').includes('accepted'));

    alpaca.muteStream(true); // the events of these fills never reach the socket
    alpaca.partialFill('gap-1', '2', '139');
    alpaca.partialFill('gap-1', '1', '138');
    alpaca.muteStream(false);
    expect(kinds(reports, 'gap-1')).toEqual(['accepted']);
    alpaca.dropStreams();
    await until(() => reconnects === 1);
    expect(adapter.streaming).toBe(true);
    // Caught up before the listeners heard of the reconnect, each fill once.
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.lastQty, r.cumQty])).toEqual([
      ['2', '2'],
      ['1', '3'],
    ]);
    const recovered = (await adapter.getExecutions('gap-1')).filter((r) => r.kind === 'fill');
    expect(recovered.map((r) => r.executionId)).toEqual(
      reports.filter((r) => r.kind === 'fill').map((r) => r.executionId),
    );
    // Live again: the next fill arrives on the stream, exactly once.
    alpaca.partialFill('gap-1', '3', '137');
    await until(() => kinds(reports, 'gap-1').filter((k) => k === 'fill').length === 3);
    const ids = reports.map((r) => r.executionId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reads text frames (the live endpoint) as well as binary ones (paper); reports an expiry', async () => {
    await alpaca.close();
    alpaca = await startFakeAlpaca({
      textFrames: true,
      authorize: (a) => a.kind === 'key' && a.keyId === 'PKTEST',
    });
    const { adapter, reports } = harness();
    await adapter.connect();
    alpaca.setPrice('AAPL', '100');
    await adapter.placeOrder({
      ...market('day-1', 'AAPL', 'buy', '1'),
      orderType: 'limit',
      limitPrice: '90',
    });
    await until(() => kinds(reports, 'day-1').includes('accepted'));
    alpaca.expireOrder('day-1');
    await until(() => kinds(reports, 'day-1').includes('expired'));
    expect(reports.find((r) => r.kind === 'expired')).toMatchObject({
      executionId: `${alpaca.orderByClientId('day-1')?.id}:expired`,
      cumQty: '0',
      leavesQty: '0',
    });
    expect((await adapter.getOrderByClientId('day-1'))?.status).toBe('expired');
  });

  it('without a stream, fills are polled from the FILL activities', async () => {
    const { adapter, reports } = harness({ stream: false });
    await adapter.connect();
    expect(adapter.streaming).toBe(false);
    alpaca.setPrice('AAPL', '10');
    await adapter.placeOrder({
      ...market('poll-1', 'AAPL', 'buy', '4'),
      orderType: 'limit',
      limitPrice: '9',
    });
    alpaca.partialFill('poll-1', '4', '9');
    await until(() => kinds(reports, 'poll-1').includes('fill'));
    expect(kinds(reports, 'poll-1')).toEqual(['accepted', 'fill']);
    expect(reports.at(-1)).toMatchObject({ lastQty: '4', lastPx: '9', cumQty: '4', leavesQty: '0' });
  });

  it('orders placed elsewhere (or before a restart) are adopted when the stream mentions them', async () => {
    const other = harness({ stream: false }).adapter;
    const { adapter, reports } = harness();
    await adapter.connect();
    alpaca.setPrice('AAPL', '50');
    await other.placeOrder({
      ...market('elsewhere-1', 'AAPL', 'sell', '2'),
      orderType: 'limit',
      limitPrice: '60',
    });
    await until(() => kinds(reports, 'elsewhere-1').includes('accepted'));
    alpaca.partialFill('elsewhere-1', '2', '60');
    await until(() => kinds(reports, 'elsewhere-1').includes('fill'));
    expect(kinds(reports, 'elsewhere-1')).toEqual(['accepted', 'fill']);
  });
});

describe('Alpaca adapter: resilience and auth', () => {
  it('429 on a read is retried; on a write it is surfaced with Retry-After', async () => {
    const { adapter } = harness();
    alpaca.failNext({
      method: 'GET',
      path: '/v2/account',
      status: 429,
      headers: { 'retry-after': '1' },
      body: { code: 42910000, message: 'rate limit exceeded' },
    });
    expect((await adapter.getAccount()).accountId).toBe(alpaca.accountNumber);
    expect(alpaca.requests.filter((r) => r.path === '/v2/account')).toHaveLength(2);

    alpaca.failNext({
      method: 'POST',
      path: '/v2/orders',
      status: 429,
      headers: { 'retry-after': '3' },
      body: { code: 42910000, message: 'rate limit exceeded' },
    });
    const err = await brokerError(adapter.placeOrder(market('rl-1', 'AAPL', 'buy', '1')));
    expect(err.brokerCode).toBe('BROKER_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.context).toMatchObject({ httpStatus: 429, retryAfterS: 3, brokerCode: 42910000 });
    expect(alpaca.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('repeated 5xx open the circuit breaker; then calls fail fast without reaching Alpaca', async () => {
    let opened = 0;
    const { adapter } = harness({ policy: { breakAfter: 3, readAttempts: 1, onOpen: () => opened++ } });
    alpaca.failNext({ method: 'GET', path: '/v2/positions', status: 503, times: 3 });
    for (let i = 0; i < 3; i++) {
      const err = await brokerError(adapter.listPositions());
      expect(err.brokerCode).toBe('BROKER_UNAVAILABLE');
      expect(err.context).toMatchObject({ httpStatus: 503 });
    }
    expect(opened).toBe(1);
    const seen = alpaca.requests.length;
    const err = await brokerError(adapter.getAccount());
    expect(err.brokerCode).toBe('BROKER_CIRCUIT_OPEN');
    expect(alpaca.requests.length).toBe(seen);
  });

  it('a response that does not match the documented shape is BROKER_PROTOCOL', async () => {
    const { adapter } = harness();
    alpaca.failNext({ method: 'GET', path: '/v2/account', status: 200, body: { id: 'x', cash: 12.5 } });
    const err = await brokerError(adapter.getAccount());
    expect(err.brokerCode).toBe('BROKER_PROTOCOL');
    expect(err.retryable).toBe(false);
  });

  it('OAuth: a 401 forces one token refresh and the call succeeds; the stream authenticates with the token', async () => {
    const credentials = new TestCredentials({ token: 'tok-1', next: ['tok-2'] });
    const { adapter, reports } = harness({ credentials });
    expect((await adapter.getAccount()).brokerStatus).toBe('ACTIVE');
    expect(credentials.refreshCalls).toBe(1);
    expect(alpaca.requests.map((r) => r.auth)).toEqual([
      { kind: 'bearer', token: 'tok-1' },
      { kind: 'bearer', token: 'tok-2' },
    ]);
    await adapter.connect();
    expect(adapter.streaming).toBe(true);
    alpaca.setPrice('AAPL', '20');
    await adapter.placeOrder(market('oauth-1', 'AAPL', 'buy', '1'));
    await until(() => kinds(reports, 'oauth-1').includes('fill'));
    expect(credentials.refreshCalls).toBe(1);
  });

  it('OAuth: a token the stream refuses is refreshed for the next connection, which counts as a reconnect', async () => {
    const credentials = new TestCredentials({ token: 'tok-1', next: ['tok-2'] });
    // No FILL poll meanwhile: every 50 ms while the stream is down it would meet the same refused
    // token over REST and refresh it too (the platform's credential source folds concurrent
    // refreshes into one; this double counts each call), and the count below would race it.
    const { adapter } = harness({ credentials, adapter: { pollIntervalMs: 60_000 } });
    let reconnects = 0;
    adapter.onReconnect(() => reconnects++);
    const err = await brokerError(adapter.connect());
    expect(err.brokerCode).toBe('BROKER_UNAVAILABLE');
    await until(() => reconnects === 1);
    expect(adapter.streaming).toBe(true);
    expect(credentials.refreshCalls).toBe(1);
    expect(alpaca.listeners).toBe(1);
  });

  it('OAuth: a token refused again after the refresh is BROKER_AUTH (one refresh, no loop)', async () => {
    const credentials = new TestCredentials({ token: 'tok-1', next: ['tok-3'] });
    const { adapter } = harness({ credentials });
    const err = await brokerError(adapter.getAccount());
    expect(err.brokerCode).toBe('BROKER_AUTH');
    expect(err.context).toMatchObject({ httpStatus: 401 });
    expect(credentials.refreshCalls).toBe(1);
    expect(alpaca.requests).toHaveLength(2);
  });
});

function market(clientOrderId: string, symbol: string, side: 'buy' | 'sell', quantity: string) {
  return { clientOrderId, symbol, side, orderType: 'market', timeInForce: 'day', quantity } as const;
}
