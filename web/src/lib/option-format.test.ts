import { describe, expect, test } from 'vitest';
import {
  exclusionReason,
  formatExposure,
  formatGreek,
  formatVol,
  limitUsage,
  liquidityBand,
  liquidityHeat,
  usageTone,
} from './option-format.ts';

describe('option formatting', () => {
  test('volatility in points, Greeks with enough digits to be non-zero', () => {
    expect(formatVol(0.23456)).toBe('23.46');
    expect(formatVol(null)).toBe('—');
    expect(formatGreek(0.52349)).toBe('0.523');
    expect(formatGreek(-0.0451)).toBe('−0.045');
    expect(formatGreek(0.000123)).toBe('0.00012');
    expect(formatGreek(0)).toBe('0.000');
    expect(formatExposure(-1234.5)).toBe('−1,234.50');
    expect(formatExposure(12)).toBe('+12.00');
  });

  test('the heat scale is monotonic in the score and clamped to 0–100', () => {
    const alpha = (s: number) => Number(/\/ ([\d.]+)\)/.exec(liquidityHeat(s))![1]);
    expect(alpha(0)).toBeCloseTo(0.04, 6);
    expect(alpha(100)).toBeCloseTo(0.55, 6);
    expect(alpha(50)).toBeGreaterThan(alpha(20));
    expect(alpha(150)).toBe(alpha(100));
    expect(alpha(-5)).toBe(alpha(0));
    expect(liquidityBand(75)).toBe('deep');
    expect(liquidityBand(45)).toBe('fair');
    expect(liquidityBand(10)).toBe('thin');
  });

  test('limit usage and its tone', () => {
    expect(limitUsage(-50_000, 100_000)).toBe(0.5);
    expect(limitUsage(10, null)).toBeNull();
    expect(usageTone(0.5)).toBe('ok');
    expect(usageTone(0.8)).toBe('warn');
    expect(usageTone(1.2)).toBe('bad');
    expect(usageTone(null)).toBe('none');
  });

  test('exclusion reasons read as words', () => {
    expect(exclusionReason(['minLiquidity', 'deltaBand'])).toBe(
      'liquidity below the minimum; delta outside the band',
    );
  });
});
