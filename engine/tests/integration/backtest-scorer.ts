import type { Scorer } from '../../src/backtest/scorer.ts';

/**
 * The model for the job tests: every candidate scores 0.9, so the run places orders whatever the
 * model file of the day says. These tests are about jobs (claims, leases, progress, cancel,
 * resume); the model's own quality has its tests and its harness (engine/src/eval/).
 */
export const constantScorer: Scorer = Object.freeze({
  version: 'test-constant-0.9',
  score(_inputs: Float32Array, n: number, out: Float64Array) {
    out.fill(0.9, 0, n);
  },
});
