import { randomUUID } from 'node:crypto';
import { BACKTEST_JOB_KIND } from '@aegis/shared/bus/backtest-jobs';
import { backtests, backtestUploads, jobs } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import type { TenantId, UserId } from '@aegis/shared/ids';
import {
  type BacktestProgress,
  type BacktestResult,
  type BacktestSpec,
  type BacktestStatus,
  type BacktestView,
  backtestProgressSchema,
  backtestResultSchema,
  backtestSpecSchema,
} from '@aegis/shared/schemas/backtest';
import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';

/**
 * Backtests as a desk sees them. Every query runs in the caller's desk transaction (RLS), so a
 * desk reads, creates and cancels only its own. Creating one writes the `backtests` row and its
 * `jobs` row together (the truth); queue.ts then wakes a worker through the stream.
 */

/** Attempts before a job whose worker keeps dying fails with its last reason. */
export const BACKTEST_MAX_ATTEMPTS = 3;
/** Backtests a desk may have queued or running at once (the workers are shared by every desk). */
export const MAX_ACTIVE_BACKTESTS = 20;

const TERMINAL: readonly BacktestStatus[] = ['succeeded', 'failed', 'cancelled'];
export const isTerminal = (s: BacktestStatus) => TERMINAL.includes(s);

type BacktestRow = typeof backtests.$inferSelect;

/** A row whose stored spec no longer parses (written under an older contract): not shown. */
const specOf = (row: BacktestRow) => backtestSpecSchema.safeParse(row.params);

export function toBacktestView(row: BacktestRow): BacktestView {
  const progress = row.progress == null ? null : backtestProgressSchema.safeParse(row.progress);
  const spec = specOf(row);
  if (!spec.success) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `id: backtest ${row.id} was stored under an older spec format`,
      {
        field: 'id',
        reason: 'stale_spec',
      },
    );
  }
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    spec: spec.data,
    progress: progress?.success ? progress.data : null,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** Checks what the spec points at on this desk (names the field), then stores rows. */
export async function createBacktest(
  tx: Tx,
  input: { tenantId: TenantId; userId: UserId; spec: BacktestSpec },
): Promise<{ view: BacktestView; jobId: string }> {
  const { spec } = input;
  if (spec.persistTicks) {
    // Refused rather than ignored: the workers replay ticks and never write them.
    throw new AppError(
      'BAD_INPUT',
      'persistTicks: not supported yet (backtests replay ticks, never write them)',
      {
        field: 'persistTicks',
      },
    );
  }
  const [active] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(backtests)
    .where(inArray(backtests.status, ['queued', 'running']));
  if ((active?.n ?? 0) >= MAX_ACTIVE_BACKTESTS) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `${MAX_ACTIVE_BACKTESTS} backtests are already queued or running on this desk; wait or cancel one`,
      { reason: 'too_many_active' },
    );
  }
  let fromTs: Date | null = null;
  let toTs: Date | null = null;
  if (spec.data.kind === 'ticks_table') {
    fromTs = new Date(spec.data.from);
    toTs = new Date(spec.data.to);
    if (toTs <= fromTs) {
      throw new AppError('BAD_INPUT', 'data.to: must be after data.from', { field: 'data.to' });
    }
  }
  if (spec.data.kind === 'upload') {
    const [upload] = await tx
      .select({ status: backtestUploads.status })
      .from(backtestUploads)
      .where(eq(backtestUploads.id, spec.data.uploadId));
    if (!upload) {
      throw new AppError('NOT_FOUND', 'data.uploadId: no such upload on this desk', {
        reason: 'unknown_reference',
        field: 'data.uploadId',
      });
    }
    if (upload.status !== 'complete') {
      throw new AppError('PRECONDITION_FAILED', 'data.uploadId: upload not finished (uploadFinish)', {
        field: 'data.uploadId',
      });
    }
  }
  const backtestId = randomUUID();
  const jobId = randomUUID();
  await tx.insert(jobs).values({
    id: jobId,
    tenantId: input.tenantId,
    kind: BACKTEST_JOB_KIND,
    payload: { backtestId },
    status: 'queued',
    maxAttempts: BACKTEST_MAX_ATTEMPTS,
    enqueuedAt: new Date(),
  });
  const [row] = await tx
    .insert(backtests)
    .values({
      id: backtestId,
      tenantId: input.tenantId,
      name: spec.name,
      params: spec,
      status: 'queued',
      fromTs,
      toTs,
      createdBy: input.userId,
      jobId,
    })
    .returning();
  return { view: toBacktestView(row!), jobId };
}

