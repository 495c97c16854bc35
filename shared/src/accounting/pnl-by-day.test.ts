import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from './decimal.ts';
import { pnlByDay } from './pnl-by-day.ts';
import { applyFill, flatPosition } from './position.ts';

describe('pnlByDay', () => {
  it('realizes on the day the position is reduced, at average cost', () => {
    const days = pnlByDay([
      { day: '2026-12-01', symbol: 'A', side: 'buy', quantity: '10', price: '100', fee: '1' },
      { day: '2026-12-01', symbol: 'A', side: 'buy', quantity: '10', price: '110', fee: '1' },
      // average cost 105: selling 5 at 120 realizes 75
      { day: '2026-12-02', symbol: 'A', side: 'sell', quantity: '5', price: '120', fee: '0.5' },
      // short B, cover higher: −2 × 10 = −20 (multiplier 100 → −2000)
      {
        day: '2026-12-02',
        symbol: 'B',
        side: 'sell',
        quantity: '1',
        price: '10',
        fee: '0',
        multiplier: '100',
      },
      {
        day: '2026-12-03',
        symbol: 'B',
        side: 'buy',
        quantity: '1',
        price: '30',
        fee: '0',
        multiplier: '100',
      },
    ]);
    expect(days).toEqual([
      { day: '2026-12-01', realizedPnl: '0', fees: '2', netRealized: '-2', fills: 2, notional: '2100' },
      { day: '2026-12-02', realizedPnl: '75', fees: '0.5', netRealized: '74.5', fills: 2, notional: '1600' },
      {
        day: '2026-12-03',
        realizedPnl: '-2000',
        fees: '0',
        netRealized: '-2000',
        fills: 1,
        notional: '3000',
      },
    ]);
  });

  it('the days add up to the position replay: any sequence of fills', () => {
    const fill = fc.record({
      day: fc.constantFrom('2026-12-01', '2026-12-02', '2026-12-03'),
      symbol: fc.constantFrom('A', 'B'),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      quantity: fc.integer({ min: 1, max: 50 }).map(String),
      price: fc.integer({ min: 1, max: 500 }).map(String),
      fee: fc.integer({ min: 0, max: 3 }).map(String),
    });
    fc.assert(
      fc.property(fc.array(fill, { maxLength: 40 }), (raw) => {
        const fills = [...raw].sort((a, b) => a.day.localeCompare(b.day));
        const total = pnlByDay(fills).reduce((s, d) => s.plus(d.realizedPnl), dec(0));
        const books = new Map<string, ReturnType<typeof flatPosition>>();
        for (const f of fills)
          books.set(f.symbol, applyFill(books.get(f.symbol) ?? flatPosition(f.symbol), f).position);
        const expected = [...books.values()].reduce((s, p) => s.plus(p.realizedPnl), dec(0));
        expect(total.toString()).toBe(expected.toString());
      }),
    );
  });
});
