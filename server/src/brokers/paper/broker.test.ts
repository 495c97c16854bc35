import { describe, expect, it } from 'vitest';
import { QuoteBook } from '../quote-book.ts';
import type { BrokerOrderRequest, ExecutionReport } from '../types.ts';
import { PaperBroker, type PaperBrokerOptions } from './index.ts';

const T0 = new Date('2026-11-25T15:00:00Z');

function setup(opts: Partial<PaperBrokerOptions> = {}) {
  const quotes = new QuoteBook();
  // 100.00 × 100.10, 500 shown each side
  quotes.setQuote('AAPL', '100.00', '100.10', '500', '500', T0);
  const broker = new PaperBroker({ accountId: 'A1', quotes, feeBps: '0', clock: () => T0, ...opts });
  const reports: ExecutionReport[] = [];
  broker.onExecutionReport((r) => reports.push(r));
  let n = 0;
  const order = (r: Partial<BrokerOrderRequest>): BrokerOrderRequest => ({
    clientOrderId: `c${++n}`,
    symbol: 'AAPL',
    side: 'buy',
    orderType: 'market',
    timeInForce: 'day',
    quantity: '100',
    ...r,
  });
  const fills = (id?: string) =>
    reports
      .filter((r) => r.kind === 'fill' && (!id || r.clientOrderId === id))
      .map((r) => [r.lastQty, r.lastPx]);
  const kinds = (id: string) => reports.filter((r) => r.clientOrderId === id).map((r) => r.kind);
  return { quotes, broker, reports, order, fills, kinds };
}

describe('paper broker: market orders', () => {
  it('fills inside the displayed size at the touch', async () => {
    const { broker, order, fills, kinds } = setup();
    const ack = await broker.placeOrder(order({ quantity: '100' }));
    expect(ack.status).toBe('filled');
    expect(fills()).toEqual([['100', '100.1']]);
    expect(kinds('c1')).toEqual(['accepted', 'fill']);
  });

  it('pays slippage for size beyond the displayed depth (5 bps per level)', async () => {
    const { broker, order, fills } = setup();
    await broker.placeOrder(order({ quantity: '1200' }));
    // 500 @ 100.10, 500 @ 100.10 + 0.05005, 200 @ 100.10 + 0.1001
    expect(fills()).toEqual([
      ['500', '100.1'],
      ['500', '100.15005'],
      ['200', '100.2001'],
    ]);
    const o = await broker.getOrderByClientId('c1');
    expect(o).toMatchObject({ status: 'filled', filledQuantity: '1200', avgFillPrice: '100.1375375' });
  });

  it('sells at the bid, and cancels what depth cannot take', async () => {
    const { broker, order, fills, kinds } = setup({ maxLevels: 2 });
    const ack = await broker.placeOrder(order({ side: 'sell', quantity: '1500' }));
    expect(fills()).toEqual([
      ['500', '100'],
      ['500', '99.95'],
    ]);
    expect(ack.status).toBe('cancelled');
    expect(kinds('c1')).toEqual(['accepted', 'fill', 'fill', 'cancelled']);
  });
});

describe('paper broker: limit orders', () => {
  it('a marketable limit takes only levels inside its price and rests the rest', async () => {
    const { broker, order, fills } = setup();
    const ack = await broker.placeOrder(order({ orderType: 'limit', limitPrice: '100.12', quantity: '800' }));
    expect(fills()).toEqual([['500', '100.1']]);
    expect(ack.status).toBe('partially_filled');
    expect((await broker.listOpenOrders()).map((o) => o.clientOrderId)).toEqual(['c1']);
  });

  it('rests behind the displayed queue; trades at its price fill it partially after the queue', async () => {
    const { broker, quotes, order, fills } = setup();
    const ack = await broker.placeOrder(order({ orderType: 'limit', limitPrice: '100.00', quantity: '300' }));
    expect(ack.status).toBe('new');
    quotes.setTrade('AAPL', '100.00', '400', T0); // 500 ahead of us → 100 still ahead
    expect(fills()).toEqual([]);
    quotes.setTrade('AAPL', '100.00', '250', T0); // 100 ahead, then 150 for us
    expect(fills()).toEqual([['150', '100']]);
    expect((await broker.getOrderByClientId('c1'))?.status).toBe('partially_filled');
    quotes.setTrade('AAPL', '99.99', '1000', T0); // traded through our price: the rest fills
    expect(fills()).toEqual([
      ['150', '100'],
      ['150', '100'],
    ]);
    expect((await broker.getOrderByClientId('c1'))?.status).toBe('filled');
  });

  it('an improving limit has nobody ahead; a quote crossing it fills it as taker', async () => {
    const { broker, quotes, order, reports } = setup();
    await broker.placeOrder(order({ orderType: 'limit', limitPrice: '100.05', quantity: '100' }));
    quotes.setQuote('AAPL', '99.90', '100.04', '500', '60', T0);
    const f = reports.filter((r) => r.kind === 'fill');
    expect(f.map((r) => [r.lastQty, r.lastPx, r.liquidity])).toEqual([['60', '100.04', 'taker']]);
    quotes.setTrade('AAPL', '100.05', '10', T0);
    expect(reports.filter((r) => r.kind === 'fill').at(-1)).toMatchObject({
      lastQty: '10',
      lastPx: '100.05',
      liquidity: 'maker',
    });
  });
});

