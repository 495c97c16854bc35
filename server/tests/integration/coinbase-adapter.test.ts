/**
 * The Coinbase Advanced Trade adapter against a local Coinbase (support/fake-coinbase.ts) over
 * real HTTP and a real WebSocket: requests and responses as Coinbase documents them, CDP JWTs
 * verified with the key's public half, faults injected by the fake.
 *
 * One file: every test drives the one adapter against the one fake Coinbase through the same
 * harness; each describe is one area of the protocol.
 */
import { generateKeyPairSync } from 'node:crypto';
import { asOrderId, asTenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CoinbaseAdapter,
  type CoinbaseAdapterOptions,
  createCoinbaseAdapter,
} from '../../src/brokers/coinbase/index.ts';
import { BrokerCallPolicy } from '../../src/brokers/resilience.ts';
import type { BrokerError, BrokerOrderRequest, ExecutionReport } from '../../src/brokers/types.ts';
import { adapterHarnessFor, brokerError, TestCredentials, until } from './support/adapter-harness.ts';
import { type FakeCoinbase, startFakeCoinbase } from './support/fake-coinbase.ts';

const log = createLogger({ name: 'coinbase-adapter-test', level: 'silent' });
const KEY_NAME =
  'organizations/0f1e2d3c-0000-4000-8000-000000000001/apiKeys/9a8b7c6d-0000-4000-8000-000000000002';

function ecKey(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    // The form Coinbase hands out: a SEC1 "EC PRIVATE KEY" PEM.
    privatePem: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
const KEY = ecKey();

let cb: FakeCoinbase;
const adapters: CoinbaseAdapter[] = [];

beforeEach(async () => {
  cb = await startFakeCoinbase({ keys: { [KEY_NAME]: KEY.publicPem }, tokens: ['tok-2'] });
});

afterEach(async () => {
  for (const a of adapters.splice(0)) a.close();
  await cb.close();
});

const harness = adapterHarnessFor<CoinbaseAdapter, CoinbaseAdapterOptions>(
  () => ({
    provider: 'coinbase',
    environment: 'live',
    accountRef: cb.portfolioId,
    key: { apiKey: KEY_NAME, apiSecret: KEY.privatePem },
    venue: cb,
  }),
  (ctx, options) => new CoinbaseAdapter(ctx, options),
  adapters,
);

const market = (id: string, side: 'buy' | 'sell', qty: string, symbol = 'BTC-USD'): BrokerOrderRequest => ({
  clientOrderId: id,
  symbol,
  side,
  orderType: 'market',
  timeInForce: 'ioc',
  quantity: qty,
});
const limit = (
  id: string,
  side: 'buy' | 'sell',
  qty: string,
  px: string,
  tif: 'gtc' | 'day' = 'gtc',
): BrokerOrderRequest => ({
  clientOrderId: id,
  symbol: 'BTC-USD',
  side,
  orderType: 'limit',
  timeInForce: tif,
  quantity: qty,
  limitPrice: px,
});
const kinds = (rs: ExecutionReport[], id: string) =>
  rs.filter((r) => r.clientOrderId === id).map((r) => r.kind);
const fillsOf = (rs: ExecutionReport[], id: string) =>
  rs.filter((r) => r.clientOrderId === id && r.kind === 'fill');

describe('Coinbase adapter: account and positions', () => {
  it('maps accounts (available + hold) and the portfolio breakdown to balances and spot positions', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    cb.setBalance('ETH', '0');
    expect(await adapter.getAccount()).toEqual({
      accountId: cb.portfolioId,
      currency: 'USD',
      cash: '100000',
      buyingPower: '100000',
      equity: '100000',
      brokerStatus: null,
    });
    cb.setPrice('BTC-USD', '50000');
    await adapter.placeOrder(market('acct-1', 'buy', '0.5'));
    await until(() => kinds(reports, 'acct-1').includes('fill'));
    // A resting buy holds its notional: cash counts the hold, buying power does not.
    await adapter.placeOrder(limit('acct-2', 'buy', '0.1', '40000'));
    const account = await adapter.getAccount();
    expect(account.cash).toBe('74850'); // 100000 − 25000 − 150 fee
    expect(account.buyingPower).toBe('70850'); // − 4000 held by the resting buy
    expect(account.equity).toBe('99850'); // cash + 0.5 BTC at 50000 (portfolio breakdown)
    // Positions: non-zero non-USD balances (ETH is zero), average entry from the breakdown.
    expect(await adapter.listPositions()).toEqual([{ symbol: 'BTC-USD', quantity: '0.5', avgCost: '50000' }]);
    // Every REST call carried a CDP JWT the fake verified (signature, uri, expiry).
    expect(cb.requests.length).toBeGreaterThan(0);
    expect(cb.requests.every((r) => r.auth === 'jwt')).toBe(true);
  });

  it('without a portfolio reference: equity is the cash balance and average cost is unknown ("0")', async () => {
    const { adapter, reports } = harness({ accountRef: '' });
    cb.setPrice('BTC-USD', '100');
    await adapter.connect();
    await adapter.placeOrder(market('np-1', 'buy', '2'));
    await until(() => kinds(reports, 'np-1').includes('fill'));
    const account = await adapter.getAccount();
    expect(account.cash).toBe('99798.8');
    expect(account.equity).toBe('99798.8');
    expect(await adapter.listPositions()).toEqual([{ symbol: 'BTC-USD', quantity: '2', avgCost: '0' }]);
    expect(cb.requests.some((r) => r.path.startsWith('/api/v3/brokerage/portfolios/'))).toBe(false);
  });
});

