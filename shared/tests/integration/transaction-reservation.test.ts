import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_DATABASE_URL } from '../../src/testing/services.ts';

/**
 * postgres.js reserves a transaction's connection in a hook run after BEGIN is written, and
 * upstream skipped that hook whenever the write filled the connection's pipeline or met the
 * socket's backpressure, and also pipelined a BEGIN onto a connection busy with other queries
 * (porsager/postgres#823, #1189; patched in patches/postgres+3.4.9.patch). The BEGIN then ran on
 * a connection the pool still lent out: the caller got UNSAFE_TRANSACTION, and queries of other
 * callers could run inside the open transaction. Under load a 2-connection pool met it in the
 * server's tenant-concurrency test (1 run in 4 beside CPU hogs); here a small pipeline makes it
 * happen: every connection busy, then plain queries and transactions at once, interleaved.
 */
let sql: postgres.Sql;

beforeAll(() => {
  // max_pipeline is a documented option its types leave out.
  const options = { max: 3, max_pipeline: 2, onnotice: () => {} } as postgres.Options<Record<string, never>>;
  sql = postgres(TEST_ADMIN_DATABASE_URL, options);
});
afterAll(async () => {
  await sql?.end({ timeout: 5 });
});

describe('transactions under a full pipeline', () => {
  it('every transaction gets a connection of its own, and no other query runs inside one', async () => {
    for (let round = 0; round < 20; round++) {
      const busy = Array.from({ length: 3 }, () => sql`select pg_sleep(0.1)`.execute());
      await new Promise((r) => setTimeout(r, 20)); // every connection busy with its sleep
      // Interleaved, so that a BEGIN is the query that fills a busy connection's pipeline.
      const plain: Promise<{ inTx: boolean }[]>[] = [];
      const transactions: Promise<number>[] = [];
      for (let i = 0; i < 6; i++) {
        // A plain query outside any transaction has no transaction id of its own.
        // (.execute(): sent now, in this order, as sql.begin sends its BEGIN.)
        plain.push(
          sql<{ inTx: boolean }[]>`select pg_current_xact_id_if_assigned() is not null as "inTx"`.execute(),
        );
        transactions.push(
          sql.begin(async (tx) => {
            // txid_current() gives the transaction an id: a query of another caller that ran
            // inside it would see one.
            const [row] = await tx<{ n: number }[]>`select ${i}::int as n, txid_current()`;
            return row!.n;
          }),
        );
      }
      const settled = await Promise.allSettled([...busy, ...plain, ...transactions]);
      const failures = settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
      expect(failures, `round ${round}`).toEqual([]);
      for (const p of await Promise.all(plain)) expect(p[0]!.inTx, `round ${round}`).toBe(false);
      expect(await Promise.all(transactions)).toEqual([0, 1, 2, 3, 4, 5]);
    }
  }, 60_000);
});
