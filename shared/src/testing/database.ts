import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrate } from '../db/migrate.ts';
import { TEST_ADMIN_DATABASE_URL, TEST_APP_PASSWORD, TEST_APP_ROLE } from './services.ts';

export interface TestDatabase {
  /** Name of the fresh database. */
  readonly name: string;
  /** URL connecting as the admin (owner) role to the fresh database. */
  readonly url: string;
  /** Drops the database (terminating stray connections). */
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A brand-new empty database for one test file, so files run in parallel without sharing state.
 * Call `drop()` in afterAll.
 */
export async function createTestDatabase(prefix = 'aegis_test'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(TEST_ADMIN_DATABASE_URL, name);
  return {
    name,
    url,
    async drop() {
      const a = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

export interface MigratedTestDatabase extends TestDatabase {
  /** URL connecting to the same database as the application role (RLS applies, owns nothing). */
  readonly appUrl: string;
  /** Name of the application role `appUrl` logs in as. */
  readonly appRole: string;
  /** Migration tags applied to build it. */
  readonly applied: readonly string[];
}

/**
 * A fresh database with every migration applied by the owner (the admin role) and the
 * application role granted, as in production. Use `url` for fixtures and DDL, `appUrl` for the
 * code under test. Call `drop()` in afterAll.
 */
export async function createMigratedTestDatabase(prefix = 'aegis_test'): Promise<MigratedTestDatabase> {
  const database = await createTestDatabase(prefix);
  try {
    const appRole =
      TEST_APP_PASSWORD === undefined
        ? { name: TEST_APP_ROLE }
        : { name: TEST_APP_ROLE, password: TEST_APP_PASSWORD };
    const result = await migrate({ ownerUrl: database.url, appRole });
    const app = new URL(database.url);
    app.username = TEST_APP_ROLE;
    app.password = TEST_APP_PASSWORD ?? '';
    return { ...database, appUrl: app.toString(), appRole: TEST_APP_ROLE, applied: result.applied };
  } catch (err) {
    await database.drop().catch(() => {});
    throw err;
  }
}
