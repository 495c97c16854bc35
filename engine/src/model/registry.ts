/**
 * The model registry (table `signal_models`, drizzle/0011_model_registry.sql): on start the engine
 * records the model it scores with — version, training data hash, the feature and detector
 * params it was trained on, train/validation/test metrics and the evaluation harness's test-split
 * SignalEvaluation — and marks it the one active model. Every signal carries the same version
 * (`signals.model_version`), so a signal leads to its model's row.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type SignalEvaluation, signalEvaluationSchema } from '@aegis/shared/schemas/signal-quality';
import type { Sql } from 'postgres';
import { DEFAULT_ONNX_PATH, type ModelFile, parseModelFile } from './model-file.ts';

export interface RegistryEntry {
  readonly version: string;
  readonly trainingDataHash: string;
  readonly params: Record<string, unknown>;
  readonly metrics: Record<string, unknown>;
  readonly evaluation: SignalEvaluation | null;
}

/** The registry entry a model file describes (its `training` summary, model/train-cli.ts). */
export function registryEntryOf(file: ModelFile): RegistryEntry {
  const t = file.training;
  const evaluation = signalEvaluationSchema.nullable().safeParse(t.evaluation ?? null);
  return {
    version: file.version,
    // A model file from before the registry has no hash: its version (a hash of its weights) stands in.
    trainingDataHash: typeof t.trainingDataHash === 'string' ? t.trainingDataHash : `unknown:${file.version}`,
    params: {
      features: t.features ?? null,
      patterns: t.patterns ?? null,
      options: t.options ?? null,
      calibration: t.calibration ?? null,
      inputNames: file.inputNames,
    },
    metrics: (t.metrics as Record<string, unknown> | undefined) ?? {},
    evaluation: evaluation.success ? evaluation.data : null,
  };
}

/** The JSON beside an `.onnx` model, or null when there is none. */
export async function modelFileBeside(onnxPath = DEFAULT_ONNX_PATH): Promise<ModelFile | null> {
  const jsonPath = onnxPath.replace(/\.onnx$/, '.json');
  if (jsonPath === onnxPath || !existsSync(jsonPath)) return null;
  return parseModelFile(JSON.parse(await readFile(jsonPath, 'utf8'))).file;
}

/**
 * Upserts `e` and makes it the only active model, in one transaction. A transaction-scoped
 * advisory lock serialises engines starting together (the one-active unique index would otherwise
 * fail the second of two that activate different models at the same moment).
 */
export async function registerActiveModel(sql: Sql, e: RegistryEntry): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('signal_models'))`;
    await tx`update signal_models set active = false where active and version <> ${e.version}`;
    await tx`
      insert into signal_models (version, training_data_hash, params, metrics, evaluation, active)
      values (${e.version}, ${e.trainingDataHash}, ${tx.json(e.params as never)}, ${tx.json(e.metrics as never)},
              ${e.evaluation === null ? null : tx.json(e.evaluation as never)}, true)
      on conflict (version) do update set
        training_data_hash = excluded.training_data_hash,
        params = excluded.params,
        metrics = excluded.metrics,
        evaluation = excluded.evaluation,
        active = true`;
  });
}
