import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { withTenantSql } from '@aegis/shared/db/client';
import { AppError } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import type { Sql } from 'postgres';

/**
 * An uploaded tick file (tables backtest_uploads / backtest_upload_chunks, the desk's own rows
 * under RLS) written to a temporary file for the engine's ReplayFeed, which reads files. The
 * sha-256 is checked again on the way out: the replayed bytes are the ones the desk sent.
 */
const PAGE = 32;

export interface MaterializedUpload {
  readonly path: string;
  remove(): Promise<void>;
}

export async function materializeUpload(
  sql: Sql,
  tenantId: TenantId,
  uploadId: string,
  dir: string,
  name: string,
): Promise<MaterializedUpload> {
  return withTenantSql(sql, tenantId, async (tx) => {
    const [upload] = await tx<{ status: string; format: string; sha256: string; size_bytes: string }[]>`
      select status, format, sha256, size_bytes::text from backtest_uploads where id = ${uploadId}`;
    if (!upload) {
      throw new AppError('NOT_FOUND', 'data.uploadId: no such upload on this desk', {
        field: 'data.uploadId',
      });
    }
    if (upload.status !== 'complete') {
      throw new AppError('PRECONDITION_FAILED', 'data.uploadId: upload not finished', {
        field: 'data.uploadId',
      });
    }
    const path = join(dir, `${name}.${upload.format === 'ticks' ? 'ticks' : 'csv'}`);
    const file = await open(path, 'w', 0o600);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      let after = -1;
      for (;;) {
        const page = await tx<{ seq: number; data: Buffer }[]>`
          select seq, data from backtest_upload_chunks
          where upload_id = ${uploadId} and seq > ${after} order by seq limit ${PAGE}`;
        for (const c of page) {
          hash.update(c.data);
          bytes += c.data.length;
          await file.write(c.data);
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.seq;
      }
    } catch (e) {
      await file.close();
      await rm(path, { force: true });
      throw e;
    }
    await file.close();
    if (hash.digest('hex') !== upload.sha256 || String(bytes) !== upload.size_bytes) {
      await rm(path, { force: true });
      throw new AppError('INTERNAL', 'data.uploadId: stored upload does not match its sha-256', {
        field: 'data.uploadId',
      });
    }
    return { path, remove: () => rm(path, { force: true }) };
  });
}
