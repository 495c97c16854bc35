import { createHash } from 'node:crypto';
import { backtests, backtestUploadChunks, backtestUploads } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import type { TenantId, UserId } from '@aegis/shared/ids';
import { and, asc, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';

/**
 * Tick files for backtests, uploaded in bounded chunks over tRPC (base64 in JSON: the server's
 * 1 MiB body limit holds a 512 KiB chunk with room to spare). Chunks are numbered and must
 * arrive in order; resending the chunk last stored with the same bytes is accepted (a retry after
 * a lost answer), anything else is refused naming the field. `finish` hashes the stored bytes
 * in order and compares with the sha-256 declared at the start, so the file a worker replays is
 * exactly the one the client had. All under the desk's RLS.
 */

/** Largest file accepted. */
export const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;
/** Largest chunk (decoded bytes). */
export const MAX_CHUNK_BYTES = 512 * 1024;
/** Open (unfinished) uploads a desk may hold at once. */
export const MAX_OPEN_UPLOADS = 8;
/** All of a desk's uploads together (finished or not): delete old ones to make room. */
export const MAX_DESK_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024;
/** An upload left unfinished this long is abandoned: deleted when the desk starts another. */
const ABANDONED_AFTER = '1 day';

export type UploadFormat = 'csv' | 'ticks';

export interface UploadView {
  readonly id: string;
  readonly name: string;
  readonly format: UploadFormat;
  readonly sizeBytes: number;
  readonly receivedBytes: number;
  readonly chunks: number;
  readonly status: 'open' | 'complete';
  readonly createdAt: string;
}

type UploadRow = typeof backtestUploads.$inferSelect;
const toView = (r: UploadRow): UploadView => ({
  id: r.id,
  name: r.name,
  format: r.format,
  sizeBytes: r.sizeBytes,
  receivedBytes: r.receivedBytes,
  chunks: r.chunks,
  status: r.status,
  createdAt: r.createdAt.toISOString(),
});

export async function startUpload(
  tx: Tx,
  input: {
    tenantId: TenantId;
    userId: UserId;
    name: string;
    format: UploadFormat;
    sizeBytes: number;
    sha256: string;
  },
): Promise<UploadView & { maxChunkBytes: number }> {
  // Abandoned uploads go first (their chunks cascade), so they neither count nor pile up.
  await tx
    .delete(backtestUploads)
    .where(
      and(
        eq(backtestUploads.status, 'open'),
        lt(backtestUploads.createdAt, sql`now() - ${ABANDONED_AFTER}::interval`),
      ),
    );
  const [open] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(backtestUploads)
    .where(eq(backtestUploads.status, 'open'));
  if ((open?.n ?? 0) >= MAX_OPEN_UPLOADS) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `too many unfinished uploads (${MAX_OPEN_UPLOADS}); finish one first`,
      {
        reason: 'open_uploads',
      },
    );
  }
  const [total] = await tx
    .select({ bytes: sql<string>`coalesce(sum(${backtestUploads.sizeBytes}), 0)::text` })
    .from(backtestUploads);
  const used = Number(total?.bytes ?? 0);
  if (used + input.sizeBytes > MAX_DESK_UPLOAD_BYTES) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `sizeBytes: the desk's uploads already hold ${used} of ${MAX_DESK_UPLOAD_BYTES} bytes; delete some (uploadDelete)`,
      { field: 'sizeBytes', reason: 'upload_quota' },
    );
  }
  const [row] = await tx
    .insert(backtestUploads)
    .values({
      tenantId: input.tenantId,
      name: input.name,
      format: input.format,
      sizeBytes: input.sizeBytes,
      sha256: input.sha256.toLowerCase(),
      createdBy: input.userId,
    })
    .returning();
  return { ...toView(row!), maxChunkBytes: MAX_CHUNK_BYTES };
}

async function uploadRow(tx: Tx, id: string): Promise<UploadRow> {
  const [row] = await tx.select().from(backtestUploads).where(eq(backtestUploads.id, id)).for('update');
  if (!row) {
    throw new AppError('NOT_FOUND', 'uploadId: no such upload on this desk', {
      reason: 'unknown_reference',
      field: 'uploadId',
    });
  }
  return row;
}

/** Decodes strict base64 (no whitespace, correct padding); names the field when it is not. */
export function decodeChunk(data: string): Buffer {
  if (data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
    throw new AppError('BAD_INPUT', 'data: not base64', { field: 'data' });
  }
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length === 0) throw new AppError('BAD_INPUT', 'data: empty chunk', { field: 'data' });
  if (bytes.length > MAX_CHUNK_BYTES) {
    throw new AppError('BAD_INPUT', `data: chunk over ${MAX_CHUNK_BYTES} bytes`, { field: 'data' });
  }
  return bytes;
}

