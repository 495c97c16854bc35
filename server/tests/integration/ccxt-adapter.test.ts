/**
 * The CCXT adapter through the real `ccxt` library (its `binance` class: request signing, error
 * mapping, response parsing) against a local Binance Spot REST venue (support/fake-binance.ts)
 * over real HTTP. The fake verifies every signature and answers with Binance's documented
 * shapes and error codes; faults (429, 418, 5xx, delays, dropped responses) are injected there.
 *
 * One file: every test drives the one adapter through ccxt against the same fake venues and
 * harness; each describe is one area of the protocol.
 */
import { asOrderId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CcxtAdapter,
  type CcxtAdapterOptions,
  supportedCcxtExchanges,
} from '../../src/brokers/ccxt/index.ts';
import type { CredentialSource } from '../../src/brokers/connection.ts';
import type { BrokerCallOptions } from '../../src/brokers/resilience.ts';
import { BrokerError, type ExecutionReport } from '../../src/brokers/types.ts';
import { adapterContext, brokerError, until } from './support/adapter-harness.ts';
import { FakeBinance } from './support/fake-binance.ts';
import { FakeOkx } from './support/fake-okx.ts';

const _log = createLogger({ name: 'ccxt-adapter-test', level: 'silent' });
const KEY = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
const SECRET = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';

class KeyCredentials implements CredentialSource {
  readonly #key: { apiKey: string; apiSecret: string; passphrase?: string };
  constructor(apiKey: string, apiSecret: string, passphrase?: string) {
    this.#key = { apiKey, apiSecret, ...(passphrase !== undefined && { passphrase }) };
  }
  async accessToken(): Promise<string> {
    throw new BrokerError('BROKER_AUTH', 'an api_key link has no access token');
  }
  async refreshAccessToken(): Promise<string> {
    throw new BrokerError('BROKER_AUTH', 'an api_key link has no access token');
  }
  async apiKey() {
    return this.#key;
  }
}

let venue: FakeBinance;
const adapters: CcxtAdapter[] = [];

beforeEach(async () => {
  venue = new FakeBinance();
  venue.addAccount(KEY, SECRET, { USDT: '10000', BTC: '0.5', DOGE: '100' });
  await venue.start();
});

afterEach(async () => {
  for (const a of adapters.splice(0)) a.close();
  await venue.close();
});

interface Harness {
  adapter: CcxtAdapter;
  reports: ExecutionReport[];
  reconnects: number[];
  opened: BrokerError[];
}

function harness(
  opts: {
    secret?: string;
    apiKey?: string;
    passphrase?: string;
    baseUrl?: string;
    streamUrl?: string;
    provider?: string;
    environment?: 'paper' | 'live';
    policy?: Partial<BrokerCallOptions>;
    adapter?: CcxtAdapterOptions;
    listen?: boolean;
  } = {},
): Harness {
  const opened: BrokerError[] = [];
  const provider = opts.provider ?? 'ccxt:binance';
  const ctx = adapterContext({
    provider,
    environment: opts.environment ?? 'live',
    accountRef: 'binance-spot-1',
    credentials: new KeyCredentials(opts.apiKey ?? KEY, opts.secret ?? SECRET, opts.passphrase),
    endpoints: { apiBaseUrl: opts.baseUrl ?? venue.url, streamUrl: opts.streamUrl ?? null },
    policy: {
      timeoutMs: 3_000,
      readAttempts: 1,
      breakAfter: 100,
      onOpen: (e) => opened.push(e),
      ...opts.policy,
    },
  });
  const adapter = new CcxtAdapter(ctx, { pollIntervalMs: 25, requestTimeoutMs: 1_500, ...opts.adapter });
  adapters.push(adapter);
  const reports: ExecutionReport[] = [];
  const reconnects: number[] = [];
  if (opts.listen !== false) adapter.onExecutionReport((r) => reports.push(r));
  adapter.onReconnect(() => reconnects.push(reconnects.length + 1));
  return { adapter, reports, reconnects, opened };
}

const of = (rs: ExecutionReport[], id: string) => rs.filter((r) => r.clientOrderId === id);
const kinds = (rs: ExecutionReport[], id: string) => of(rs, id).map((r) => r.kind);

