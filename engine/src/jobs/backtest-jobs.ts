import type { Decider } from '@aegis/shared/agent/decider';
import { backtestStreams } from '@aegis/shared/bus/backtest-jobs';
import type { Bus } from '@aegis/shared/bus/types';
import { connectSql } from '@aegis/shared/db/client';
import type { Logger } from '@aegis/shared/logging';
import type { BacktestResult, BacktestSpec } from '@aegis/shared/schemas/backtest';
import type { Sql } from 'postgres';
import type { BacktestIo } from '../backtest/run-backtest.ts';
import { mlpScorer, type Scorer } from '../backtest/scorer.ts';
import type { EngineConfig } from '../config.ts';
import { loadModelFile } from '../model/model-file.ts';
import type { ThreadRunOptions } from './backtest-thread.ts';
import { BacktestWorker } from './backtest-worker.ts';
import { startSweeper } from './sweeper.ts';

/**
 * The engine's backtest jobs: `workers` BacktestWorkers (one job each at a time) and the sweeper,
 * on the database and the bus the server queues to (engine/src/main.ts starts them when
 * ENGINE_BACKTEST_WORKERS > 0 and a database is configured). Backtests run on this process's
 * event loop, yielding every feed batch, beside the live feeds.
 */
export interface BacktestJobsOptions {
  readonly sql: Sql;
  readonly bus: Bus;
  readonly log: Logger;
  /** ENGINE_STREAM_PREFIX (`aegis:`). */
  readonly prefix: string;
  /** Consumer names are `<consumer>-backtest-<i>`: stable across restarts, so pending entries drain. */
  readonly consumer: string;
  readonly workers: number;
  /** Lease length; a crashed worker's job is resumed this long after its last renewal. */
  readonly leaseMs?: number;
  /**
   * Run each backtest in its own thread (production), which connects to `databaseUrl` for a
   * range of the `ticks` table and scores with `modelJsonPath` (signal-mlp.json; null: the
   * committed one). Without it, runs are inline on this thread with `scorer` (tests).
   */
  readonly thread?: Omit<ThreadRunOptions, 'uploadPath' | 'onProgress' | 'signal'>;
  /** The model file for inline runs when no scorer is given; default: the committed one. */
  readonly modelJsonPath?: string | undefined;
  readonly scorer?: () => Promise<Scorer>;
  readonly decider?: () => Decider;
  readonly run?: (spec: BacktestSpec, io: BacktestIo) => Promise<BacktestResult>;
  readonly blockMs?: number;
  readonly progressEveryMs?: number;
  readonly sweepEveryMs?: number;
  /** A queued job whose entry never reached the stream is queued again after this. */
  readonly sweepGraceMs?: number;
  readonly tmpDir?: string;
}

export interface BacktestJobsHandle {
  readonly workers: readonly BacktestWorker[];
  stop(): Promise<void>;
}

export async function startBacktestJobs(o: BacktestJobsOptions): Promise<BacktestJobsHandle> {
  const log = o.log.child({ component: 'backtest-jobs' });
  const streams = backtestStreams(o.prefix);
  const leaseMs = o.leaseMs ?? 30_000;
  let loaded: Promise<Scorer> | null = null;
  const scorer =
    o.scorer ??
    (() => {
      // Loaded once, on the first job; a failure is retried by the next one.
      loaded ??= loadModelFile(o.modelJsonPath).then(mlpScorer, (err) => {
        loaded = null;
        throw err;
      });
      return loaded;
    });
  const workers: BacktestWorker[] = [];
  for (let i = 0; i < o.workers; i++) {
    const w = new BacktestWorker({
      sql: o.sql,
      bus: o.bus,
      streams,
      log,
      worker: `${o.consumer}-backtest-${i}`,
      leaseMs,
      // Auto-claim only once the dead worker's lease has surely expired, so the claim succeeds.
      claimIdleMs: leaseMs + 1000,
      blockMs: o.blockMs ?? 2000,
      maxDeliveries: 10,
      progressEveryMs: o.progressEveryMs ?? 500,
      ...(o.thread ? { thread: o.thread } : { scorer }),
      ...(o.decider ? { decider: o.decider } : {}),
      ...(o.run ? { run: o.run } : {}),
      ...(o.tmpDir ? { tmpDir: o.tmpDir } : {}),
    });
    await w.start();
    workers.push(w);
  }
  const sweeper = startSweeper({
    sql: o.sql,
    bus: o.bus,
    streams,
    log,
    everyMs: o.sweepEveryMs ?? 5000,
    graceMs: o.sweepGraceMs ?? 10_000,
    staleMs: 10 * 60_000,
  });
  log.info({ workers: o.workers, stream: streams.jobs, leaseMs }, 'backtest workers ready');
  return {
    workers,
    async stop() {
      sweeper.stop();
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}

/**
 * The backtest workers an engine's configuration asks for (ENGINE_BACKTEST_WORKERS, lease, stream
 * prefix, model path), on a pool of their own; null without a database or with 0 workers. Used
 * by the daemon (main.ts) and by the single-machine launcher (launcher/src/start.ts) alike.
 */
export async function startConfiguredBacktestJobs(
  config: Pick<
    EngineConfig,
    | 'databaseUrl'
    | 'backtestWorkers'
    | 'backtestLeaseMs'
    | 'streamPrefix'
    | 'consumer'
    | 'modelPath'
    | 'logLevel'
    | 'openai'
  >,
  bus: Bus,
  log: Logger,
): Promise<BacktestJobsHandle | null> {
  if (!config.databaseUrl || config.backtestWorkers === 0) return null;
  const sql = connectSql(config.databaseUrl, {
    max: config.backtestWorkers + 2,
    applicationName: 'aegis-engine-backtests',
  });
  const jobs = await startBacktestJobs({
    sql,
    bus,
    log,
    prefix: config.streamPrefix,
    consumer: config.consumer,
    workers: config.backtestWorkers,
    leaseMs: config.backtestLeaseMs,
    // Each backtest in its own thread: the live feeds keep this one.
    thread: {
      databaseUrl: config.databaseUrl,
      modelJsonPath: config.modelPath?.replace(/\.onnx$/, '.json') ?? null,
      logLevel: config.logLevel,
      openai: config.openai.apiKey
        ? { apiKey: config.openai.apiKey, baseUrl: config.openai.baseUrl, model: config.openai.model }
        : null,
    },
  }).catch(async (err) => {
    await sql.end({ timeout: 1 });
    throw err;
  });
  return {
    workers: jobs.workers,
    async stop() {
      await jobs.stop();
      await sql.end({ timeout: 1 }).catch(() => {});
    },
  };
}
