import { MODEL_INPUT_SIZE, toModelInputs } from '../model/inputs.ts';
import { type MlpModel, mlpForward } from '../model/mlp.ts';
import { PATTERN_NAMES } from '../ring/layout.ts';
import type { Candidate, MarketRun } from './market-run.ts';
import type { Signal } from './signal-metrics.ts';

/**
 * The engine's signals: every candidate of every run, scored the way the inference thread scores
 * it (toModelInputs on the candidate's features, price, pattern and direction, then the model; the
 * TypeScript forward pass is the ONNX graph's reference, parity is tested in model/).
 */

export function patternName(code: number): string {
  return PATTERN_NAMES[code] ?? `pattern_${code}`;
}

/** Model input rows of `candidates` (row-major, MODEL_INPUT_SIZE per row). */
export function modelInputRows(candidates: readonly Candidate[]): Float32Array {
  const x = new Float32Array(candidates.length * MODEL_INPUT_SIZE);
  candidates.forEach((c, i) => {
    toModelInputs(c.features, c.price, c.pattern, c.direction, x, i * MODEL_INPUT_SIZE);
  });
  return x;
}

/** A candidate of run `run` as a scored signal. */
export function signalOf(run: number, c: Candidate, score: number): Signal {
  return {
    run,
    symbol: c.symbol,
    tick: c.tick,
    tsUs: c.tsUs,
    pattern: patternName(c.pattern),
    direction: c.direction,
    score,
  };
}

export function engineSignals(runs: readonly MarketRun[], model: MlpModel): Signal[] {
  const out: Signal[] = [];
  runs.forEach((run, r) => {
    const n = run.candidates.length;
    if (n === 0) return;
    const scores = new Float64Array(n);
    mlpForward(model, modelInputRows(run.candidates), n, scores);
    run.candidates.forEach((c, i) => {
      out.push(signalOf(r, c, scores[i]!));
    });
  });
  return out;
}
