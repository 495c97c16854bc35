import { describe, expect, it } from 'vitest';
import { money } from '../../lib/output.ts';

describe('money for people', () => {
  it('rounds half-up to cents with thousands grouped, exactly (no float)', () => {
    expect(money('1000054.86980861')).toBe('1,000,054.87');
    expect(money('-2500.005')).toBe('-2,500.01');
    expect(money('0.004')).toBe('0.00');
    expect(money('-0.001')).toBe('0.00');
    expect(money('999.995')).toBe('1,000.00');
    expect(money('12')).toBe('12.00');
    // beyond a float's 15–17 significant digits, still exact
    expect(money('123456789012345678.125')).toBe('123,456,789,012,345,678.13');
  });
  it('shows what is not a decimal as it is, and nothing as -', () => {
    expect(money(null)).toBe('-');
    expect(money(undefined)).toBe('-');
    expect(money('n/a')).toBe('n/a');
  });
});
