/**
 * Builds the ONNX ModelProto for an `MlpModel` with the `onnx-proto` protobufjs classes (no Python,
 * no onnx toolchain). Graph, per dense layer i:
 *
 *   features [N, D] ──Gemm(W0, b0)──▶ Relu/Tanh ──Gemm(W1, b1)──▶ ... ──Gemm(Wk, bk)──▶ Sigmoid ──▶ score [N, 1]
 *
 * Gemm with transB = 0 takes W as [inputs][outputs] exactly as `mlp.ts` stores it, and broadcasts
 * the bias [outputs] over the batch. `N` is a symbolic dimension, so one session serves every
 * micro-batch size. IR version 8 / opset 13: both well inside what onnxruntime-node 1.30 loads.
 */
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import type { MlpModel } from './mlp.ts';

const { onnx } = onnxProto;

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;
export const ONNX_INPUT_NAME = 'features';
export const ONNX_OUTPUT_NAME = 'score';
export const ONNX_BATCH_DIM = 'N';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function tensor(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  // float_data (packed repeated float) rather than raw_data: no endianness question to answer.
  return { name, dims, dataType: FLOAT, floatData: Array.from(data) };
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export interface OnnxExportOptions {
  /** Written into the model's metadata_props (string values), e.g. inputNames, trainedAt. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly docString?: string;
}

/** Serialises `model` to ONNX protobuf bytes. Deterministic: same weights, same bytes. */
export function exportMlpToOnnx(model: MlpModel, opts: OnnxExportOptions = {}): Uint8Array {
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  let current = ONNX_INPUT_NAME;
  model.layers.forEach((layer, i) => {
    const w = `dense${i}.weight`;
    const b = `dense${i}.bias`;
    initializers.push(tensor(w, [layer.inputs, layer.outputs], layer.weights));
    initializers.push(tensor(b, [layer.outputs], layer.bias));
    const linear = `dense${i}.linear`;
    nodes.push({
      name: `dense${i}.gemm`,
      opType: 'Gemm',
      input: [current, w, b],
      output: [linear],
      attribute: [
        { name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 },
        { name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 },
        { name: 'transA', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        { name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
      ],
    });
    const isLast = i === model.layers.length - 1;
    const out = isLast ? ONNX_OUTPUT_NAME : `dense${i}.act`;
    const opType = layer.activation === 'relu' ? 'Relu' : layer.activation === 'tanh' ? 'Tanh' : 'Sigmoid';
    nodes.push({ name: `dense${i}.${opType.toLowerCase()}`, opType, input: [linear], output: [out] });
    current = out;
  });
  const last = model.layers[model.layers.length - 1]!;
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'aegis-engine',
    producerVersion: '1',
    docString: opts.docString ?? 'Aegis signal MLP: P(forward return in the signal direction > 0)',
    graph: {
      name: 'signal_mlp',
      node: nodes,
      initializer: initializers,
      input: [valueInfo(ONNX_INPUT_NAME, [ONNX_BATCH_DIM, model.layers[0]!.inputs])],
      output: [valueInfo(ONNX_OUTPUT_NAME, [ONNX_BATCH_DIM, last.outputs])],
    },
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  const err = onnx.ModelProto.verify(proto);
  if (err) throw new Error(`invalid ONNX ModelProto: ${err}`);
  return onnx.ModelProto.encode(proto).finish();
}

/** Short content hash of the weights: the model version carried on every signal. */
export function weightsHash(model: MlpModel): string {
  const h = createHash('sha256');
  for (const l of model.layers) {
    h.update(`${l.inputs}x${l.outputs}:${l.activation};`);
    h.update(new Uint8Array(l.weights.buffer, l.weights.byteOffset, l.weights.byteLength));
    h.update(new Uint8Array(l.bias.buffer, l.bias.byteOffset, l.bias.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}
