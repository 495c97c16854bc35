import { z } from 'zod';
import { MAX_PRICE_WINDOW } from './state.ts';

/**
 * Feature parameters. Spans are in ticks of the symbol (EWMA alpha = 2 / (span + 1)); windows read
 * the per-symbol price ring and are bounded by MAX_PRICE_WINDOW (state.ts explains why).
 */
export const featureParamsSchema = z.strictObject({
  emaFastSpan: z.number().min(1).default(12),
  emaSlowSpan: z.number().min(1).default(48),
  realizedVolSpan: z.number().min(1).default(64),
  ofiSpan: z.number().min(1).default(32),
  spreadSpan: z.number().min(1).default(128),
  /** Span of the EWMA variance of (price - emaSlow) used by the mean-reversion z. */
  deviationSpan: z.number().min(1).default(64),
  /** Span of the short-horizon flow EWMAs used by the absorption detector. */
  flowFastSpan: z.number().min(1).default(8),
  momentumTicks: z.number().int().min(1).max(MAX_PRICE_WINDOW).default(20),
  /** Rolling high/low band length (previous W reference prices, compared as logs) for the breakout detector. */
  bandWindow: z.number().int().min(2).max(MAX_PRICE_WINDOW).default(30),
  /** Horizon (in reference prices) of the "little price move" test of the absorption detector. */
  absorptionTicks: z.number().int().min(1).max(MAX_PRICE_WINDOW).default(8),
});
export type FeatureParams = z.infer<typeof featureParamsSchema>;

/** Pattern detector thresholds. Cooldowns are per symbol and per pattern, in event time. */
export const patternParamsSchema = z.strictObject({
  /** No candidate before a symbol has applied this many ticks (EWMAs and bands settle). */
  warmupTicks: z.number().int().min(1).default(64),
  /** Breakout: |OFI| at least this, in the breakout's direction. */
  breakoutMinOfi: z.number().min(0).max(1).default(0.2),
  /** Mean reversion: |price z| at least this. */
  meanReversionZ: z.number().positive().default(3),
  /** Absorption: short-horizon trade size at least this multiple of the long-horizon one. */
  absorptionVolumeRatio: z.number().positive().default(1.8),
  /** Absorption: |short-horizon signed / total volume| at least this (one side is aggressing). */
  absorptionMinImbalance: z.number().min(0).max(1).default(0.6),
  /** Absorption: |log move over absorptionTicks| at most this many per-tick sigmas × sqrt(ticks). */
  absorptionMaxMoveSigmas: z.number().positive().default(0.5),
  /** After a candidate of a pattern, no candidate of that pattern for the symbol for this long. */
  cooldownUs: z.number().int().min(0).default(1_000_000),
});
export type PatternParams = z.infer<typeof patternParamsSchema>;

export const DEFAULT_FEATURE_PARAMS: FeatureParams = Object.freeze(featureParamsSchema.parse({}));
export const DEFAULT_PATTERN_PARAMS: PatternParams = Object.freeze(patternParamsSchema.parse({}));

/** The numbers the per-tick code uses, precomputed once (no per-tick division or lookup). */
export interface Coefficients {
  aFast: number;
  aSlow: number;
  aRv: number;
  aOfi: number;
  aSpread: number;
  aDev: number;
  aFlowFast: number;
  momentumTicks: number;
  bandWindow: number;
  absorptionTicks: number;
  absorptionSqrtTicks: number;
  warmupTicks: number;
  breakoutMinOfi: number;
  meanReversionZ: number;
  /** meanReversionZ squared (the detector compares squares: no square root per tick). */
  meanReversionZ2: number;
  absorptionVolumeRatio: number;
  absorptionMinImbalance: number;
  absorptionMaxMoveSigmas: number;
  cooldownUs: number;
}

export const alphaOfSpan = (span: number): number => 2 / (span + 1);

export function coefficients(f: FeatureParams, p: PatternParams): Coefficients {
  return {
    aFast: alphaOfSpan(f.emaFastSpan),
    aSlow: alphaOfSpan(f.emaSlowSpan),
    aRv: alphaOfSpan(f.realizedVolSpan),
    aOfi: alphaOfSpan(f.ofiSpan),
    aSpread: alphaOfSpan(f.spreadSpan),
    aDev: alphaOfSpan(f.deviationSpan),
    aFlowFast: alphaOfSpan(f.flowFastSpan),
    momentumTicks: f.momentumTicks,
    bandWindow: f.bandWindow,
    absorptionTicks: f.absorptionTicks,
    absorptionSqrtTicks: Math.sqrt(f.absorptionTicks),
    warmupTicks: p.warmupTicks,
    breakoutMinOfi: p.breakoutMinOfi,
    meanReversionZ: p.meanReversionZ,
    meanReversionZ2: p.meanReversionZ * p.meanReversionZ,
    absorptionVolumeRatio: p.absorptionVolumeRatio,
    absorptionMinImbalance: p.absorptionMinImbalance,
    absorptionMaxMoveSigmas: p.absorptionMaxMoveSigmas,
    cooldownUs: p.cooldownUs,
  };
}
