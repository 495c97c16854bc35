import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec, ZERO } from '../accounting/decimal.ts';
import {
  type ComboLegState,
  comboFillPlan,
  comboMaxLoss,
  comboSignature,
  comboStateOf,
  netPrice,
  type PayoffLeg,
} from './combo.ts';
import { ORDER_STATUSES, type OrderStatus } from './statuses.ts';

const call = (side: 'buy' | 'sell', strike: string, ratio = 1): PayoffLeg => ({
  side,
  ratio,
  kind: 'option',
  right: 'call',
  strike,
  expiry: '2026-12-18',
  underlying: 'XYZ',
  multiplier: '100',
});
const put = (side: 'buy' | 'sell', strike: string): PayoffLeg => ({ ...call(side, strike), right: 'put' });

describe('net price', () => {
  it('is Σ ratio × price over buys minus sells: a debit positive, a credit negative', () => {
    expect(
      netPrice([
        { side: 'buy', ratio: 1, price: '5.2' },
        { side: 'sell', ratio: 1, price: '2.1' },
      ]).toString(),
    ).toBe('3.1');
    expect(
      netPrice([
        { side: 'sell', ratio: 2, price: '3' },
        { side: 'buy', ratio: 1, price: '1.5' },
      ]).toString(),
    ).toBe('-4.5');
  });
});

describe('maximum loss at expiry', () => {
  it('a debit call vertical loses its debit × quantity × multiplier', () => {
    const r = comboMaxLoss([call('buy', '100'), call('sell', '105')], dec('2.5'), dec('3'));
    expect(r.bounded && r.maxLoss.toString()).toBe('750');
  });
  it('a credit call vertical loses (width − credit) × quantity × multiplier', () => {
    const r = comboMaxLoss([call('sell', '100'), call('buy', '105')], dec('-1.75'), dec('2'));
    expect(r.bounded && r.maxLoss.toString()).toBe('650');
  });
  it('a credit put vertical the same way, at S = 0 side', () => {
    const r = comboMaxLoss([put('sell', '100'), put('buy', '95')], dec('-2'), dec('1'));
    expect(r.bounded && r.maxLoss.toString()).toBe('300');
  });
  it('a long straddle loses what it paid; a short put is bounded at S = 0', () => {
    const s = comboMaxLoss([call('buy', '100'), put('buy', '100')], dec('8'), dec('1'));
    expect(s.bounded && s.maxLoss.toString()).toBe('800');
    const p = comboMaxLoss([put('sell', '100'), put('buy', '50')], dec('-3'), dec('1'));
    expect(p.bounded && p.maxLoss.toString()).toBe('4700');
  });
  it('naked short calls are unbounded, and covered by held shares they are not', () => {
    const naked = comboMaxLoss([call('sell', '100', 2), call('buy', '105')], dec('-3'), dec('1'));
    expect(naked.bounded).toBe(false);
    expect(!naked.bounded && naked.uncoveredUnits?.toString()).toBe('100');
    const covered = comboMaxLoss([call('sell', '100', 2), call('buy', '105')], dec('-3'), dec('1'), {
      units: dec('100'),
      mark: dec('100'),
    });
    expect(covered.bounded).toBe(true);
  });
  it('legs on different underlyings or expiries with a short leg have no bound', () => {
    expect(
      comboMaxLoss([call('buy', '100'), { ...call('sell', '105'), underlying: 'ABC' }], dec('1'), dec('1'))
        .bounded,
    ).toBe(false);
    expect(
      comboMaxLoss([call('buy', '100'), { ...call('sell', '105'), expiry: '2027-01-15' }], dec('1'), dec('1'))
        .bounded,
    ).toBe(false);
  });
  it('property: a vertical of any strikes and price never loses more than width + |net|, nor less than 0', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: -4000, max: 4000 }),
        fc.boolean(),
        fc.boolean(),
        (k, w, netCents, bull, calls) => {
          const lo = String(k);
          const hi = String(k + w);
          const mk = calls ? call : put;
          const legs = bull ? [mk('buy', lo), mk('sell', hi)] : [mk('sell', lo), mk('buy', hi)];
          const net = dec(netCents).div(100);
          const r = comboMaxLoss(legs, net, dec(1));
          if (!r.bounded) return false;
          const perUnit = r.maxLoss.div(100);
          return perUnit.gte(ZERO) && perUnit.lte(dec(w).plus(net.abs()));
        },
      ),
    );
  });
});

