/**
 * `signal-mlp.json`: the weights for the TypeScript reference forward pass plus the metadata the
 * engine needs (version stamped on every signal, input names and order, training summary). Read at
 * the edge, so it is validated with zod once; the ONNX file beside it is the one ORT runs.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MODEL_INPUT_NAMES } from './inputs.ts';
import type { MlpModel } from './mlp.ts';

export const MODEL_FILE_FORMAT = 'aegis-signal-mlp/1';

/** Committed model paths (relative to this file, so they work from any cwd). */
export const DEFAULT_ONNX_PATH = fileURLToPath(new URL('../../models/signal-mlp.onnx', import.meta.url));
export const DEFAULT_JSON_PATH = fileURLToPath(new URL('../../models/signal-mlp.json', import.meta.url));

const layerSchema = z.object({
  inputs: z.number().int().positive(),
  outputs: z.number().int().positive(),
  activation: z.enum(['relu', 'tanh', 'sigmoid']),
  weights: z.array(z.number()),
  bias: z.array(z.number()),
});

export const modelFileSchema = z.object({
  format: z.literal(MODEL_FILE_FORMAT),
  version: z.string().min(1),
  onnxSha256: z.string().length(64),
  inputName: z.string(),
  outputName: z.string(),
  inputNames: z.array(z.string()),
  layers: z.array(layerSchema).min(1),
  training: z.record(z.string(), z.unknown()),
});
export type ModelFile = z.infer<typeof modelFileSchema>;

export function modelToLayersJson(model: MlpModel): ModelFile['layers'] {
  return model.layers.map((l) => ({
    inputs: l.inputs,
    outputs: l.outputs,
    activation: l.activation,
    weights: Array.from(l.weights),
    bias: Array.from(l.bias),
  }));
}

/** Parses and checks a model file; throws with every problem listed. */
export function parseModelFile(json: unknown): { file: ModelFile; model: MlpModel } {
  const file = modelFileSchema.parse(json);
  const expected = MODEL_INPUT_NAMES.join(',');
  if (file.inputNames.join(',') !== expected) {
    throw new Error(`model inputs [${file.inputNames.join(',')}] differ from this engine's [${expected}]`);
  }
  let width = file.inputNames.length;
  for (const [i, l] of file.layers.entries()) {
    if (l.inputs !== width || l.weights.length !== l.inputs * l.outputs || l.bias.length !== l.outputs) {
      throw new Error(`model layer ${i} has inconsistent shapes`);
    }
    width = l.outputs;
  }
  if (width !== 1) throw new Error('model output must have width 1');
  const model: MlpModel = {
    layers: file.layers.map((l) => ({
      inputs: l.inputs,
      outputs: l.outputs,
      activation: l.activation,
      weights: Float32Array.from(l.weights),
      bias: Float32Array.from(l.bias),
    })),
  };
  return { file, model };
}

export async function loadModelFile(path = DEFAULT_JSON_PATH): Promise<{ file: ModelFile; model: MlpModel }> {
  return parseModelFile(JSON.parse(await readFile(path, 'utf8')));
}
