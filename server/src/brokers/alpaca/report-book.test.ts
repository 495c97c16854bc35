import { describe, expect, it } from 'vitest';
import { conventionLegIds, replayTree, viewsOf } from './order-history.ts';
import { ReportBook, toBrokerStatus, trackedFrom } from './report-book.ts';
import type { AlpacaFillActivity, AlpacaOrder } from './schemas.ts';

/** Alpaca events → our reports, without a network: ids, quantities, bracket restatements. */

const T0 = '2026-12-04T15:00:00.000001Z';
const at = (n: number) => `2026-12-04T15:00:0${n}.000001Z`;

function order(over: Partial<AlpacaOrder> & Pick<AlpacaOrder, 'id'>): AlpacaOrder {
  return {
    client_order_id: `c-${over.id}`,
    created_at: T0,
    updated_at: T0,
    submitted_at: T0,
    filled_at: null,
    canceled_at: null,
    expired_at: null,
    failed_at: null,
    symbol: 'AAPL',
    qty: '10',
    filled_qty: '0',
    filled_avg_price: null,
    order_class: 'simple',
    type: 'limit',
    side: 'buy',
    time_in_force: 'gtc',
    limit_price: '100',
    stop_price: null,
    status: 'new',
    legs: null,
    ...over,
  };
}

function bracket(book: ReportBook) {
  const entry = book.register(trackedFrom(order({ id: 'E', client_order_id: 'B1' })));
  const target = trackedFrom(order({ id: 'LT', side: 'sell', limit_price: '110' }), 'B1T');
  const stop = trackedFrom(order({ id: 'LS', side: 'sell', type: 'stop', stop_price: '95' }), 'B1S');
  book.registerBracket(
    entry,
    [
      { order: target, role: 'target' },
      { order: stop, role: 'stop' },
    ],
    'grp',
  );
  return { entry, target, stop };
}

const fill = (lastQty: string, lastPx: string, cumQty: string, n: number) => ({
  lastQty,
  lastPx,
  cumQty,
  avgPx: null,
  ts: at(n),
});

const brief = (rs: { clientOrderId: string; kind: string; orderQty?: string; leavesQty: string }[]) =>
  rs.map((r) => `${r.clientOrderId} ${r.kind}${r.orderQty ? ` ${r.orderQty}` : ''} leaves ${r.leavesQty}`);

