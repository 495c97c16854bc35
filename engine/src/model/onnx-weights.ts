/**
 * Reads an `MlpModel` back out of ONNX bytes of the shape `onnx-export.ts` writes: per layer a
 * Gemm (alpha 1, beta 1, transA 0, transB 0, W [inputs][outputs] and b [outputs] initializers)
 * followed by Relu, Tanh or Sigmoid, from `features` to `score`. The inference thread scores small
 * batches with these weights in JS (inference/js-scorer.ts), so they are taken from the very bytes
 * ORT loaded, not from the `.json` beside them (which may be missing or describe other bytes).
 * Anything else in the graph is refused with the reason: the thread then scores with ORT alone.
 */
import onnxProto from 'onnx-proto';
import type { LayerActivation, MlpModel } from './mlp.ts';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from './onnx-export.ts';

const { onnx } = onnxProto;

const ACTIVATIONS: Readonly<Record<string, LayerActivation>> = {
  Relu: 'relu',
  Tanh: 'tanh',
  Sigmoid: 'sigmoid',
};

function floats(t: onnxProto.onnx.ITensorProto): Float32Array {
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) throw new Error(`initializer ${t.name} is not float32`);
  if (t.floatData && t.floatData.length > 0) return Float32Array.from(t.floatData);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    // raw_data is little-endian float32 (the ONNX spec); copy to an aligned buffer.
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  return new Float32Array(0);
}

function gemmAttributesPlain(node: onnxProto.onnx.INodeProto): boolean {
  for (const a of node.attribute ?? []) {
    if ((a.name === 'alpha' || a.name === 'beta') && a.f !== 1) return false;
    if ((a.name === 'transA' || a.name === 'transB') && Number(a.i ?? 0) !== 0) return false;
  }
  return true;
}

/** The dense layers of an exported signal MLP; throws with the reason when the graph is not one. */
export function mlpFromOnnx(bytes: Uint8Array): MlpModel {
  const graph = onnx.ModelProto.decode(bytes).graph;
  if (!graph) throw new Error('ONNX model has no graph');
  const inits = new Map<string, onnxProto.onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) inits.set(t.name ?? '', t);
  const nodes = graph.node ?? [];
  if (nodes.length === 0 || nodes.length % 2 !== 0) throw new Error('graph is not Gemm/activation pairs');
  const layers: MlpModel['layers'][number][] = [];
  let current = ONNX_INPUT_NAME;
  for (let i = 0; i < nodes.length; i += 2) {
    const gemm = nodes[i]!;
    const act = nodes[i + 1]!;
    const [x, wName, bName] = gemm.input ?? [];
    if (gemm.opType !== 'Gemm' || x !== current || !gemmAttributesPlain(gemm)) {
      throw new Error(`node ${gemm.name} is not a plain Gemm over ${current}`);
    }
    const wT = inits.get(wName ?? '');
    const bT = inits.get(bName ?? '');
    const dims = (wT?.dims ?? []).map(Number);
    if (!wT || !bT || dims.length !== 2) throw new Error(`node ${gemm.name} lacks its weight or bias`);
    const [inputs, outputs] = dims as [number, number];
    const weights = floats(wT);
    const bias = floats(bT);
    if (weights.length !== inputs * outputs || bias.length !== outputs) {
      throw new Error(`node ${gemm.name} has inconsistent weight shapes`);
    }
    const activation = ACTIVATIONS[act.opType ?? ''];
    if (!activation || act.input?.[0] !== gemm.output?.[0]) {
      throw new Error(`node ${act.name} is not Relu/Tanh/Sigmoid of ${gemm.name}`);
    }
    if (layers.length > 0 && layers[layers.length - 1]!.outputs !== inputs) {
      throw new Error(`node ${gemm.name} takes ${inputs} inputs from a layer of ${layers.at(-1)!.outputs}`);
    }
    layers.push({ inputs, outputs, activation, weights, bias });
    current = act.output?.[0] ?? '';
  }
  if (current !== ONNX_OUTPUT_NAME || layers.at(-1)!.outputs !== 1) {
    throw new Error(`graph does not end in ${ONNX_OUTPUT_NAME}[N,1]`);
  }
  return { layers };
}