describe('paper broker: stop and stop-limit', () => {
  it('a buy stop triggers on a trade at its stop and fills as market', async () => {
    const { broker, quotes, order, fills } = setup();
    const ack = await broker.placeOrder(order({ orderType: 'stop', stopPrice: '101', quantity: '50' }));
    expect(ack.status).toBe('new');
    quotes.setTrade('AAPL', '100.50', '10', T0);
    expect(fills()).toEqual([]);
    quotes.setQuote('AAPL', '100.90', '101.00', '200', '200', T0);
    quotes.setTrade('AAPL', '101.00', '10', T0);
    expect(fills()).toEqual([['50', '101']]);
  });

  it('a sell stop-limit triggers, then works as a limit', async () => {
    const { broker, quotes, order, fills } = setup();
    await broker.placeOrder(
      order({ side: 'sell', orderType: 'stop_limit', stopPrice: '99', limitPrice: '98.90', quantity: '300' }),
    );
    quotes.setQuote('AAPL', '98.95', '99.00', '100', '100', T0); // ask ≤ stop: triggered, bid 98.95 ≥ 98.90
    // 100 at 98.95, next level 98.95 − 0.049475 = 98.900525 ≥ 98.90: 100 more; then below the limit
    expect(fills()).toEqual([
      ['100', '98.95'],
      ['100', '98.900525'],
    ]);
    expect((await broker.getOrderByClientId('c1'))?.status).toBe('partially_filled');
  });
});

describe('paper broker: time in force', () => {
  it('IOC fills what it can and cancels the rest', async () => {
    const { broker, order, fills, kinds } = setup();
    const ack = await broker.placeOrder(
      order({ orderType: 'limit', limitPrice: '100.10', quantity: '800', timeInForce: 'ioc' }),
    );
    expect(fills()).toEqual([['500', '100.1']]);
    expect(ack.status).toBe('cancelled');
    expect(kinds('c1')).toEqual(['accepted', 'fill', 'cancelled']);
  });

  it('FOK fills completely or not at all', async () => {
    const { broker, order, fills } = setup();
    const no = await broker.placeOrder(
      order({ orderType: 'limit', limitPrice: '100.10', quantity: '501', timeInForce: 'fok' }),
    );
    expect(no.status).toBe('cancelled');
    expect(fills()).toEqual([]);
    const yes = await broker.placeOrder(
      order({ orderType: 'limit', limitPrice: '100.10', quantity: '500', timeInForce: 'fok' }),
    );
    expect(yes.status).toBe('filled');
    expect(fills()).toEqual([['500', '100.1']]);
  });

  it('DAY orders expire at the end of the day; GTC orders stay', async () => {
    const { broker, order, kinds } = setup();
    await broker.placeOrder(order({ orderType: 'limit', limitPrice: '90', timeInForce: 'day' }));
    await broker.placeOrder(order({ orderType: 'limit', limitPrice: '90', timeInForce: 'gtc' }));
    expect(broker.expireDayOrders()).toBe(1);
    expect(kinds('c1')).toEqual(['accepted', 'expired']);
    expect((await broker.listOpenOrders()).map((o) => o.clientOrderId)).toEqual(['c2']);
  });
});