export async function appendChunk(
  tx: Tx,
  input: { tenantId: TenantId; uploadId: string; seq: number; data: string },
): Promise<UploadView> {
  const bytes = decodeChunk(input.data);
  const row = await uploadRow(tx, input.uploadId);
  if (row.status !== 'open') {
    throw new AppError('PRECONDITION_FAILED', 'uploadId: upload already finished', { field: 'uploadId' });
  }
  if (input.seq === row.chunks - 1) {
    // A retry of the last chunk (its answer was lost): accepted when the bytes are the same.
    const [last] = await tx
      .select({ data: backtestUploadChunks.data })
      .from(backtestUploadChunks)
      .where(and(eq(backtestUploadChunks.uploadId, row.id), eq(backtestUploadChunks.seq, input.seq)));
    if (last && Buffer.compare(last.data, bytes) === 0) return toView(row);
  }
  if (input.seq !== row.chunks) {
    throw new AppError('BAD_INPUT', `seq: expected chunk ${row.chunks}`, {
      field: 'seq',
      expected: row.chunks,
    });
  }
  if (row.receivedBytes + bytes.length > row.sizeBytes) {
    throw new AppError('BAD_INPUT', `data: more bytes than the declared size (${row.sizeBytes})`, {
      field: 'data',
    });
  }
  await tx.insert(backtestUploadChunks).values({
    uploadId: row.id,
    tenantId: input.tenantId,
    seq: input.seq,
    data: bytes,
  });
  const [updated] = await tx
    .update(backtestUploads)
    .set({ chunks: row.chunks + 1, receivedBytes: row.receivedBytes + bytes.length })
    .where(eq(backtestUploads.id, row.id))
    .returning();
  return toView(updated!);
}

/** Chunks hashed per page, so a large file is never held in memory at once. */
const HASH_PAGE = 32;

export async function finishUpload(tx: Tx, uploadId: string): Promise<UploadView & { sha256: string }> {
  const row = await uploadRow(tx, uploadId);
  if (row.status === 'complete') return { ...toView(row), sha256: row.sha256 };
  if (row.receivedBytes !== row.sizeBytes) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `uploadId: ${row.receivedBytes} of ${row.sizeBytes} bytes received`,
      { field: 'uploadId', receivedBytes: row.receivedBytes },
    );
  }
  const hash = createHash('sha256');
  let after = -1;
  for (;;) {
    const page = await tx
      .select({ seq: backtestUploadChunks.seq, data: backtestUploadChunks.data })
      .from(backtestUploadChunks)
      .where(and(eq(backtestUploadChunks.uploadId, row.id), gt(backtestUploadChunks.seq, after)))
      .orderBy(asc(backtestUploadChunks.seq))
      .limit(HASH_PAGE);
    for (const c of page) hash.update(c.data);
    if (page.length < HASH_PAGE) break;
    after = page[page.length - 1]!.seq;
  }
  const actual = hash.digest('hex');
  if (actual !== row.sha256) {
    throw new AppError('BAD_INPUT', `sha256: the received bytes hash to ${actual}, not the declared value`, {
      field: 'sha256',
      actual,
    });
  }
  const [updated] = await tx
    .update(backtestUploads)
    .set({ status: 'complete', completedAt: new Date() })
    .where(eq(backtestUploads.id, row.id))
    .returning();
  return { ...toView(updated!), sha256: actual };
}

export async function listUploads(tx: Tx, limit: number): Promise<UploadView[]> {
  const rows = await tx
    .select()
    .from(backtestUploads)
    .orderBy(desc(backtestUploads.createdAt), desc(backtestUploads.id))
    .limit(limit);
  return rows.map(toView);
}

/** Deletes an upload and its chunks, unless a queued or running backtest still needs it. */
export async function deleteUpload(tx: Tx, uploadId: string): Promise<{ id: string; deleted: true }> {
  const row = await uploadRow(tx, uploadId);
  const [inUse] = await tx
    .select({ id: backtests.id })
    .from(backtests)
    .where(
      and(
        inArray(backtests.status, ['queued', 'running']),
        sql`${backtests.params}->'data'->>'uploadId' = ${row.id}`,
      ),
    )
    .limit(1);
  if (inUse) {
    throw new AppError('PRECONDITION_FAILED', `uploadId: backtest ${inUse.id} still uses it`, {
      field: 'uploadId',
      reason: 'in_use',
    });
  }
  await tx.delete(backtestUploads).where(eq(backtestUploads.id, row.id));
  return { id: row.id, deleted: true };
}
