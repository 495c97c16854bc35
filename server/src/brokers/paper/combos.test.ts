import { describe, expect, it } from 'vitest';
import { QuoteBook } from '../quote-book.ts';
import type { BrokerComboRequest, ExecutionReport } from '../types.ts';
import { PaperBroker, type PaperBrokerOptions } from './index.ts';

let t = new Date('2026-11-25T15:00:00Z').getTime();
const T = () => new Date(++t);

function setup(opts: Partial<PaperBrokerOptions> = {}, quotes = new QuoteBook()) {
  quotes.setQuote('C100', '4.98', '5.00', '50', '50', T());
  quotes.setQuote('C105', '2.00', '2.01', '50', '50', T());
  const broker = new PaperBroker({
    accountId: 'A1',
    quotes,
    feeBps: '0',
    multiplierOf: () => '100',
    clock: () => new Date(t),
    ...opts,
  });
  const reports: ExecutionReport[] = [];
  broker.onExecutionReport((r) => reports.push(r));
  return { quotes, broker, reports };
}
const vertical = (over: Partial<BrokerComboRequest> = {}): BrokerComboRequest => ({
  comboId: 'K1',
  orderType: 'limit',
  timeInForce: 'day',
  quantity: '2',
  netLimitPrice: '2.9',
  maxLoss: '580',
  legs: [
    { clientOrderId: 'K1L1', symbol: 'C100', side: 'buy', ratio: 1, quantity: '2' },
    { clientOrderId: 'K1L2', symbol: 'C105', side: 'sell', ratio: 1, quantity: '2' },
  ],
  ...over,
});
const kinds = (reports: ExecutionReport[]) => reports.map((r) => `${r.clientOrderId}:${r.kind}`);

describe('paper broker: combos, all-or-none', () => {
  it('accepts both legs, fills none while the net is above the limit, then both in one pass', async () => {
    const { broker, quotes, reports } = setup();
    const ack = await broker.placeCombo(vertical());
    expect(ack.legs.map((l) => l.status)).toEqual(['new', 'new']);
    expect(kinds(reports)).toEqual(['K1L1:accepted', 'K1L2:accepted']);
    quotes.setQuote('C100', '4.98', '4.99', '50', '50', T()); // the long leg moves: net 2.99
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([]);
    quotes.setQuote('C105', '2.09', '2.10', '50', '50', T()); // net 2.90
    expect(
      reports.filter((r) => r.kind === 'fill').map((r) => [r.clientOrderId, r.lastQty, r.lastPx]),
    ).toEqual([
      ['K1L1', '2', '4.99'],
      ['K1L2', '2', '2.09'],
    ]);
    expect((await broker.listPositions()).map((p) => [p.symbol, p.quantity])).toEqual([
      ['C100', '2'],
      ['C105', '-2'],
    ]);
    expect(broker.cash).toBe(String(1_000_000 - 580));
  });

  it('a cancel of one leg cancels the combo; a market combo without size is cancelled whole', async () => {
    const { broker, reports } = setup();
    await broker.placeCombo(vertical({ netLimitPrice: '1' }));
    await broker.cancelOrder('K1L2');
    expect(kinds(reports).slice(2)).toEqual(['K1L1:cancelled', 'K1L2:cancelled']);
    const m = setup();
    await m.broker.placeCombo(
      vertical({
        comboId: 'M1',
        orderType: 'market',
        netLimitPrice: null,
        quantity: '80',
        legs: vertical().legs.map((l, i) => ({ ...l, clientOrderId: `M1L${i + 1}`, quantity: '80' })),
      }),
    );
    expect(kinds(m.reports)).toEqual(['M1L1:accepted', 'M1L2:accepted', 'M1L1:cancelled', 'M1L2:cancelled']);
  });

  it('reserves a bounded combo at its max loss; unbounded, leg by leg', async () => {
    // Credit vertical: 2 × (5 − 2.95) × 100 = 410 of max loss against 1,000 of cash.
    const credit = vertical({
      netLimitPrice: '-2.95',
      maxLoss: '410',
      legs: [
        { clientOrderId: 'K1L1', symbol: 'C100', side: 'sell', ratio: 1, quantity: '2' },
        { clientOrderId: 'K1L2', symbol: 'C105', side: 'buy', ratio: 1, quantity: '2' },
      ],
    });
    const ok = setup({ startingCash: '1000' });
    expect((await ok.broker.placeCombo(credit)).status).toBe('filled');
    const legByLeg = setup({ startingCash: '1000' });
    const refused = await legByLeg.broker.placeCombo({ ...credit, maxLoss: null });
    expect(refused).toMatchObject({ status: 'rejected', rejectReason: 'insufficient buying power' });
  });

  it('a restored account works its open combo all-or-none again', async () => {
    const a = setup();
    await a.broker.placeCombo(vertical());
    const snap = a.broker.snapshot();
    expect(snap.combos).toEqual([expect.objectContaining({ comboId: 'K1', netLimitPrice: '2.9' })]);
    a.broker.close();
    const b = setup({}, a.quotes);
    b.broker.restore(snap);
    b.quotes.setQuote('C100', '4.98', '4.99', '50', '50', T());
    expect(b.reports.filter((r) => r.kind === 'fill')).toEqual([]);
    b.quotes.setQuote('C105', '2.09', '2.10', '50', '50', T());
    expect(b.reports.filter((r) => r.kind === 'fill').map((r) => r.clientOrderId)).toEqual(['K1L1', 'K1L2']);
  });
});