describe('paper broker: rejects, fees, idempotency, determinism', () => {
  it('rejects halted instruments, missing market data and insufficient buying power', async () => {
    const { broker, order, quotes } = setup({ startingCash: '10000' });
    broker.setHalted('AAPL', true);
    expect((await broker.placeOrder(order({}))).rejectReason).toBe('instrument halted');
    broker.setHalted('AAPL', false);
    expect((await broker.placeOrder(order({ symbol: 'MSFT' }))).rejectReason).toBe(
      'no market data for the instrument',
    );
    // 100 × 100.10 = 10010 > 10000
    expect((await broker.placeOrder(order({ quantity: '100' }))).rejectReason).toBe(
      'insufficient buying power',
    );
    expect((await broker.placeOrder(order({ quantity: '99' }))).status).toBe('filled');
    // a resting buy reserves cash: 0.1 × 90 left? cash = 10000 − 9909.9 = 90.1
    quotes.setQuote('AAPL', '100.00', '100.10', '500', '500', T0);
    expect(
      (await broker.placeOrder(order({ orderType: 'limit', limitPrice: '90', quantity: '1' }))).status,
    ).toBe('new');
    expect(
      (await broker.placeOrder(order({ orderType: 'limit', limitPrice: '90', quantity: '1' }))).rejectReason,
    ).toBe('insufficient buying power');
  });

  it('charges bps fees with a per-order minimum on the first fill', async () => {
    const { broker, order, reports } = setup({ feeBps: '2', minFee: '1' });
    await broker.placeOrder(order({ quantity: '10' })); // 1001 × 2 bps = 0.2002 → minimum 1
    await broker.placeOrder(order({ quantity: '100' })); // 10010 × 2 bps = 2.002
    expect(reports.filter((r) => r.kind === 'fill').map((r) => r.fee)).toEqual(['1', '2.002']);
    expect(broker.cash).toBe(String(1_000_000 - 1001 - 1 - 10010 - 2.002));
  });

  it('is idempotent on the client order id', async () => {
    const { broker, order, fills } = setup();
    const o = order({ quantity: '10' });
    const [a, b] = await Promise.all([broker.placeOrder(o), broker.placeOrder(o)]);
    expect(a.brokerOrderId).toBe(b.brokerOrderId);
    expect(fills()).toEqual([['10', '100.1']]);
  });

  it('repeats exactly for a seed (latency jitter included)', async () => {
    const runOnce = async () => {
      const delays: number[] = [];
      const { broker, order, quotes, reports } = setup({
        seed: 42,
        latencyMs: 5,
        latencyJitterMs: 20,
        delay: async (ms) => {
          delays.push(ms);
        },
      });
      await broker.placeOrder(order({ orderType: 'limit', limitPrice: '100.00', quantity: '700' }));
      await broker.placeOrder(order({ quantity: '1300' }));
      quotes.setTrade('AAPL', '100.00', '900', T0);
      await broker.cancelOrder('c1');
      return { delays, reports: reports.map((r) => ({ ...r, tsEvent: r.tsEvent.toISOString() })) };
    };
    const a = await runOnce();
    const b = await runOnce();
    expect(a).toEqual(b);
    expect(new Set(a.delays).size).toBeGreaterThan(1);
  });

  it('cancels an open order; a cancel on a filled one is rejected', async () => {
    const { broker, order, kinds } = setup();
    await broker.placeOrder(order({ orderType: 'limit', limitPrice: '90' }));
    await broker.cancelOrder('c1');
    expect(kinds('c1')).toEqual(['accepted', 'cancelled']);
    await broker.placeOrder(order({}));
    await broker.cancelOrder('c2');
    expect(kinds('c2')).toEqual(['accepted', 'fill', 'cancel_rejected']);
  });

  it('keeps average-cost positions', async () => {
    const { broker, order } = setup();
    await broker.placeOrder(order({ quantity: '100' }));
    await broker.placeOrder(order({ side: 'sell', quantity: '40' }));
    expect(await broker.listPositions()).toEqual([{ symbol: 'AAPL', quantity: '60', avgCost: '100.1' }]);
  });
});

describe('paper broker: event times', () => {
  it('reports carry the µs time beside the ms Date (fills are stored to the µs)', async () => {
    const us = T0.getTime() * 1000 + 123_456;
    const { broker, order, reports } = setup({ clockUs: () => us });
    await broker.placeOrder(order({ quantity: '10' }));
    const fill = reports.find((r) => r.kind === 'fill');
    expect(fill?.tsEventUs).toBe(us);
    expect(fill?.tsEvent.getTime()).toBe(T0.getTime() + 123);
  });
  it('a test clock alone gives its ms × 1000', async () => {
    const { broker, order, reports } = setup();
    await broker.placeOrder(order({ quantity: '10' }));
    expect(reports.map((r) => r.tsEventUs)).toEqual(reports.map(() => T0.getTime() * 1000));
  });
});

describe('paper broker: an account rebuilt in another process', () => {
  it('works the open orders it was given at once, with ids no earlier instance issued', async () => {
    const first = setup({ instance: '1-aaaaaa' });
    // Nothing on the offer: the market buy is accepted and waits (its holder then dies).
    first.quotes.setQuote('AAPL', '100.00', '100.10', '500', '0', T0);
    await first.broker.placeOrder(first.order({ quantity: '10', orderType: 'limit', limitPrice: '99.00' }));
    const snap = first.broker.snapshot();
    const acceptedOpen = snap.openOrders.find((o) => o.clientOrderId === 'c1')!;
    const usedIds = new Set(first.reports.map((r) => r.executionId));
    // The order as the books hold it: working, nothing filled (its fill died with the holder).
    const restoredOrder = { ...acceptedOpen, orderType: 'market' as const, limitPrice: null };

    const next = setup({ instance: '2-bbbbbb' });
    next.broker.restore({ ...snap, openOrders: [restoredOrder] });
    expect(next.fills('c1')).toEqual([]);
    next.broker.workOpen();
    expect(next.fills('c1')).toEqual([['10', '100.1']]);
    for (const r of next.reports) expect(usedIds.has(r.executionId)).toBe(false);
    const placed = await next.broker.placeOrder(next.order({ clientOrderId: 'c9', quantity: '1' }));
    expect(placed.brokerOrderId).not.toBe(acceptedOpen.brokerOrderId);
    expect(placed.brokerOrderId).toContain('2-bbbbbb');
  });
});