describe('Coinbase adapter: orders', () => {
  it('places a market order as documented and reports acceptance and the fill (trade id) from the stream', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    expect(adapter.streaming).toBe(true);
    cb.setPrice('BTC-USD', '50000');
    const ack = await adapter.placeOrder(market('mkt-1', 'buy', '0.01'));
    expect(ack).toMatchObject({ clientOrderId: 'mkt-1', status: 'new' });
    const order = [...cb.orders.values()][0];
    expect(ack.brokerOrderId).toBe(order?.order_id);
    const post = cb.requests.find((r) => r.method === 'POST' && r.path === '/api/v3/brokerage/orders');
    expect(post?.body).toEqual({
      client_order_id: 'mkt-1',
      product_id: 'BTC-USD',
      side: 'BUY',
      order_configuration: { market_market_ioc: { base_size: '0.01' } },
    });
    await until(() => kinds(reports, 'mkt-1').includes('fill'));
    expect(kinds(reports, 'mkt-1')).toEqual(['accepted', 'fill']);
    const fill = fillsOf(reports, 'mkt-1')[0];
    expect(fill).toMatchObject({
      executionId: `${order?.order_id}:${cb.fills[0]?.trade_id}`,
      brokerOrderId: order?.order_id,
      symbol: 'BTC-USD',
      side: 'buy',
      lastQty: '0.01',
      lastPx: '50000',
      fee: '3',
      liquidity: 'taker',
      cumQty: '0.01',
      leavesQty: '0',
      avgPx: '50000',
    });
    expect(await adapter.getOrderByClientId('mkt-1')).toMatchObject({
      status: 'filled',
      filledQuantity: '0.01',
    });
  });

  it('limit GTC and day orders, lookup by client order id, cancel, and a cancel of a finished order', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    await adapter.placeOrder(limit('lim-1', 'buy', '0.2', '30000'));
    await adapter.placeOrder(limit('lim-day', 'buy', '0.1', '30000', 'day'));
    const bodies = cb.requests
      .filter((r) => r.method === 'POST' && r.path === '/api/v3/brokerage/orders')
      .map((r) => r.body);
    expect(bodies[0]).toMatchObject({
      order_configuration: { limit_limit_gtc: { base_size: '0.2', limit_price: '30000', post_only: false } },
    });
    const gtd = (bodies[1] as { order_configuration: { limit_limit_gtd: { end_time: string } } })
      .order_configuration.limit_limit_gtd;
    expect(gtd).toMatchObject({ base_size: '0.1', limit_price: '30000', post_only: false });
    expect(new Date(gtd.end_time).toISOString().endsWith('T00:00:00.000Z')).toBe(true);

    expect(await adapter.getOrderByClientId('lim-1')).toMatchObject({
      clientOrderId: 'lim-1',
      symbol: 'BTC-USD',
      side: 'buy',
      orderType: 'limit',
      timeInForce: 'gtc',
      quantity: '0.2',
      limitPrice: '30000',
      status: 'new',
      filledQuantity: '0',
    });
    expect(await adapter.getOrderByClientId('nope')).toBeNull();
    const open = await adapter.listOpenOrders();
    expect(open.map((o) => o.clientOrderId).sort()).toEqual(['lim-1', 'lim-day']);

    await adapter.cancelOrder('lim-1');
    const cancelReq = cb.requests.find((r) => r.path === '/api/v3/brokerage/orders/batch_cancel');
    expect(cancelReq?.body).toEqual({ order_ids: [cb.orders.values().next().value?.order_id] });
    await until(() => kinds(reports, 'lim-1').includes('cancelled'));
    expect(kinds(reports, 'lim-1')).toEqual(['accepted', 'cancelled']);
    await adapter.cancelOrder('lim-1');
    expect(kinds(reports, 'lim-1')).toEqual(['accepted', 'cancelled', 'cancel_rejected']);
    expect(await brokerError(adapter.cancelOrder('nope'))).toMatchObject({ brokerCode: 'BROKER_NOT_FOUND' });
  });

  it('a retry after a lost response finds the order: Coinbase deduplicates client_order_id', async () => {
    const { adapter } = harness({ policy: { timeoutMs: 300 } });
    await adapter.connect();
    // Coinbase creates the order, but the answer comes after our timeout.
    cb.fail({ method: 'POST', path: '/api/v3/brokerage/orders', delayMs: 1_500 });
    const err = await brokerError(adapter.placeOrder(limit('dup-1', 'buy', '0.1', '30000')));
    expect(err).toMatchObject({ brokerCode: 'BROKER_TIMEOUT', operation: 'placeOrder', retryable: true });
    expect(cb.created).toBe(1);
    // A fresh process (no mapping in memory) finds it by client order id…
    const other = harness({ stream: false });
    expect(await other.adapter.getOrderByClientId('dup-1')).toMatchObject({ status: 'new', quantity: '0.1' });
    // …and sending it again returns the same Coinbase order instead of a second one.
    const third = harness({ stream: false });
    const ack = await third.adapter.placeOrder(limit('dup-1', 'buy', '0.1', '30000'));
    expect(ack.brokerOrderId).toBe([...cb.orders.values()][0]?.order_id);
    expect(cb.created).toBe(1);
    expect(cb.orders.size).toBe(1);
  });

  it('partial fills from the stream, deduplicated by trade id across the stream and getExecutions', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    cb.setBalance('BTC', '5');
    await adapter.placeOrder(limit('part-1', 'sell', '1', '60000'));
    await until(() => kinds(reports, 'part-1').includes('accepted'));
    cb.fill('part-1', '0.25');
    await until(() => fillsOf(reports, 'part-1').length === 1);
    cb.fill('part-1', '0.35', '60100');
    await until(() => fillsOf(reports, 'part-1').length === 2);
    expect(fillsOf(reports, 'part-1').map((r) => [r.lastQty, r.lastPx, r.cumQty, r.leavesQty])).toEqual([
      ['0.25', '60000', '0.25', '0.75'],
      ['0.35', '60100', '0.6', '0.4'],
    ]);
    expect(await adapter.getOrderByClientId('part-1')).toMatchObject({
      status: 'partially_filled',
      filledQuantity: '0.6',
    });
    // Replaying returns the same reports (same ids) and emits nothing new.
    const before = reports.length;
    const replay = await adapter.getExecutions('part-1');
    expect(replay.map((r) => r.executionId)).toEqual(
      reports.filter((r) => r.clientOrderId === 'part-1').map((r) => r.executionId),
    );
    expect(reports.length).toBe(before);
    // A cancel after a partial fill: cancelled with 0.6 filled, nothing left.
    await adapter.cancelOrder('part-1');
    await until(() => kinds(reports, 'part-1').includes('cancelled'));
    expect(reports.at(-1)).toMatchObject({ kind: 'cancelled', cumQty: '0.6', leavesQty: '0' });
    // Every execution id is unique.
    const ids = reports.map((r) => r.executionId);
    expect(new Set(ids).size).toBe(ids.length);
    // A restarted process rebuilds the same history from Coinbase: same ids, same quantities.
    const fresh = harness({ stream: false });
    const rebuilt = await fresh.adapter.getExecutions('part-1');
    expect(rebuilt.map((r) => [r.kind, r.executionId, r.cumQty, r.leavesQty])).toEqual(
      reports
        .filter((r) => r.clientOrderId === 'part-1')
        .map((r) => [r.kind, r.executionId, r.cumQty, r.leavesQty]),
    );
  });

  it('several trades behind one stream update are each reported from List Fills', async () => {
    const { adapter, reports } = harness({ adapter: { pollIntervalMs: 3_600_000 } });
    await adapter.connect();
    await adapter.placeOrder(limit('many-1', 'buy', '1', '30000'));
    await until(() => kinds(reports, 'many-1').includes('accepted'));
    cb.muteStream(true);
    cb.fill('many-1', '0.1');
    cb.fill('many-1', '0.2');
    cb.muteStream(false);
    cb.fill('many-1', '0.3');
    await until(() => fillsOf(reports, 'many-1').length === 3);
    expect(fillsOf(reports, 'many-1').map((r) => r.cumQty)).toEqual(['0.1', '0.3', '0.6']);
    expect(fillsOf(reports, 'many-1').map((r) => r.executionId.split(':')[1])).toEqual(
      cb.fills.map((f) => f.trade_id),
    );
  });

  it('without a stream (polling), fills and the final status still arrive, once each', async () => {
    const { adapter, reports } = harness({ stream: false });
    await adapter.connect();
    expect(adapter.streaming).toBe(false);
    await adapter.placeOrder(limit('poll-1', 'buy', '1', '30000'));
    cb.fill('poll-1', '0.4');
    await until(() => fillsOf(reports, 'poll-1').length === 1);
    cb.fill('poll-1', '0.6');
    await until(() => fillsOf(reports, 'poll-1').length === 2);
    expect(reports.at(-1)).toMatchObject({ kind: 'fill', cumQty: '1', leavesQty: '0' });
    // A replay (what the dispatcher does after a gap) changes nothing and repeats the same ids.
    const replay = await adapter.getExecutions('poll-1');
    expect(replay.map((r) => r.executionId)).toEqual(reports.map((r) => r.executionId));
    expect(kinds(reports, 'poll-1')).toEqual(['accepted', 'fill', 'fill']);
    expect(await adapter.getOrderByClientId('poll-1')).toMatchObject({
      status: 'filled',
      avgFillPrice: '30000',
    });
  });

  it('fills that List Fills does not show yet are waited for: the cancel is reported after them', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    await adapter.placeOrder(limit('lag-1', 'buy', '1', '30000'));
    await until(() => kinds(reports, 'lag-1').includes('accepted'));
    cb.hideNewFills();
    cb.fill('lag-1', '0.3');
    await adapter.cancelOrder('lag-1');
    // The order is CANCELLED with 0.3 filled, but its fill is not listed yet: the adapter keeps
    // looking (polls) and reports nothing it cannot back with a trade id.
    const fillReads = () => cb.requests.filter((r) => r.path.endsWith('/orders/historical/fills')).length;
    await until(() => fillReads() >= 3);
    expect(kinds(reports, 'lag-1')).toEqual(['accepted']);
    cb.showFills();
    await until(() => kinds(reports, 'lag-1').includes('cancelled'));
    expect(kinds(reports, 'lag-1')).toEqual(['accepted', 'fill', 'cancelled']);
    expect(reports.at(-1)).toMatchObject({ cumQty: '0.3', leavesQty: '0' });
  });

  it('maps time in force and stop-limit orders to the documented order configurations', async () => {
    const { adapter } = harness({ stream: false });
    cb.setBalance('BTC', '10');
    cb.setPrice('BTC-USD', '50000');
    await adapter.placeOrder({ ...limit('cfg-ioc', 'buy', '0.1', '30000'), timeInForce: 'ioc' });
    await adapter.placeOrder({ ...limit('cfg-fok', 'buy', '0.1', '30000'), timeInForce: 'fok' });
    await adapter.placeOrder({
      ...limit('cfg-stop', 'sell', '0.2', '39000'),
      orderType: 'stop_limit',
      stopPrice: '40000',
    });
    await adapter.placeOrder({ ...market('cfg-mfok', 'sell', '0.1'), timeInForce: 'fok' });
    const configs = cb.requests
      .filter((r) => r.method === 'POST' && r.path === '/api/v3/brokerage/orders')
      .map((r) => (r.body as { order_configuration: unknown }).order_configuration);
    expect(configs).toEqual([
      { sor_limit_ioc: { base_size: '0.1', limit_price: '30000' } },
      { limit_limit_fok: { base_size: '0.1', limit_price: '30000' } },
      {
        stop_limit_stop_limit_gtc: {
          base_size: '0.2',
          limit_price: '39000',
          stop_price: '40000',
          stop_direction: 'STOP_DIRECTION_STOP_DOWN',
        },
      },
      { market_market_fok: { base_size: '0.1' } },
    ]);
    expect(await adapter.getOrderByClientId('cfg-stop')).toMatchObject({
      orderType: 'stop_limit',
      timeInForce: 'gtc',
      limitPrice: '39000',
      stopPrice: '40000',
    });
  });

  it('an order the exchange expires is reported expired', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    await adapter.placeOrder(limit('exp-1', 'buy', '0.1', '30000', 'day'));
    await until(() => kinds(reports, 'exp-1').includes('accepted'));
    cb.end('exp-1', 'EXPIRED');
    await until(() => kinds(reports, 'exp-1').includes('expired'));
    expect(await adapter.getOrderByClientId('exp-1')).toMatchObject({ status: 'expired' });
  });

  it('a refused order (INSUFFICIENT_FUND) is BROKER_REJECTED with Coinbase reasons; nothing is created', async () => {
    const { adapter, reports } = harness();
    await adapter.connect();
    cb.setPrice('BTC-USD', '50000');
    const err = await brokerError(adapter.placeOrder(market('rej-1', 'buy', '10')));
    expect(err).toMatchObject({
      brokerCode: 'BROKER_REJECTED',
      operation: 'placeOrder',
      broker: 'coinbase',
      retryable: false,
    });
    expect(err.context).toMatchObject({
      brokerCode: 'INSUFFICIENT_FUND',
      brokerMessage: 'Insufficient balance in source account',
    });
    cb.rejectNext('ORDER_ENTRY_DISABLED', 'order entry disabled');
    expect(
      (await brokerError(adapter.placeOrder(limit('rej-2', 'buy', '0.1', '1')))).context.brokerCode,
    ).toBe('ORDER_ENTRY_DISABLED');
    // A 400 that is not an order answer: refused for good as well.
    cb.fail({ method: 'POST', path: '/api/v3/brokerage/orders', status: 400 });
    expect(await brokerError(adapter.placeOrder(limit('rej-3', 'buy', '0.1', '1')))).toMatchObject({
      brokerCode: 'BROKER_REJECTED',
      retryable: false,
    });
    expect(cb.created).toBe(0);
    expect(await adapter.getOrderByClientId('rej-1')).toBeNull();
    expect(reports).toEqual([]);
  });

  it('refuses what Coinbase cannot hold: brackets and stop (market) orders', async () => {
    const adapter = createCoinbaseAdapter({
      connectionId: 'c',
      tenantId: asTenantId('t'),
      provider: 'coinbase',
      environment: 'live',
      accountRef: '',
      credentials: new TestCredentials({ key: { apiKey: KEY_NAME, apiSecret: KEY.privatePem } }),
      endpoints: { apiBaseUrl: cb.url },
      policy: new BrokerCallPolicy({ broker: 'coinbase' }),
      log,
    });
    adapters.push(adapter as CoinbaseAdapter);
    expect(adapter.capabilities.nativeBrackets).toBe(false);
    const bracket = {
      ...limit('br-1', 'buy', '0.1', '30000'),
      bracket: {
        ocoGroup: asOrderId('g'),
        legs: [{ clientOrderId: 'br-1S', role: 'stop' as const, price: '29000' }],
      },
    };
    expect(await brokerError(adapter.placeOrder(bracket))).toMatchObject({ brokerCode: 'BROKER_REJECTED' });
    const stop: BrokerOrderRequest = {
      ...market('st-1', 'sell', '0.1'),
      orderType: 'stop',
      stopPrice: '20000',
    };
    expect(await brokerError(adapter.placeOrder(stop))).toMatchObject({ brokerCode: 'BROKER_REJECTED' });
    expect(cb.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });
});

