import { tmpdir } from 'node:os';
import type { Decider } from '@aegis/shared/agent/decider';
import type { BacktestProgressMessage, BacktestStreams } from '@aegis/shared/bus/backtest-jobs';
import type { Bus } from '@aegis/shared/bus/types';
import { withTenantSql } from '@aegis/shared/db/client';
import { AppError, isAppError } from '@aegis/shared/errors';
import type { Logger } from '@aegis/shared/logging';
import {
  type BacktestProgress,
  type BacktestResult,
  type BacktestSpec,
  type BacktestStatus,
  backtestSpecSchema,
} from '@aegis/shared/schemas/backtest';
import type { Sql } from 'postgres';
import { type BacktestIo, isBacktestCancelled, runBacktest } from '../backtest/run-backtest.ts';
import type { Scorer } from '../backtest/scorer.ts';
import { tickSourceFor } from '../backtest/tick-source.ts';
import { runBacktestInThread, type ThreadRunOptions } from './backtest-thread.ts';
import { type ClaimedJob, renewLease } from './job-lease.ts';
import { type MaterializedUpload, materializeUpload } from './upload-file.ts';

/**
 * One claimed backtest job, run to its end: the backtest row marked running, the data loaded
 * (a range of `ticks`, an uploaded file, or the simulation), runBacktest with its progress
 * written to the row (throttled) and published on the progress channel, the lease renewed, a
 * cancel request obeyed (from the row, read back with every progress write, or the cancel
 * channel), and the result and status stored with the job's in one transaction — only while
 * this worker still holds the lease (a worker that lost it writes nothing).
 *
 * A resumed job starts again from its first tick: the run is deterministic (same spec, seed and
 * data give the same bytes), so a restart produces exactly the result the first run would have.
 */
export interface BacktestJobDeps {
  readonly sql: Sql;
  readonly bus: Bus;
  readonly streams: BacktestStreams;
  readonly log: Logger;
  readonly worker: string;
  readonly leaseMs: number;
  /** Minimum ms between two progress writes (the runner reports about every 500 ms). */
  readonly progressEveryMs: number;
  /**
   * Where the run happens: in its own thread (production: the live feeds keep the main thread;
   * the thread builds its own tick source and model), or inline on this thread with the scorer
   * (and runner) given here (tests).
   */
  readonly thread?: Omit<ThreadRunOptions, 'uploadPath' | 'onProgress' | 'signal'> | undefined;
  readonly scorer?: (() => Promise<Scorer>) | undefined;
  /** Only when the engine is configured with one; specs asking for 'openai' fail without. */
  readonly decider?: (() => Decider) | undefined;
  /** The inline runner (default runBacktest). */
  readonly run?: ((spec: BacktestSpec, io: BacktestIo) => Promise<BacktestResult>) | undefined;
  readonly tmpDir?: string;
}

export type JobOutcome = 'succeeded' | 'failed' | 'cancelled' | 'lost' | 'released';

/** Why a run stopped early (the AbortController's reason). */
type StopReason = 'cancel' | 'lost' | 'shutdown';

const MAX_ERROR_CHARS = 1000;

