import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import { sql } from 'drizzle-orm';
import { type Db, type Tx, withTenant } from '../db/database.ts';
import { queryRows } from '../db/rows.ts';
import type { ChainCursor } from './chain.ts';
import { type ChainWalkResult, readChainPage, walkChain } from './chain-rows.ts';
import { platformTx } from './desk-view.ts';

/**
 * Verifying a long chain in the background, with progress. `startVerifyJob` records a `jobs` row
 * (kind `audit.verify`, status `running`) and walks the chain in this process, page by page, each
 * page in a short transaction of its own; after each page the row's payload gets the rows checked
 * so far, so any server can answer `readVerifyJob`. The row's `locked_until` is pushed forward
 * with each page: a job whose process died stops moving and reads as `interrupted`.
 *
 * The dispatcher and sweeper never pick these rows up (they claim other kinds only).
 */

export const VERIFY_JOB_KIND = 'audit.verify';
/** Above this many rows the synchronous `audit.verify` refuses and points at `verifyStart`. */
export const SYNC_VERIFY_MAX_ROWS = 200_000;
/** Rows a page; a chain of at most one page is verified within the request that starts the job. */
const PAGE_SIZE = 2000;
const LEASE_MS = 60_000;

export type VerifyJobResult = ChainWalkResult;

export interface VerifyJobView {
  id: string;
  tenantId: TenantId | null;
  status: 'running' | 'succeeded' | 'failed' | 'interrupted';
  checked: number;
  total: number;
  startedAt: string;
  finishedAt: string | null;
  result: VerifyJobResult | null;
  error: string | null;
}

interface Payload {
  checked: number;
  total: number;
  anchor?: ChainCursor;
  result?: VerifyJobResult;
}

/** A transaction on the chain's scope: the desk's (RLS on it) or the platform's (no desk set). */
function inScope<T>(db: Db, tenantId: TenantId | null, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return tenantId === null ? platformTx(db, fn) : withTenant(db, tenantId, fn);
}

/** The chain's length by its head seq (the unique (tenant, seq) index answers it). */
export async function chainLength(tx: Tx, tenantId: TenantId | null): Promise<number> {
  const [row] = (await tx.execute(sql`
    select coalesce(max(seq), 0)::text as n from audit_log
    where tenant_id is not distinct from ${tenantId}::uuid`)) as unknown as Array<{ n: string }>;
  return Number(row?.n ?? 0);
}

/**
 * Records the job in `tx` (the caller's transaction, in the chain's scope: the desk's, or none for
 * the platform) and starts the walk, which begins once that transaction has committed (it waits
 * until the row is visible). Taking the caller's transaction rather than a new one: a request
 * holding its connection must not wait for a second one from the pool.
 */
export async function startVerifyJob(
  tx: Tx,
  db: Db,
  log: Logger,
  p: {
    tenantId: TenantId | null;
    anchor?: ChainCursor;
    owner: string;
    /** Tests: rows a page. */
    pageSize?: number;
  },
): Promise<{ jobId: string; total: number }> {
  const total = await chainLength(tx, p.tenantId);
  const pageSize = p.pageSize ?? PAGE_SIZE;
  if (total <= pageSize) {
    // One page: verified here, in the request's transaction; the job is recorded finished.
    const result = await walkChain(
      (afterSeq) => readChainPage(tx, p.tenantId, afterSeq, pageSize),
      pageSize,
      p.anchor,
    );
    const done: Payload = { checked: result.rows, total, ...(p.anchor ? { anchor: p.anchor } : {}), result };
    const [row] = (await tx.execute(sql`
      insert into jobs (tenant_id, kind, payload, status, attempts, max_attempts, locked_by, finished_at)
      values (${p.tenantId}::uuid, ${VERIFY_JOB_KIND}, ${JSON.stringify(done)}::jsonb, 'succeeded', 1, 1,
              ${p.owner}, now())
      returning id::text as id`)) as unknown as Array<{ id: string }>;
    if (!row) throw new AppError(ErrorCode.INTERNAL, 'verify job: insert returned no row');
    return { jobId: row.id, total };
  }
  const payload: Payload = { checked: 0, total, ...(p.anchor ? { anchor: p.anchor } : {}) };
  const [row] = (await tx.execute(sql`
    insert into jobs (tenant_id, kind, payload, status, attempts, max_attempts, locked_by, locked_until)
    values (${p.tenantId}::uuid, ${VERIFY_JOB_KIND}, ${JSON.stringify(payload)}::jsonb, 'running', 1, 1,
            ${p.owner}, now() + make_interval(secs => ${LEASE_MS / 1000}))
    returning id::text as id`)) as unknown as Array<{ id: string }>;
  if (!row) throw new AppError(ErrorCode.INTERNAL, 'verify job: insert returned no row');
  const id = row.id;
  void (async () => {
    if (!(await committed(db, id, p.tenantId))) return; // the request rolled back: no job
    await runVerifyJob(db, id, p.tenantId, p.anchor, total, pageSize);
  })().catch(async (err: unknown) => {
    log.error({ err, jobId: id }, 'audit verify job failed');
    await inScope(db, p.tenantId, (t) =>
      t.execute(sql`
        update jobs set status = 'failed', finished_at = now(), locked_until = null,
               last_error = ${err instanceof Error ? err.message.slice(0, 500) : 'failed'}
        where id = ${id}::uuid`),
    ).catch((e: unknown) =>
      log.error({ err: e, jobId: id }, 'audit verify job: could not record the failure'),
    );
  });
  return { jobId: id, total };
}

