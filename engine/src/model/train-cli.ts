/**
 * `npm run model:train` — trains the signal MLP and writes engine/models/signal-mlp.{onnx,json}.
 *
 *   npm run model:train -- [--seed 42] [--symbols 200] [--ticks 4000000]      synthetic market (default)
 *   npm run model:train -- --replay ticks.csv|ticks.ticks [--max-symbols 10000] recorded ticks
 *     common: [--horizon 50] [--epochs 40] [--hidden 16,8] [--activation relu|tanh] [--lr 0.002]
 *             [--batch 256] [--weight-decay 0.0001] [--patience 8] [--train-fraction 0.8]
 *             [--out-dir engine/models]
 *
 * Features and patterns are the production ones (features/, patterns/ with default params).
 * Deterministic: the same arguments and input produce byte-identical files (no timestamps).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_FEATURE_PARAMS, DEFAULT_PATTERN_PARAMS } from '../features/params.ts';
import { buildTrainingData, type DatasetOptions, type TickSourceOptions } from './dataset.ts';
import { MODEL_INPUT_NAMES } from './inputs.ts';
import { baseRate, logLoss, rocAuc } from './metrics.ts';
import { type HiddenActivation, mlpForward, mlpParameterCount, trainMlp } from './mlp.ts';
import { DEFAULT_JSON_PATH, MODEL_FILE_FORMAT, type ModelFile, modelToLayersJson } from './model-file.ts';
import { exportMlpToOnnx, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, weightsHash } from './onnx-export.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    symbols: { type: 'string', default: '200' },
    ticks: { type: 'string', default: '4000000' },
    replay: { type: 'string' },
    'max-symbols': { type: 'string', default: '10000' },
    horizon: { type: 'string', default: '50' },
    epochs: { type: 'string', default: '40' },
    hidden: { type: 'string', default: '16,8' },
    activation: { type: 'string', default: 'relu' },
    lr: { type: 'string', default: '0.002' },
    batch: { type: 'string', default: '256' },
    'weight-decay': { type: 'string', default: '0.0001' },
    patience: { type: 'string', default: '8' },
    'train-fraction': { type: 'string', default: '0.8' },
    'out-dir': { type: 'string', default: join(DEFAULT_JSON_PATH, '..') },
  },
  strict: true,
});

function num(name: keyof typeof values): number {
  const v = Number(values[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got ${values[name]}`);
  return v;
}

const activation = values.activation;
if (activation !== 'relu' && activation !== 'tanh') throw new Error('--activation must be relu or tanh');
const hiddenSizes = String(values.hidden)
  .split(',')
  .map((s) => Number(s));
if (hiddenSizes.some((h) => !Number.isInteger(h) || h <= 0)) throw new Error('--hidden must be like 16,8');

const source: TickSourceOptions = values.replay
  ? { kind: 'replay', path: values.replay, maxSymbols: num('max-symbols') }
  : { kind: 'synthetic', seed: num('seed'), symbols: num('symbols'), ticks: num('ticks') };
const datasetOptions: DatasetOptions = {
  source,
  horizonTicks: num('horizon'),
  trainFraction: num('train-fraction'),
};
const trainOptions = {
  hiddenSizes,
  hiddenActivation: activation as HiddenActivation,
  epochs: num('epochs'),
  batchSize: num('batch'),
  learningRate: num('lr'),
  weightDecay: num('weight-decay'),
  seed: num('seed') + 1,
  patience: num('patience'),
};

const t0 = performance.now();
const data = await buildTrainingData(datasetOptions);
const tData = performance.now();
console.log(
  `data: ${data.ticks} ticks, ${data.symbols} symbols, candidates ${JSON.stringify(data.candidatesByPattern)}, ` +
    `train ${data.train.n} (positive ${(baseRate(data.train.y) * 100).toFixed(1)}%), ` +
    `valid ${data.valid.n} (positive ${(baseRate(data.valid.y) * 100).toFixed(1)}%), ${((tData - t0) / 1000).toFixed(1)} s`,
);
if (data.train.n < 100 || data.valid.n < 100)
  throw new Error('too few candidates: raise --symbols or --ticks');

const result = trainMlp(data.train, data.valid, trainOptions, (r) => {
  console.log(
    `epoch ${String(r.epoch).padStart(3)}  train loss ${r.trainLoss.toFixed(5)}  valid loss ${r.validLoss.toFixed(5)}  valid AUC ${r.validAuc.toFixed(4)}`,
  );
});
const tTrain = performance.now();

const trainProb = new Float64Array(data.train.n);
mlpForward(result.model, data.train.x, data.train.n, trainProb);
const validProb = new Float64Array(data.valid.n);
mlpForward(result.model, data.valid.x, data.valid.n, validProb);
/** Validation AUC and positive rate per pattern (the one-hot inputs say which). */
function byPattern(): Record<string, { n: number; positiveRate: number; auc: number }> {
  const out: Record<string, { n: number; positiveRate: number; auc: number }> = {};
  const d = data.valid.d;
  (['breakout', 'mean_reversion', 'absorption'] as const).forEach((name, k) => {
    const p: number[] = [];
    const y: number[] = [];
    for (let r = 0; r < data.valid.n; r++) {
      if (data.valid.x[r * d + 7 + k] === 1) {
        p.push(validProb[r]!);
        y.push(data.valid.y[r]!);
      }
    }
    out[name] = { n: y.length, positiveRate: baseRate(y), auc: rocAuc(p, y) };
  });
  return out;
}

