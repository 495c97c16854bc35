import { describe, expect, it } from 'vitest';
import { drawdownStats, performanceMetrics } from './performance-metrics.ts';

const DAY_US = 86_400_000_000;
const YEAR_S = 365 * 86_400;

describe('performance metrics on hand-computed equity curves', () => {
  // 100 → 110 → 99 → 121, one point a day.
  const tsUs = [0, DAY_US, 2 * DAY_US, 3 * DAY_US];
  const equity = [100, 110, 99, 121];
  const m = performanceMetrics({
    tsUs,
    equity,
    tradePnls: [10, -5, 20, -15],
    exposure: 0.25,
    turnover: 3,
    fees: '1.5',
  });

  it('total and annualized return', () => {
    expect(m.totalReturn).toBeCloseTo(0.21, 12);
    expect(m.annualizedReturn).toBeCloseTo(1.21 ** (YEAR_S / (3 * 86_400)) - 1, 6);
  });

  it('drawdown: 110 → 99 is 10 %, under water from day 1 to day 3', () => {
    expect(m.maxDrawdown).toBeCloseTo(0.1, 12);
    expect(m.maxDrawdownDurationSeconds).toBe(2 * 86_400);
    expect(m.calmar).toBeCloseTo(m.annualizedReturn! / 0.1, 6);
  });

  it('Sharpe and Sortino from the daily returns 10 %, −10 %, 22.2 %', () => {
    const r = [0.1, -0.1, 121 / 99 - 1];
    const mean = (r[0]! + r[1]! + r[2]!) / 3;
    const sd = Math.sqrt(((r[0]! - mean) ** 2 + (r[1]! - mean) ** 2 + (r[2]! - mean) ** 2) / 2);
    const downside = Math.sqrt(0.01 / 3);
    expect(m.sharpe).toBeCloseTo((mean / sd) * Math.sqrt(365), 9);
    expect(m.sortino).toBeCloseTo((mean / downside) * Math.sqrt(365), 9);
  });

  it('win rate and profit factor from the round trips', () => {
    expect(m.winRate).toBe(0.5);
    expect(m.profitFactor).toBeCloseTo(30 / 20, 12);
    expect(m.trades).toBe(4);
    expect(m).toMatchObject({ exposure: 0.25, turnover: 3, fees: '1.5' });
  });

  it('no annualized return (nor Calmar) under one day; no ratios without dispersion or losses', () => {
    const short = performanceMetrics({
      tsUs: [0, 1_000_000, 2_000_000],
      equity: [100, 100, 100],
      tradePnls: [5],
      exposure: 0,
      turnover: 0,
      fees: '0',
    });
    expect(short.annualizedReturn).toBeNull();
    expect(short.calmar).toBeNull();
    expect(short.sharpe).toBeNull();
    expect(short.sortino).toBeNull();
    expect(short.profitFactor).toBeNull();
    expect(short.winRate).toBe(1);
    expect(short.maxDrawdown).toBe(0);
  });

  it('a drawdown never recovered lasts to the end; the deepest is not always the longest', () => {
    const s = drawdownStats([0, 10e6, 20e6, 30e6, 40e6, 100e6], [100, 50, 100, 95, 96, 97]);
    expect(s.maxDrawdown).toBeCloseTo(0.5, 12);
    // 100 at 20 s is a new peak (equal counts as recovered); under water from 20 s to the end.
    expect(s.durationS).toBe(80);
    expect(s.drawdowns).toEqual([0, 0.5, 0, 0.05, 0.04, 0.03].map((d) => expect.closeTo(d, 12)));
  });
});
