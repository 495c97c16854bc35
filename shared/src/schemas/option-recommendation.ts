import { z } from 'zod';
import { chainFilters, isoDate, optionRight } from './option-chain.ts';
import { instrumentSymbol, orderSide, positiveDecimalString, ruleVerdict } from './order.ts';

/** Risk presets of the recommender; their targets are shared/src/options/presets.ts. */
export const riskPreset = z.enum(['conservative', 'balanced', 'aggressive']);
export type RiskPreset = z.infer<typeof riskPreset>;

export const directionalView = z.enum(['bullish', 'bearish', 'neutral']);
export type DirectionalView = z.infer<typeof directionalView>;

export const recommendStrategy = z.enum(['auto', 'single', 'vertical', 'delta_hedge']);
export type RecommendStrategy = z.infer<typeof recommendStrategy>;

/** What a preset aims for, shown beside the risk slider. */
export const presetTargetsView = z.object({
  preset: riskPreset,
  /** Target |delta| of the (long) leg. */
  targetDelta: z.number(),
  minDte: z.number().int(),
  maxDte: z.number().int(),
  /** Maximum loss of the position as a share of capital (0.02 = 2 %). */
  maxLossShare: z.number(),
  filters: chainFilters,
});
export type PresetTargetsView = z.infer<typeof presetTargetsView>;

/** The user's saved recommender settings (per person and desk). */
export const optionPreferencesView = z.object({
  capital: z.string().nullable(),
  preset: riskPreset,
});
export const saveOptionPreferencesInput = z.strictObject({
  capital: positiveDecimalString.optional(),
  preset: riskPreset.optional(),
});

export const recommendInput = z.strictObject({
  symbol: instrumentSymbol,
  view: directionalView,
  preset: riskPreset,
  /** Capital the position is sized against; absent: the capital saved in the profile. */
  capital: positiveDecimalString.optional(),
  strategy: recommendStrategy.default('auto'),
  /** Save capital and preset to the profile (default true). */
  save: z.boolean().default(true),
});
export type RecommendInput = z.infer<typeof recommendInput>;

/** One explainable row of a layer: a label, its value, and why it matters. */
export const layerRow = z.object({ label: z.string(), value: z.string(), note: z.string().optional() });

export const layerKind = z.enum(['context', 'filters', 'scoring', 'sizing', 'risk']);
export type LayerKind = z.infer<typeof layerKind>;

/** One layer of the rationale, streamed as soon as it is computed. */
export const recommendationLayer = z.object({
  kind: layerKind,
  title: z.string(),
  summary: z.string(),
  rows: z.array(layerRow),
  /** Risk layer: the governor's verdict per rule. */
  verdicts: z.array(ruleVerdict).optional(),
});
export type RecommendationLayer = z.infer<typeof recommendationLayer>;

export const recommendedLeg = z.object({
  symbol: z.string(),
  right: optionRight.nullable(),
  strike: z.string().nullable(),
  expiry: isoDate.nullable(),
  side: orderSide,
  ratio: z.number().int(),
  /** Mid price per unit at recommendation time. */
  price: z.string().nullable(),
  delta: z.number().nullable(),
});

export const recommendationView = z.object({
  symbol: z.string(),
  strategy: z.enum(['single', 'vertical', 'delta_hedge']),
  legs: z.array(recommendedLeg),
  /** Whole units (contracts, or the hedge's lot-rounded quantity). */
  quantity: z.string(),
  /** Net price per unit of the strategy: positive a debit paid, negative a credit received. */
  netPrice: z.string(),
  /** Worst case of the whole position (decimal string); `unbounded` for a delta hedge. */
  maxLoss: z.string(),
  maxGain: z.string().nullable(),
  breakevens: z.array(z.string()),
  /** Position delta in units of the underlying (quantity × multiplier × Σ leg deltas). */
  netDelta: z.number(),
  /** The governor's verdict on the whole order. */
  allowed: z.boolean(),
});
export type RecommendationView = z.infer<typeof recommendationView>;

/** Streamed events of options.recommend: layers in order, then the result (or why there is none). */
export const recommendationEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('layer'), layer: recommendationLayer }),
  z.object({
    type: z.literal('result'),
    recommendation: recommendationView.nullable(),
    reason: z.string().optional(),
  }),
]);
export type RecommendationEvent = z.infer<typeof recommendationEvent>;
