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
  /** Span (trades) of the medium-horizon trade-sign imbalance. */
  ofiSpan: z.number().min(1).default(32),
  spreadSpan: z.number().min(1).default(128),
  /** Span of the EWMA variance of (price - emaSlow) used by the deviation z. */
  deviationSpan: z.number().min(1).default(64),
  /** Span (trades) of the short-horizon trade-sign imbalance and volume. */
  flowFastSpan: z.number().min(1).default(8),
  /** Span (trades) of the long-horizon trade-sign imbalance. */
  flowSlowSpan: z.number().min(1).default(128),
  /** Span (ticks) of the Cont–Kukanov–Stoikov order-flow imbalance EWMA. */
  cksSpan: z.number().min(1).default(16),
  /** Span (ticks with a book) of the per-side touch depth EWMAs (a displayed size alone is noisy). */
  depthFastSpan: z.number().min(1).default(8),
  /** Span (ticks with a book) of the usual touch depth (the normaliser of OFI and depth change). */
  depthSlowSpan: z.number().min(1).default(256),
  momentumTicks: z.number().int().min(1).max(MAX_PRICE_WINDOW).default(20),
});
export type FeatureParams = z.infer<typeof featureParamsSchema>;

/**
 * Pattern detector thresholds and cooldowns (patterns/detectors.ts gives each pattern's meaning).
 * The defaults are fitted on the evaluation harness's TRAINING seeds only
 * (`npm run model:fit-detectors`, engine/models/detector-fit.json) and recorded with the model;
 * the engine's config can override any of them (ENGINE_PATTERN_PARAMS).
 * Cooldowns are per symbol and per pattern, in event time.
 */
export const patternParamsSchema = z.strictObject({
  /** No candidate before a symbol has applied this many ticks (EWMAs settle). */
  warmupTicks: z.number().int().min(1).default(200),
  /** Breakout: trade-sign imbalance (medium horizon) at least this, in the candidate's direction. */
  breakoutMinFlow: z.number().min(0).max(1).default(0.6),
  /** Breakout: depth imbalance at least this toward the flow (the side being hit is thinner). */
  breakoutMinDepthImbalance: z.number().min(-1).max(1).default(0.8),
  /** Breakout: the price has not run yet: |deviation z| at most this. */
  breakoutMaxDeviationZ: z.number().positive().default(2),
  breakoutCooldownUs: z.number().int().min(0).default(1_000_000),
  /** Mean reversion: |momentum| at least this many sd of the mid's move over the momentum window. */
  meanReversionZ: z.number().positive().default(3.5),
  /** Mean reversion: short-horizon trade-sign imbalance with the move at least this (a one-sided push). */
  meanReversionMinFlow: z.number().min(-1).max(1).default(0.5),
  /** Mean reversion: the book leans against the move (depth imbalance against it) at least this. */
  meanReversionMinBookLean: z.number().min(-1).max(1).default(-1),
  meanReversionCooldownUs: z.number().int().min(0).default(2_000_000),
  /** Absorption: short-horizon trade-sign imbalance at least this (one side is aggressing). */
  absorptionMinFlow: z.number().min(0).max(1).default(0.9),
  /** Absorption: the hit side holds: depth imbalance against the flow at least this. */
  absorptionMinBookLean: z.number().min(-1).max(1).default(0.3),
  /** Absorption: the price did not give way: |deviation z| at most this. */
  absorptionMaxDeviationZ: z.number().positive().default(5),
  absorptionCooldownUs: z.number().int().min(0).default(10_000_000),
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
  aFlowSlow: number;
  aCks: number;
  aDepthFast: number;
  aDepthSlow: number;
  momentumTicks: number;
  warmupTicks: number;
  breakoutMinFlow: number;
  breakoutMinDepthImbalance: number;
  /** breakoutMaxDeviationZ squared (detectors compare squares: no square root per tick). */
  breakoutMaxDeviationZ2: number;
  breakoutCooldownUs: number;
  /** meanReversionZ² × momentumTicks: |momentum|² ≥ this × per-tick variance. */
  meanReversionMomentum2: number;
  meanReversionMinFlow: number;
  meanReversionMinBookLean: number;
  meanReversionCooldownUs: number;
  absorptionMinFlow: number;
  absorptionMinBookLean: number;
  absorptionMaxDeviationZ2: number;
  absorptionCooldownUs: number;
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
    aFlowSlow: alphaOfSpan(f.flowSlowSpan),
    aCks: alphaOfSpan(f.cksSpan),
    aDepthFast: alphaOfSpan(f.depthFastSpan),
    aDepthSlow: alphaOfSpan(f.depthSlowSpan),
    momentumTicks: f.momentumTicks,
    warmupTicks: p.warmupTicks,
    breakoutMinFlow: p.breakoutMinFlow,
    breakoutMinDepthImbalance: p.breakoutMinDepthImbalance,
    breakoutMaxDeviationZ2: p.breakoutMaxDeviationZ * p.breakoutMaxDeviationZ,
    breakoutCooldownUs: p.breakoutCooldownUs,
    meanReversionMomentum2: p.meanReversionZ * p.meanReversionZ * f.momentumTicks,
    meanReversionMinFlow: p.meanReversionMinFlow,
    meanReversionMinBookLean: p.meanReversionMinBookLean,
    meanReversionCooldownUs: p.meanReversionCooldownUs,
    absorptionMinFlow: p.absorptionMinFlow,
    absorptionMinBookLean: p.absorptionMinBookLean,
    absorptionMaxDeviationZ2: p.absorptionMaxDeviationZ * p.absorptionMaxDeviationZ,
    absorptionCooldownUs: p.absorptionCooldownUs,
  };
}
