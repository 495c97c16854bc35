import { describe, expect, test } from 'vitest';
import {
  formatBp,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  formatRatio,
} from './metric-format.ts';

describe('metric formatting', () => {
  test('percentages from fractions, signed on request, minus as U+2212', () => {
    expect(formatPercent(0.1234)).toBe('12.34 %');
    expect(formatPercent(-0.05, 1)).toBe('−5.0 %');
    expect(formatPercent(0.05, 1, { sign: true })).toBe('+5.0 %');
    expect(formatPercent(12.5, 0)).toBe('1,250 %');
  });

  test('undefined statistics show a dash, never zero', () => {
    for (const f of [formatPercent, formatRatio, formatBp, formatCount, formatRate, formatDuration]) {
      expect(f(null)).toBe('—');
      expect(f(undefined)).toBe('—');
      expect(f(Number.NaN)).toBe('—');
      expect(f(Number.POSITIVE_INFINITY)).toBe('—');
    }
  });

  test('a value that rounds to zero carries no sign', () => {
    expect(formatPercent(-0.000001)).toBe('0.00 %');
    expect(formatBp(-0.01)).toBe('0.0 bp');
    expect(formatRatio(-0.001)).toBe('0.00');
  });

  test('ratios, basis points, counts and rates', () => {
    expect(formatRatio(1.23456)).toBe('1.23');
    expect(formatRatio(0.709, 3)).toBe('0.709');
    expect(formatBp(33.33)).toBe('+33.3 bp');
    expect(formatBp(-0.07)).toBe('−0.1 bp');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatRate(5_300_000)).toBe('5.30 M');
    expect(formatRate(12_345)).toBe('12.3 k');
    expect(formatRate(950)).toBe('950');
  });

  test('durations keep the two largest units', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(75)).toBe('1 m 15 s');
    expect(formatDuration(3_600)).toBe('1 h');
    expect(formatDuration(93_784)).toBe('1 d 2 h');
  });
});
