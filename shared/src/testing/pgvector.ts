import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { type PgliteServer, servePglite } from './pglite-server.ts';

/**
 * A real PostgreSQL with pgvector (PGlite 0.5 = PostgreSQL 18 in WASM, pgvector 0.8) served over
 * the wire protocol on an ephemeral port, so the same migrations and postgres.js code run on the
 * pgvector path of drizzle/0005_lessons_vector.sql (this machine's PostgreSQL has no pgvector).
 *
 * Limits, as for `startTimescale()`: one connection at a time (connect with `max: 1`, open the
 * next only after closing the previous), silence NOTICEs (`onnotice: () => {}`), and roles exist
 * only as catalog entries: every connection is the `postgres` superuser (`SET LOCAL ROLE` to
 * get the application role's privileges and row-level security).
 */
export type PgvectorServer = PgliteServer;

export async function startPgvector(): Promise<PgvectorServer> {
  const pg = await PGlite.create({ extensions: { vector } });
  // pglite-socket is built against this PGlite: no adapter needed (unlike the TimescaleDB fork).
  return servePglite(pg, pg);
}
