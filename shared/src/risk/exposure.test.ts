import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from '../accounting/decimal.ts';
import { type BookLeg, buildBook, withOrder } from './book.ts';
import { bookTotals, bookTotalsBeforeAfter } from './exposure.ts';
import type { InstrumentInfo, RiskContext } from './types.ts';

/**
 * The one-pass totals of a book and of that book with an order must be exactly the two
 * `bookTotals` the rules were written against: same sums (to the last digit), same missing symbols
 * in the same order. Books mix linear legs, options on an underlying, unpriced and flat legs.
 */
const SYMBOLS = ['A', 'B', 'C', 'OPT', 'NOMARK', 'NEW'];

function instrument(symbol: string): InstrumentInfo {
  const option = symbol === 'OPT';
  return {
    symbol,
    assetClass: option ? 'option' : 'equity',
    multiplier: option ? '100' : '1',
    delta: option ? 0.37 : null,
    underlyingSymbol: option ? 'A' : null,
  } as unknown as InstrumentInfo;
}

const qty = fc.integer({ min: -500, max: 500 }).map((n) => String(n / 10));
const positive = fc.integer({ min: 1, max: 500 }).map((n) => String(n / 10));
const symbol = fc.constantFrom(...SYMBOLS.slice(0, 5));

const scenario = fc.record({
  positions: fc.array(fc.record({ symbol, quantity: qty }), { maxLength: 8 }),
  working: fc.array(fc.record({ symbol, side: fc.constantFrom('buy', 'sell'), leavesQty: positive }), {
    maxLength: 8,
  }),
  order: fc.record({
    symbol: fc.constantFrom(...SYMBOLS),
    side: fc.constantFrom('buy', 'sell'),
    quantity: positive,
  }),
  price: fc.option(
    fc.integer({ min: 1, max: 100_000 }).map((n) => dec(n).div(100)),
    { nil: null },
  ),
});

const plain = (t: ReturnType<typeof bookTotals>) => ({
  gross: t.gross.toString(),
  netHigh: t.netHigh.toString(),
  netLow: t.netLow.toString(),
  deltaHigh: t.deltaHigh.toString(),
  deltaLow: t.deltaLow.toString(),
  missing: t.missing,
});

describe('bookTotalsBeforeAfter', () => {
  it('equals bookTotals of each book', () => {
    fc.assert(
      fc.property(scenario, ({ positions, working, order, price }) => {
        const instruments = Object.fromEntries(SYMBOLS.map((s) => [s, instrument(s)]));
        const ctx = {
          instrument: instrument(order.symbol),
          instruments,
          marks: { A: '101.25', B: '7.5', C: '0.031', OPT: '4.2' },
        } as Pick<RiskContext, 'instrument' | 'instruments' | 'marks'>;
        const before = buildBook({
          positions,
          workingOrders: working as RiskContext['workingOrders'],
        });
        const after = withOrder(before, order as { symbol: string; side: 'buy' | 'sell'; quantity: string });
        const [tb, ta] = bookTotalsBeforeAfter(before, after, ctx, price);
        expect(plain(tb)).toEqual(plain(bookTotals(before, ctx, price)));
        expect(plain(ta)).toEqual(plain(bookTotals(after, ctx, price)));
      }),
      { numRuns: 500 },
    );
  });

  it('values a leg the order changed from the book with the order', () => {
    const leg: BookLeg = { symbol: 'A', position: dec(2), workingBuys: dec(0), workingSells: dec(0) };
    const before = new Map([['A', leg]]);
    const after = withOrder(before, { symbol: 'A', side: 'buy', quantity: '3' });
    const ctx = { instrument: instrument('A'), instruments: { A: instrument('A') }, marks: { A: '10' } };
    const [tb, ta] = bookTotalsBeforeAfter(before, after, ctx, null);
    expect(tb.gross.toString()).toBe('20');
    expect(ta.gross.toString()).toBe('50');
  });
});