/** The stream entry did not make it: the sweeper picks jobs with no enqueued_at. */
export async function markNotEnqueued(tx: Tx, jobId: string): Promise<void> {
  await tx.update(jobs).set({ enqueuedAt: null }).where(eq(jobs.id, jobId));
}

export async function listBacktests(
  tx: Tx,
  input: { limit: number; cursor?: string | undefined; status?: BacktestStatus | undefined },
): Promise<{ items: BacktestView[]; nextCursor: string | null }> {
  const after = input.cursor ? decodeListCursor(input.cursor) : null;
  const rows = await tx
    .select()
    .from(backtests)
    .where(
      and(
        input.status ? eq(backtests.status, input.status) : undefined,
        after
          ? or(
              lt(backtests.createdAt, after.ts),
              and(eq(backtests.createdAt, after.ts), lt(backtests.id, after.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(backtests.createdAt), desc(backtests.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page[page.length - 1];
  return {
    // One unreadable row must not hide the desk's other backtests.
    items: page.filter((r) => specOf(r).success).map(toBacktestView),
    nextCursor: rows.length > input.limit && last ? `${last.createdAt.toISOString()}_${last.id}` : null,
  };
}

function decodeListCursor(cursor: string): { ts: Date; id: string } {
  const [ts, id] = cursor.split('_');
  const date = ts ? new Date(ts) : null;
  if (!date || Number.isNaN(date.getTime()) || !id || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new AppError('BAD_INPUT', 'cursor: not a cursor from backtests.list', { field: 'cursor' });
  }
  return { ts: date, id };
}

async function rowOf(tx: Tx, id: string, lock = false): Promise<BacktestRow> {
  const q = tx.select().from(backtests).where(eq(backtests.id, id));
  const [row] = lock ? await q.for('update') : await q;
  if (!row) {
    throw new AppError('NOT_FOUND', 'id: no such backtest on this desk', {
      reason: 'unknown_reference',
      field: 'id',
    });
  }
  return row;
}

export async function getBacktest(
  tx: Tx,
  id: string,
): Promise<BacktestView & { result: BacktestResult | null; startedAt: string | null }> {
  const row = await rowOf(tx, id);
  const parsed = row.result == null ? null : backtestResultSchema.safeParse(row.result);
  return {
    ...toBacktestView(row),
    result: parsed?.success ? parsed.data : null,
    startedAt: row.startedAt?.toISOString() ?? null,
  };
}

/** Status, progress and error only (what the progress stream re-reads). */
export async function backtestState(
  tx: Tx,
  id: string,
): Promise<{ status: BacktestStatus; progress: BacktestProgress | null; error: string | null }> {
  const view = toBacktestView(await rowOf(tx, id));
  return { status: view.status, progress: view.progress, error: view.error };
}

/**
 * Cancels: a queued backtest at once (its job too, so no worker claims it: the claim needs
 * status 'queued' and waits for this row lock); a running one is asked to stop (the worker sees
 * cancel_requested_at with its next progress write, or the cancel message sooner) and reports
 * 'cancelled' itself. A cancelled one is returned as it is; a finished one is a conflict.
 */
export async function cancelBacktest(tx: Tx, id: string): Promise<{ view: BacktestView; running: boolean }> {
  const row = await rowOf(tx, id, true);
  if (row.status === 'cancelled') return { view: toBacktestView(row), running: false };
  if (row.status === 'succeeded' || row.status === 'failed') {
    throw new AppError('PRECONDITION_FAILED', `id: backtest already ${row.status}`, {
      reason: 'already_finished',
      field: 'id',
    });
  }
  const now = new Date();
  // The job still queued (no worker has claimed it; a claim needs status 'queued' and waits for
  // this row's lock): cancel both now. Claimed meanwhile: ask the worker, as for a running one.
  const unclaimed =
    row.status === 'queued' &&
    (row.jobId === null ||
      (
        await tx
          .update(jobs)
          .set({ status: 'cancelled', finishedAt: now, lockedBy: null, lockedUntil: null })
          .where(and(eq(jobs.id, row.jobId), eq(jobs.status, 'queued')))
          .returning({ id: jobs.id })
      ).length > 0);
  if (unclaimed) {
    const [updated] = await tx
      .update(backtests)
      .set({
        status: 'cancelled',
        cancelRequestedAt: now,
        finishedAt: now,
        updatedAt: now,
        error: 'cancelled',
      })
      .where(eq(backtests.id, id))
      .returning();
    return { view: toBacktestView(updated!), running: false };
  }
  const [updated] = await tx
    .update(backtests)
    .set({ cancelRequestedAt: row.cancelRequestedAt ?? now, updatedAt: now })
    .where(eq(backtests.id, id))
    .returning();
  return { view: toBacktestView(updated!), running: true };
}
