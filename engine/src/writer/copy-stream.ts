import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { TransactionSql } from 'postgres';

/** Code of the error thrown when the server refused a COPY after its last byte was sent. */
export const COPY_REJECTED = 'COPY_REJECTED';

/**
 * Runs `COPY … FROM STDIN` and streams `chunks` into it; resolves once the server has accepted
 * every row, rejects with the server's error otherwise.
 *
 * Why not `pipeline(chunks, query.writable())`: postgres.js (3.4) settles the writable when the
 * server's CommandComplete arrives, and drops an ErrorResponse that arrives after the client sent
 * CopyDone (the query promise is already resolved with the stream, and the stream is detached):
 * the pipeline then never settles. A unique violation found on the last rows, or any error the
 * server reports only once it has the whole stream, hung the flush until its deadline — and the
 * retry hit the same rows again. So, after CopyDone, a one-row probe is queued on the same
 * connection: it runs after the COPY, and fails (25P02, transaction aborted) exactly when the COPY
 * did. That failure is reported as `COPY_REJECTED` (cause unknown); an error raised while the data
 * was still flowing keeps its own SQLSTATE.
 */
export async function copyIn(
  tx: TransactionSql,
  statement: string,
  chunks: Iterable<Buffer | string>,
): Promise<void> {
  const query = tx.unsafe(statement);
  // The query's own promise settles with the stream, or rejects when its connection is destroyed
  // (a flush past its deadline): never let that become an unhandled rejection.
  query.catch(() => {});
  const w = await query.writable();
  const done = finished(w);
  done.catch(() => {});
  let last: Promise<void> = Promise.resolve();
  for (const chunk of chunks) {
    last = new Promise<void>((resolve, reject) => {
      w.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
    last.catch(() => {});
    if (w.writableNeedDrain) await Promise.race([once(w, 'drain'), done]);
  }
  // Every CopyData on the socket before CopyDone (end() sends it from the stream's final()).
  await Promise.race([last, done]);
  w.end();
  const probe = tx`select 1`;
  try {
    await Promise.race([done, probe]);
    await done;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '25P02') {
      throw Object.assign(new Error('COPY rejected by the server (the transaction is aborted)'), {
        code: COPY_REJECTED,
      });
    }
    throw err;
  } finally {
    probe.catch(() => {});
  }
}