describe('combo status from its legs (all-or-none)', () => {
  const leg = (status: OrderStatus, filled = '0', qty = '2', ratio = 1): ComboLegState => ({
    status,
    ratio,
    quantity: qty,
    filledQuantity: filled,
    side: 'buy',
    avgFillPrice: filled === '0' ? null : '1',
  });
  it('every leg filled is filled, with the units and net price', () => {
    const s = comboStateOf([
      { ...leg('filled', '2'), avgFillPrice: '5' },
      { ...leg('filled', '2'), side: 'sell', avgFillPrice: '2' },
    ]);
    expect(s).toEqual({ status: 'filled', filledQuantity: '2', avgNetPrice: '3' });
  });
  it('a cancel, expiry or reject of any unfilled leg ends the combo that way', () => {
    expect(comboStateOf([leg('cancelled'), leg('new')]).status).toBe('cancelled');
    expect(comboStateOf([leg('expired'), leg('expired')]).status).toBe('expired');
    expect(comboStateOf([leg('rejected'), leg('rejected')]).status).toBe('rejected');
    expect(comboStateOf([leg('denied'), leg('denied')]).status).toBe('denied');
    expect(comboStateOf([leg('pending_cancel'), leg('new')]).status).toBe('pending_cancel');
    expect(comboStateOf([leg('new'), leg('pending_new')]).status).toBe('pending_new');
  });
  it('property: filled only when every leg is; units never exceed the least leg fill ÷ ratio', () => {
    const arb = fc.record({
      status: fc.constantFrom(...ORDER_STATUSES),
      ratio: fc.integer({ min: 1, max: 3 }),
      filled: fc.integer({ min: 0, max: 6 }),
    });
    fc.assert(
      fc.property(fc.array(arb, { minLength: 2, maxLength: 4 }), (raw) => {
        const legs = raw.map((r) => ({ ...leg(r.status, String(r.filled), '6', r.ratio) }));
        const s = comboStateOf(legs);
        const least = Math.min(...raw.map((r) => r.filled / r.ratio));
        const allFilled = raw.every((r) => r.status === 'filled');
        return (
          (s.status === 'filled') === allFilled &&
          Number(s.filledQuantity) <= least + 1e-9 &&
          (raw.some((r) => r.filled > 0) || s.status !== 'partially_filled')
        );
      }),
    );
  });
});

describe('all-or-none matching', () => {
  const touch = (side: 'buy' | 'sell', price: string | null, size = '10', leaves = '2') => ({
    side,
    ratio: 1,
    leaves,
    price,
    size,
  });
  it('fills only when every leg has a touch with size and the net is within the limit', () => {
    const legs = [touch('buy', '5'), touch('sell', '2')];
    expect(comboFillPlan(legs, '3').fill).toBe(true);
    expect(comboFillPlan(legs, '2.99')).toMatchObject({ fill: false, reason: 'price' });
    expect(comboFillPlan([touch('buy', '5'), touch('sell', null)], null)).toMatchObject({
      reason: 'no_quote',
    });
    expect(comboFillPlan([touch('buy', '5', '1'), touch('sell', '2')], '3')).toMatchObject({
      reason: 'size',
    });
    expect(comboFillPlan(legs, null).fill).toBe(true);
  });
  it('a credit limit is met by a credit at least as large', () => {
    const legs = [touch('sell', '5'), touch('buy', '2')];
    expect(comboFillPlan(legs, '-3').fill).toBe(true);
    expect(comboFillPlan(legs, '-3.01').fill).toBe(false);
  });
});

it('the signature ignores leg order and decimal spelling', () => {
  const a = comboSignature({
    strategy: 'vertical',
    orderType: 'limit',
    quantity: '1.0',
    netLimitPrice: '2.50',
    legs: [
      { symbol: 'A', side: 'buy', ratio: 1 },
      { symbol: 'B', side: 'sell', ratio: 1 },
    ],
  });
  const b = comboSignature({
    strategy: 'vertical',
    orderType: 'limit',
    quantity: '1',
    netLimitPrice: '2.5',
    legs: [
      { symbol: 'B', side: 'sell', ratio: 1 },
      { symbol: 'A', side: 'buy', ratio: 1 },
    ],
  });
  expect(a).toBe(b);
});
