import { describe, expect, it } from 'vitest';
import { presetTargetsView } from '../schemas/option-recommendation.ts';
import { PRESETS, presetFilters, presetViews } from './presets.ts';

describe('risk presets', () => {
  it('lists conservative, balanced, aggressive with their targets, each a valid view', () => {
    const views = presetViews();
    expect(views.map((v) => v.preset)).toEqual(['conservative', 'balanced', 'aggressive']);
    for (const v of views) expect(presetTargetsView.parse(v)).toEqual(v);
    expect(views.map((v) => [v.targetDelta, v.minDte, v.maxDte, v.maxLossShare])).toEqual([
      [0.3, 30, 60, 0.01],
      [0.45, 14, 45, 0.02],
      [0.6, 7, 30, 0.04],
    ]);
  });

  it('takes more risk as the preset gets more aggressive', () => {
    const [c, b, a] = [PRESETS.conservative, PRESETS.balanced, PRESETS.aggressive];
    expect(c.targetDelta).toBeLessThan(b.targetDelta);
    expect(b.targetDelta).toBeLessThan(a.targetDelta);
    expect(c.maxLossShare).toBeLessThan(b.maxLossShare);
    expect(b.maxLossShare).toBeLessThan(a.maxLossShare);
    // Thinner markets are accepted only by riskier presets.
    expect(c.minLiquidity).toBeGreaterThan(a.minLiquidity);
    expect(c.maxSpreadPct).toBeLessThan(a.maxSpreadPct);
    expect(c.maxDte).toBeGreaterThan(a.maxDte);
  });

  it('states its chain filters (liquidity, spread, days to expiry)', () => {
    expect(presetFilters(PRESETS.balanced)).toEqual({
      minLiquidity: 35,
      maxSpreadPct: 10,
      minDte: 14,
      maxDte: 45,
    });
  });
});
