import { type Dec, dec, decStr } from '@aegis/shared/accounting/decimal';
import { describe, expect, it } from 'vitest';
import { createTickRecord, type TickRecord } from '../feeds/tick.ts';
import { TICK_KIND } from '../ring/layout.ts';
import { SimBook } from './sim-book.ts';
import { SimDesk } from './sim-desk.ts';
import { type EntryRequest, SimVenue, type VenueSettings } from './sim-venue.ts';

/**
 * Hand-made tapes of one instrument through the venue, the way the runner drives it: per tick,
 * `advance` to the tick's time (orders that arrived before it act on the book as it was), then
 * the book update, then matching.
 */
const T0 = 1_767_312_000_000_000; // 2026-01-02T00:00:00Z in µs

interface Fill {
  id: string;
  role: string;
  q: string;
  price: string;
  fee: string;
  liquidity: string;
  ts: number;
}

function harness(settings: Partial<VenueSettings> = {}) {
  const book = new SimBook(1);
  const desk = new SimDesk('100000', ['XYZ']);
  const fills: Fill[] = [];
  const venue = new SimVenue(
    book,
    1,
    {
      orderLatencyUs: 1_000,
      queuePosition: true,
      takerFeeBps: dec('2'),
      makerFeeBps: dec('0'),
      minFee: dec('0'),
      model: { slippageBps: dec('5'), maxLevels: 10 },
      entryTtlUs: 60_000_000,
      ...settings,
    },
    (o, q: Dec, price: Dec, fee: Dec, liquidity, ts) => {
      fills.push({
        id: o.id,
        role: o.role,
        q: decStr(q),
        price: decStr(price),
        fee: decStr(fee),
        liquidity,
        ts,
      });
      desk.fill(o.inst, o.side, q, price, fee, ts, o.pattern);
    },
    (inst) => dec(desk.positions[inst]!.quantity),
  );
  const t: TickRecord = createTickRecord();
  const tick = (
    dtUs: number,
    kind: 'trade' | 'quote',
    f: {
      price?: number;
      size?: number;
      aggressor?: number;
      bid: number;
      ask: number;
      bidSize: number;
      askSize: number;
    },
  ) => {
    t.tsEventUs = T0 + dtUs;
    t.kind = kind === 'trade' ? TICK_KIND.trade : TICK_KIND.quote;
    t.price = f.price ?? (f.bid + f.ask) / 2;
    t.size = f.size ?? 0;
    t.aggressor = f.aggressor ?? 0;
    t.bid = f.bid;
    t.ask = f.ask;
    t.bidSize = f.bidSize;
    t.askSize = f.askSize;
    if (t.tsEventUs > venue.nextDueUs) venue.advance(t.tsEventUs);
    book.update(0, t);
    if (venue.working[0]!.length > 0) venue.onTick(0, t);
  };
  const entry = (over: Partial<EntryRequest>): EntryRequest => ({
    inst: 0,
    symbol: 'XYZ',
    side: 'buy',
    orderType: 'limit',
    quantity: '100',
    limitPrice: '100',
    stopPrice: null,
    targetPrice: null,
    tsDecisionUs: T0,
    pattern: 'breakout',
    score: 0.9,
    ...over,
  });
  return { book, desk, venue, fills, tick, entry };
}

const book100 = { bid: 100, ask: 100.1, bidSize: 500, askSize: 500 };
/** A trade of `size` at `price` (aggressor 1: a buyer, -1: a seller) in a book of 500 a side. */
const tradeIn = (bid: number, ask: number, price: number, aggressor: 1 | -1, size = 10) => ({
  bid,
  ask,
  bidSize: 500,
  askSize: 500,
  price,
  size,
  aggressor,
});

