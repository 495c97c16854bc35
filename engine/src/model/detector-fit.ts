/**
 * Fitting the pattern detectors' thresholds and cooldowns on the evaluation harness's TRAINING
 * seeds only (never validation or test): coordinate search over a grid per parameter, each
 * pattern scored by the F-score (β = 0.5: precision weighs more than recall, since a
 * signal that fires wrongly costs money and a missed event only an opportunity) of its direction
 * precision and recall of its own candidates against the labelled
 * markets (eval/signal-metrics.ts), with a floor on its signal count. The markets run through
 * the production feature and detector code (eval/market-run.ts → FeatureStepper).
 */

import { signalOf } from '../eval/engine-scoring.ts';
import { runMarkets } from '../eval/harness.ts';
import type { MarketRun } from '../eval/market-run.ts';
import { indexEvents, qualityRow, type Signal } from '../eval/signal-metrics.ts';
import {
  DEFAULT_FEATURE_PARAMS,
  type FeatureParams,
  type PatternParams,
  patternParamsSchema,
} from '../features/params.ts';

export type PatternKey = 'breakout' | 'mean_reversion' | 'absorption';

/** The grid of each fitted parameter and the pattern it belongs to. */
export const FIT_GRID: ReadonlyArray<{
  readonly key: keyof PatternParams;
  readonly pattern: PatternKey;
  readonly values: readonly number[];
}> = [
  { key: 'breakoutMinFlow', pattern: 'breakout', values: [0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85] },
  { key: 'breakoutMinDepthImbalance', pattern: 'breakout', values: [0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85] },
  { key: 'breakoutMaxDeviationZ', pattern: 'breakout', values: [1, 1.5, 2, 3, 5] },
  { key: 'breakoutCooldownUs', pattern: 'breakout', values: [1e6, 2e6, 5e6, 10e6] },
  { key: 'meanReversionZ', pattern: 'mean_reversion', values: [2, 2.5, 3, 3.5, 4, 5, 6] },
  { key: 'meanReversionMinFlow', pattern: 'mean_reversion', values: [0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8] },
  {
    key: 'meanReversionMinBookLean',
    pattern: 'mean_reversion',
    values: [-1, -0.2, 0, 0.1, 0.2, 0.3, 0.4, 0.5],
  },
  { key: 'meanReversionCooldownUs', pattern: 'mean_reversion', values: [2e6, 5e6, 10e6, 20e6] },
  { key: 'absorptionMinFlow', pattern: 'absorption', values: [0.5, 0.6, 0.7, 0.8, 0.9] },
  { key: 'absorptionMinBookLean', pattern: 'absorption', values: [0, 0.1, 0.2, 0.3, 0.4, 0.5] },
  { key: 'absorptionMaxDeviationZ', pattern: 'absorption', values: [0.5, 1, 1.5, 2, 3, 5, 10] },
  { key: 'absorptionCooldownUs', pattern: 'absorption', values: [2e6, 5e6, 10e6, 20e6] },
];

/**
 * Where the search starts (hand-set values, before any fit), so that a rerun reproduces the
 * committed fit exactly rather than starting from the defaults it produced.
 */
export const FIT_START: Partial<PatternParams> = Object.freeze({
  warmupTicks: 200,
  breakoutMinFlow: 0.6,
  breakoutMinDepthImbalance: 0.85,
  breakoutMaxDeviationZ: 2,
  breakoutCooldownUs: 1_000_000,
  meanReversionZ: 3.5,
  meanReversionMinFlow: 0.5,
  meanReversionMinBookLean: 0.3,
  meanReversionCooldownUs: 10_000_000,
  absorptionMinFlow: 0.6,
  absorptionMinBookLean: 0.2,
  absorptionMaxDeviationZ: 1,
  absorptionCooldownUs: 10_000_000,
});

/** F-score weight: β < 1 favours precision. */
export const F_BETA = 0.5;

export function fScore(precision: number, recall: number, beta: number): number {
  const b2 = beta * beta;
  return ((1 + b2) * precision * recall) / (b2 * precision + recall);
}

