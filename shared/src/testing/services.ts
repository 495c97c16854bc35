/**
 * Where the integration tests find the real services. Defaults match the CI machine:
 * PostgreSQL 127.0.0.1:5432 (user postgres, trust auth) and Redis 127.0.0.1:6379.
 * Test-only module: this is the one place tests read the environment.
 */
export const TEST_ADMIN_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
