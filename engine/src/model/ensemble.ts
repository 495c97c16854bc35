/**
 * Seed bagging folded into one network: K single-hidden-layer MLPs over the same inputs, trained
 * from different seeds, are exactly one MLP with their hidden units side by side and an output
 * that averages their logits (output weights and bias divided by K). Averaging cuts the variance
 * of the fitted scores — better ranking and calibration than any one member — and the shipped
 * model stays a plain Gemm → tanh/relu → Gemm → sigmoid graph (ONNX export and the JS forward
 * pass unchanged).
 */
import type { MlpModel } from './mlp.ts';

export function mergeSingleHiddenLayer(members: readonly MlpModel[]): MlpModel {
  if (members.length === 0) throw new Error('no members to merge');
  for (const m of members) {
    if (m.layers.length !== 2 || m.layers[1]!.outputs !== 1 || m.layers[1]!.activation !== 'sigmoid') {
      throw new Error('members must be input → hidden → sigmoid(1) networks');
    }
    if (
      m.layers[0]!.activation !== members[0]!.layers[0]!.activation ||
      m.layers[0]!.inputs !== members[0]!.layers[0]!.inputs
    ) {
      throw new Error('members must share their input width and hidden activation');
    }
  }
  const k = members.length;
  const d = members[0]!.layers[0]!.inputs;
  const hidden = members.reduce((s, m) => s + m.layers[0]!.outputs, 0);
  const w1 = new Float32Array(d * hidden);
  const b1 = new Float32Array(hidden);
  const w2 = new Float32Array(hidden);
  let b2 = 0;
  let at = 0;
  for (const m of members) {
    const l0 = m.layers[0]!;
    const l1 = m.layers[1]!;
    const h = l0.outputs;
    // [inputs][outputs] row-major: member column j goes to merged column at + j.
    for (let i = 0; i < d; i++) for (let j = 0; j < h; j++) w1[i * hidden + at + j] = l0.weights[i * h + j]!;
    for (let j = 0; j < h; j++) {
      b1[at + j] = l0.bias[j]!;
      w2[at + j] = l1.weights[j]! / k;
    }
    b2 += l1.bias[0]! / k;
    at += h;
  }
  return {
    layers: [
      { inputs: d, outputs: hidden, activation: members[0]!.layers[0]!.activation, weights: w1, bias: b1 },
      { inputs: hidden, outputs: 1, activation: 'sigmoid', weights: w2, bias: Float32Array.of(b2) },
    ],
  };
}