/** A pattern with fewer signals than this per seed scores 0 (precision of a handful is noise). */
export const MIN_SIGNALS_PER_SEED = 15;

export interface PatternScore {
  readonly signals: number;
  readonly precisionDirection: number;
  readonly recall: number;
  readonly forwardReturnBp: number;
  readonly objective: number;
}

/** Each pattern's score on `runs` (main horizon 200 ticks for the forward return). */
export function scorePatterns(runs: readonly MarketRun[]): Record<PatternKey, PatternScore> {
  const events = indexEvents(runs);
  const signals: Signal[] = [];
  runs.forEach((run, r) => {
    // Every candidate at one score: the pattern alone is what is scored here.
    for (const c of run.candidates) signals.push(signalOf(r, c, 0.5));
  });
  const out = {} as Record<PatternKey, PatternScore>;
  for (const pattern of ['breakout', 'mean_reversion', 'absorption'] as const) {
    const mine = signals.filter((s) => s.pattern === pattern);
    const row = qualityRow(runs, events, mine, {
      source: 'engine',
      pattern,
      horizons: [200],
      auc: false,
      calibration: false,
    });
    const precision = row.precisionDirection ?? 0;
    const recall = row.recall ?? 0;
    const enough = mine.length >= MIN_SIGNALS_PER_SEED * runs.length;
    out[pattern] = {
      signals: mine.length,
      precisionDirection: precision,
      recall,
      forwardReturnBp: row.forwardReturnBp['200'] ?? 0,
      objective: enough && precision + recall > 0 ? fScore(precision, recall, F_BETA) : 0,
    };
  }
  return out;
}

export interface FitOptions {
  readonly seeds: readonly number[];
  readonly symbols: number;
  readonly ticksPerSeed: number;
  readonly passes: number;
  readonly start?: Partial<PatternParams>;
  readonly featureParams?: FeatureParams;
  readonly onStep?: (line: string) => void;
}

export interface FitResult {
  readonly params: PatternParams;
  readonly scores: Record<PatternKey, PatternScore>;
  readonly evaluations: number;
}

/** Coordinate search: each parameter in turn takes its grid value that maximises its pattern's objective. */
export function fitDetectors(o: FitOptions): FitResult {
  const featureParams = o.featureParams ?? DEFAULT_FEATURE_PARAMS;
  let params = patternParamsSchema.parse(o.start ?? {});
  let evaluations = 0;
  const cache = new Map<string, Record<PatternKey, PatternScore>>();
  const score = (p: PatternParams): Record<PatternKey, PatternScore> => {
    const key = JSON.stringify(p);
    const hit = cache.get(key);
    if (hit) return hit;
    evaluations++;
    const runs = runMarkets(o.seeds, {
      symbols: o.symbols,
      ticksPerSeed: o.ticksPerSeed,
      featureParams,
      patternParams: p,
    });
    const s = scorePatterns(runs);
    cache.set(key, s);
    return s;
  };
  let current = score(params);
  for (let pass = 0; pass < o.passes; pass++) {
    let changed = false;
    for (const g of FIT_GRID) {
      let best = params[g.key];
      let bestObjective = current[g.pattern].objective;
      for (const v of g.values) {
        if (v === params[g.key]) continue;
        const s = score({ ...params, [g.key]: v });
        if (s[g.pattern].objective > bestObjective + 1e-9) {
          bestObjective = s[g.pattern].objective;
          best = v;
        }
      }
      if (best !== params[g.key]) {
        params = { ...params, [g.key]: best };
        current = score(params);
        changed = true;
      }
      const c = current[g.pattern];
      o.onStep?.(
        `pass ${pass + 1} ${g.key} = ${params[g.key]}: ${g.pattern} n ${c.signals} precision ${c.precisionDirection.toFixed(3)} recall ${c.recall.toFixed(3)} fwd ${c.forwardReturnBp.toFixed(2)} bp objective ${c.objective.toFixed(4)}`,
      );
    }
    if (!changed) break;
  }
  return { params, scores: current, evaluations };
}
