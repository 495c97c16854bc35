/**
 * Opens the ONNX Runtime session for the signal model on the requested execution provider.
 *
 *   'cpu'  -> CPU provider.
 *   'cuda' -> CUDA provider or fail (INFERENCE_PROVIDER_UNAVAILABLE): an operator who asked for the
 *            GPU must not silently get the CPU.
 *   'auto' -> CUDA if its provider libraries load (onnxruntime-node's CUDA binaries are opt-in,
 *            see the README's GPU section), else CPU; the reason for the fallback is returned so
 *            the thread can log it once.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { MODEL_INPUT_SIZE } from '../model/inputs.ts';
import type { MlpModel } from '../model/mlp.ts';
import { parseModelFile } from '../model/model-file.ts';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from '../model/onnx-export.ts';
import { mlpFromOnnx } from '../model/onnx-weights.ts';
import { type ExecutionProviderChoice, InferenceErrorCode, inferenceError } from './messages.ts';

export interface ScoringSession {
  readonly session: ort.InferenceSession;
  readonly provider: 'cpu' | 'cuda';
  /** Why 'auto' did not get CUDA (undefined when it did, or when CPU was asked for). */
  readonly fallbackReason: string | undefined;
  readonly modelVersion: string;
  /**
   * The dense layers read from the same ONNX bytes the session was created from (the JS scoring
   * path's weights), or undefined with `mlpUnavailable` when the graph is not an exported MLP.
   */
  readonly mlp: MlpModel | undefined;
  readonly mlpUnavailable: string | undefined;
}

function sessionOptions(
  provider: 'cpu' | 'cuda',
  intraOpThreads: number,
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
    graphOptimizationLevel: 'all',
    // A 300-parameter MLP gains nothing from a thread pool, and the feature workers need the cores.
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
}

/**
 * Whether onnxruntime-node's CUDA provider library is installed next to its binding. The npm
 * tarball does not ship it; `script/install.js` fetches it on opt-in (README, GPU section).
 */
export function cudaProviderInstalled(): boolean {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const binDir = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return (
    existsSync(join(binDir, 'libonnxruntime_providers_cuda.so')) ||
    existsSync(join(binDir, 'onnxruntime_providers_cuda.dll'))
  );
}

const CUDA_NOT_INSTALLED =
  'onnxruntime-node CUDA provider binaries are not installed ' +
  '(ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js)';

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e)
    .split('\n')[0]!
    .slice(0, 300);
}

/**
 * Model version: the `version` of the `.json` beside the `.onnx` when that file describes these
 * exact bytes, else a content hash of the ONNX file.
 */
export function modelVersionOf(modelPath: string, onnxBytes: Uint8Array): string {
  const sha = createHash('sha256').update(onnxBytes).digest('hex');
  const jsonPath = modelPath.replace(/\.onnx$/, '.json');
  if (jsonPath !== modelPath && existsSync(jsonPath)) {
    const { file } = parseModelFile(JSON.parse(readFileSync(jsonPath, 'utf8')));
    if (file.onnxSha256 === sha) return file.version;
  }
  return `onnx-${sha.slice(0, 16)}`;
}

export async function openScoringSession(
  modelPath: string,
  choice: ExecutionProviderChoice,
  intraOpThreads: number,
): Promise<ScoringSession> {
  let bytes: Uint8Array;
  let modelVersion: string;
  try {
    bytes = readFileSync(modelPath);
    modelVersion = modelVersionOf(modelPath, bytes);
  } catch (e) {
    throw inferenceError(
      InferenceErrorCode.MODEL_LOAD_FAILED,
      `cannot read model ${modelPath}: ${firstLine(e)}`,
      {
        cause: e,
      },
    );
  }
  // ORT's default logger is configured once per process at the first session; under 'auto' a
  // missing CUDA library is expected and reported by us, not as an ORT error line.
  ort.env.logLevel = choice === 'auto' ? 'fatal' : 'error';
  let session: ort.InferenceSession | undefined;
  let provider: 'cpu' | 'cuda' = 'cpu';
  let fallbackReason: string | undefined;
  if (choice === 'cuda' && !cudaProviderInstalled()) {
    throw inferenceError(
      InferenceErrorCode.PROVIDER_UNAVAILABLE,
      `CUDA execution provider unavailable: ${CUDA_NOT_INSTALLED}`,
    );
  }
  if (choice === 'auto' && !cudaProviderInstalled()) fallbackReason = CUDA_NOT_INSTALLED;
  else if (choice !== 'cpu') {
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions('cuda', intraOpThreads));
      provider = 'cuda';
    } catch (e) {
      if (choice === 'cuda') {
        throw inferenceError(
          InferenceErrorCode.PROVIDER_UNAVAILABLE,
          `CUDA execution provider unavailable: ${firstLine(e)}`,
          { cause: e },
        );
      }
      fallbackReason = firstLine(e);
    }
  }
  if (!session) {
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions('cpu', intraOpThreads));
    } catch (e) {
      throw inferenceError(
        InferenceErrorCode.MODEL_LOAD_FAILED,
        `cannot load model ${modelPath}: ${firstLine(e)}`,
        {
          cause: e,
        },
      );
    }
  }
  checkSignature(session);
  let mlp: MlpModel | undefined;
  let mlpUnavailable: string | undefined;
  try {
    mlp = mlpFromOnnx(bytes);
    if (mlp.layers[0]!.inputs !== MODEL_INPUT_SIZE) {
      mlpUnavailable = `first layer takes ${mlp.layers[0]!.inputs} inputs, not ${MODEL_INPUT_SIZE}`;
      mlp = undefined;
    }
  } catch (e) {
    mlpUnavailable = firstLine(e);
  }
  return { session, provider, fallbackReason, modelVersion, mlp, mlpUnavailable };
}

/** The model must take `features` [N, MODEL_INPUT_SIZE] float32 and give `score` [N, 1]. */
function checkSignature(session: ort.InferenceSession): void {
  const input = session.inputMetadata[0];
  const output = session.outputMetadata[0];
  const ok =
    session.inputNames.length === 1 &&
    session.inputNames[0] === ONNX_INPUT_NAME &&
    session.outputNames[0] === ONNX_OUTPUT_NAME &&
    input?.isTensor === true &&
    input.type === 'float32' &&
    input.shape.length === 2 &&
    input.shape[1] === MODEL_INPUT_SIZE &&
    output?.isTensor === true &&
    output.shape.length === 2 &&
    output.shape[1] === 1;
  if (!ok) {
    throw inferenceError(
      InferenceErrorCode.MODEL_SHAPE_MISMATCH,
      `model signature ${JSON.stringify({ inputs: session.inputMetadata, outputs: session.outputMetadata })} ` +
        `is not ${ONNX_INPUT_NAME}[N,${MODEL_INPUT_SIZE}] -> ${ONNX_OUTPUT_NAME}[N,1]`,
    );
  }
}