const summary = {
  dataset: {
    source: source.kind === 'synthetic' ? { ...source, generator: 'feeds/synthetic.ts' } : source,
    horizonTicks: datasetOptions.horizonTicks,
    trainFraction: datasetOptions.trainFraction,
    label: 'direction * ln(mid[t + horizonTicks] / mid[t]) > 0, same symbol',
    ticks: data.ticks,
    symbols: data.symbols,
    candidates: data.candidatesByPattern,
  },
  features: DEFAULT_FEATURE_PARAMS,
  patterns: DEFAULT_PATTERN_PARAMS,
  options: trainOptions,
  parameters: mlpParameterCount(result.model),
  bestEpoch: result.bestEpoch,
  epochsRun: result.history.length,
  train: {
    n: data.train.n,
    positiveRate: baseRate(data.train.y),
    loss: logLoss(trainProb, data.train.y),
    auc: rocAuc(trainProb, data.train.y),
  },
  valid: {
    n: data.valid.n,
    positiveRate: baseRate(data.valid.y),
    loss: logLoss(validProb, data.valid.y),
    auc: rocAuc(validProb, data.valid.y),
    byPattern: byPattern(),
  },
};

const version = `signal-mlp-${weightsHash(result.model)}`;
const onnxBytes = exportMlpToOnnx(result.model, {
  metadata: { version, inputNames: MODEL_INPUT_NAMES.join(','), format: MODEL_FILE_FORMAT },
});
const file: ModelFile = {
  format: MODEL_FILE_FORMAT,
  version,
  onnxSha256: createHash('sha256').update(onnxBytes).digest('hex'),
  inputName: ONNX_INPUT_NAME,
  outputName: ONNX_OUTPUT_NAME,
  inputNames: [...MODEL_INPUT_NAMES],
  layers: modelToLayersJson(result.model),
  training: summary,
};
const outDir = String(values['out-dir']);
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, 'signal-mlp.onnx'), onnxBytes);
await writeFile(join(outDir, 'signal-mlp.json'), `${JSON.stringify(file, null, 2)}\n`);
console.log(
  `best epoch ${result.bestEpoch}: train loss ${summary.train.loss.toFixed(5)} AUC ${summary.train.auc.toFixed(4)}; ` +
    `valid loss ${summary.valid.loss.toFixed(5)} AUC ${summary.valid.auc.toFixed(4)}; ` +
    `${summary.parameters} parameters, ${((tTrain - tData) / 1000).toFixed(1)} s training`,
);
console.log(
  `wrote ${version}: ${join(outDir, 'signal-mlp.onnx')} (${onnxBytes.length} bytes), signal-mlp.json`,
);
