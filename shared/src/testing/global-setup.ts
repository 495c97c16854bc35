import postgres from 'postgres';
import { TEST_ADMIN_DATABASE_URL } from './services.ts';

/**
 * Runs once before integration tests: fails fast with a clear message when PostgreSQL is not
 * reachable, and drops test databases left behind by an earlier run that was killed.
 */
export default async function setup(): Promise<void> {
  const sql = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql`select 1`;
    const stale = await sql<{ datname: string }[]>`
      select datname from pg_database
      where datname like 'aegis\_test\_%' or datname like 'aegis\_it\_%'`;
    for (const { datname } of stale) {
      // Only databases older than this run: names are `<prefix>_<base36 ms>_<hex>`, and the
      // prefix may itself contain '_' (aegis_test_server), so the time is the second-to-last part.
      const parts = datname.split('_');
      const ts = Number.parseInt(parts[parts.length - 2] ?? '', 36);
      if (Number.isFinite(ts) && Date.now() - ts > 6 * 3600_000) {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      }
    }
  } finally {
    await sql.end();
  }
}