describe('simulated venue: queue position', () => {
  it('a resting buy joins behind the displayed 500 at its price and fills only with the volume beyond it', () => {
    const h = harness();
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({ tsDecisionUs: T0 }));
    // Before the order arrives (latency 1 ms) a trade at its price does nothing for it.
    h.tick(500, 'trade', { ...book100, price: 100, size: 300, aggressor: -1 });
    h.tick(2_000, 'trade', { ...book100, price: 100, size: 300, aggressor: -1 });
    expect(h.fills).toEqual([]);
    h.tick(3_000, 'trade', { ...book100, price: 100, size: 250, aggressor: -1 });
    expect(h.fills.map((f) => [f.q, f.price, f.liquidity])).toEqual([['50', '100', 'maker']]);
    h.tick(4_000, 'trade', { ...book100, price: 100, size: 80, aggressor: -1 });
    expect(h.fills.map((f) => f.q)).toEqual(['50', '50']);
    expect(h.venue.orders[0]!.status).toBe('filled');
    expect(decStr(h.desk.cash)).toBe('90000');
  });

  it('without queue position the first trade at the price fills it whole', () => {
    const h = harness({ queuePosition: false });
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({}));
    h.tick(2_000, 'trade', { ...book100, price: 100, size: 1, aggressor: -1 });
    expect(h.fills.map((f) => f.q)).toEqual(['100']);
  });

  it('buyers at the price do not move a resting buy; a trade through the price fills what is left', () => {
    const h = harness();
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({}));
    h.tick(2_000, 'trade', { ...book100, price: 100, size: 10_000, aggressor: 1 });
    expect(h.fills).toEqual([]);
    h.tick(3_000, 'trade', tradeIn(99.9, 100, 99.95, -1, 5));
    expect(h.fills.map((f) => [f.q, f.price])).toEqual([['100', '100']]);
  });

  it('a shrinking displayed size lowers the queue ahead (cancellations ahead of us)', () => {
    const h = harness();
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({}));
    h.tick(2_000, 'quote', { ...book100, bidSize: 40 });
    h.tick(3_000, 'trade', { ...book100, bidSize: 40, price: 100, size: 60, aggressor: -1 });
    expect(h.fills.map((f) => f.q)).toEqual(['20']);
  });
});

describe('simulated venue: latency and fees', () => {
  it('a marketable limit meets the book as it is when it arrives, not when it was decided', () => {
    const decided = harness();
    decided.tick(0, 'quote', book100);
    decided.venue.submitEntry(decided.entry({ limitPrice: '100.1' }));
    // The ask moves away 0.5 ms after the decision, before the order (1 ms latency) arrives.
    decided.tick(500, 'quote', { bid: 100.2, ask: 100.3, bidSize: 500, askSize: 500 });
    decided.tick(2_000, 'quote', { bid: 100.2, ask: 100.3, bidSize: 500, askSize: 500 });
    expect(decided.fills).toEqual([]);
    expect(decided.venue.orders[0]!.status).toBe('working');

    const instant = harness({ orderLatencyUs: 0 });
    instant.tick(0, 'quote', book100);
    instant.venue.submitEntry(instant.entry({ limitPrice: '100.1' }));
    instant.tick(500, 'quote', { bid: 100.2, ask: 100.3, bidSize: 500, askSize: 500 });
    expect(instant.fills.map((f) => [f.q, f.price, f.liquidity, f.ts])).toEqual([
      ['100', '100.1', 'taker', T0],
    ]);
  });

  it('taking pays the taker fee in bps of the notional, with the minimum on the first fill', () => {
    const h = harness({ orderLatencyUs: 0, takerFeeBps: dec('2'), minFee: dec('5') });
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({ orderType: 'market', limitPrice: null, quantity: '10' }));
    h.tick(1, 'quote', book100);
    // 10 × 100.1 × 2 bps = 0.2002, below the 5 minimum.
    expect(h.fills.map((f) => f.fee)).toEqual(['5']);
    const big = harness({ orderLatencyUs: 0, takerFeeBps: dec('2'), minFee: dec('5') });
    big.tick(0, 'quote', book100);
    big.venue.submitEntry(big.entry({ orderType: 'market', limitPrice: null, quantity: '700' }));
    big.tick(1, 'quote', book100);
    // 500 at the touch, 200 one level (5 bps) worse; 2 bps fees on each.
    expect(big.fills.map((f) => [f.q, f.price, f.fee])).toEqual([
      ['500', '100.1', '10.01'],
      ['200', '100.15005', '4.006002'],
    ]);
  });

  it('an unfilled entry remainder expires after its time to live', () => {
    const h = harness({ entryTtlUs: 10_000 });
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({ limitPrice: '99' }));
    h.tick(2_000, 'quote', book100);
    h.tick(20_000, 'quote', book100);
    expect(h.venue.orders[0]!.status).toBe('expired');
  });
});

