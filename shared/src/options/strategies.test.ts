import { describe, expect, it } from 'vitest';
import { contract, standardChain } from './recommend-test-chain.ts';
import {
  creditVerticalMaxLoss,
  debitVertical,
  hedgeToZero,
  pickShortLeg,
  singleLong,
  sizeByMaxLoss,
} from './strategies.ts';

const chain = standardChain();
const find = (right: 'call' | 'put', strike: number) =>
  chain.contracts.find((c) => c.right === right && c.strike === String(strike))!;

describe('sizing arithmetic', () => {
  it('floor(capital × share / max loss per unit)', () => {
    expect(sizeByMaxLoss('100000', 0.02, '220')).toEqual({ budget: '2000', quantity: '9' });
    expect(sizeByMaxLoss('100000', 0.01, '250')).toEqual({ budget: '1000', quantity: '4' });
    expect(sizeByMaxLoss('123456.78', 0.04, '400')).toEqual({ budget: '4938.2712', quantity: '12' });
  });

  it('is zero when one unit loses more than the budget', () => {
    expect(sizeByMaxLoss('10000', 0.02, '220')).toEqual({ budget: '200', quantity: '0' });
  });

  it('credit verticals lose the width less the credit', () => {
    expect(creditVerticalMaxLoss('5', '1.35', '100')).toBe('365');
  });
});

describe('single long options', () => {
  it('a long call loses its premium, gains without bound, breaks even at strike + premium', () => {
    const q = singleLong(find('call', 105), '100');
    expect(q.ok && q.value).toMatchObject({
      strategy: 'single',
      netPrice: '1.8',
      maxLossPerUnit: '180',
      maxGainPerUnit: null,
      breakevens: ['106.8'],
      deltaPerUnit: 25,
    });
  });

  it('a long put gains at most strike − premium, breaks even at strike − premium', () => {
    const q = singleLong(find('put', 95), '100');
    expect(q.ok && q.value).toMatchObject({
      netPrice: '2.2',
      maxLossPerUnit: '220',
      maxGainPerUnit: '9280',
      breakevens: ['92.8'],
      deltaPerUnit: -30,
    });
  });

  it('refuses a contract without a quote', () => {
    const q = singleLong(
      contract({ right: 'call', strike: 100, delta: 0.5, mid: '4', spreadPct: null }),
      '100',
    );
    expect(q.ok).toBe(false);
  });
});

describe('debit verticals', () => {
  it('the short call is further out of the money, at about half the long delta', () => {
    const s = pickShortLeg(find('call', 100), chain.contracts);
    expect(s.ok && s.value.strike).toBe('105');
  });

  it('the short put is a lower strike for a bearish vertical', () => {
    const s = pickShortLeg(find('put', 100), chain.contracts);
    expect(s.ok && s.value.right).toBe('put');
    expect(s.ok && s.value.strike).toBe('95');
  });

  it('never picks a strike on the wrong side, even with a closer delta', () => {
    // Only in-the-money calls besides the long leg: no short leg.
    const pool = [find('call', 90), find('call', 95), find('call', 100)];
    expect(pickShortLeg(find('call', 100), pool).ok).toBe(false);
  });

  it('call vertical: loss = debit × multiplier, gain = (width − debit) × multiplier', () => {
    const v = debitVertical(find('call', 100), find('call', 105), '100');
    expect(v.ok && v.value).toMatchObject({
      strategy: 'vertical',
      netPrice: '2.2',
      maxLossPerUnit: '220',
      maxGainPerUnit: '280',
      breakevens: ['102.2'],
      deltaPerUnit: 25,
    });
    expect(v.ok && v.value.legs.map((l) => [l.side, l.contract.strike])).toEqual([
      ['buy', '100'],
      ['sell', '105'],
    ]);
  });

  it('put vertical: breakeven below the long strike', () => {
    const v = debitVertical(find('put', 100), find('put', 95), '100');
    expect(v.ok && v.value).toMatchObject({
      netPrice: '1.5',
      maxLossPerUnit: '150',
      maxGainPerUnit: '350',
      breakevens: ['98.5'],
      deltaPerUnit: -20,
    });
  });

  it('refuses legs of different expiries', () => {
    const other = contract({ right: 'call', strike: 105, delta: 0.3, mid: '2.5', expiry: '2027-02-19' });
    expect(debitVertical(find('call', 100), other, '100').ok).toBe(false);
  });
});

describe('hedge to zero', () => {
  it('sells the rounded delta of a long book', () => {
    expect(hedgeToZero(237.4, 1, '1')).toMatchObject({ kind: 'order', side: 'sell', quantity: '237' });
    expect(hedgeToZero(237.6, 1, '1')).toMatchObject({ kind: 'order', side: 'sell', quantity: '238' });
  });

  it('buys lots of a larger contract for a short book', () => {
    // −260 delta, 50 per future ⇒ 5.2 lots ⇒ buy 5.
    expect(hedgeToZero(-260, 50, '1')).toMatchObject({
      kind: 'order',
      side: 'buy',
      quantity: '5',
      netDeltaAfter: -10,
    });
  });

  it('does nothing inside half a lot', () => {
    expect(hedgeToZero(0.4, 1, '1')).toEqual({ kind: 'inside_band' });
  });
});
