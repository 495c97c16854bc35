import { BACKTEST_JOB_KIND, type BacktestStreams } from '@aegis/shared/bus/backtest-jobs';
import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';

/**
 * Puts backtest jobs back on the stream when no entry will wake a worker for them:
 *
 * - queued jobs whose entry never reached the stream (the server's xadd failed: enqueued_at
 *   NULL) once `graceMs` old, or whose entry was queued long ago (`staleMs`: Redis lost it);
 * - running jobs whose lease expired with nobody resuming them (their pending entry was acked
 *   as a duplicate by a worker that saw the lease still live, or Redis lost it): queued once per
 *   expiry (enqueued_at moves past locked_until), then claimed by the next worker like any
 *   expired lease.
 *
 * A duplicate entry is harmless (the claim is on the row), so the conditions are conservative
 * only to keep the stream short. Runs in every engine that has backtest workers; without a desk
 * set, job rows of every desk are visible (policy `job_scope`), backtest rows are not needed.
 */
export interface SweeperOptions {
  readonly sql: Sql;
  readonly bus: Bus;
  readonly streams: BacktestStreams;
  readonly log: Logger;
  readonly everyMs: number;
  readonly graceMs: number;
  readonly staleMs: number;
}

const JOB_STREAM_MAXLEN = 10_000;

export async function sweepBacktestJobs(o: Omit<SweeperOptions, 'everyMs'>): Promise<number> {
  // One transaction: the rows stay locked while their entries are written, and a bus failure
  // leaves enqueued_at as it was (the next sweep tries again).
  const ids = await o.sql.begin(async (tx) => {
    const rows = await tx<{ id: string; tenant_id: string; backtest_id: string }[]>`
      select id, tenant_id, payload->>'backtestId' as backtest_id from jobs
      where kind = ${BACKTEST_JOB_KIND} and tenant_id is not null and (
        (status = 'queued' and (
          (enqueued_at is null and created_at < now() - make_interval(secs => ${o.graceMs / 1000}))
          or enqueued_at < now() - make_interval(secs => ${o.staleMs / 1000})))
        or (status = 'running' and locked_until < now() - make_interval(secs => ${o.graceMs / 1000})
            and (enqueued_at is null or enqueued_at < locked_until)))
      order by created_at
      limit 100
      for update skip locked`;
    for (const r of rows) {
      await o.bus.xadd(
        o.streams.jobs,
        { jobId: r.id, backtestId: r.backtest_id, tenantId: r.tenant_id },
        { maxLen: JOB_STREAM_MAXLEN },
      );
    }
    const ids = rows.map((r) => r.id);
    if (ids.length > 0) await tx`update jobs set enqueued_at = now() where id = any(${ids}::uuid[])`;
    return ids;
  });
  if (ids.length > 0) o.log.info({ jobs: ids }, 'backtest jobs queued again by the sweeper');
  return ids.length;
}

export function startSweeper(o: SweeperOptions): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepBacktestJobs(o)
      .catch((err) => o.log.warn({ err }, 'backtest job sweep failed'))
      .finally(() => {
        running = false;
      });
  }, o.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