/** Waits (up to 30 s) for the job row to become visible, i.e. for the request to commit. */
async function committed(db: Db, jobId: string, tenantId: TenantId | null): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    const rows = await inScope(db, tenantId, (t) =>
      queryRows<{ one: number }>(t, sql`select 1 as one from jobs where id = ${jobId}::uuid`),
    );
    if (rows.length > 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function runVerifyJob(
  db: Db,
  jobId: string,
  tenantId: TenantId | null,
  anchor: ChainCursor | undefined,
  total: number,
  pageSize: number,
): Promise<void> {
  const result = await walkChain(
    (afterSeq) => inScope(db, tenantId, (tx) => readChainPage(tx, tenantId, afterSeq, pageSize)),
    pageSize,
    anchor,
    async (rows) => {
      await inScope(db, tenantId, (tx) =>
        tx.execute(sql`
          update jobs set payload = payload || ${JSON.stringify({ checked: rows, total: Math.max(total, rows) })}::jsonb,
                 locked_until = now() + make_interval(secs => ${LEASE_MS / 1000})
          where id = ${jobId}::uuid`),
      );
    },
  );
  await inScope(db, tenantId, (tx) =>
    tx.execute(sql`
      update jobs set status = 'succeeded', finished_at = now(), locked_until = null,
             payload = payload || ${JSON.stringify({ checked: result.rows, total: Math.max(total, result.rows), result })}::jsonb
      where id = ${jobId}::uuid`),
  );
}

/** The job as its desk (or the platform) sees it; null when there is no such job in scope. */
export async function readVerifyJob(
  tx: Tx,
  jobId: string,
  tenantId: TenantId | null,
): Promise<VerifyJobView | null> {
  const [row] = (await tx.execute(sql`
    select id::text as id, tenant_id::text as tenant_id, status, payload, last_error,
           (locked_until is not null and locked_until < now()) as stale,
           to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as started_at,
           to_char(finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as finished_at
    from jobs
    where id = ${jobId}::uuid and kind = ${VERIFY_JOB_KIND}
      and tenant_id is not distinct from ${tenantId}::uuid`)) as unknown as Array<{
    id: string;
    /** The job's desk, read from `jobs` (null: the platform chain's job). */
    tenant_id: TenantId | null;
    status: string;
    payload: Payload;
    last_error: string | null;
    stale: boolean;
    started_at: string;
    finished_at: string | null;
  }>;
  if (!row) return null;
  const status: VerifyJobView['status'] =
    row.status === 'running'
      ? row.stale
        ? 'interrupted'
        : 'running'
      : row.status === 'succeeded'
        ? 'succeeded'
        : 'failed';
  return {
    id: row.id,
    tenantId: row.tenant_id,
    status,
    checked: row.payload.checked ?? 0,
    total: row.payload.total ?? 0,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    result: row.payload.result ?? null,
    error: row.last_error,
  };
}
