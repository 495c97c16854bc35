// biome-ignore-all lint/style/noProcessEnv: test-only module, the one place tests read the environment
/**
 * Where the integration tests find the real services. Defaults match the CI machine:
 * PostgreSQL 127.0.0.1:5432 (user postgres, trust auth) and Redis 127.0.0.1:6379.
 * Test-only module: this is the one place tests read the environment.
 */
export const TEST_ADMIN_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * The application role the migrated test databases grant to. Roles are cluster-wide, so every
 * test database shares it. Its password is only set when given (trust auth needs none), so the
 * tests never change the password of a developer's own `aegis_app` on a shared cluster.
 */
export const TEST_APP_ROLE = process.env.TEST_DATABASE_APP_ROLE ?? 'aegis_app';
export const TEST_APP_PASSWORD = process.env.TEST_DATABASE_APP_PASSWORD;
