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

describe('bookTotals of one leg', () => {
  /** The definition each leg's figures are computed from, product by product. */
  function reference(leg: BookLeg, exposure: ReturnType<typeof dec>, delta: ReturnType<typeof dec>) {
    const hi = leg.position.plus(leg.workingBuys);
    const lo = leg.position.minus(leg.workingSells);
    const worst = hi.abs().gte(lo.abs()) ? hi.abs() : lo.abs();
    const dh = hi.times(delta);
    const dl = lo.times(delta);
    return {
      gross: worst.times(exposure).toString(),
      netHigh: hi.times(exposure).toString(),
      netLow: lo.times(exposure).toString(),
      deltaHigh: (dh.gte(dl) ? dh : dl).toString(),
      deltaLow: (dh.lte(dl) ? dh : dl).toString(),
      missing: [] as string[],
    };
  }

  const quantity = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map((n) => dec(n).div(10 ** 6));
  const working = fc.oneof(
    fc.constant(dec(0)),
    quantity.map((q) => q.abs()),
  );
  const price = fc.bigInt({ min: 1n, max: 10n ** 12n }).map((n) => dec(n).div(10 ** 4));

  it('equals the definition for linear and option legs, with and without working orders', () => {
    fc.assert(
      fc.property(
        fc.record({
          position: quantity,
          workingBuys: working,
          workingSells: working,
          mark: price,
          underlying: price,
          option: fc.boolean(),
          multiplier: fc.constantFrom('1', '100', '0.01'),
          delta: fc.double({ min: -1, max: 1, noNaN: true }),
        }),
        (c) => {
          const symbol = c.option ? 'OPT' : 'A';
          const leg: BookLeg = {
            symbol,
            position: c.position,
            workingBuys: c.workingBuys,
            workingSells: c.workingSells,
          };
          const inst = {
            symbol,
            assetClass: c.option ? 'option' : 'equity',
            multiplier: c.multiplier,
            delta: c.option ? c.delta : null,
            underlyingSymbol: c.option ? 'U' : null,
          } as unknown as InstrumentInfo;
          const ctx = {
            instrument: inst,
            instruments: { [symbol]: inst },
            marks: { [symbol]: c.mark.toString(), U: c.underlying.toString() },
          } as unknown as Pick<RiskContext, 'instrument' | 'instruments' | 'marks'>;
          const exposure = c.mark.times(dec(c.multiplier));
          const delta = c.option
            ? dec(String(c.delta)).times(dec(c.multiplier)).times(c.underlying)
            : exposure;
          const flat = c.position.isZero() && c.workingBuys.isZero() && c.workingSells.isZero();
          const got = plain(bookTotals(new Map([[symbol, leg]]), ctx, null));
          if (flat) expect(got.gross).toBe('0');
          else expect(got).toEqual(reference(leg, exposure, delta));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
