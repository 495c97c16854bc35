/**
 * The signal model: a small fully connected network, inputs -> hidden... -> 1, hidden ReLU or tanh,
 * sigmoid output = probability that the forward return in the signal's direction is positive.
 *
 * Two jobs live here:
 *  - `mlpForward`: the plain TypeScript reference forward pass. The ONNX graph (`onnx-export.ts`)
 *    must match it within 1e-5 (`onnx-parity.test.ts`); it is also what the training report uses.
 *  - `trainMlp`: mini-batch Adam on binary cross-entropy, deterministic for a seed (seeded init,
 *    seeded shuffling, no Math.random, no threads).
 *
 * Weight layout (the same in memory, JSON and ONNX): a layer's `weights` is [inputs][outputs]
 * row-major, so ONNX `Gemm(X, W, b)` with transB = 0 consumes it unchanged. Shipped weights are
 * float32 (what ORT computes with); training keeps float64 master weights and rounds at the end.
 */

import { Mulberry32 } from '../random/seeded-random.ts';
import { logLoss, rocAuc } from './metrics.ts';

export type HiddenActivation = 'relu' | 'tanh';
export type LayerActivation = HiddenActivation | 'sigmoid';

export interface DenseLayer {
  readonly inputs: number;
  readonly outputs: number;
  readonly activation: LayerActivation;
  /** [inputs][outputs], row-major. */
  readonly weights: Float32Array;
  readonly bias: Float32Array;
}

export interface MlpModel {
  readonly layers: readonly DenseLayer[];
}

export function mlpInputSize(model: MlpModel): number {
  return model.layers[0]!.inputs;
}

/** Parameter count (weights + biases), for the training report. */
export function mlpParameterCount(model: MlpModel): number {
  let n = 0;
  for (const l of model.layers) n += l.weights.length + l.bias.length;
  return n;
}

function activate(a: LayerActivation, z: number): number {
  if (a === 'relu') return Math.max(z, 0);
  if (a === 'tanh') return Math.tanh(z);
  return sigmoid(z);
}

export function sigmoid(z: number): number {
  // Branch keeps exp() from overflowing for large |z|.
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Reference forward pass: `inputs` holds `n` rows of `mlpInputSize(model)` values; writes the
 * output probability of row i to `out[i]`. Accumulates in float64 over the float32 weights.
 */
export function mlpForward(model: MlpModel, inputs: ArrayLike<number>, n: number, out: Float64Array): void {
  const width = Math.max(...model.layers.map((l) => l.outputs), model.layers[0]!.inputs);
  let cur = new Float64Array(width);
  let next = new Float64Array(width);
  const d0 = model.layers[0]!.inputs;
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < d0; k++) cur[k] = inputs[r * d0 + k]!;
    for (const layer of model.layers) {
      const { inputs: nin, outputs: nout, weights: w, bias: b } = layer;
      for (let j = 0; j < nout; j++) {
        let z = b[j]!;
        for (let k = 0; k < nin; k++) z += cur[k]! * w[k * nout + j]!;
        next[j] = activate(layer.activation, z);
      }
      const t = cur;
      cur = next;
      next = t;
    }
    out[r] = cur[0]!;
  }
}

export interface LabelledSet {
  /** n rows of d inputs, row-major. */
  readonly x: Float32Array;
  /** n labels, 0 or 1. */
  readonly y: Uint8Array;
  readonly n: number;
  readonly d: number;
}

export interface TrainOptions {
  readonly hiddenSizes: readonly number[];
  readonly hiddenActivation: HiddenActivation;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Decoupled (AdamW) weight decay on weights, not biases. */
  readonly weightDecay: number;
  readonly seed: number;
  /** Stop after this many epochs without a validation-loss improvement (0 = never). */
  readonly patience: number;
}

export interface EpochReport {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly validLoss: number;
  readonly validAuc: number;
}

export interface TrainResult {
  /** Weights of the epoch with the lowest validation loss, rounded to float32. */
  readonly model: MlpModel;
  readonly bestEpoch: number;
  readonly history: readonly EpochReport[];
}

interface MasterLayer {
  readonly nin: number;
  readonly nout: number;
  readonly activation: LayerActivation;
  readonly w: Float64Array;
  readonly b: Float64Array;
  // Adam moments.
  readonly mw: Float64Array;
  readonly vw: Float64Array;
  readonly mb: Float64Array;
  readonly vb: Float64Array;
  // Per-batch buffers: pre-activation z, activation a, gradients.
  readonly z: Float64Array;
  readonly a: Float64Array;
  readonly dz: Float64Array;
  readonly gw: Float64Array;
  readonly gb: Float64Array;
}

function toModel(layers: readonly MasterLayer[]): MlpModel {
  return {
    layers: layers.map((l) => ({
      inputs: l.nin,
      outputs: l.nout,
      activation: l.activation,
      weights: Float32Array.from(l.w),
      bias: Float32Array.from(l.b),
    })),
  };
}

