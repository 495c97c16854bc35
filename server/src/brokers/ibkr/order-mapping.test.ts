import { dec } from '@aegis/shared/accounting/decimal';
import { describe, expect, it } from 'vitest';
import { bracketOn } from '../testing/order-request.ts';
import { legQuantity, reportsOf, statusOf, tickets, viewOf } from './order-mapping.ts';
import { type LiveOrder, liveOrders, secdefSearch, type Trade } from './schemas.ts';

const T0 = new Date('2026-12-04T15:00:00Z');

const live = (o: Partial<LiveOrder>): LiveOrder => ({
  orderId: '1370093001',
  conid: '265598',
  ticker: 'AAPL',
  status: 'Submitted',
  side: 'BUY',
  orderType: 'Limit',
  timeInForce: 'DAY',
  totalSize: '10',
  filledQuantity: '0',
  price: '95',
  order_ref: 'c1',
  ...o,
});

const trade = (id: string, size: string, price: string, at: number): Trade => ({
  execution_id: id,
  side: 'B',
  size,
  price,
  trade_time_r: at,
  order_ref: 'c1',
  commission: '1.0',
});

describe('IBKR order mapping', () => {
  it('maps IBKR statuses, with partial fills from the filled quantity', () => {
    expect(statusOf(live({ status: 'PendingSubmit' }))).toBe('pending_new');
    expect(statusOf(live({ status: 'PreSubmitted' }))).toBe('new');
    expect(statusOf(live({ status: 'Submitted', filledQuantity: '3' }))).toBe('partially_filled');
    expect(statusOf(live({ status: 'Filled', filledQuantity: '10' }))).toBe('filled');
    expect(statusOf(live({ status: 'PendingCancel' }))).toBe('pending_cancel');
    expect(statusOf(live({ status: 'Cancelled' }))).toBe('cancelled');
    expect(statusOf(live({ status: 'Inactive' }))).toBe('rejected');
  });

  it('builds a bracket as a parent and two children with parentId', () => {
    const t = tickets(
      {
        clientOrderId: 'E',
        symbol: 'AAPL',
        side: 'sell',
        orderType: 'market',
        timeInForce: 'day',
        quantity: '5',
        bracket: bracketOn('E', { stop: '105', target: '90' }),
      },
      265598,
    );
    expect(t).toEqual([
      { conid: 265598, cOID: 'E', orderType: 'MKT', side: 'SELL', quantity: 5, tif: 'DAY' },
      {
        conid: 265598,
        cOID: 'ES',
        orderType: 'STP',
        side: 'BUY',
        quantity: 5,
        tif: 'GTC',
        price: 105,
        parentId: 'E',
      },
      {
        conid: 265598,
        cOID: 'ET',
        orderType: 'LMT',
        side: 'BUY',
        quantity: 5,
        tif: 'GTC',
        price: 90,
        parentId: 'E',
      },
    ]);
  });

  it('sizes a leg as own filled + entry filled − legs filled, capped at what IBKR holds', () => {
    const link = { parentClientOrderId: 'E', role: 'stop' as const, ocoGroup: 'E' };
    const leg = live({ totalSize: '10', filledQuantity: '0' });
    expect(legQuantity(leg, { link, entryFilled: dec('0'), legsFilled: dec('0') }).toString()).toBe('0');
    expect(legQuantity(leg, { link, entryFilled: dec('4'), legsFilled: dec('0') }).toString()).toBe('4');
    expect(legQuantity(leg, { link, entryFilled: dec('12'), legsFilled: dec('0') }).toString()).toBe('10');
    const filledLeg = live({ totalSize: '10', filledQuantity: '3' });
    expect(legQuantity(filledLeg, { link, entryFilled: dec('10'), legsFilled: dec('3') }).toString()).toBe(
      '10',
    );
    expect(viewOf(leg, 'AAPL', 'ES', { link, entryFilled: dec('4'), legsFilled: dec('0') })).toMatchObject({
      quantity: '4',
      bracketLink: link,
    });
  });

  it('derives the same report ids from the same state, fills in execution order', () => {
    const o = live({ status: 'Cancelled', filledQuantity: '4', avgPrice: '94.5' });
    const fills = [trade('e2', '3', '94', 2), trade('e1', '1', '96', 1)];
    const a = reportsOf(o, fills, 'AAPL', 'c1', null, T0);
    const b = reportsOf(o, [...fills].reverse(), 'AAPL', 'c1', null, T0);
    expect(a).toEqual(b);
    expect(a.map((r) => [r.kind, r.executionId, r.cumQty, r.leavesQty])).toEqual([
      ['accepted', '1370093001-A', '0', '10'],
      ['fill', 'e1', '1', '9'],
      ['fill', 'e2', '4', '6'],
      ['cancelled', '1370093001-C', '4', '0'],
    ]);
    expect(a[2]).toMatchObject({ lastQty: '3', lastPx: '94', avgPx: '94.5', fee: '1' });
  });

  it('reports nothing for an order still on its way, one rejection for a refused one', () => {
    expect(reportsOf(live({ status: 'PendingSubmit' }), [], 'AAPL', 'c1', null, T0)).toEqual([]);
    const r = reportsOf(live({ status: 'Inactive' }), [], 'AAPL', 'c1', null, T0);
    expect(r.map((x) => x.kind)).toEqual(['rejected']);
  });

  it('reads live orders with numbers or strings, and an absent price written as "" or null', () => {
    const parsed = liveOrders.parse({
      orders: [
        {
          orderId: 1,
          conid: 265598,
          status: 'Submitted',
          side: 'BUY',
          totalSize: 10,
          filledQuantity: 0,
          price: '',
          avgPrice: null,
          order_ref: 'a',
        },
        {
          orderId: '2',
          conid: '265598',
          status: 'Filled',
          side: 'SELL',
          totalSize: '5.0',
          filledQuantity: '5.0',
          avgPrice: '101.25',
          order_ref: 'b',
        },
      ],
      snapshot: true,
    });
    expect(parsed.orders?.map((o) => [o.orderId, o.totalSize, o.price, o.avgPrice])).toEqual([
      ['1', '10', undefined, undefined],
      ['2', '5.0', undefined, '101.25'],
    ]);
    expect(secdefSearch.parse({ error: 'No symbol found' })).toEqual({ error: 'No symbol found' });
  });
});
