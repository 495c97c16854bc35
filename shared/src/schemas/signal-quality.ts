import { z } from 'zod';

/**
 * Signal quality as the evaluation harness measures it (engine/src/eval/, `npm run eval:signals`),
 * stored with each model in the registry (table `signal_models`) and shown by the console's
 * signal-quality page and `aegis eval signals`. One row per signal source: the engine (overall or
 * one pattern) and the baselines that hold the same number of signals in the same run.
 */

export const signalSourceSchema = z.enum(['engine', 'momentum', 'mean_reversion_rule', 'random']);

/** Reliability of the score: signals with a score in [from, to) and how often they were right. */
export const calibrationBinSchema = z.strictObject({
  from: z.number(),
  to: z.number(),
  n: z.number().int().min(0),
  meanScore: z.number().nullable(),
  /** Share of the bin's signals whose direction was right (forward mid return > 0). */
  hitRate: z.number().nullable(),
});

export const signalQualityRowSchema = z.strictObject({
  source: signalSourceSchema,
  /** 'all', or a pattern name for the engine's per-pattern rows. */
  pattern: z.string(),
  signals: z.number().int().min(0),
  /** Share of signals inside a labelled event window (any direction). */
  precisionLocation: z.number().nullable(),
  /** Share of signals inside a labelled event window and in the event's direction. */
  precisionDirection: z.number().nullable(),
  /** Share of labelled events with at least one signal in their window. */
  recall: z.number().nullable(),
  /** Mean forward mid return in bp (signed by the signal's direction), per horizon in ticks. */
  forwardReturnBp: z.record(z.string(), z.number().nullable()),
  /** Share of signals with a positive signed forward return at the main horizon. */
  hitRate: z.number().nullable(),
  /** AUC of the score against "signed forward return > 0" (null for unscored baselines). */
  auc: z.number().nullable(),
  calibration: z.array(calibrationBinSchema),
});
export type SignalQualityRow = z.infer<typeof signalQualityRowSchema>;

export const signalEvaluationSchema = z.strictObject({
  modelVersion: z.string(),
  split: z.enum(['train', 'validation', 'test']),
  seeds: z.array(z.number().int()),
  symbols: z.number().int(),
  ticks: z.number().int(),
  events: z.number().int(),
  /** Horizons (ticks of the same symbol) of forwardReturnBp; the first is the main one. */
  horizonsTicks: z.array(z.number().int().positive()).min(1),
  rows: z.array(signalQualityRowSchema),
  /** The target, checked on this run: direction precision and forward return above every
   * baseline at equal counts, AUC ≥ 0.65, calibration error small. */
  target: z.strictObject({
    met: z.boolean(),
    checks: z.array(z.strictObject({ name: z.string(), passed: z.boolean(), detail: z.string() })),
  }),
});
export type SignalEvaluation = z.infer<typeof signalEvaluationSchema>;

/** A model in the registry (table `signal_models`). */
export const signalModelViewSchema = z.strictObject({
  version: z.string(),
  createdAt: z.string(),
  /** sha-256 of the training data description (generator, seeds, ticks, params). */
  trainingDataHash: z.string(),
  metrics: z.record(z.string(), z.unknown()),
  evaluation: signalEvaluationSchema.nullable(),
  /** The model the engine scores with now. */
  active: z.boolean(),
});
export type SignalModelView = z.infer<typeof signalModelViewSchema>;