describe('simulated venue: bracket', () => {
  it('driving the price through the stop closes the position and cancels the target (OCO)', () => {
    const h = harness({ orderLatencyUs: 0 });
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({ limitPrice: '100.1', stopPrice: '99.5', targetPrice: '101' }));
    h.tick(1, 'quote', book100);
    expect(h.desk.qty[0]).toBe(100);
    const [entry, stop, target] = h.venue.orders;
    expect([stop!.role, decStr(stop!.quantity), target!.role, decStr(target!.quantity)]).toEqual([
      'stop',
      '100',
      'target',
      '100',
    ]);
    // Falling, but above the stop: nothing.
    h.tick(1_000, 'trade', tradeIn(99.6, 99.7, 99.6, -1));
    expect(h.desk.qty[0]).toBe(100);
    // A trade at 99.4 goes through the 99.5 stop: the stop sells 100 at the bid.
    h.tick(2_000, 'trade', tradeIn(99.3, 99.4, 99.4, -1));
    expect(h.desk.qty[0]).toBe(0);
    expect(stop!.status).toBe('filled');
    expect(target!.status).toBe('cancelled');
    expect(entry!.status).toBe('filled');
    expect(h.fills.map((f) => [f.role, f.q, f.price])).toEqual([
      ['entry', '100', '100.1'],
      ['stop', '100', '99.3'],
    ]);
    // The round trip lost (99.3 − 100.1) × 100 plus the two taker fees.
    expect(h.desk.trades).toHaveLength(1);
    expect(decStr(h.desk.trades[0]!.pnl)).toBe(decStr(dec('-80').minus(dec('2.002')).minus(dec('1.986'))));
    expect(h.desk.open).toBe(0);
  });

  it('legs are reduce-only: after another order sold part of the position, the stop sells only the rest', () => {
    const h = harness({ orderLatencyUs: 0 });
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({ limitPrice: '100.1', stopPrice: '99.5', targetPrice: '101' }));
    h.tick(1, 'quote', book100);
    h.venue.submitEntry(h.entry({ side: 'sell', orderType: 'market', limitPrice: null, quantity: '60' }));
    h.tick(2, 'quote', book100);
    expect(h.desk.qty[0]).toBe(40);
    h.tick(1_000, 'trade', tradeIn(99.3, 99.4, 99.4, -1));
    expect(h.desk.qty[0]).toBe(0);
    expect(h.fills.filter((f) => f.role === 'stop').map((f) => f.q)).toEqual(['40']);
  });

  it('the target filling first cancels the stop', () => {
    const h = harness({ orderLatencyUs: 0, queuePosition: false });
    h.tick(0, 'quote', book100);
    h.venue.submitEntry(h.entry({ limitPrice: '100.1', stopPrice: '99.5', targetPrice: '101' }));
    h.tick(1, 'quote', book100);
    h.tick(1_000, 'trade', tradeIn(101, 101.1, 101, 1));
    const [, stop, target] = h.venue.orders;
    expect(target!.status).toBe('filled');
    expect(stop!.status).toBe('cancelled');
    expect(h.desk.qty[0]).toBe(0);
    expect(h.desk.trades[0]!.pnl.gt(0)).toBe(true);
  });
});
