import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec, decStr, ZERO } from './decimal.ts';
import { deskPnl } from './pnl.ts';
import { applyFill, type FillInput, flatPosition, type PositionState, unrealizedPnl } from './position.ts';

const applyAll = (fills: readonly FillInput[], symbol = 'AAPL') =>
  fills.reduce<PositionState>((p, f) => applyFill(p, f).position, flatPosition(symbol));

describe('average-cost accounting: worked example (numbers computed by hand)', () => {
  // 1. buy  100 @ 50.00 fee 1.00  → +100 @ 50.00
  // 2. buy   50 @ 53.00 fee 1.00  → +150 @ (100×50 + 50×53) / 150 = 7650 / 150 = 51.00
  // 3. sell 120 @ 55.00 fee 1.50  → realize (55 − 51) × 120 = +480; +30 @ 51.00
  // 4. sell  50 @ 49.00 fee 1.00  → closes 30: (49 − 51) × 30 = −60 (realized total 420);
  //                                  the other 20 open a short: −20 @ 49.00
  // mark 47.50: unrealized = (47.50 − 49.00) × (−20) = +30
  // fees 4.50; net P&L = 420 + 30 − 4.50 = 445.50
  // cash-flow check: sells 6600 + 2450 − buys 5000 − 2650 = +1400; short marked −20 × 47.5 = −950;
  //                  1400 − 950 − 4.50 = 445.50 ✓
  // with 100 000 starting capital: cash = 100 000 + 1400 − 4.50 = 101 395.50; equity = 100 445.50
  const fills: FillInput[] = [
    { side: 'buy', quantity: '100', price: '50.00', fee: '1.00' },
    { side: 'buy', quantity: '50', price: '53.00', fee: '1.00' },
    { side: 'sell', quantity: '120', price: '55.00', fee: '1.50' },
    { side: 'sell', quantity: '50', price: '49.00', fee: '1.00' },
  ];

  it('steps through each fill', () => {
    let p = flatPosition('AAPL');
    const steps = fills.map((f) => {
      const r = applyFill(p, f);
      p = r.position;
      return { ...r.position, realized: r.realized, closed: r.closedQuantity };
    });
    expect(steps.map((s) => [s.quantity, s.avgCost, s.realized, s.realizedPnl, s.fees])).toEqual([
      ['100', '50', '0', '0', '1'],
      ['150', '51', '0', '0', '2'],
      ['30', '51', '480', '480', '3.5'],
      ['-20', '49', '-60', '420', '4.5'],
    ]);
    expect(steps[3]?.closed).toBe('30');
    expect(decStr(unrealizedPnl(p, '47.50'))).toBe('30');
  });

  it('values the desk', () => {
    const p = applyAll(fills);
    expect(deskPnl('100000', [{ position: p, mark: '47.50', multiplier: '1' }])).toEqual({
      realizedPnl: '420',
      unrealizedPnl: '30',
      fees: '4.5',
      netPnl: '445.5',
      grossExposure: '950',
      netExposure: '-950',
      cash: '101395.5',
      equity: '100445.5',
    });
  });

  it('applies the contract multiplier (options: 100)', () => {
    const p = applyAll(
      [
        { side: 'buy', quantity: '2', price: '3.10', multiplier: '100' },
        { side: 'sell', quantity: '2', price: '3.60', multiplier: '100' },
      ],
      'AAPL261218C00100000',
    );
    expect(p).toMatchObject({ quantity: '0', avgCost: '0', realizedPnl: '100' });
  });
});

const fillArb = fc.record({
  side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
  quantity: fc.integer({ min: 1, max: 10_000 }).map((n) => (n / 100).toFixed(2)),
  price: fc.integer({ min: 1, max: 1_000_000 }).map((n) => (n / 100).toFixed(2)),
  fee: fc.integer({ min: 0, max: 500 }).map((n) => (n / 100).toFixed(2)),
});

describe('average-cost accounting: properties', () => {
  it('net P&L equals an independent cash-flow ledger (within the 12-dp average-cost rounding)', () => {
    fc.assert(
      fc.property(
        fc.array(fillArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (fills, m) => {
          const mark = (m / 100).toFixed(2);
          const p = applyAll(fills);
          let cash = ZERO;
          let qty = ZERO;
          let fees = ZERO;
          for (const f of fills) {
            const notional = dec(f.quantity).times(dec(f.price));
            cash = f.side === 'buy' ? cash.minus(notional) : cash.plus(notional);
            qty = f.side === 'buy' ? qty.plus(dec(f.quantity)) : qty.minus(dec(f.quantity));
            fees = fees.plus(dec(f.fee));
          }
          const ledger = cash.plus(qty.times(dec(mark))).minus(fees);
          const book = deskPnl('0', [{ position: p, mark, multiplier: '1' }]);
          expect(dec(p.quantity).eq(qty)).toBe(true);
          expect(dec(p.fees).eq(fees)).toBe(true);
          expect(dec(book.netPnl).minus(ledger).abs().lte(dec('0.000001'))).toBe(true);
          expect(dec(book.equity).minus(ledger).abs().lte(dec('0.000001'))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a round trip at one price realizes nothing and ends flat', () => {
    fc.assert(
      fc.property(
        fc.array(fillArb, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 100_000 }),
        (fills, px) => {
          const price = (px / 100).toFixed(2);
          const same = fills.map((f) => ({ ...f, price, fee: '0' }));
          const p = applyAll(same);
          const closeSide = dec(p.quantity).isPos() ? 'sell' : 'buy';
          const closed = dec(p.quantity).isZero()
            ? p
            : applyFill(p, { side: closeSide, quantity: decStr(dec(p.quantity).abs()), price }).position;
          expect(closed.quantity).toBe('0');
          expect(dec(closed.realizedPnl).abs().lte(dec('0.000001'))).toBe(true);
        },
      ),
    );
  });

  it('average cost stays between the lowest and highest opening price while the position keeps its sign', () => {
    fc.assert(
      fc.property(
        fc.array(
          fillArb.map((f) => ({ ...f, side: 'buy' as const })),
          { minLength: 1, maxLength: 20 },
        ),
        (fills) => {
          const p = applyAll(fills);
          const prices = fills.map((f) => dec(f.price));
          const lo = prices.reduce((a, b) => (a.lt(b) ? a : b));
          const hi = prices.reduce((a, b) => (a.gt(b) ? a : b));
          expect(dec(p.avgCost).gte(lo) && dec(p.avgCost).lte(hi)).toBe(true);
          expect(p.realizedPnl).toBe('0');
        },
      ),
    );
  });
});
