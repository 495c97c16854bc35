/**
 * `npm run model:train` — trains the signal MLP on the evaluation harness's labelled markets and
 * writes engine/models/signal-mlp.{onnx,json}.
 *
 *   npm run model:train -- [--symbols 20] [--ticks 2000000] [--epochs 60] [--patience 10]
 *                          [--out-dir engine/models]
 *
 * Honest splits (eval/splits.ts): weights are fitted on the TRAINING seeds' candidates; the
 * hyper-parameters (a small grid of shapes and learning rates) and the epoch are chosen on the
 * VALIDATION seeds, where the score is also calibrated (Platt scaling folded into the output
 * layer, model/calibration.ts); the TEST seeds are run once, at the end, for the report and the
 * harness's SignalEvaluation stored in the JSON (and, on engine start, in the model registry).
 * Candidates come from the production features and detectors with the engine's default params
 * (whose thresholds are fitted on training seeds too, model/detector-fit.ts).
 * Deterministic: the same arguments produce byte-identical files (no timestamps).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  collectCandidates,
  DEFAULT_SYMBOLS,
  DEFAULT_TICKS_PER_SEED,
  evaluateRuns,
  HORIZONS_TICKS,
} from '../eval/harness.ts';
import { TEST_SEEDS, TRAINING_SEEDS, VALIDATION_SEEDS } from '../eval/splits.ts';
import { DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS } from '../features/params.ts';
import { fitPlatt, foldPlatt } from './calibration.ts';
import { mergeSingleHiddenLayer } from './ensemble.ts';
import { MODEL_INPUT_NAMES } from './inputs.ts';
import { baseRate, logLoss, rocAuc } from './metrics.ts';
import {
  type HiddenActivation,
  type LabelledSet,
  type MlpModel,
  mlpForward,
  mlpParameterCount,
  trainMlp,
} from './mlp.ts';
import { DEFAULT_JSON_PATH, MODEL_FILE_FORMAT, type ModelFile, modelToLayersJson } from './model-file.ts';
import { exportMlpToOnnx, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, weightsHash } from './onnx-export.ts';
import { trainingDataHash } from './training-data.ts';

const { values } = parseArgs({
  options: {
    symbols: { type: 'string', default: String(DEFAULT_SYMBOLS) },
    ticks: { type: 'string', default: String(DEFAULT_TICKS_PER_SEED) },
    epochs: { type: 'string', default: '60' },
    patience: { type: 'string', default: '10' },
    'out-dir': { type: 'string', default: join(DEFAULT_JSON_PATH, '..') },
  },
  strict: true,
});
function int(name: 'symbols' | 'ticks' | 'epochs' | 'patience'): number {
  const v = Number(values[name]);
  if (!Number.isSafeInteger(v) || v < 1)
    throw new Error(`--${name} must be a positive integer, got ${values[name]}`);
  return v;
}
const market = { symbols: int('symbols'), ticksPerSeed: int('ticks') };
const engineParams = { featureParams: DEFAULT_FEATURE_PARAMS, patternParams: DEFAULT_PATTERN_PARAMS };

/**
 * The hyper-parameter grid chosen from on validation. Each entry is a seed-bagged ensemble of
 * single-hidden-layer networks (model/ensemble.ts), merged into one network before it is scored.
 */
const GRID: ReadonlyArray<{
  hiddenSizes: number[];
  hiddenActivation: HiddenActivation;
  learningRate: number;
  weightDecay: number;
}> = [
  { hiddenSizes: [16], hiddenActivation: 'tanh', learningRate: 0.003, weightDecay: 1e-4 },
  { hiddenSizes: [8], hiddenActivation: 'tanh', learningRate: 0.003, weightDecay: 1e-3 },
  { hiddenSizes: [32], hiddenActivation: 'tanh', learningRate: 0.002, weightDecay: 1e-3 },
  { hiddenSizes: [16], hiddenActivation: 'relu', learningRate: 0.002, weightDecay: 1e-4 },
];
/** Members per ensemble (different initialisation and shuffling seeds). */
const ENSEMBLE_SEEDS = 5;

const t0 = performance.now();
const train = collectCandidates(TRAINING_SEEDS, { ...market, ...engineParams });
const valid = collectCandidates(VALIDATION_SEEDS, { ...market, ...engineParams });
const byPattern = (m: { pattern: string }[]) =>
  m.reduce<Record<string, number>>((acc, c) => {
    acc[c.pattern] = (acc[c.pattern] ?? 0) + 1;
    return acc;
  }, {});