/** Trains a fresh network on `train`, selecting the epoch by loss on `valid`. */
export function trainMlp(
  train: LabelledSet,
  valid: LabelledSet,
  opts: TrainOptions,
  onEpoch?: (r: EpochReport) => void,
): TrainResult {
  const rng = new Mulberry32(opts.seed);
  const sizes = [train.d, ...opts.hiddenSizes, 1];
  const B = opts.batchSize;
  const layers: MasterLayer[] = [];
  for (let i = 1; i < sizes.length; i++) {
    const nin = sizes[i - 1]!;
    const nout = sizes[i]!;
    const last = i === sizes.length - 1;
    const activation: LayerActivation = last ? 'sigmoid' : opts.hiddenActivation;
    // He init for ReLU, Glorot for tanh/sigmoid.
    const std = activation === 'relu' ? Math.sqrt(2 / nin) : Math.sqrt(2 / (nin + nout));
    const w = new Float64Array(nin * nout);
    for (let k = 0; k < w.length; k++) w[k] = rng.normal() * std;
    layers.push({
      nin,
      nout,
      activation,
      w,
      b: new Float64Array(nout),
      mw: new Float64Array(nin * nout),
      vw: new Float64Array(nin * nout),
      mb: new Float64Array(nout),
      vb: new Float64Array(nout),
      z: new Float64Array(B * nout),
      a: new Float64Array(B * nout),
      dz: new Float64Array(B * nout),
      gw: new Float64Array(nin * nout),
      gb: new Float64Array(nout),
    });
  }
  const input = new Float64Array(B * train.d);
  const target = new Float64Array(B);
  const order = new Uint32Array(train.n);
  for (let i = 0; i < train.n; i++) order[i] = i;

  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  let step = 0;

  const forwardBatch = (m: number): void => {
    let prev: Float64Array = input;
    for (const l of layers) {
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < l.nout; j++) {
          let z = l.b[j]!;
          for (let k = 0; k < l.nin; k++) z += prev[r * l.nin + k]! * l.w[k * l.nout + j]!;
          l.z[r * l.nout + j] = z;
          l.a[r * l.nout + j] = activate(l.activation, z);
        }
      }
      prev = l.a;
    }
  };

  const trainBatch = (m: number): number => {
    forwardBatch(m);
    const out = layers[layers.length - 1]!;
    let loss = 0;
    for (let r = 0; r < m; r++) {
      const p = out.a[r]!;
      const y = target[r]!;
      const z = out.z[r]!;
      // Stable BCE from the logit: max(z,0) - z*y + log(1 + e^-|z|).
      loss += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
      out.dz[r] = (p - y) / m;
    }
    for (let li = layers.length - 1; li >= 0; li--) {
      const l = layers[li]!;
      const prevA = li === 0 ? input : layers[li - 1]!.a;
      l.gw.fill(0);
      l.gb.fill(0);
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < l.nout; j++) {
          const d = l.dz[r * l.nout + j]!;
          if (d === 0) continue;
          l.gb[j] = l.gb[j]! + d;
          for (let k = 0; k < l.nin; k++)
            l.gw[k * l.nout + j] = l.gw[k * l.nout + j]! + prevA[r * l.nin + k]! * d;
        }
      }
      if (li > 0) {
        const p = layers[li - 1]!;
        for (let r = 0; r < m; r++) {
          for (let k = 0; k < l.nin; k++) {
            let s = 0;
            for (let j = 0; j < l.nout; j++) s += l.dz[r * l.nout + j]! * l.w[k * l.nout + j]!;
            const z = p.z[r * l.nin + k]!;
            const a = p.a[r * l.nin + k]!;
            p.dz[r * l.nin + k] = p.activation === 'relu' ? (z > 0 ? s : 0) : s * (1 - a * a);
          }
        }
      }
    }
    step++;
    const lr = opts.learningRate;
    const c1 = 1 - beta1 ** step;
    const c2 = 1 - beta2 ** step;
    for (const l of layers) {
      for (let k = 0; k < l.w.length; k++) {
        const g = l.gw[k]!;
        l.mw[k] = beta1 * l.mw[k]! + (1 - beta1) * g;
        l.vw[k] = beta2 * l.vw[k]! + (1 - beta2) * g * g;
        l.w[k] =
          l.w[k]! - lr * (l.mw[k]! / c1 / (Math.sqrt(l.vw[k]! / c2) + eps) + opts.weightDecay * l.w[k]!);
      }
      for (let j = 0; j < l.b.length; j++) {
        const g = l.gb[j]!;
        l.mb[j] = beta1 * l.mb[j]! + (1 - beta1) * g;
        l.vb[j] = beta2 * l.vb[j]! + (1 - beta2) * g * g;
        l.b[j] = l.b[j]! - lr * (l.mb[j]! / c1 / (Math.sqrt(l.vb[j]! / c2) + eps));
      }
    }
    return loss;
  };

  const validProb = new Float64Array(valid.n);
  const history: EpochReport[] = [];
  let best: MlpModel = toModel(layers);
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    rng.shuffle(order);
    let lossSum = 0;
    for (let start = 0; start < train.n; start += B) {
      const m = Math.min(B, train.n - start);
      for (let r = 0; r < m; r++) {
        const row = order[start + r]!;
        for (let k = 0; k < train.d; k++) input[r * train.d + k] = train.x[row * train.d + k]!;
        target[r] = train.y[row]!;
      }
      lossSum += trainBatch(m);
    }
    const candidate = toModel(layers);
    mlpForward(candidate, valid.x, valid.n, validProb);
    const report: EpochReport = {
      epoch,
      trainLoss: lossSum / train.n,
      validLoss: logLoss(validProb, valid.y, valid.n),
      validAuc: rocAuc(validProb, valid.y, valid.n),
    };
    history.push(report);
    onEpoch?.(report);
    if (report.validLoss < bestLoss) {
      bestLoss = report.validLoss;
      bestEpoch = epoch;
      best = candidate;
    } else if (opts.patience > 0 && epoch - bestEpoch >= opts.patience) {
      break;
    }
  }
  return { model: best, bestEpoch, history };
}

