import type { ChainFilters } from '../schemas/option-chain.ts';
import type { PresetTargetsView, RiskPreset } from '../schemas/option-recommendation.ts';

/**
 * The recommender's risk presets (docs/option-recommendations.md). A preset fixes what the
 * long leg aims for (|delta|), which expiries are considered, how much of the capital the whole
 * position may lose, and the chain filters a contract must pass. Riskier presets buy closer to
 * (or in) the money with less time, accept thinner markets, and put more capital at risk.
 */
export interface PresetTargets {
  readonly preset: RiskPreset;
  /** Target |delta| of the (long) leg. */
  readonly targetDelta: number;
  readonly minDte: number;
  readonly maxDte: number;
  /** Maximum loss of the position as a share of capital (0.02 = 2 %). */
  readonly maxLossShare: number;
  /** Minimum liquidity score (0–100) and maximum spread (% of the mid) of every leg. */
  readonly minLiquidity: number;
  readonly maxSpreadPct: number;
}

export const PRESETS: Readonly<Record<RiskPreset, PresetTargets>> = Object.freeze({
  conservative: Object.freeze({
    preset: 'conservative',
    targetDelta: 0.3,
    minDte: 30,
    maxDte: 60,
    maxLossShare: 0.01,
    minLiquidity: 50,
    maxSpreadPct: 5,
  }),
  balanced: Object.freeze({
    preset: 'balanced',
    targetDelta: 0.45,
    minDte: 14,
    maxDte: 45,
    maxLossShare: 0.02,
    minLiquidity: 35,
    maxSpreadPct: 10,
  }),
  aggressive: Object.freeze({
    preset: 'aggressive',
    targetDelta: 0.6,
    minDte: 7,
    maxDte: 30,
    maxLossShare: 0.04,
    minLiquidity: 20,
    maxSpreadPct: 20,
  }),
});

export const PRESET_ORDER: readonly RiskPreset[] = ['conservative', 'balanced', 'aggressive'];

/** The chain filters a preset applies (liquidity, spread, days to expiry). */
export function presetFilters(p: PresetTargets): ChainFilters {
  return { minLiquidity: p.minLiquidity, maxSpreadPct: p.maxSpreadPct, minDte: p.minDte, maxDte: p.maxDte };
}

export function presetTargets(preset: RiskPreset): PresetTargets {
  return PRESETS[preset];
}

/** `options.presets`: every preset, least risky first. */
export function presetViews(): PresetTargetsView[] {
  return PRESET_ORDER.map((name) => {
    const p = PRESETS[name];
    return {
      preset: p.preset,
      targetDelta: p.targetDelta,
      minDte: p.minDte,
      maxDte: p.maxDte,
      maxLossShare: p.maxLossShare,
      filters: presetFilters(p),
    };
  });
}