const limitBuy = (clientOrderId: string, quantity = '0.01', limitPrice = '50000') => ({
  clientOrderId,
  symbol: 'BTC-USDT',
  side: 'buy' as const,
  orderType: 'limit' as const,
  timeInForce: 'gtc' as const,
  quantity,
  limitPrice,
});

describe('CCXT adapter (ccxt:binance): account', () => {
  it('reads balances: cash and buying power are free USDT, equity adds every asset at its last price', async () => {
    const { adapter } = harness();
    await adapter.connect();
    // 10000 USDT + 0.5 BTC × 60000; DOGE has no DOGE/USDT market here and is left out.
    expect(await adapter.getAccount()).toEqual({
      accountId: 'binance-spot-1',
      currency: 'USDT',
      cash: '10000',
      buyingPower: '10000',
      equity: '40000',
      brokerStatus: null,
    });
    await adapter.placeOrder(limitBuy('acct-1', '0.1', '40000'));
    const after = await adapter.getAccount();
    expect(after.cash).toBe('6000'); // 4000 USDT locked by the resting buy
    expect(after.equity).toBe('40000');
    expect(await adapter.listPositions()).toEqual([{ symbol: 'BTC-USDT', quantity: '0.5', avgCost: '0' }]);
    const paths = new Set(venue.requests.map((r) => r.path));
    // Spot only: no /sapi (currencies, margin) and no futures exchangeInfo on load.
    expect([...paths].filter((p) => !p.startsWith('/api/v3/'))).toEqual([]);
  });
});

