import { asOrderId } from '@aegis/shared/ids';
import { describe, expect, it } from 'vitest';
import { QuoteBook } from '../quote-book.ts';
import { bracketOn } from '../testing/order-request.ts';
import type { BrokerOrderRequest, ExecutionReport } from '../types.ts';
import { PaperBroker } from './index.ts';

/** The paper broker's native brackets: legs held at 0, sized by entry fills, OCO, reduce-only. */
const T0 = new Date('2026-11-25T15:00:00Z');
let tick = 0;
const at = () => new Date(T0.getTime() + ++tick);

function setup() {
  const quotes = new QuoteBook({ now: () => T0.getTime() + 60_000 });
  quotes.setQuote('AAPL', '100.00', '100.10', '500', '500', at());
  const broker = new PaperBroker({ accountId: 'A1', quotes, feeBps: '0', slippageBps: '5', clock: () => T0 });
  const reports: ExecutionReport[] = [];
  broker.onExecutionReport((r) => reports.push(r));
  const entry = (r: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest => ({
    clientOrderId: 'E1',
    symbol: 'AAPL',
    side: 'buy',
    orderType: 'market',
    timeInForce: 'day',
    quantity: '100',
    bracket: bracketOn('E1', { stop: '95', target: '110' }, 'G1'),
    ...r,
  });
  const kinds = (id: string) => reports.filter((r) => r.clientOrderId === id).map((r) => r.kind);
  const order = (id: string) => broker.getOrderByClientId(id);
  const position = async () =>
    (await broker.listPositions()).find((p) => p.symbol === 'AAPL')?.quantity ?? '0';
  return { quotes, broker, reports, entry, kinds, order, position };
}

describe('paper broker: native brackets', () => {
  it('legs are accepted with the entry, sized to its fill; the stop fires through the price and the target is cancelled', async () => {
    const { quotes, broker, entry, kinds, order, position } = setup();
    await broker.placeOrder(entry());
    expect(await position()).toBe('100');
    expect(await order('E1S')).toMatchObject({
      status: 'new',
      orderType: 'stop',
      side: 'sell',
      stopPrice: '95',
      quantity: '100',
      bracketLink: { parentClientOrderId: 'E1', role: 'stop', ocoGroup: 'G1' },
    });
    expect(await order('E1T')).toMatchObject({
      status: 'new',
      orderType: 'limit',
      limitPrice: '110',
      quantity: '100',
    });
    expect(kinds('E1S')).toEqual(['accepted', 'restated']);

    quotes.setQuote('AAPL', '96', '96.1', '500', '500', at()); // above the stop: nothing
    expect(await position()).toBe('100');
    quotes.setQuote('AAPL', '94.5', '94.6', '500', '500', at()); // through the stop
    expect(await order('E1S')).toMatchObject({
      status: 'filled',
      filledQuantity: '100',
      avgFillPrice: '94.5',
    });
    expect(await order('E1T')).toMatchObject({ status: 'cancelled' });
    expect(kinds('E1T')).toEqual(['accepted', 'restated', 'cancelled']);
    expect(await position()).toBe('0');
    expect(await broker.listOpenOrders()).toEqual([]);
  });

  it('a short entry gets buy legs: the stop fires when the bid rises to it and the position is flat', async () => {
    const { quotes, broker, entry, order, position } = setup();
    await broker.placeOrder(
      entry({
        side: 'sell',
        bracket: bracketOn('E1', { stop: '105', target: '90' }, 'G1'),
      }),
    );
    expect(await position()).toBe('-100');
    expect(await order('E1S')).toMatchObject({ side: 'buy', orderType: 'stop', quantity: '100' });
    quotes.setQuote('AAPL', '104.9', '105.1', '500', '500', at()); // a buy stop waits for the bid
    expect((await order('E1S'))!.status).toBe('new');
    quotes.setQuote('AAPL', '105', '105.2', '500', '500', at());
    expect(await order('E1S')).toMatchObject({ status: 'filled', avgFillPrice: '105.2' });
    expect(await order('E1T')).toMatchObject({ status: 'cancelled' });
    expect(await position()).toBe('0');
  });

  it('the target fills on a trade through it and cancels the stop', async () => {
    const { quotes, broker, entry, order, position } = setup();
    await broker.placeOrder(entry());
    quotes.setQuote('AAPL', '109.9', '110', '500', '500', at());
    quotes.setTrade('AAPL', '110.2', '300', at());
    expect(await order('E1T')).toMatchObject({ status: 'filled', filledQuantity: '100' });
    expect(await order('E1S')).toMatchObject({ status: 'cancelled' });
    expect(await position()).toBe('0');
  });

  it('a partial entry fill sizes the legs to it and grows them with the next fill; a partial target fill reduces the stop', async () => {
    const { quotes, broker, entry, order } = setup();
    quotes.setQuote('AAPL', '100.00', '100.10', '30', '30', at());
    await broker.placeOrder(entry({ orderType: 'limit', limitPrice: '100.10', timeInForce: 'gtc' }));
    expect(await order('E1')).toMatchObject({ status: 'partially_filled', filledQuantity: '30' });
    expect((await order('E1S'))!.quantity).toBe('30');
    expect((await order('E1T'))!.quantity).toBe('30');
    quotes.setQuote('AAPL', '100.00', '100.10', '50', '50', at());
    expect(await order('E1')).toMatchObject({ status: 'partially_filled', filledQuantity: '80' });
    expect((await order('E1S'))!.quantity).toBe('80');
    // The target takes 20 of 80 at 110: the stop now protects 60; the entry's remainder is cancelled.
    quotes.setQuote('AAPL', '109.9', '110', '500', '500', at());
    quotes.setTrade('AAPL', '110.5', '20', at());
    expect(await order('E1T')).toMatchObject({
      status: 'partially_filled',
      filledQuantity: '20',
      quantity: '80',
    });
    expect(await order('E1S')).toMatchObject({ status: 'new', quantity: '60' });
    expect(await order('E1')).toMatchObject({ status: 'cancelled', filledQuantity: '80' });
  });

  it('cancelling an unfilled entry cancels its legs; a rejected entry rejects them', async () => {
    const { quotes, broker, entry, kinds } = setup();
    quotes.setQuote('AAPL', '100.00', '100.10', '500', '500', at());
    await broker.placeOrder(entry({ orderType: 'limit', limitPrice: '99', timeInForce: 'gtc' }));
    await broker.cancelOrder('E1');
    expect(kinds('E1S')).toEqual(['accepted', 'cancelled']);
    expect(kinds('E1T')).toEqual(['accepted', 'cancelled']);

    broker.setHalted('AAPL', true);
    await broker.placeOrder(
      entry({
        clientOrderId: 'E2',
        bracket: { ocoGroup: asOrderId('G2'), legs: [{ clientOrderId: 'E2S', role: 'stop', price: '95' }] },
      }),
    );
    expect(kinds('E2S')).toEqual(['rejected']);
  });

  it('legs are reduce-only: a position closed by hand leaves the stop nothing to sell', async () => {
    const { quotes, broker, entry, order, position } = setup();
    await broker.placeOrder(entry());
    await broker.placeOrder({
      clientOrderId: 'M1',
      symbol: 'AAPL',
      side: 'sell',
      orderType: 'market',
      timeInForce: 'day',
      quantity: '100',
    });
    expect(await position()).toBe('0');
    quotes.setQuote('AAPL', '94', '94.1', '500', '500', at());
    expect(await order('E1S')).toMatchObject({ status: 'new', filledQuantity: '0' });
    expect(await position()).toBe('0');
  });

  it('a snapshot restores the bracket: the stop still fires after a restart', async () => {
    const { quotes, broker, entry } = setup();
    await broker.placeOrder(entry());
    const snap = broker.snapshot();
    broker.close();
    const again = new PaperBroker({
      accountId: 'A1',
      quotes,
      feeBps: '0',
      slippageBps: '5',
      clock: () => T0,
    });
    again.restore(snap);
    quotes.setQuote('AAPL', '94.5', '94.6', '500', '500', at());
    expect(await again.getOrderByClientId('E1S')).toMatchObject({ status: 'filled' });
    expect(await again.getOrderByClientId('E1T')).toMatchObject({ status: 'cancelled' });
  });
});
