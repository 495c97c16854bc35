import { BACKTEST_JOB_KIND } from '@aegis/shared/bus/backtest-jobs';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import type { Sql } from 'postgres';

/**
 * The `jobs` row as a lease: a worker owns a backtest job while `locked_by` is its name and
 * `locked_until` is in the future, and renews it while it runs. Claiming needs the job queued,
 * or running under a lease that has expired (its worker died): that is how a crashed worker's
 * job is resumed. Every claim counts an attempt; past `max_attempts` the job fails with its last
 * reason. Job rows are read without a desk set (policy `job_scope`: workers serve every desk).
 */
export interface ClaimedJob {
  readonly id: string;
  readonly tenantId: TenantId;
  readonly backtestId: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lastError: string | null;
}

interface JobRow {
  id: string;
  tenant_id: string;
  payload: { backtestId?: string };
  attempts: number;
  max_attempts: number;
  last_error: string | null;
}

export async function claimJob(
  sql: Sql,
  jobId: string,
  worker: string,
  leaseMs: number,
): Promise<ClaimedJob | null> {
  const [row] = await sql<JobRow[]>`
    update jobs set status = 'running', attempts = attempts + 1, locked_by = ${worker},
      locked_until = now() + make_interval(secs => ${leaseMs / 1000})
    where id = ${jobId} and kind = ${BACKTEST_JOB_KIND} and tenant_id is not null
      and (status = 'queued' or (status = 'running' and locked_until < now()))
    returning id, tenant_id, payload, attempts, max_attempts, last_error`;
  if (!row?.payload.backtestId) return null;
  return {
    id: row.id,
    tenantId: asTenantId(row.tenant_id),
    backtestId: row.payload.backtestId,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastError: row.last_error,
  };
}

/** What a job row says when it could not be claimed (null: no such row, or not yet committed). */
export async function jobState(
  sql: Sql,
  jobId: string,
): Promise<{ status: string; leaseLive: boolean } | null> {
  const [row] = await sql<{ status: string; lease_live: boolean }[]>`
    select status, coalesce(locked_until > now(), false) as lease_live from jobs where id = ${jobId}`;
  return row ? { status: row.status, leaseLive: row.lease_live } : null;
}

/** Renews the lease; false when this worker no longer holds it (another worker took the job). */
export async function renewLease(sql: Sql, jobId: string, worker: string, leaseMs: number): Promise<boolean> {
  const rows = await sql`
    update jobs set locked_until = now() + make_interval(secs => ${leaseMs / 1000})
    where id = ${jobId} and locked_by = ${worker} and status = 'running'
    returning 1`;
  return rows.length > 0;
}