export async function runBacktestJob(
  deps: BacktestJobDeps,
  job: ClaimedJob,
  shutdown: AbortSignal,
  /** With each lease renewal: keeps the job's stream entry from looking abandoned (bus.touch). */
  touchEntry: () => Promise<unknown> = async () => {},
): Promise<JobOutcome> {
  const log = deps.log.child({ jobId: job.id, backtestId: job.backtestId, attempt: job.attempts });
  const db = (fn: (tx: Sql) => Promise<unknown>) => withTenantSql(deps.sql, job.tenantId, fn as never);

  if (job.attempts > job.maxAttempts) {
    const reason = `gave up after ${job.maxAttempts} attempts (the worker stopped each time)${
      job.lastError ? `; last error: ${job.lastError}` : ''
    }`;
    await finish(deps, job, 'failed', reason, null, null);
    return 'failed';
  }

  // Running from here; a cancelled (or vanished) backtest is not run at all.
  const started = (await db(
    (tx) => tx`
      update backtests set status = 'running', started_at = coalesce(started_at, now()),
        progress = null, error = null, updated_at = now()
      where id = ${job.backtestId} and status in ('queued', 'running')
      returning params, cancel_requested_at`,
  )) as { params: unknown; cancel_requested_at: Date | null }[];
  const row = started[0];
  if (!row || row.cancel_requested_at) {
    await finish(deps, job, 'cancelled', 'cancelled', null, null);
    return 'cancelled';
  }
  const parsed = backtestSpecSchema.safeParse(row.params);
  if (!parsed.success) {
    await finish(
      deps,
      job,
      'failed',
      `stored spec is invalid: ${parsed.error.issues[0]?.message}`,
      null,
      null,
    );
    return 'failed';
  }
  const spec = parsed.data;

  const stop = new AbortController();
  const stopWith = (reason: StopReason) => {
    if (!stop.signal.aborted) stop.abort(reason);
  };
  const onShutdown = () => stopWith('shutdown');
  shutdown.addEventListener('abort', onShutdown, { once: true });
  if (shutdown.aborted) stopWith('shutdown');
  const unsubscribe = await deps.bus
    .subscribe(deps.streams.cancel(job.backtestId), () => stopWith('cancel'))
    .catch((err) => {
      log.warn({ err }, 'cancel channel unavailable; cancels arrive with the next progress write');
      return async () => {};
    });

  // The lease, renewed at a third of its length; losing it stops the run without writing.
  const renew = setInterval(
    () => {
      renewLease(deps.sql, job.id, deps.worker, deps.leaseMs).then(
        (held) => {
          if (!held) {
            log.warn('backtest job lease lost; another worker has it');
            stopWith('lost');
          }
        },
        (err) => log.warn({ err }, 'backtest job lease renewal failed'),
      );
      // The entry's idle time is what XAUTOCLAIM looks at: renewed with the lease, an entry goes
      // to another worker only once this one stopped renewing both.
      touchEntry().catch((err) => log.warn({ err }, 'backtest job entry not touched'));
    },
    Math.max(50, Math.floor(deps.leaseMs / 3)),
  );

  const progress = new ProgressWriter(deps, job, log, () => stopWith('cancel'));
  let upload: MaterializedUpload | null = null;
  try {
    if (spec.data.kind === 'upload') {
      upload = await materializeUpload(
        deps.sql,
        job.tenantId,
        spec.data.uploadId,
        deps.tmpDir ?? tmpdir(),
        `aegis-backtest-${job.id}`,
      );
    }
    const uploadPath = upload?.path ?? null;
    const onProgress = (p: BacktestProgress) => progress.report(p);
    const result = deps.thread
      ? await runBacktestInThread(spec, { ...deps.thread, uploadPath, onProgress, signal: stop.signal })
      : await runInline(deps, spec, uploadPath, onProgress, stop.signal, log);
    await progress.flush();
    if (stop.signal.aborted) return await stopped(stop.signal.reason as StopReason);
    const ok = await finish(deps, job, 'succeeded', null, result, progress.last);
    log.info({ ticks: result.ticks, digest: result.digest, ok }, 'backtest succeeded');
    return ok ? 'succeeded' : 'lost';
  } catch (e) {
    await progress.flush().catch(() => {});
    if (stop.signal.aborted || isBacktestCancelled(e)) {
      return await stopped((stop.signal.reason as StopReason | undefined) ?? 'cancel');
    }
    const reason = errorReason(e);
    log.warn({ err: e }, 'backtest failed');
    const ok = await finish(deps, job, 'failed', reason, null, progress.last);
    return ok ? 'failed' : 'lost';
  } finally {
    clearInterval(renew);
    shutdown.removeEventListener('abort', onShutdown);
    await unsubscribe().catch(() => {});
    await upload?.remove().catch(() => {});
  }

  async function stopped(reason: StopReason): Promise<JobOutcome> {
    if (reason === 'lost') return 'lost';
    if (reason === 'shutdown') {
      // Back to the queue for the next worker (or this one after its restart); not an attempt.
      const released = await deps.sql.begin(async (tx) => {
        const rows = await tx`
          update jobs set status = 'queued', attempts = greatest(attempts - 1, 0), locked_by = null,
            locked_until = null, enqueued_at = null
          where id = ${job.id} and locked_by = ${deps.worker} and status = 'running' returning 1`;
        if (rows.length === 0) return false;
        await tx`select set_config('app.tenant_id', ${job.tenantId}, true)`;
        await tx`update backtests set status = 'queued', updated_at = now()
                 where id = ${job.backtestId} and status = 'running'`;
        return true;
      });
      log.info({ released }, 'backtest job given back on shutdown');
      await publishStatus(deps, job, 'queued', null);
      return 'released';
    }
    const ok = await finish(deps, job, 'cancelled', 'cancelled', null, progress.last);
    log.info({ ok }, 'backtest cancelled');
    return ok ? 'cancelled' : 'lost';
  }
}

