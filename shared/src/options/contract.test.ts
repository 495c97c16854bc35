import { describe, expect, it } from 'vitest';
import { daysToExpiry, expiryInstant, optionSymbol, parseOptionSymbol } from './contract.ts';

describe('option contract identity', () => {
  it('round-trips symbols', () => {
    const c = { underlying: 'SYN0001', expiry: '2026-12-18', right: 'call' as const, strike: '105.50' };
    const s = optionSymbol(c);
    expect(s).toBe('SYN0001-261218C105.5');
    expect(parseOptionSymbol(s)).toEqual({ ...c, strike: '105.5' });
    expect(parseOptionSymbol('ESZ6-270319P5500')).toEqual({
      underlying: 'ESZ6',
      expiry: '2027-03-19',
      right: 'put',
      strike: '5500',
    });
    expect(parseOptionSymbol('SYN0001')).toBeNull();
    expect(parseOptionSymbol('BTC-USD')).toBeNull();
  });

  it('expires at 16:00 New York on both sides of daylight saving', () => {
    expect(expiryInstant('2026-12-18').toISOString()).toBe('2026-12-18T21:00:00.000Z');
    expect(expiryInstant('2026-07-17').toISOString()).toBe('2026-07-17T20:00:00.000Z');
    expect(daysToExpiry(new Date('2026-12-17T21:00:00Z'), '2026-12-18')).toBe(1);
    expect(daysToExpiry(new Date('2026-12-19T00:00:00Z'), '2026-12-18')).toBe(0);
  });
});
