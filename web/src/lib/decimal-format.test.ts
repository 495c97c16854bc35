import { describe, expect, test } from 'vitest';
import { formatDecimal, signOfDecimal, utcTime } from './decimal-format.ts';

describe('formatDecimal', () => {
  test('rounds half away from zero on the digits, not through a float', () => {
    expect(formatDecimal('0.105')).toBe('0.11');
    expect(formatDecimal('1.005')).toBe('1.01'); // 1.005 as a float is 1.00499…
    expect(formatDecimal('-1.005')).toBe('−1.01');
    expect(formatDecimal('2.5', 0)).toBe('3');
  });

  test('groups thousands and keeps every digit of large values', () => {
    expect(formatDecimal('12345678901234567890.129')).toBe('12,345,678,901,234,567,890.13');
    expect(formatDecimal('1000')).toBe('1,000.00');
  });

  test('signs: explicit plus on request, no negative zero', () => {
    expect(formatDecimal('12.3', 2, { sign: true })).toBe('+12.30');
    expect(formatDecimal('-0.001')).toBe('0.00');
    expect(formatDecimal('0', 2, { sign: true })).toBe('0.00');
  });

  test('passes through what is not a decimal and shows null as a dash', () => {
    expect(formatDecimal(null)).toBe('—');
    expect(formatDecimal('n/a')).toBe('n/a');
  });
});

describe('signOfDecimal', () => {
  test('reads the sign from the string', () => {
    expect(signOfDecimal('-0.01')).toBe(-1);
    expect(signOfDecimal('0.000')).toBe(0);
    expect(signOfDecimal('3')).toBe(1);
    expect(signOfDecimal(null)).toBe(0);
  });
});

describe('utcTime', () => {
  test('accepts ISO strings and Dates', () => {
    expect(utcTime('2026-11-25T12:00:01.500Z')).toBe('2026-11-25 12:00:01');
    expect(utcTime(new Date('2026-11-25T12:00:01Z'), false)).toBe('2026-11-25 12:00');
  });
});
