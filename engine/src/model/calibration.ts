/**
 * Platt scaling (Platt 1999): p' = sigmoid(a · logit(p) + b), a and b fitted by Newton's method on
 * a held-out set's log loss. Folded into the network's last (sigmoid) layer — its weights times a,
 * its bias a · bias + b — so the shipped ONNX graph and the TypeScript forward pass give the
 * calibrated probability directly, with no second step to forget in production.
 */
import type { DenseLayer, MlpModel } from './mlp.ts';

export interface PlattScaling {
  readonly a: number;
  readonly b: number;
}

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  return Math.log(q / (1 - q));
}

/** Mean log loss of sigmoid(a·z + b) against y. */
function loss(z: Float64Array, y: ArrayLike<number>, n: number, a: number, b: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = a * z[i]! + b;
    // Stable BCE from the logit: max(t,0) − t·y + log(1 + e^−|t|).
    s += Math.max(t, 0) - t * (y[i]! > 0.5 ? 1 : 0) + Math.log1p(Math.exp(-Math.abs(t)));
  }
  return s / n;
}

/**
 * Fits a and b on probabilities `p` and 0/1 labels `y`: Newton–Raphson on the (convex) log loss,
 * each step halved until the loss does not rise (a full Newton step can overshoot far from the
 * optimum).
 */
export function fitPlatt(p: ArrayLike<number>, y: ArrayLike<number>, n = y.length): PlattScaling {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = logit(p[i]!);
  let a = 1;
  let b = 0;
  let current = loss(z, y, n, a, b);
  for (let iter = 0; iter < 100; iter++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < n; i++) {
      const q = 1 / (1 + Math.exp(-(a * z[i]! + b)));
      const r = q - (y[i]! > 0.5 ? 1 : 0);
      const w = q * (1 - q);
      ga += r * z[i]!;
      gb += r;
      haa += w * z[i]! * z[i]!;
      hab += w * z[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 0)) break;
    let da = (hbb * ga - hab * gb) / det;
    let db = (haa * gb - hab * ga) / det;
    let next = loss(z, y, n, a - da, b - db);
    for (let halvings = 0; halvings < 30 && !(next <= current); halvings++) {
      da /= 2;
      db /= 2;
      next = loss(z, y, n, a - da, b - db);
    }
    if (!(next <= current)) break;
    a -= da;
    b -= db;
    const gain = current - next;
    current = next;
    if (Math.abs(da) + Math.abs(db) < 1e-10 || gain < 1e-15) break;
  }
  return { a, b };
}

/** The model with Platt scaling folded into its last layer (which must be the sigmoid output). */
export function foldPlatt(model: MlpModel, s: PlattScaling): MlpModel {
  const last = model.layers[model.layers.length - 1]!;
  if (last.activation !== 'sigmoid') throw new Error('the last layer must be the sigmoid output');
  const folded: DenseLayer = {
    ...last,
    weights: Float32Array.from(last.weights, (w) => w * s.a),
    bias: Float32Array.from(last.bias, (c) => c * s.a + s.b),
  };
  return { layers: [...model.layers.slice(0, -1), folded] };
}