describe('Coinbase adapter: faults', () => {
  it('429: reads are retried; a write is not; persistent 429 is BROKER_RATE_LIMITED', async () => {
    const { adapter } = harness();
    cb.fail({ path: '/api/v3/brokerage/accounts', status: 429 });
    expect((await adapter.getAccount()).cash).toBe('100000');
    cb.fail({ path: '/api/v3/brokerage/accounts', status: 429, times: 3, headers: { 'retry-after': '2' } });
    const err = await brokerError(adapter.getAccount());
    expect(err).toMatchObject({
      brokerCode: 'BROKER_RATE_LIMITED',
      retryable: true,
      operation: 'getAccount',
    });
    expect(err.context).toMatchObject({ httpStatus: 429, brokerCode: 'RATE_LIMIT_EXCEEDED', retryAfterS: 2 });
    cb.fail({ method: 'POST', path: '/api/v3/brokerage/orders', status: 429 });
    const posts = () => cb.requests.filter((r) => r.method === 'POST').length;
    expect(await brokerError(adapter.placeOrder(limit('rl-1', 'buy', '0.1', '30000')))).toMatchObject({
      brokerCode: 'BROKER_RATE_LIMITED',
    });
    expect(posts()).toBe(1);
    expect(cb.created).toBe(0);
  });

  it('5xx is BROKER_UNAVAILABLE; a slow answer is BROKER_TIMEOUT; an undocumented body is BROKER_PROTOCOL', async () => {
    const { adapter } = harness({ policy: { timeoutMs: 300, readAttempts: 1 } });
    cb.fail({ path: '/api/v3/brokerage/accounts', status: 503 });
    expect(await brokerError(adapter.getAccount())).toMatchObject({
      brokerCode: 'BROKER_UNAVAILABLE',
      retryable: true,
    });
    cb.fail({ path: '/api/v3/brokerage/accounts', delayMs: 1_500 });
    expect(await brokerError(adapter.getAccount())).toMatchObject({
      brokerCode: 'BROKER_TIMEOUT',
      operation: 'getAccount',
    });
    cb.fail({ path: '/api/v3/brokerage/accounts', status: 200, body: { accounts: [{ currency: 'USD' }] } });
    const err = await brokerError(adapter.getAccount());
    expect(err).toMatchObject({ brokerCode: 'BROKER_PROTOCOL', broker: 'coinbase' });
    expect(String(err.context.issues)).toContain('available_balance');
  });

  it('the circuit breaker opens after consecutive outages and then fails fast without calling Coinbase', async () => {
    const opened: BrokerError[] = [];
    // No portfolio reference: one call per getAccount, so two calls are two consecutive outages.
    const { adapter } = harness({
      accountRef: '',
      policy: { readAttempts: 1, breakAfter: 2, halfOpenAfterMs: 60_000, onOpen: (e) => opened.push(e) },
    });
    cb.fail({ path: '/api/v3/brokerage/accounts', status: 500, times: 10 });
    expect(await brokerError(adapter.getAccount())).toMatchObject({ brokerCode: 'BROKER_UNAVAILABLE' });
    expect(await brokerError(adapter.getAccount())).toMatchObject({ brokerCode: 'BROKER_UNAVAILABLE' });
    expect(opened).toHaveLength(1);
    const calls = cb.requests.length;
    expect(await brokerError(adapter.getAccount())).toMatchObject({
      brokerCode: 'BROKER_CIRCUIT_OPEN',
      retryable: true,
    });
    expect(cb.requests.length).toBe(calls);
  });

  it('after the user channel drops, missed fills are recovered and onReconnect listeners are called', async () => {
    const { adapter, reports } = harness({ adapter: { pollIntervalMs: 3_600_000 } });
    let reconnects = 0;
    adapter.onReconnect(() => reconnects++);
    await adapter.connect();
    await adapter.placeOrder(limit('rc-1', 'buy', '0.5', '30000'));
    await until(() => kinds(reports, 'rc-1').includes('accepted'));
    // The fill happens while its message is lost, then the connection drops.
    cb.muteStream(true);
    cb.fill('rc-1', '0.5');
    cb.dropStreams();
    cb.muteStream(false);
    await until(() => reconnects === 1);
    expect(cb.subscriptions).toBe(2);
    expect(fillsOf(reports, 'rc-1')).toHaveLength(1);
    expect(reports.at(-1)).toMatchObject({ kind: 'fill', cumQty: '0.5', leavesQty: '0' });
  });
});