/**
 * tanh by the rational approximation ORT's CPU kernels use (MLAS's tanh: Eigen's x·P(x²)/Q(x²)
 * over x clamped to ±9, with the coefficients below), evaluated in float64: within 3e-8 of
 * Math.tanh and much cheaper in V8 (the 21-40-1 model's row went from ~1.9 to ~1.1 µs).
 */
export function fastTanh(v: number): number {
  const x = Math.min(9, Math.max(-9, v));
  const x2 = x * x;
  let p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13;
  p = p * x2 + -8.60467152213735e-11;
  p = p * x2 + 5.12229709037114e-8;
  p = p * x2 + 1.48572235717979e-5;
  p = p * x2 + 6.37261928875436e-4;
  p = p * x2 + 4.89352455891786e-3;
  let q = x2 * 1.19825839466702e-6 + 1.18534705686654e-4;
  q = q * x2 + 2.268434632439e-3;
  q = q * x2 + 4.89352518554385e-3;
  return (x * p) / q;
}

const ACT_RELU = 0;
const ACT_TANH = 1;
const ACT_SIGMOID = 2;

interface KernelLayer {
  readonly nin: number;
  readonly nout: number;
  readonly act: number;
  /** Weights transposed to [outputs][inputs]: each output's dot product reads one contiguous run. */
  readonly wT: Float64Array;
  readonly b: Float64Array;
}

/**
 * The forward pass of `mlpForward` for a hot loop: weights copied once (transposed, float64 —
 * float32 values exactly), scratch sized once, so `run` allocates nothing. Same arithmetic as
 * `mlpForward` (float64 accumulation over the float32 weights), output rounded to float32 as ORT
 * gives it. The inference thread scores small batches with it (inference/inference-worker.ts).
 */
export class MlpKernel {
  readonly inputSize: number;
  private readonly layers: readonly KernelLayer[];
  private readonly cur: Float64Array;
  private readonly next: Float64Array;

  constructor(model: MlpModel) {
    this.inputSize = mlpInputSize(model);
    this.layers = model.layers.map((l) => {
      const wT = new Float64Array(l.inputs * l.outputs);
      for (let k = 0; k < l.inputs; k++) {
        for (let j = 0; j < l.outputs; j++) wT[j * l.inputs + k] = l.weights[k * l.outputs + j]!;
      }
      const act = l.activation === 'relu' ? ACT_RELU : l.activation === 'tanh' ? ACT_TANH : ACT_SIGMOID;
      return { nin: l.inputs, nout: l.outputs, act, wT, b: Float64Array.from(l.bias) };
    });
    const width = Math.max(this.inputSize, ...model.layers.map((l) => l.outputs));
    this.cur = new Float64Array(width);
    this.next = new Float64Array(width);
  }

  /** `input`: `n` rows of `inputSize` values; writes row i's output to `out[i]`. */
  run(input: Float32Array, n: number, out: Float32Array): void {
    const d0 = this.inputSize;
    const layers = this.layers;
    // Row by row (about 1 µs a row for the 21-40-1 model on the 2-core development machine);
    // blocking 4 rows per weight load gained ~12% on large batches and lost 3x on a batch of 1,
    // the batches this pass is for.
    for (let r = 0; r < n; r++) {
      let cur = this.cur;
      let next = this.next;
      const o = r * d0;
      for (let k = 0; k < d0; k++) cur[k] = input[o + k]!;
      for (let li = 0; li < layers.length; li++) {
        const { nin, nout, act, wT, b } = layers[li]!;
        for (let j = 0; j < nout; j++) {
          let z = b[j]!;
          const base = j * nin;
          for (let k = 0; k < nin; k++) z += cur[k]! * wT[base + k]!;
          next[j] = act === ACT_TANH ? fastTanh(z) : act === ACT_RELU ? Math.max(z, 0) : sigmoid(z);
        }
        const t = cur;
        cur = next;
        next = t;
      }
      out[r] = cur[0]!;
    }
  }
}
