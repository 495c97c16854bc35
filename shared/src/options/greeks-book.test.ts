import { describe, expect, it } from 'vitest';
import { optionGreeks } from './black-scholes.ts';
import { expiryInstant, MS_PER_YEAR } from './contract.ts';
import { type BookInstrument, deskGreeks, unitGreeks } from './greeks-book.ts';

/**
 * Reference values: Hull, "Options, Futures and Other Derivatives", example 15.6 (BSM: S = 42,
 * K = 40, r = 10 %, σ = 20 %, T = 0.5: call 4.7594, N(d1) = 0.7791) and Haug, "The Complete
 * Guide to Option Pricing Formulas", Black-76 (F = K = 19, r = 10 %, σ = 28 %, T = 0.75: call
 * 1.7011; delta e^{−rT} N(d1) = 0.5086).
 */
const EXPIRY = '2027-06-18';
/** The instant `years` before the contract's 16:00 New York expiry. */
const before = (years: number) => new Date(expiryInstant(EXPIRY).getTime() - years * MS_PER_YEAR);

const equity: BookInstrument = {
  symbol: 'XYZ',
  assetClass: 'equity',
  multiplier: '1',
  underlyingSymbol: null,
  optionRight: null,
  strike: null,
  expiry: null,
  greeks: null,
};
const option = (
  symbol: string,
  underlying: string,
  right: 'call' | 'put',
  strike: string,
  multiplier: string,
  iv?: number,
): BookInstrument => ({
  symbol,
  assetClass: 'option',
  multiplier,
  underlyingSymbol: underlying,
  optionRight: right,
  strike,
  expiry: EXPIRY,
  greeks: iv === undefined ? null : { iv },
});
const future: BookInstrument = { ...equity, symbol: 'FUTZ7', assetClass: 'future', multiplier: '50' };

const instruments = {
  XYZ: equity,
  'XYZ-270618C40': option('XYZ-270618C40', 'XYZ', 'call', '40', '100'),
  FUTZ7: future,
  'FUTZ7-270618C19': option('FUTZ7-270618C19', 'FUTZ7', 'call', '19', '50', 0.28),
  'FUTZ7-270618P19': option('FUTZ7-270618P19', 'FUTZ7', 'put', '19', '50'),
};

describe('deskGreeks', () => {
  it('an equity call (BSM): IV from the mark, Greeks × quantity × multiplier, theta per day', () => {
    const now = before(0.5);
    const book = deskGreeks({
      positions: [{ symbol: 'XYZ-270618C40', quantity: '3' }],
      instruments,
      marks: { XYZ: '42', 'XYZ-270618C40': '4.7594' },
      rate: 0.1,
      now,
    });
    const p = book.positions[0]!;
    expect(p.iv).toBeCloseTo(0.2, 4);
    const g = optionGreeks({
      model: 'bsm',
      right: 'call',
      underlying: 42,
      strike: 40,
      years: 0.5,
      vol: p.iv!,
      rate: 0.1,
    });
    // Per unit × multiplier, then × quantity (the order the book multiplies in).
    expect(p.contribution.delta).toBe(g.delta * 100 * 3);
    expect(p.contribution.delta / 300).toBeCloseTo(0.7791, 3);
    expect(p.contribution.gamma).toBe(g.gamma * 100 * 3);
    expect(p.contribution.vega).toBe(g.vega * 100 * 3);
    expect(p.contribution.theta).toBe((g.theta / 365) * 100 * 3);
    expect(p.contribution.dollarDelta).toBe(g.delta * 100 * 3 * 42);
    expect(book.byUnderlying).toEqual([
      { underlying: 'XYZ', price: '42', totals: p.contribution, missing: [] },
    ]);
    expect(book.totals).toEqual(p.contribution);
  });

  it('futures options (Black-76) group with their future; a future counts quantity × multiplier', () => {
    const now = before(0.75);
    const book = deskGreeks({
      positions: [
        { symbol: 'FUTZ7-270618C19', quantity: '-2' },
        { symbol: 'FUTZ7', quantity: '1' },
      ],
      instruments,
      marks: { FUTZ7: '19', 'FUTZ7-270618C19': '1.7011' },
      rate: 0.1,
      now,
    });
    const [call, fut] = book.positions;
    expect(call!.iv).toBeCloseTo(0.28, 4);
    expect(call!.contribution.delta / -100).toBeCloseTo(0.5086, 4);
    expect(fut!.contribution).toEqual({ delta: 50, gamma: 0, vega: 0, theta: 0, dollarDelta: 950 });
    expect(book.byUnderlying).toHaveLength(1);
    const g = book.byUnderlying[0]!;
    expect(g.underlying).toBe('FUTZ7');
    expect(g.totals.delta).toBe(call!.contribution.delta + 50);
    expect(g.totals.delta).toBeCloseTo(50 - 50.86, 2);
    expect(g.totals.gamma).toBe(call!.contribution.gamma);
    expect(g.totals.gamma).toBeLessThan(0); // short options: short gamma
  });

  it('falls back to the stored IV without a mark; lists what it cannot price and leaves it out', () => {
    const now = before(0.75);
    const book = deskGreeks({
      positions: [
        { symbol: 'FUTZ7-270618C19', quantity: '1' },
        { symbol: 'FUTZ7-270618P19', quantity: '1' }, // no mark, no stored IV
        { symbol: 'XYZ-270618C40', quantity: '1' }, // no underlying price
        { symbol: 'XYZ', quantity: '0' }, // flat: ignored
      ],
      instruments,
      marks: { FUTZ7: '19' },
      rate: 0.1,
      now,
    });
    expect(book.positions.map((p) => [p.symbol, p.iv, p.mark])).toEqual([['FUTZ7-270618C19', 0.28, null]]);
    const g = optionGreeks({
      model: 'black76',
      right: 'call',
      underlying: 19,
      strike: 19,
      years: 0.75,
      vol: 0.28,
      rate: 0.1,
    });
    expect(book.totals.delta).toBe(g.delta * 50);
    expect(book.missing).toEqual(['FUTZ7-270618P19', 'XYZ-270618C40']);
    expect(book.byUnderlying.map((u) => [u.underlying, u.missing])).toEqual([
      ['FUTZ7', ['FUTZ7-270618P19']],
      ['XYZ', ['XYZ-270618C40']],
    ]);
  });

  it('an expired, unsettled option has its exercise delta and no time value', () => {
    const after = new Date(expiryInstant(EXPIRY).getTime() + 60_000);
    const u = unitGreeks('XYZ-270618C40', { instruments, marks: { XYZ: '42' }, rate: 0.1, now: after });
    expect(u).toEqual({
      delta: 100,
      gamma: 0,
      vega: 0,
      theta: 0,
      iv: null,
      underlying: 'XYZ',
      underlyingPrice: 42,
    });
    const otm = unitGreeks('XYZ-270618C40', { instruments, marks: { XYZ: '39' }, rate: 0.1, now: after });
    expect(otm?.delta).toBe(0);
  });
});