describe('Alpaca report book', () => {
  it('maps every documented order status to ours', () => {
    const s = (status: AlpacaOrder['status'], filled = '0') =>
      toBrokerStatus({ status, filled_qty: filled, qty: '10' });
    expect(s('accepted')).toBe('pending_new');
    expect(s('pending_new')).toBe('pending_new');
    expect(s('new')).toBe('new');
    expect(s('held')).toBe('new');
    expect(s('done_for_day', '4')).toBe('partially_filled');
    expect(s('partially_filled', '4')).toBe('partially_filled');
    expect(s('filled', '10')).toBe('filled');
    expect(s('calculated', '10')).toBe('filled');
    expect(s('pending_cancel')).toBe('pending_cancel');
    expect(s('canceled')).toBe('cancelled');
    expect(s('replaced')).toBe('cancelled');
    expect(s('expired')).toBe('expired');
    expect(s('rejected')).toBe('rejected');
  });

  it('a fill already seen (same cumulative quantity) is not reported twice; ids are deterministic', () => {
    const book = new ReportBook();
    const o = book.register(trackedFrom(order({ id: 'O1' })));
    const first = book.filled(o, fill('4', '99', '4', 1));
    expect(first.map((r) => [r.kind, r.executionId])).toEqual([
      ['accepted', 'O1:new'],
      ['fill', 'O1:fill:4'],
    ]);
    expect(book.filled(o, fill('4', '99', '4', 1))).toEqual([]);
    const second = book.filled(o, fill('6', '101', '10', 2));
    expect(second.map((r) => [r.executionId, r.cumQty, r.leavesQty, r.avgPx])).toEqual([
      ['O1:fill:10', '10', '0', '100.2'],
    ]);
    expect(second[0]?.tsEventUs).toBe(Date.parse(at(2)) * 1000 + 1);
  });

  it('bracket legs: accepted at 0 with the entry, restated by the rules, shrunk by the other leg', () => {
    const book = new ReportBook();
    const { entry, target, stop } = bracket(book);
    const out = [
      ...book.accepted(entry, at(0)),
      ...book.filled(entry, fill('4', '100', '4', 1)),
      ...book.filled(entry, fill('6', '100', '10', 2)),
      ...book.filled(target, fill('3', '110', '3', 3)),
    ];
    expect(brief(out)).toEqual([
      'B1 accepted leaves 10',
      'B1T accepted leaves 0',
      'B1S accepted leaves 0',
      'B1 fill leaves 6',
      'B1T restated 4 leaves 4',
      'B1S restated 4 leaves 4',
      'B1 fill leaves 0',
      'B1T restated 10 leaves 10',
      'B1S restated 10 leaves 10',
      'B1T fill leaves 7',
      'B1S restated 7 leaves 7',
    ]);
    expect(book.linkOf(stop)).toEqual({ parentClientOrderId: 'B1', role: 'stop', ocoGroup: 'grp' });
    expect(book.quantityOf(target)).toEqual(target.reportedQty);
  });

  it('an entry rejected or cancelled unfilled ends its legs with it', () => {
    const book = new ReportBook();
    const { entry } = bracket(book);
    expect(brief(book.ended(entry, 'rejected', at(1), 'no'))).toEqual([
      'B1 rejected leaves 0',
      'B1T rejected leaves 0',
      'B1S rejected leaves 0',
    ]);
    const book2 = new ReportBook();
    const b2 = bracket(book2);
    book2.accepted(b2.entry, at(0));
    expect(brief(book2.ended(b2.entry, 'cancelled', at(1)))).toEqual([
      'B1 cancelled leaves 0',
      'B1T cancelled leaves 0',
      'B1S cancelled leaves 0',
    ]);
  });

  it('the replay of a bracket from REST and FILL activities yields the live path’s reports', () => {
    const live = new ReportBook();
    const { entry, target, stop } = bracket(live);
    const liveReports = [
      ...live.accepted(entry, at(0)),
      ...live.filled(entry, fill('10', '100', '10', 1)),
      ...live.filled(target, fill('10', '110', '10', 2)),
      ...live.ended(stop, 'cancelled', at(3)),
    ];
    const tree = order({
      id: 'E',
      client_order_id: 'B1',
      order_class: 'bracket',
      status: 'filled',
      filled_qty: '10',
      filled_avg_price: '100',
      legs: [
        order({
          id: 'LT',
          side: 'sell',
          limit_price: '110',
          status: 'filled',
          filled_qty: '10',
          order_class: 'bracket',
        }),
        order({
          id: 'LS',
          side: 'sell',
          type: 'stop',
          limit_price: null,
          stop_price: '95',
          status: 'canceled',
          canceled_at: at(3),
          order_class: 'bracket',
        }),
      ],
    });
    const activity = (orderId: string, price: string, n: number): AlpacaFillActivity => ({
      id: `2026120415000${n}::${orderId}`,
      activity_type: 'FILL',
      transaction_time: at(n),
      type: 'fill',
      price,
      qty: '10',
      side: 'buy',
      symbol: 'AAPL',
      leaves_qty: '0',
      order_id: orderId,
      cum_qty: '10',
      order_status: 'filled',
    });
    const known = { clientIdOf: () => undefined, ocoGroupOf: () => 'grp' };
    const replayed = replayTree(
      tree,
      [activity('LT', '110', 2), activity('E', '100', 1)],
      conventionLegIds,
      known,
    );
    const key = (r: { clientOrderId: string; kind: string; executionId: string }) =>
      `${r.clientOrderId} ${r.kind} ${r.executionId}`;
    for (const id of ['B1', 'B1T', 'B1S'])
      expect(replayed.filter((r) => r.clientOrderId === id).map(key)).toEqual(
        liveReports.filter((r) => r.clientOrderId === id).map(key),
      );
    const views = viewsOf(tree, conventionLegIds, known);
    expect(views.map((v) => [v.clientOrderId, v.status, v.quantity, v.bracketLink?.role ?? null])).toEqual([
      ['B1', 'filled', '10', null],
      ['B1T', 'filled', '10', 'target'],
      ['B1S', 'cancelled', '0', 'stop'],
    ]);
  });
});