describe('Coinbase adapter: authentication', () => {
  it('a JWT signed with another key is refused by Coinbase: BROKER_AUTH, and no stream', async () => {
    const wrong = ecKey();
    const { adapter } = harness({
      credentials: new TestCredentials({ key: { apiKey: KEY_NAME, apiSecret: wrong.privatePem } }),
      adapter: { reconnectInitialMs: 60_000 },
    });
    const err = await brokerError(adapter.getAccount());
    expect(err).toMatchObject({ brokerCode: 'BROKER_AUTH', retryable: false, broker: 'coinbase' });
    expect(err.context).toMatchObject({ httpStatus: 401, brokerCode: 'UNAUTHENTICATED' });
    await adapter.connect();
    expect(adapter.streaming).toBe(false);
    expect(cb.subscriptions).toBe(0);
    // The secret never appears in what an error carries.
    expect(JSON.stringify(err.toDetails())).not.toContain('PRIVATE KEY');
  });

  it('an Ed25519 CDP key signs EdDSA JWTs that Coinbase accepts', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await cb.close();
    cb = await startFakeCoinbase({ keys: { [KEY_NAME]: publicKey } });
    const { adapter } = harness({
      credentials: new TestCredentials({
        key: { apiKey: KEY_NAME, apiSecret: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
      }),
    });
    expect((await adapter.getAccount()).cash).toBe('100000');
    await adapter.connect();
    expect(adapter.streaming).toBe(true);
  });

  it('OAuth: a bearer token, refreshed once on a 401; a refused refresh is BROKER_AUTH', async () => {
    const credentials = new TestCredentials({ token: 'tok-1', next: ['tok-2'] });
    // No portfolio reference: getAccount is one call (concurrent calls would each refresh once;
    // the credential source shares one refresh in flight per connection).
    const { adapter } = harness({ credentials, stream: false, accountRef: '' });
    await adapter.connect();
    expect((await adapter.getAccount()).cash).toBe('100000');
    expect(credentials.refreshCalls).toBe(1);
    expect(cb.requests.filter((r) => r.auth === 'bearer').length).toBeGreaterThan(0);
    expect(cb.requests.some((r) => r.auth === 'jwt')).toBe(false);
    // Orders work the same way; their reports come from polling (no user channel for OAuth).
    await adapter.placeOrder(limit('oa-1', 'buy', '0.1', '30000'));
    expect(await adapter.getOrderByClientId('oa-1')).toMatchObject({ status: 'new' });

    const stale = new TestCredentials({ token: 'tok-x', next: ['tok-y'] });
    const other = harness({ credentials: stale, stream: false, accountRef: '' });
    const err = await brokerError(other.adapter.getAccount());
    expect(err).toMatchObject({ brokerCode: 'BROKER_AUTH' });
    expect(stale.refreshCalls).toBe(1);
  });
});