console.log(
  `data: train ${train.set.n} candidates ${JSON.stringify(byPattern([...train.meta]))} (positive ${(baseRate(train.set.y) * 100).toFixed(1)}%), ` +
    `validation ${valid.set.n} (positive ${(baseRate(valid.set.y) * 100).toFixed(1)}%), ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
if (train.set.n < 200 || valid.set.n < 100) throw new Error('too few candidates: raise --ticks');

async function generatorSourceHash(): Promise<string> {
  const h = createHash('sha256');
  for (const f of ['labelled-market.ts', 'market-params.ts']) {
    h.update(await readFile(fileURLToPath(new URL(`../eval/${f}`, import.meta.url))));
  }
  return h.digest('hex');
}

function probabilities(model: MlpModel, set: LabelledSet): Float64Array {
  const p = new Float64Array(set.n);
  mlpForward(model, set.x, set.n, p);
  return p;
}
function metricsOf(model: MlpModel, set: LabelledSet) {
  const p = probabilities(model, set);
  return { n: set.n, positiveRate: baseRate(set.y), loss: logLoss(p, set.y), auc: rocAuc(p, set.y) };
}

let chosen: {
  model: MlpModel;
  options: (typeof GRID)[number] & { epochs: number; batchSize: number; seeds: number[]; patience: number };
  bestEpochs: number[];
  validLoss: number;
} | null = null;
const selection: unknown[] = [];
for (const [i, g] of GRID.entries()) {
  const seeds = Array.from({ length: ENSEMBLE_SEEDS }, (_, s) => 4242 + 100 * i + s);
  const options = { ...g, epochs: int('epochs'), batchSize: 128, seeds, patience: int('patience') };
  const members = seeds.map((seed) => trainMlp(train.set, valid.set, { ...options, seed }));
  const merged = mergeSingleHiddenLayer(members.map((r) => r.model));
  const bestEpochs = members.map((r) => r.bestEpoch);
  const m = metricsOf(merged, valid.set);
  selection.push({ options, bestEpochs, validLoss: m.loss, validAuc: m.auc });
  console.log(
    `grid ${i}: ${ENSEMBLE_SEEDS} × hidden ${g.hiddenSizes.join(',')} ${g.hiddenActivation} lr ${g.learningRate} wd ${g.weightDecay}: best epochs ${bestEpochs.join(',')}, valid loss ${m.loss.toFixed(5)} AUC ${m.auc.toFixed(4)}`,
  );
  if (!chosen || m.loss < chosen.validLoss)
    chosen = { model: merged, options, bestEpochs, validLoss: m.loss };
}
if (!chosen) throw new Error('no model trained');

// Calibrate on validation (Platt), folded into the output layer.
const platt = fitPlatt(probabilities(chosen.model, valid.set), valid.set.y);
const model = foldPlatt(chosen.model, platt);
const version = `signal-mlp-${weightsHash(model)}`;

// The test seeds, once (the harness's evaluation of the same runs is what `npm run eval:signals` prints).
const testSet = collectCandidates(TEST_SEEDS, { ...market, ...engineParams });
const { evaluation } = evaluateRuns(testSet.runs, { split: 'test', model, modelVersion: version });
const engineAll = evaluation.rows.find((r) => r.source === 'engine' && r.pattern === 'all');

const dataDescription = {
  generator: 'engine/src/eval/labelled-market.ts',
  // The generator's code is part of the data: a change of the simulation is a change of the hash.
  generatorSourceSha256: await generatorSourceHash(),
  seeds: { train: TRAINING_SEEDS, validation: VALIDATION_SEEDS, test: TEST_SEEDS },
  symbols: market.symbols,
  ticksPerSeed: market.ticksPerSeed,
  horizonsTicks: HORIZONS_TICKS,
  features: DEFAULT_FEATURE_PARAMS,
  patterns: DEFAULT_PATTERN_PARAMS,
};
const metrics = {
  train: metricsOf(model, train.set),
  validation: metricsOf(model, valid.set),
  test: {
    ...metricsOf(model, testSet.set),
    harnessAuc: engineAll?.auc ?? null,
    targetMet: evaluation.target.met,
  },
};
const summary = {
  dataset: {
    ...dataDescription,
    label: `direction * ln(mid[t + ${HORIZONS_TICKS[0]}] / mid[t]) > 0, same symbol (the harness's main horizon)`,
    candidates: {
      train: byPattern([...train.meta]),
      validation: byPattern([...valid.meta]),
      test: byPattern([...testSet.meta]),
    },
  },
  trainingDataHash: trainingDataHash(dataDescription),
  features: DEFAULT_FEATURE_PARAMS,
  patterns: DEFAULT_PATTERN_PARAMS,
  options: chosen.options,
  selection,
  bestEpochs: chosen.bestEpochs,
  calibration: { method: 'platt, fitted on validation, folded into the output layer', ...platt },
  parameters: mlpParameterCount(model),
  metrics,
  evaluation,
};

const onnxBytes = exportMlpToOnnx(model, {
  metadata: { version, inputNames: MODEL_INPUT_NAMES.join(','), format: MODEL_FILE_FORMAT },
});
const file: ModelFile = {
  format: MODEL_FILE_FORMAT,
  version,
  onnxSha256: createHash('sha256').update(onnxBytes).digest('hex'),
  inputName: ONNX_INPUT_NAME,
  outputName: ONNX_OUTPUT_NAME,
  inputNames: [...MODEL_INPUT_NAMES],
  layers: modelToLayersJson(model),
  training: summary,
};
const outDir = String(values['out-dir']);
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, 'signal-mlp.onnx'), onnxBytes);
await writeFile(join(outDir, 'signal-mlp.json'), `${JSON.stringify(file, null, 2)}\n`);
console.log(
  `chosen: ${JSON.stringify(chosen.options)} epochs ${chosen.bestEpochs.join(',')}; platt a ${platt.a.toFixed(3)} b ${platt.b.toFixed(3)}\n` +
    `train AUC ${metrics.train.auc.toFixed(4)}, validation AUC ${metrics.validation.auc.toFixed(4)} loss ${metrics.validation.loss.toFixed(5)}, test AUC ${metrics.test.auc.toFixed(4)}`,
);
for (const c of evaluation.target.checks) console.log(`${c.passed ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
console.log(
  `wrote ${version}: ${join(outDir, 'signal-mlp.onnx')} (${onnxBytes.length} bytes), signal-mlp.json`,
);
