import { describe, expect, test } from 'vitest';
import { netMid, netNatural, verticalOutcome } from './option-vertical.ts';

const base = { quantity: '2', multiplier: '100' } as const;

describe('verticalOutcome', () => {
  test('bull call debit: loss is the debit, gain the width less it, breakeven long strike + debit', () => {
    const o = verticalOutcome({
      ...base,
      right: 'call',
      longStrike: '100',
      shortStrike: '105',
      netPrice: '2.15',
    });
    expect(o).toEqual({
      kind: 'debit',
      netCash: '430',
      maxLoss: '430',
      maxGain: '570',
      breakeven: '102.15',
      width: '1000',
    });
  });

  test('bear call credit: gain is the credit, loss the width less it, breakeven short strike + credit', () => {
    const o = verticalOutcome({
      ...base,
      right: 'call',
      longStrike: '110',
      shortStrike: '105',
      netPrice: '-1.4',
    });
    expect(o).toMatchObject({
      kind: 'credit',
      netCash: '280',
      maxGain: '280',
      maxLoss: '720',
      breakeven: '106.4',
    });
  });

  test('bear put debit and bull put credit', () => {
    expect(
      verticalOutcome({ ...base, right: 'put', longStrike: '100', shortStrike: '95', netPrice: '1.75' }),
    ).toMatchObject({ kind: 'debit', maxLoss: '350', maxGain: '650', breakeven: '98.25' });
    expect(
      verticalOutcome({ ...base, right: 'put', longStrike: '90', shortStrike: '95', netPrice: '-2' }),
    ).toMatchObject({ kind: 'credit', maxLoss: '600', maxGain: '400', breakeven: '93' });
  });

  test('exact decimals: 0.1 + 0.2 style sums stay exact', () => {
    const o = verticalOutcome({
      right: 'call',
      longStrike: '0.3',
      shortStrike: '0.6',
      netPrice: '0.1',
      quantity: '3',
      multiplier: '1',
    });
    expect(o).toMatchObject({ maxLoss: '0.3', maxGain: '0.6', breakeven: '0.4' });
  });

  test('a net price outside the strikes has no breakeven; loss or gain floors at zero', () => {
    // Paying more than the width: a sure loss, no gain.
    const o = verticalOutcome({
      ...base,
      right: 'call',
      longStrike: '100',
      shortStrike: '105',
      netPrice: '6',
    });
    expect(o).toMatchObject({ breakeven: null, maxGain: '0', maxLoss: '1200' });
  });

  test('not a vertical or not decimals: null', () => {
    expect(
      verticalOutcome({ ...base, right: 'call', longStrike: '100', shortStrike: '100', netPrice: '1' }),
    ).toBeNull();
    expect(
      verticalOutcome({ ...base, right: 'call', longStrike: 'x', shortStrike: '100', netPrice: '1' }),
    ).toBeNull();
    expect(
      verticalOutcome({
        right: 'call',
        longStrike: '1',
        shortStrike: '2',
        netPrice: '1',
        quantity: '0',
        multiplier: '100',
      }),
    ).toBeNull();
  });
});

describe('netMid', () => {
  test('long mid less short mid, rounded to the price decimals', () => {
    expect(netMid('3.125', '1.05')).toBe('2.08');
    expect(netMid('1.05', '3.125')).toBe('-2.08');
    expect(netMid('1', null)).toBeNull();
  });
});

describe('netNatural', () => {
  test('long ask less short bid, exactly', () => {
    expect(netNatural('2.5573', '0.8141')).toBe('1.7432');
    expect(netNatural('0.1', '0.3')).toBe('-0.2');
    expect(netNatural(null, '1')).toBeNull();
  });
});
