import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * A PGlite database served over the PostgreSQL wire protocol on an ephemeral port: what
 * `startPgvector()` (pgvector.ts) and `startTimescale()` (timescale.ts) both return once their
 * PGlite build has started. Connect with postgres.js and `max: 1` (one connection at a time).
 */
export interface PgliteServer {
  /** postgres:// URL for postgres.js (`max: 1`). */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `db` (PGlite, or an adapter to another build of it) and closes `pg` with the server. */
export async function servePglite(
  db: ConstructorParameters<typeof PGLiteSocketServer>[0]['db'],
  pg: { close(): Promise<void> },
): Promise<PgliteServer> {
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
  await server.start();
  // getServerConn() is "host:port" (the port the OS assigned for port 0).
  const port = server.getServerConn().split(':').at(-1);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async close() {
      await server.stop();
      await pg.close();
    },
  };
}
