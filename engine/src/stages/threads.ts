import { withDeadline } from '@aegis/shared/deadline';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import type { EngineConfig } from '../config.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import { type InferenceThreadHandle, startInferenceThread } from '../inference/inference-thread.ts';
import type { InferenceFault } from '../inference/messages.ts';
import { modelFileBeside, registerActiveModel, registryEntryOf } from '../model/registry.ts';
import { type FeaturePoolHandle, startFeaturePool } from '../pool/feature-pool.ts';
import { engineWaitMode, spinBudgetUs } from '../ring/spin-wait.ts';
import { startWriterThread, type WriterThreadHandle } from '../writer/writer-thread.ts';
import { type EngineMemory, SCORED_RING_CAPACITY } from './memory.ts';

export interface EngineThreads {
  /** Null without a database. */
  readonly writer: WriterThreadHandle | null;
  readonly inference: InferenceThreadHandle;
  readonly pool: FeaturePoolHandle;
  /** The execution provider the inference thread got (cuda, cpu). */
  readonly provider: string;
  readonly modelVersion: string;
  /** The spin before each park (µs) the waiting threads got, and the wake-up cost it came from. */
  readonly spinUs: number;
  readonly wakeLatencyUs: number | null;
}

/**
 * Stage 4: writer → inference → feature pool, in that order (each consumer is running before its
 * producer starts), then the loaded model recorded in the registry. A failure stops what had
 * started (pool, inference, writer) and rethrows.
 */
export async function startThreads(options: {
  config: EngineConfig;
  sql: Sql | undefined;
  memory: EngineMemory;
  symbolTable: SymbolTable;
  symbolsPerShard: number;
  log: Logger;
  /** The writer committed these feed positions (upstream acknowledgements follow). */
  onCommitted: (positions: Readonly<Record<string, string>>) => void;
  /** TEST ONLY (StartEngineOptions.inferenceFault). */
  inferenceFault?: InferenceFault;
}): Promise<EngineThreads> {
  const { config, sql, memory, log } = options;
  let writer: WriterThreadHandle | null = null;
  let inference: InferenceThreadHandle | null = null;
  let pool: FeaturePoolHandle | null = null;
  try {
    if (sql && config.databaseUrl) {
      writer = startWriterThread({
        databaseUrl: config.databaseUrl,
        tickRings: memory.tickRings,
        consumer: 1,
        featureStateSab: memory.featureState.sab,
        featureSampleMs: config.featureSampleMs,
        flushMs: config.writerFlushMs,
        batchRows: config.writerBatch,
        symbolTable: options.symbolTable,
        logLevel: config.logLevel,
        tokenName: `writer:${config.consumer}`,
        onThreadError: (err) => log.error({ err }, 'writer thread failed'),
        flushTimeoutMs: config.writerFlushTimeoutMs,
        dbTimeoutMs: config.dbTimeoutMs,
        onCommitted: options.onCommitted,
      });
      await writer.ready;
    }
    // Every waiting thread spins at most one measured wake-up before it parks (ring/spin-wait.ts).
    const { spinUs, wake } = await spinBudgetUs();
    const waitMode = engineWaitMode();
    log.info(
      {
        spinUs,
        wakeLatencyMedianUs: wake?.medianUs ?? null,
        wakeLatencyP90Us: wake?.p90Us ?? null,
        waitMode,
      },
      'engine: wait strategy',
    );
    inference = startInferenceThread({
      ...(config.modelPath ? { modelPath: config.modelPath } : {}),
      candidateRings: memory.candidateRings.map((r) => r.sab),
      scoredRing: memory.scoredRing.sab,
      maxBatch: Math.min(config.maxBatch, SCORED_RING_CAPACITY),
      maxWaitUs: config.maxWaitUs,
      executionProvider: config.executionProvider,
      scoringPath: config.scoringPath,
      logLevel: config.logLevel,
      candidateDoorbell: memory.candidateDoorbell.sab,
      spinUs,
      waitMode,
      ...(options.inferenceFault ? { fault: options.inferenceFault } : {}),
    });
    const ready = await inference.ready;
    log.info({ provider: ready.provider, modelVersion: ready.modelVersion }, 'engine: inference ready');
    pool = startFeaturePool({
      shards: config.shards,
      symbolsPerShard: options.symbolsPerShard,
      tickRings: memory.tickRings.map((r) => r.sab),
      candidateRings: memory.candidateRings.map((r) => r.sab),
      featureStateSab: memory.featureState.sab,
      workers: config.workers,
      tickConsumer: 0,
      candidatePolicy: config.backpressure,
      patternParams: config.patternParams,
      tickDoorbells: memory.tickDoorbells.sab,
      // A candidate may wait for the inference thread's wake-up at most half its batch window:
      // under load one wake-up per interval instead of one per feature batch.
      candidateWakeUs: waitMode === 'park' ? config.maxWaitUs / 2 : 0,
      candidateDoorbell: memory.candidateDoorbell.sab,
      spinUs,
      waitMode,
      log,
    });
    if (sql) await registerModel(sql, config.modelPath, ready.modelVersion, config.dbTimeoutMs, log);
    return {
      writer,
      inference,
      pool,
      provider: ready.provider,
      modelVersion: ready.modelVersion,
      spinUs,
      wakeLatencyUs: wake?.medianUs ?? null,
    };
  } catch (err) {
    await pool?.stop({ drain: false }).catch(() => {});
    await inference?.stop().catch(() => {});
    if (writer) await writer.stop(0).catch(() => {});
    throw err;
  }
}

/**
 * Records the model the inference thread loaded in the registry (model/registry.ts). The registry
 * is a record, not a dependency: a failure is logged and the engine scores on.
 */
async function registerModel(
  sql: Sql,
  modelPath: string | undefined,
  version: string,
  timeoutMs: number,
  log: Logger,
): Promise<void> {
  try {
    const file = await modelFileBeside(modelPath);
    if (!file || file.version !== version) {
      log.warn({ modelVersion: version }, 'engine: no model file describes the loaded model; not registered');
      return;
    }
    await withDeadline(registerActiveModel(sql, registryEntryOf(file)), timeoutMs, 'register model');
    log.info({ modelVersion: version }, 'engine: model registered as the active signal model');
  } catch (err) {
    log.warn({ err: (err as Error).message, modelVersion: version }, 'engine: model registry update failed');
  }
}