describe('CCXT adapter (ccxt:binance): orders', () => {
  it('places a limit order under our client order id, finds it by that id, cancels it', async () => {
    const { adapter, reports } = harness();
    const ack = await adapter.placeOrder(limitBuy('ord-1'));
    expect(ack).toEqual({ clientOrderId: 'ord-1', brokerOrderId: expect.any(String), status: 'new' });
    const post = venue.requests.find((r) => r.method === 'POST' && r.path === '/api/v3/order');
    expect(post?.params).toMatchObject({
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.01',
      price: '50000',
      newClientOrderId: 'ord-1',
    });
    expect(post?.apiKey).toBe(KEY);

    expect(await adapter.getOrderByClientId('ord-1')).toEqual({
      clientOrderId: 'ord-1',
      symbol: 'BTC-USDT',
      side: 'buy',
      orderType: 'limit',
      timeInForce: 'gtc',
      quantity: '0.01',
      limitPrice: '50000',
      stopPrice: null,
      brokerOrderId: ack.brokerOrderId,
      status: 'new',
      filledQuantity: '0',
      avgFillPrice: null,
      rejectReason: null,
    });
    expect((await adapter.listOpenOrders()).map((o) => o.clientOrderId)).toEqual(['ord-1']);
    expect(await adapter.getOrderByClientId('nope')).toBeNull();

    await adapter.cancelOrder('ord-1');
    await until(() => kinds(reports, 'ord-1').includes('cancelled'));
    expect(kinds(reports, 'ord-1')).toEqual(['accepted', 'cancelled']);
    expect((await adapter.getOrderByClientId('ord-1'))?.status).toBe('cancelled');
    expect(venue.balance(KEY, 'USDT')).toEqual({ free: '10000', locked: '0' });
    expect(await adapter.listOpenOrders()).toEqual([]);
  });

  it('a market order fills at once: one fill report per venue trade, delivered once, replayed identically', async () => {
    const { adapter, reports } = harness();
    // A resting order keeps the poller busy while the filled one is watched for redelivery.
    await adapter.placeOrder(limitBuy('bg-1'));
    const ack = await adapter.placeOrder({
      clientOrderId: 'mkt-1',
      symbol: 'BTC-USDT',
      side: 'sell',
      orderType: 'market',
      timeInForce: 'day',
      quantity: '0.1',
    });
    expect(ack.status).toBe('filled');
    await until(() => kinds(reports, 'mkt-1').includes('fill'));
    // Let several polls pass: the fill must not be delivered twice.
    const polls = venue.requests.length;
    await until(() => venue.requests.length > polls + 6 || of(reports, 'mkt-1').length > 2);
    const fills = of(reports, 'mkt-1').filter((r) => r.kind === 'fill');
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({
      lastQty: '0.1',
      lastPx: '60000',
      fee: '6', // 0.1 % of 6000 USDT, charged in the quote currency
      liquidity: 'taker',
      cumQty: '0.1',
      leavesQty: '0',
      avgPx: '60000',
    });
    expect(fills[0]?.executionId).toMatch(/^binance:trade:BTC\/USDT:\d+$/);
    const replay = await adapter.getExecutions('mkt-1');
    expect(replay.map((r) => r.executionId)).toEqual(of(reports, 'mkt-1').map((r) => r.executionId));
    // 10000 + 6000 - 6 fee - 500 locked by the resting buy.
    expect(venue.balance(KEY, 'USDT')).toEqual({ free: '15494', locked: '500' });
  });

  it('partial fills: each print is one fill with cumulative quantity; a cancel ends the rest', async () => {
    const { adapter, reports } = harness();
    await adapter.placeOrder(limitBuy('part-1', '0.03', '59000'));
    await until(() => kinds(reports, 'part-1').includes('accepted'));
    venue.trade('BTCUSDT', '58900', '0.01');
    await until(() => kinds(reports, 'part-1').filter((k) => k === 'fill').length === 1);
    venue.fill('part-1', '0.005');
    await until(() => kinds(reports, 'part-1').filter((k) => k === 'fill').length === 2);
    expect((await adapter.getOrderByClientId('part-1'))?.status).toBe('partially_filled');
    expect((await adapter.listOpenOrders())[0]?.filledQuantity).toBe('0.015');
    await adapter.cancelOrder('part-1');
    await until(() => kinds(reports, 'part-1').includes('cancelled'));
    expect(
      of(reports, 'part-1').map((r) => [
        r.kind,
        r.lastQty ?? null,
        r.cumQty,
        r.leavesQty,
        r.liquidity ?? null,
      ]),
    ).toEqual([
      ['accepted', null, '0', '0.03', null],
      ['fill', '0.01', '0.01', '0.02', 'maker'],
      ['fill', '0.005', '0.015', '0.015', 'maker'],
      ['cancelled', null, '0.015', '0', null],
    ]);
    // A buy's fee is charged in BTC at Binance: not a quote-currency fee, not reported as one.
    expect(
      of(reports, 'part-1')
        .filter((r) => r.kind === 'fill')
        .every((r) => r.fee === undefined),
    ).toBe(true);
  });

  it('a stop order waits at the venue (STOP_LOSS_LIMIT) until a print reaches its stop, then fills', async () => {
    const { adapter, reports } = harness();
    await adapter.placeOrder({
      clientOrderId: 'stop-1',
      symbol: 'BTC-USDT',
      side: 'sell',
      orderType: 'stop_limit',
      timeInForce: 'gtc',
      quantity: '0.05',
      limitPrice: '54900',
      stopPrice: '55000',
    });
    const post = venue.requests.find((r) => r.method === 'POST' && r.params.newClientOrderId === 'stop-1');
    expect(post?.params).toMatchObject({ type: 'STOP_LOSS_LIMIT', stopPrice: '55000', price: '54900' });
    expect(await adapter.getOrderByClientId('stop-1')).toMatchObject({
      orderType: 'stop_limit',
      stopPrice: '55000',
      limitPrice: '54900',
      status: 'new',
    });
    venue.trade('BTCUSDT', '56000');
    venue.trade('BTCUSDT', '54950');
    await until(() => kinds(reports, 'stop-1').includes('fill'));
    expect(of(reports, 'stop-1').find((r) => r.kind === 'fill')).toMatchObject({
      lastQty: '0.05',
      lastPx: '54900',
    });
  });

  it('a cancel of an order that already filled is a cancel_rejected report, not "never had it"', async () => {
    const { adapter, reports } = harness();
    await adapter.placeOrder(limitBuy('done-1', '0.01', '61000')); // marketable: fills at 60000
    await until(() => kinds(reports, 'done-1').includes('fill'));
    await adapter.cancelOrder('done-1');
    await until(() => kinds(reports, 'done-1').includes('cancel_rejected'));
    expect(of(reports, 'done-1').find((r) => r.kind === 'cancel_rejected')?.reason).toBe('order is filled');
    const err = await brokerError(adapter.cancelOrder('never-sent'));
    expect(err.brokerCode).toBe('BROKER_NOT_FOUND');
  });

  it('a placement whose response was lost is recovered by looking the client order id up', async () => {
    const { adapter } = harness();
    venue.dropNext('/api/v3/order');
    const ack = await adapter.placeOrder(limitBuy('lost-1'));
    expect(ack.status).toBe('new');
    expect(venue.ordersByClientId('lost-1')).toHaveLength(1);
    expect(ack.brokerOrderId).toBe(String(venue.ordersByClientId('lost-1')[0]?.orderId));
  });

  it('a retried placement after a restart: Binance answers -2010 Duplicate order sent, the adapter returns the order there', async () => {
    const first = harness();
    const ack = await first.adapter.placeOrder(limitBuy('dup-1'));
    first.adapter.close();
    const restarted = harness();
    const again = await restarted.adapter.placeOrder(limitBuy('dup-1'));
    expect(again).toEqual(ack);
    expect(venue.ordersByClientId('dup-1')).toHaveLength(1);
    const posts = venue.requests.filter((r) => r.method === 'POST' && r.params.newClientOrderId === 'dup-1');
    expect(posts).toHaveLength(2); // the second was refused by the venue as a duplicate
    // Within one process the known order is returned without sending it again.
    const third = await restarted.adapter.placeOrder(limitBuy('dup-1'));
    expect(third).toEqual(ack);
    expect(
      venue.requests.filter((r) => r.method === 'POST' && r.params.newClientOrderId === 'dup-1'),
    ).toHaveLength(2);
  });

  it('an order placed by an earlier process is found by client order id (open orders, then per symbol)', async () => {
    const first = harness();
    await first.adapter.placeOrder(limitBuy('old-open'));
    await first.adapter.placeOrder(limitBuy('old-filled', '0.01', '61000'));
    first.adapter.close();
    const { adapter, reports } = harness({ adapter: { symbols: ['BTC-USDT'] } });
    expect((await adapter.getOrderByClientId('old-open'))?.status).toBe('new');
    expect((await adapter.getOrderByClientId('old-filled'))?.status).toBe('filled');
    const ex = await adapter.getExecutions('old-filled');
    expect(ex.map((r) => r.kind)).toEqual(['accepted', 'fill']);
    // The open one is polled from now on: a later fill is reported live.
    venue.fill('old-open', '0.01');
    await until(() => kinds(reports, 'old-open').includes('fill'));
  });

  it('an order the venue refuses for funds is BROKER_REJECTED (not retryable), and known as rejected', async () => {
    const { adapter } = harness();
    const err = await brokerError(adapter.placeOrder(limitBuy('big-1', '1', '50000')));
    expect(err.brokerCode).toBe('BROKER_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.context).toMatchObject({ brokerCode: -2010, ccxtError: 'InsufficientFunds' });
    expect(err.message).toContain('insufficient balance');
    expect(await adapter.getOrderByClientId('big-1')).toMatchObject({ status: 'rejected' });
    expect((await adapter.getExecutions('big-1')).map((r) => r.kind)).toEqual(['rejected']);
  });

  it('refuses what it cannot send faithfully before calling the venue', async () => {
    const { adapter } = harness();
    await adapter.connect();
    const before = venue.requests.length;
    const offStep = await brokerError(adapter.placeOrder(limitBuy('step-1', '0.000015')));
    expect(offStep.brokerCode).toBe('BROKER_INVALID_REQUEST');
    expect(offStep.message).toContain('step');
    const offTick = await brokerError(adapter.placeOrder(limitBuy('tick-1', '0.01', '50000.005')));
    expect(offTick.brokerCode).toBe('BROKER_INVALID_REQUEST');
    const day = await brokerError(adapter.placeOrder({ ...limitBuy('day-1'), timeInForce: 'day' }));
    expect(day.brokerCode).toBe('BROKER_INVALID_REQUEST');
    const sym = await brokerError(adapter.placeOrder({ ...limitBuy('sym-1'), symbol: 'AAPL' }));
    expect(sym.brokerCode).toBe('BROKER_INVALID_REQUEST');
    const bracket = await brokerError(
      adapter.placeOrder({ ...limitBuy('br-1'), bracket: { ocoGroup: asOrderId('g'), legs: [] } }),
    );
    expect(bracket.brokerCode).toBe('BROKER_INVALID_REQUEST');
    expect(adapter.capabilities.nativeBrackets).toBe(false);
    expect(venue.requests.length).toBe(before);
  });
});

describe('CCXT adapter (ccxt:binance): faults', () => {
  it('HTTP 429 with Retry-After is BROKER_RATE_LIMITED with the delay; 418 (IP ban) too', async () => {
    const { adapter } = harness();
    await adapter.connect();
    venue.failNext(
      '/api/v3/order',
      429,
      {
        code: -1003,
        msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE.',
      },
      1,
      7,
    );
    const err = await brokerError(adapter.placeOrder(limitBuy('rl-1')));
    expect(err.brokerCode).toBe('BROKER_RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.context).toMatchObject({ retryAfterS: 7 });
    venue.failNext(
      '/api/v3/account',
      418,
      { code: -1003, msg: 'Way too much request weight used; IP banned until 1700000000000.' },
      1,
      120,
    );
    expect((await brokerError(adapter.getAccount())).brokerCode).toBe('BROKER_RATE_LIMITED');
    // Nothing reached the book.
    expect(venue.ordersByClientId('rl-1')).toEqual([]);
  });

  it('a response slower than the request timeout is BROKER_TIMEOUT; a read is retried by the policy', async () => {
    const { adapter } = harness({ adapter: { requestTimeoutMs: 200 }, policy: { readAttempts: 2 } });
    await adapter.connect();
    venue.delayNext('/api/v3/account', 1_000);
    // The first attempt times out, the policy's retry succeeds.
    expect((await adapter.getAccount()).cash).toBe('10000');
    venue.delayNext('/api/v3/account', 1_000, 2);
    const err = await brokerError(adapter.getAccount());
    expect(err.brokerCode).toBe('BROKER_TIMEOUT');
    expect(err.operation).toBe('getAccount');
    expect(err.message).not.toContain('signature=');
  });

  it('consecutive 5xx open the circuit: calls then fail fast with BROKER_CIRCUIT_OPEN without reaching the venue', async () => {
    const { adapter, opened } = harness({ policy: { breakAfter: 2, halfOpenAfterMs: 60_000 } });
    await adapter.connect();
    venue.failNext(
      '/api/v3/account',
      503,
      { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' },
      2,
    );
    expect((await brokerError(adapter.getAccount())).brokerCode).toBe('BROKER_UNAVAILABLE');
    expect((await brokerError(adapter.getAccount())).brokerCode).toBe('BROKER_UNAVAILABLE');
    expect(opened).toHaveLength(1);
    const before = venue.requests.length;
    const err = await brokerError(adapter.placeOrder(limitBuy('cb-1')));
    expect(err.brokerCode).toBe('BROKER_CIRCUIT_OPEN');
    expect(venue.requests.length).toBe(before);
  });

  it('a wrong secret fails the venue signature check (-1022): BROKER_AUTH; an unknown key (-2015) too', async () => {
    const bad = harness({ secret: 'not-the-secret' });
    const err = await brokerError(bad.adapter.getAccount());
    expect(err.brokerCode).toBe('BROKER_AUTH');
    expect(err.retryable).toBe(false);
    expect(err.context).toMatchObject({ brokerCode: -1022 });
    expect(err.message).not.toContain('not-the-secret');
    const unknown = harness({ apiKey: 'unknown-key' });
    const e2 = await brokerError(unknown.adapter.placeOrder(limitBuy('auth-1')));
    expect(e2.brokerCode).toBe('BROKER_AUTH');
    expect(e2.context).toMatchObject({ brokerCode: -2015 });
  });

  it('a poll that fails and then succeeds again calls the reconnect listeners', async () => {
    const { adapter, reports, reconnects } = harness();
    await adapter.placeOrder(limitBuy('rc-1'));
    await until(() => kinds(reports, 'rc-1').includes('accepted'));
    venue.failNext('/api/v3/order', 502, '<html>502 Bad Gateway</html>', 3);
    await until(() => reconnects.length === 1);
    venue.fill('rc-1', '0.01');
    await until(() => kinds(reports, 'rc-1').includes('fill'));
  });
});

describe('CCXT adapter: venues', () => {
  it('paper uses the venue sandbox (CCXT test URLs, rebased to the local venue); a venue without one refuses paper', async () => {
    const { adapter } = harness({ environment: 'paper' });
    expect((await adapter.getAccount()).cash).toBe('10000');
    const noSandbox = harness({ provider: 'ccxt:kraken', environment: 'paper' });
    const err = await brokerError(noSandbox.adapter.getAccount());
    expect(err.brokerCode).toBe('BROKER_INVALID_REQUEST');
    expect(err.message).toContain('no sandbox');
    expect(() => harness({ provider: 'ccxt:notavenue' })).toThrow(BrokerError);
  });

  it('lists every CCXT exchange with its sandbox, WebSocket and passphrase needs', () => {
    const list = supportedCcxtExchanges();
    expect(list.length).toBeGreaterThan(90);
    const byId = new Map(list.map((e) => [e.id, e]));
    expect(byId.get('binance')).toMatchObject({
      provider: 'ccxt:binance',
      sandbox: true,
      websocket: true,
      passphrase: false,
    });
    expect(byId.get('okx')).toMatchObject({ sandbox: true, passphrase: true });
    expect(byId.get('kraken')).toMatchObject({ sandbox: false, websocket: true });
    expect(list.every((e) => /^ccxt:[a-z0-9]{2,32}$/.test(e.provider))).toBe(true);
  });
});

describe('CCXT adapter (ccxt:okx): a second venue through the same adapter', () => {
  const OKX_KEY = '8b1c4a5e-2f4e-4d53-9a7e-0c9f1d2b3a4c';
  const OKX_SECRET = 'F0E1D2C3B4A5968778695A4B3C2D1E0F';
  const PASS = 'Aegis-pass-1';
  let okx: FakeOkx;

  beforeEach(async () => {
    okx = new FakeOkx();
    okx.addAccount(OKX_KEY, OKX_SECRET, PASS, { USDT: '5000', BTC: '0.2' });
    okx.addAccount('demo-key', OKX_SECRET, PASS, { USDT: '100' }, true);
    await okx.start();
  });

  afterEach(async () => {
    for (const a of adapters.splice(0)) a.close();
    await okx.close();
  });

  const okxHarness = (over: Parameters<typeof harness>[0] = {}) =>
    harness({
      provider: 'ccxt:okx',
      apiKey: OKX_KEY,
      secret: OKX_SECRET,
      passphrase: PASS,
      baseUrl: okx.url,
      ...over,
    });

  it('signs with key, secret and passphrase; balances, a limit order by clOrdId, partial fill, cancel', async () => {
    const { adapter, reports } = okxHarness();
    expect(await adapter.getAccount()).toMatchObject({ currency: 'USDT', cash: '5000', equity: '17000' });
    const ack = await adapter.placeOrder(limitBuy('AE0123456789abcdef0123456789abcd', '0.02', '59000'));
    expect(ack.brokerOrderId).toBe(okx.ordersByClientId('AE0123456789abcdef0123456789abcd')[0]?.ordId);
    // CCXT places through batch-orders (one order in the array).
    const post = okx.requests.find((r) => r.method === 'POST' && r.path === '/api/v5/trade/batch-orders');
    expect((post?.body as unknown[] | undefined)?.[0]).toMatchObject({
      instId: 'BTC-USDT',
      tdMode: 'cash',
      side: 'buy',
      ordType: 'limit',
      sz: '0.02',
      px: '59000',
      clOrdId: 'AE0123456789abcdef0123456789abcd',
    });
    okx.fill('AE0123456789abcdef0123456789abcd', '0.005');
    await until(() => kinds(reports, 'AE0123456789abcdef0123456789abcd').includes('fill'));
    expect((await adapter.getOrderByClientId('AE0123456789abcdef0123456789abcd'))?.status).toBe(
      'partially_filled',
    );
    await adapter.cancelOrder('AE0123456789abcdef0123456789abcd');
    await until(() => kinds(reports, 'AE0123456789abcdef0123456789abcd').includes('cancelled'));
    expect(of(reports, 'AE0123456789abcdef0123456789abcd').map((r) => [r.kind, r.cumQty])).toEqual([
      ['accepted', '0'],
      ['fill', '0.005'],
      ['cancelled', '0.005'],
    ]);
  });

  it('a market sell fills with its fee in USDT; a duplicated clOrdId (51016) is recovered by lookup', async () => {
    const { adapter, reports } = okxHarness();
    await adapter.placeOrder({
      clientOrderId: 'AEmkt1',
      symbol: 'BTC-USDT',
      side: 'sell',
      orderType: 'market',
      timeInForce: 'gtc',
      quantity: '0.1',
    });
    await until(() => kinds(reports, 'AEmkt1').includes('fill'));
    expect(of(reports, 'AEmkt1').find((r) => r.kind === 'fill')).toMatchObject({
      lastQty: '0.1',
      lastPx: '60000',
      fee: '6',
      liquidity: 'taker',
    });
    const first = await adapter.placeOrder(limitBuy('AEdup1', '0.01', '50000'));
    const restarted = okxHarness();
    expect(await restarted.adapter.placeOrder(limitBuy('AEdup1', '0.01', '50000'))).toEqual({
      ...first,
      status: 'new',
    });
    expect(okx.ordersByClientId('AEdup1')).toHaveLength(1);
  });

  it('insufficient balance (51008) is BROKER_REJECTED; a wrong passphrase (50105) is BROKER_AUTH', async () => {
    const { adapter } = okxHarness();
    const err = await brokerError(adapter.placeOrder(limitBuy('AEbig1', '1', '50000')));
    expect(err.brokerCode).toBe('BROKER_REJECTED');
    expect(err.context).toMatchObject({ brokerCode: 51008, ccxtError: 'InsufficientFunds' });
    const wrong = okxHarness({ passphrase: 'nope' });
    expect((await brokerError(wrong.adapter.getAccount())).brokerCode).toBe('BROKER_AUTH');
    const badSign = okxHarness({ secret: 'not-it' });
    const e2 = await brokerError(badSign.adapter.getAccount());
    expect(e2.brokerCode).toBe('BROKER_AUTH');
    expect(e2.context).toMatchObject({ brokerCode: 50113 });
  });

  it('CCXT Pro watchOrders (OKX private WebSocket, signed login) delivers reports between polls; a dropped socket reconnects', async () => {
    // Polls far apart: what arrives in between came through the WebSocket.
    const { adapter, reports, reconnects } = okxHarness({
      streamUrl: okx.streamUrl,
      adapter: { pollIntervalMs: 600_000 },
    });
    await adapter.connect();
    await until(() => okx.orderSubscriptions === 1);
    await adapter.placeOrder(limitBuy('AEws1', '0.02', '59000'));
    await until(() => kinds(reports, 'AEws1').includes('accepted'));
    okx.fill('AEws1', '0.01');
    await until(() => kinds(reports, 'AEws1').includes('fill'));
    okx.dropStreams();
    await until(() => okx.orderSubscriptions === 2); // logged in and subscribed again
    okx.fill('AEws1', '0.01');
    await until(() => kinds(reports, 'AEws1').filter((k) => k === 'fill').length === 2);
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(of(reports, 'AEws1').map((r) => [r.kind, r.cumQty])).toEqual([
      ['accepted', '0'],
      ['fill', '0.01'],
      ['fill', '0.02'],
    ]);
  });

  it('paper is OKX demo trading: CCXT sends x-simulated-trading, which a demo key requires', async () => {
    const { adapter } = okxHarness({ apiKey: 'demo-key', environment: 'paper' });
    expect((await adapter.getAccount()).cash).toBe('100');
    expect(okx.requests.filter((r) => r.path === '/api/v5/account/balance').every((r) => r.simulated)).toBe(
      true,
    );
  });
});
