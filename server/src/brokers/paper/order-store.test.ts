import { dec } from '@aegis/shared/accounting/decimal';
import { describe, expect, it } from 'vitest';
import { QuoteBook } from '../quote-book.ts';
import { bracketOn } from '../testing/order-request.ts';
import type { BrokerOrderRequest, ExecutionReport } from '../types.ts';
import { PaperBroker } from './index.ts';
import { type PaperOrder, pendingOrder } from './model.ts';
import { OrderStore } from './order-store.ts';

const T0 = new Date('2026-11-25T15:00:00Z');

let seq = 0;
/** A resting limit order, accepted. */
function order(id: string, symbol: string): PaperOrder {
  const req = {
    clientOrderId: id,
    symbol,
    side: 'buy' as const,
    orderType: 'limit' as const,
    timeInForce: 'gtc' as const,
    quantity: '1',
    limitPrice: '1',
    stopPrice: null,
  };
  const o = pendingOrder({
    req,
    brokerOrderId: `B-${id}`,
    seq: ++seq,
    createdAt: T0,
    bracket: null,
    group: null,
    combo: null,
  });
  o.status = 'new';
  return o;
}

describe('paper order store', () => {
  it("indexes open orders per symbol in time priority: a symbol's queue holds only its own open orders", () => {
    const store = new OrderStore(10, () => {});
    const [a1, m1, a2, a3] = [
      order('a1', 'AAPL'),
      order('m1', 'MSFT'),
      order('a2', 'AAPL'),
      order('a3', 'AAPL'),
    ];
    for (const o of [a1, m1, a2, a3]) store.add(o);
    a2.status = 'filled';
    store.settle(a2);
    expect(store.openOn('AAPL').map((o) => o.req.clientOrderId)).toEqual(['a1', 'a3']);
    expect(store.openOn('MSFT').map((o) => o.req.clientOrderId)).toEqual(['m1']);
    expect(store.openOn('TSLA')).toEqual([]);
    expect(store.open().map((o) => o.req.clientOrderId)).toEqual(['a1', 'm1', 'a3']);
    // The finished order is still found by id (in the history), just not worked.
    expect(store.get('a2')?.status).toBe('filled');
  });

  it('forgets the oldest finished orders past the history size, never an open one', () => {
    const forgotten: string[] = [];
    const store = new OrderStore(2, (o) => forgotten.push(o.req.clientOrderId));
    const orders = ['o1', 'o2', 'o3', 'o4'].map((id) => order(id, 'AAPL'));
    const resting = order('rest', 'AAPL');
    store.add(resting);
    for (const o of orders) {
      store.add(o);
      o.status = 'cancelled';
      store.settle(o);
    }
    expect(forgotten).toEqual(['o1', 'o2']);
    expect(store.get('o1')).toBeUndefined();
    expect(store.get('o4')?.status).toBe('cancelled');
    expect(store.get('rest')?.status).toBe('new');
    expect(store.size).toBe(3);
  });
});

describe('paper broker: finished-order history', () => {
  function setup(finishedOrderHistory: number) {
    const quotes = new QuoteBook({ now: () => T0.getTime() + 60_000 });
    quotes.setQuote('AAPL', '100.00', '100.10', '500', '500', T0);
    quotes.setQuote('MSFT', '400.00', '400.10', '500', '500', T0);
    const broker = new PaperBroker({
      accountId: 'A1',
      quotes,
      feeBps: '0',
      clock: () => T0,
      finishedOrderHistory,
    });
    const reports: ExecutionReport[] = [];
    broker.onExecutionReport((r) => reports.push(r));
    const req = (id: string, r: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest => ({
      clientOrderId: id,
      symbol: 'AAPL',
      side: 'buy',
      orderType: 'market',
      timeInForce: 'day',
      quantity: '1',
      ...r,
    });
    return { quotes, broker, reports, req };
  }

  it('keeps only the last N finished orders with their reports; open orders stay and still fill', async () => {
    const { quotes, broker, req } = setup(3);
    await broker.placeOrder(
      req('rest', { side: 'sell', orderType: 'limit', timeInForce: 'gtc', limitPrice: '101' }),
    );
    for (let i = 1; i <= 6; i++) await broker.placeOrder(req(`m${i}`));
    expect(broker.heldOrders).toBe(4); // the resting order and the last 3 finished
    expect(await broker.getOrderByClientId('m1')).toBeNull();
    expect(await broker.getExecutions('m1')).toEqual([]);
    expect(await broker.getOrderByClientId('m6')).toMatchObject({ status: 'filled', filledQuantity: '1' });
    expect((await broker.getExecutions('m6')).map((r) => r.kind)).toEqual(['accepted', 'fill']);
    expect((await broker.listOpenOrders()).map((o) => o.clientOrderId)).toEqual(['rest']);

    quotes.setQuote('AAPL', '101.00', '101.10', '500', '500', T0);
    expect(await broker.getOrderByClientId('rest')).toMatchObject({ status: 'filled', filledQuantity: '1' });
    expect(await broker.getOrderByClientId('m3')).toBeNull(); // pushed out by the resting order's finish
  });

  it("a quote works only its symbol's orders: another symbol's resting order keeps its queue place", async () => {
    const { quotes, broker, req } = setup(10);
    await broker.placeOrder(
      req('msft', { symbol: 'MSFT', orderType: 'limit', timeInForce: 'gtc', limitPrice: '400.00' }),
    );
    await broker.placeOrder(req('aapl', { orderType: 'limit', timeInForce: 'gtc', limitPrice: '100.00' }));
    // The bid size shrinks on both symbols' books, but only AAPL is quoted again: only AAPL's
    // order sees the smaller queue ahead of it.
    quotes.setQuote('AAPL', '100.00', '100.10', '200', '500', T0);
    const queue = (id: string) =>
      broker.snapshot().openOrders.find((o) => o.clientOrderId === id)?.queueAhead;
    expect(queue('aapl')).toBe('200');
    expect(queue('msft')).toBe('500');
  });

  it("a bracket whose entry was forgotten still sizes and closes its legs from the entry's fills", async () => {
    const { quotes, broker, req } = setup(2);
    await broker.placeOrder(
      req('E1', {
        quantity: '100',
        bracket: bracketOn('E1', { stop: '95', target: '110' }, 'G1'),
      }),
    );
    // Two other orders finish after the entry: it is forgotten, its legs work on.
    await broker.placeOrder(req('other1', { symbol: 'MSFT' }));
    await broker.placeOrder(req('other2', { symbol: 'MSFT' }));
    expect(await broker.getOrderByClientId('E1')).toBeNull();
    expect(broker.snapshot().bracketEntries).toEqual([{ clientOrderId: 'E1', filledQuantity: '100' }]);
    quotes.setQuote('AAPL', '110.00', '110.10', '500', '500', T0);
    expect(await broker.getOrderByClientId('E1T')).toMatchObject({ status: 'filled', filledQuantity: '100' });
    expect((await broker.listPositions()).find((p) => p.symbol === 'AAPL')).toBeUndefined();
    expect(dec(broker.cash).gt(dec('1000000'))).toBe(true);
    expect(await broker.getOrderByClientId('E1S')).toMatchObject({ status: 'cancelled' });
  });
});