async function runInline(
  deps: BacktestJobDeps,
  spec: BacktestSpec,
  uploadPath: string | null,
  onProgress: (p: BacktestProgress) => void,
  signal: AbortSignal,
  log: Logger,
): Promise<BacktestResult> {
  if (!deps.scorer) throw new AppError('INTERNAL', 'backtest worker: no scorer for an inline run');
  const ticks = await tickSourceFor(spec, {
    sql: deps.sql,
    log,
    ...(uploadPath ? { uploadPath: () => uploadPath } : {}),
  });
  const model = await deps.scorer();
  const decider = spec.agent.decider === 'openai' ? deps.decider?.() : undefined;
  return (deps.run ?? runBacktest)(spec, {
    ticks,
    model,
    ...(decider ? { decider } : {}),
    onProgress,
    signal,
  });
}

/** A failure's reason for the desk: the error's own message (domain errors name the field). */
function errorReason(e: unknown): string {
  const message = isAppError(e) ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return message.slice(0, MAX_ERROR_CHARS);
}

/**
 * Stores the final status (and result) of the backtest and its job in one transaction, only if
 * this worker still holds the job. Returns false when it did not (another worker took over).
 */
async function finish(
  deps: BacktestJobDeps,
  job: ClaimedJob,
  status: Extract<BacktestStatus, 'succeeded' | 'failed' | 'cancelled'>,
  error: string | null,
  result: BacktestResult | null,
  progress: BacktestProgress | null,
): Promise<boolean> {
  const done = await withTenantSql(deps.sql, job.tenantId, async (tx) => {
    const held = await tx`
      update jobs set status = ${status}, finished_at = now(), locked_by = null, locked_until = null,
        last_error = ${status === 'failed' ? error : null}
      where id = ${job.id} and locked_by = ${deps.worker} and status = 'running'
      returning 1`;
    if (held.length === 0) return false;
    await tx`
      update backtests set status = ${status}, error = ${error},
        result = ${result ? tx.json(result as never) : null},
        progress = coalesce(${progress ? tx.json(progress as never) : null}::jsonb, progress),
        finished_at = now(), updated_at = now()
      where id = ${job.backtestId}`;
    return true;
  });
  if (done) await publishStatus(deps, job, status, error);
  return done;
}

async function publishStatus(
  deps: BacktestJobDeps,
  job: ClaimedJob,
  status: BacktestStatus,
  error: string | null,
): Promise<void> {
  const message: BacktestProgressMessage = { type: 'status', status, error };
  await deps.bus.publish(deps.streams.progress(job.backtestId), JSON.stringify(message)).catch(() => {});
}

/**
 * Progress to the row and the channel, at most once per `progressEveryMs` (the last report is
 * always written by `flush`). Writes are chained, never concurrent; each reads back
 * cancel_requested_at, which is how a cancel reaches a worker whose bus does not carry it.
 */
class ProgressWriter {
  last: BacktestProgress | null = null;
  #lastWriteAt = 0;
  #pending: BacktestProgress | null = null;
  #chain: Promise<void> = Promise.resolve();
  #deps: BacktestJobDeps;
  #job: ClaimedJob;
  #log: Logger;
  #onCancel: () => void;

  constructor(deps: BacktestJobDeps, job: ClaimedJob, log: Logger, onCancel: () => void) {
    this.#deps = deps;
    this.#job = job;
    this.#log = log;
    this.#onCancel = onCancel;
  }

  report(p: BacktestProgress): void {
    this.last = p;
    this.#pending = p;
    const now = performance.now();
    if (now - this.#lastWriteAt < this.#deps.progressEveryMs) return;
    this.#lastWriteAt = now;
    this.#chain = this.#chain.then(() => this.#write());
  }

  flush(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#write());
    return this.#chain;
  }

  async #write(): Promise<void> {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    try {
      const rows = await withTenantSql(
        this.#deps.sql,
        this.#job.tenantId,
        (tx) => tx<{ cancel_requested_at: Date | null }[]>`
          update backtests set progress = ${tx.json(p as never)}, updated_at = now()
          where id = ${this.#job.backtestId} and status = 'running'
          returning cancel_requested_at`,
      );
      if (rows[0]?.cancel_requested_at) this.#onCancel();
      const message: BacktestProgressMessage = { type: 'progress', progress: p };
      await this.#deps.bus.publish(
        this.#deps.streams.progress(this.#job.backtestId),
        JSON.stringify(message),
      );
    } catch (err) {
      this.#log.warn({ err }, 'backtest progress not written');
    }
  }
}
