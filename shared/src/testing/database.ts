import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { TEST_ADMIN_DATABASE_URL } from './services.ts';

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
