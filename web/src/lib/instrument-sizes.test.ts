import { describe, expect, test } from 'vitest';
import { formatPriceWith, formatQuantityWith, trimZeros } from './instrument-sizes.ts';

describe('quantities by lot size', () => {
  test('whole lots print without a fraction', () => {
    expect(formatQuantityWith('50.000000000000', '1')).toBe('50');
    expect(formatQuantityWith('50.000000000000', '0.0001')).toBe('50');
  });

  test('fractions keep the lot size digits and drop trailing zeros', () => {
    expect(formatQuantityWith('0.12340000', '0.0001')).toBe('0.1234');
    expect(formatQuantityWith('0.12345', '0.0001')).toBe('0.1235');
    expect(formatQuantityWith('1234.5', '0.001')).toBe('1,234.5');
  });

  test('unknown lot size: the value own digits, up to 8', () => {
    expect(formatQuantityWith('3.000000000000', undefined)).toBe('3');
    expect(formatQuantityWith('0.123456789', undefined)).toBe('0.12345679');
    expect(formatQuantityWith(null, undefined)).toBe('—');
  });
});

describe('prices by tick size', () => {
  test('fixed tick decimals so a column lines up', () => {
    expect(formatPriceWith('50000.000000000000', '0.01')).toBe('50,000.00');
    expect(formatPriceWith('101.25', '0.5')).toBe('101.3');
    expect(formatPriceWith('4321.987', '1')).toBe('4,322');
  });

  test('unknown tick size: between 2 and 8 of the value own decimals', () => {
    expect(formatPriceWith('12.500000', undefined)).toBe('12.50');
    expect(formatPriceWith('0.000123400', undefined)).toBe('0.0001234');
  });

  test('trimZeros leaves integers alone', () => {
    expect(trimZeros('1,000')).toBe('1,000');
    expect(trimZeros('10.50')).toBe('10.5');
  });
});
