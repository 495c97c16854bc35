import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../model/model-file.ts';
import { type EvaluationResult, evaluateSplit } from './harness.ts';
import { REGRESSION_SEEDS } from './splits.ts';

/**
 * The edge over the baselines, asserted on every build (as LEAN asserts its regression
 * algorithms' statistics): the committed model and today's detectors on a small labelled market
 * of fixed seeds (REGRESSION_SEEDS, disjoint from the training, validation and test seeds), the
 * baselines holding the same number of signals in the same run. The full report is
 * `npm run eval:signals`; these are its headline numbers on a market small enough for `npm test`.
 */
const SYMBOLS = 10;
const TICKS_PER_SEED = 300_000;
/** Below the harness target (0.65): a small market's AUC is noisier than the test split's. */
const AUC_FLOOR = 0.6;

describe('signal edge over the baselines (regression seeds)', () => {
  let result: EvaluationResult;
  const all = (source: string) =>
    result.evaluation.rows.find((r) => r.source === source && r.pattern === 'all')!;
  const main = () => String(result.evaluation.horizonsTicks[0]);

  beforeAll(async () => {
    const { file, model } = await loadModelFile();
    result = evaluateSplit({
      split: 'test',
      seeds: REGRESSION_SEEDS,
      model,
      modelVersion: file.version,
      symbols: SYMBOLS,
      ticksPerSeed: TICKS_PER_SEED,
    });
  }, 60_000);

  it('compares equal signal counts', () => {
    const engine = all('engine');
    expect(engine.signals).toBeGreaterThan(100);
    for (const source of ['momentum', 'mean_reversion_rule', 'random'])
      expect(all(source).signals).toBe(engine.signals);
  });

  it('is right about direction inside events more often than momentum and random', () => {
    const engine = all('engine').precisionDirection!;
    expect(engine).toBeGreaterThan(all('momentum').precisionDirection!);
    expect(engine).toBeGreaterThan(all('random').precisionDirection!);
  });

  it('earns a higher mean forward return than momentum and random', () => {
    const h = main();
    const engine = all('engine').forwardReturnBp[h]!;
    expect(engine).toBeGreaterThan(all('momentum').forwardReturnBp[h]!);
    expect(engine).toBeGreaterThan(all('random').forwardReturnBp[h]!);
  });

  it(`ranks signals by their score (AUC at least ${AUC_FLOOR})`, () => {
    expect(all('engine').auc!).toBeGreaterThanOrEqual(AUC_FLOOR);
  });
});
