import { describe, expect, it } from 'vitest';
import {
  atmVolOf,
  chainParamsOf,
  contractMemo,
  contractName,
  openInterestOf,
  quoteOf,
  SYNTHETIC_RATE,
  spreadShareOf,
  strikeStep,
  surfaceVol,
  syntheticExpiries,
  syntheticIvHistory,
  syntheticListing,
  syntheticQuote,
  syntheticStrikes,
  thirdFriday,
  volumeOf,
} from './chain-model.ts';

describe('synthetic chain model', () => {
  it('is deterministic: same inputs, same chain, quotes and history', () => {
    const a = syntheticListing('2026-12-04', 104.37);
    const b = syntheticListing('2026-12-04', 104.37);
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThan(200);
    expect(chainParamsOf('SYN0001')).toEqual(chainParamsOf('SYN0001'));
    const p = chainParamsOf('SYN0001');
    const c = { expiry: '2026-12-18', right: 'call' as const, strike: 105 };
    expect(syntheticQuote(p, c, 104.37, 0.04, '2026-12-04')).toEqual(
      syntheticQuote(p, c, 104.37, 0.04, '2026-12-04'),
    );
    expect(syntheticIvHistory('SYN0001', '2026-12-04')).toEqual(syntheticIvHistory('SYN0001', '2026-12-04'));
  });

  it('gives the same quotes with a contract memo as without (across days)', () => {
    const p = chainParamsOf('SYN0004');
    for (const c of syntheticListing('2026-12-04', 57.3).slice(0, 120)) {
      const key = { expiry: c.expiry, right: c.right, strike: Number(c.strike) };
      const memo = contractMemo(p, key);
      for (const day of ['2026-12-04', '2026-12-05', '2026-12-04']) {
        expect(syntheticQuote(p, key, 57.3, 0.05, day, SYNTHETIC_RATE, memo)).toEqual(
          syntheticQuote(p, key, 57.3, 0.05, day),
        );
      }
    }
  });

  it('gives each underlying its own surface', () => {
    const a = chainParamsOf('SYN0001');
    const b = chainParamsOf('SYN0002');
    expect(a.longVol).not.toBe(b.longVol);
    expect(a.skew).not.toBe(b.skew);
    for (const s of ['SYN0000', 'SYN0001', 'SYN0002', 'SYN0999', 'ESZ6']) {
      const p = chainParamsOf(s);
      expect(p.longVol).toBeGreaterThanOrEqual(0.22);
      expect(p.longVol).toBeLessThanOrEqual(0.6);
      expect(p.skew).toBeLessThan(0);
      expect(p.smile).toBeGreaterThan(0);
    }
  });

  it('lists weeklies, three monthlies and two quarterlies after the listing date', () => {
    expect(thirdFriday(2026, 11)).toBe('2026-12-18');
    expect(thirdFriday(2027, 2)).toBe('2027-03-19');
    const e = syntheticExpiries('2026-12-04'); // a Friday: the first weekly is the next one
    expect(e).toEqual([
      '2026-12-11',
      '2026-12-18',
      '2026-12-25',
      '2027-01-01',
      '2027-01-15',
      '2027-02-19',
      '2027-03-19',
      '2027-06-18',
    ]);
    for (const d of e) expect(new Date(`${d}T00:00:00Z`).getUTCDay()).toBe(5);
    expect(syntheticExpiries('2026-12-03')[0]).toBe('2026-12-04');
  });

  it('spaces strikes by price level, ±~30–75 % around the reference, wider further out', () => {
    expect(strikeStep(100)).toBe(2.5);
    expect(strikeStep(40)).toBe(1);
    expect(strikeStep(5000)).toBe(100);
    expect(strikeStep(3)).toBe(0.05);
    const near = syntheticStrikes(104.37, 7 / 365).map(Number);
    const far = syntheticStrikes(104.37, 0.55).map(Number);
    expect(near[0]).toBeGreaterThan(104.37 * 0.6);
    expect(near.at(-1)).toBeLessThan(104.37 * 1.4);
    expect(far[0]!).toBeLessThan(near[0]!);
    expect(far.at(-1)!).toBeGreaterThan(near.at(-1)!);
    expect(syntheticStrikes(3.21, 0.1)).toContain('3.2');
    for (const s of syntheticStrikes(3.21, 0.1)) expect(s).toMatch(/^\d+(\.\d{1,2})?$/);
  });

  it('has a smile with put skew and a term structure', () => {
    const p = chainParamsOf('SYN0001');
    const f = 100;
    const t = 30 / 365;
    const atm = surfaceVol(p, f, f, t);
    expect(atm).toBeCloseTo(atmVolOf(p, t), 12);
    // Wings above ATM (smile); the put wing above the call wing at the same distance (skew).
    const sd = atm * Math.sqrt(t);
    const down = surfaceVol(p, f * Math.exp(-2 * sd), f, t);
    const up = surfaceVol(p, f * Math.exp(2 * sd), f, t);
    expect(down).toBeGreaterThan(atm);
    expect(down).toBeGreaterThan(up);
    // Convex in moneyness around its minimum.
    const xs = [-3, -2, -1, 0, 1, 2, 3].map((x) => surfaceVol(p, f * Math.exp(x * sd), f, t));
    for (let i = 1; i < xs.length - 1; i++) expect(xs[i - 1]! + xs[i + 1]! - 2 * xs[i]!).toBeGreaterThan(0);
    // The term structure moves from the short end to the long-run level.
    expect(atmVolOf(p, 5)).toBeCloseTo(p.longVol, 3);
    expect(Math.sign(atmVolOf(p, 0.02) - atmVolOf(p, 1))).toBe(Math.sign(p.termTilt));
  });

  it('peaks open interest near the money and near expiry, volume varies by day', () => {
    const p = chainParamsOf('SYN0003');
    const oi = (strike: number, years: number, expiry = '2026-12-11') =>
      openInterestOf(p, { expiry, right: 'put', strike }, 100, years);
    // Noise is ±20 %: compare the money with far strikes, near with far expiries.
    expect(oi(100, 0.02)).toBeGreaterThan(2 * oi(80, 0.02));
    expect(oi(100, 0.02)).toBeGreaterThan(2 * oi(125, 0.02));
    expect(oi(100, 0.02)).toBeGreaterThan(oi(100, 1.5, '2026-12-10'));
    const c = { expiry: '2026-12-11', right: 'put' as const, strike: 100 };
    const days = ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04'].map((d) =>
      volumeOf(p, c, 5_000, 0.02, d),
    );
    expect(new Set(days).size).toBeGreaterThan(1);
    expect(volumeOf(p, c, 5_000, 0.02, '2026-12-02')).toBe(days[1]);
  });

  it('quotes around the model price with a spread that widens as liquidity falls', () => {
    expect(spreadShareOf(10_000, 5_000)).toBeLessThan(spreadShareOf(100, 5_000));
    expect(spreadShareOf(1_000, 1_000)).toBeLessThan(spreadShareOf(1_000, 10));
    const q = quoteOf(2.345678912, 5_000, 800, 'k')!;
    const mid = (Number(q.bid) + Number(q.ask)) / 2;
    expect(Math.abs(mid - 2.345678912)).toBeLessThan(1e-8);
    expect(Number(q.ask) - Number(q.bid)).toBeGreaterThanOrEqual(0.01 - 1e-12);
    // A contract worth less than half a tick has no bid.
    expect(quoteOf(0.004, 10, 0, 'k')).toBeNull();
    // The minimum spread is a tick.
    const cheap = quoteOf(0.2, 100_000, 100_000, 'k')!;
    expect(Number(cheap.ask) - Number(cheap.bid)).toBeCloseTo(0.01, 10);
  });

  it('names contracts', () => {
    expect(contractName('SYN0001', '2026-12-18', 'call', '105.50')).toBe('SYN0001 18 Dec 26 105.5 Call');
  });

  it('keeps a mean-reverting IV history whose days do not depend on the window', () => {
    const h = syntheticIvHistory('SYN0001', '2026-12-04');
    expect(h).toHaveLength(252);
    expect(h.at(-1)!.day).toBe('2026-12-04');
    const shorter = syntheticIvHistory('SYN0001', '2026-11-30', 10);
    expect(shorter.at(-1)).toEqual(h.find((d) => d.day === '2026-11-30'));
    const p = chainParamsOf('SYN0001');
    const mean = atmVolOf(p, 30 / 365);
    const avg = h.reduce((a, d) => a + d.atmIv, 0) / h.length;
    expect(avg).toBeGreaterThan(mean * 0.6);
    expect(avg).toBeLessThan(mean * 1.6);
    for (const d of h) expect(d.atmIv).toBeGreaterThan(0);
    expect(new Set(h.map((d) => d.atmIv)).size).toBe(252);
  });
});
