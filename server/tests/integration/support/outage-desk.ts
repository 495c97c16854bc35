import { Writable } from 'node:stream';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import type { OwnMigratedDatabase, OwnPostgres } from '@aegis/shared/testing/own-postgres';
import type { OwnRedis } from '@aegis/shared/testing/own-redis';
import postgres, { type Sql } from 'postgres';
import type { ExecutionRuntime } from '../../../src/execution/runtime.ts';
import type { ExecutionOptions } from '../../../src/execution/types.ts';
import { type RunningServer, startServer } from '../../../src/http.ts';
import { createFirstAdminIfNone } from '../../../src/provisioning/service.ts';
import { type Client, signIn, testServerConfig } from '../test-server.ts';

/**
 * A server and its desk on a PostgreSQL and a Redis of the test's own (stopped and started at
 * will), for the outage tests (halt-outage, report-durability): a fresh database with BTC-USD,
 * the first admin signed in, logs kept quiet. The owner connection gives up fast, so a stopped
 * database fails its reads at once instead of hanging the test.
 */
export interface OutageDesk {
  readonly database: OwnMigratedDatabase;
  readonly server: RunningServer;
  readonly client: Client;
  /** The admin's password after the first sign-in changed it. */
  readonly password: string;
  readonly owner: Sql;
  readonly deskId: TenantId;
  readonly ex: () => ExecutionRuntime;
  close(): Promise<void>;
}

export async function startOutageDesk(
  pg: OwnPostgres,
  redis: OwnRedis,
  name: string,
  execution: Partial<ExecutionOptions>,
): Promise<OutageDesk> {
  const database = await pg.createMigratedDatabase(name);
  const owner = postgres(database.url, { max: 2, onnotice: () => {}, connect_timeout: 2, idle_timeout: 2 });
  await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
    values ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
  const config = testServerConfig({
    LOG_LEVEL: 'info',
    DATABASE_URL: database.appUrl,
    REDIS_URL: redis.url,
    ARGON2_MAX_CONCURRENCY: '1',
  });
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const server = await startServer({
    config,
    log: createLogger({ name, level: 'info' }, quiet),
    execution: { outboxIntervalMs: 200, ...execution },
  });
  const admin = await createFirstAdminIfNone(server.deps.db);
  if (!admin) throw new Error('first admin not created');
  const { client, password } = await signIn(server.url, admin.email, admin.password);
  return {
    database,
    server,
    client,
    password,
    owner,
    deskId: asTenantId(admin.deskId),
    ex: () => server.deps.execution as ExecutionRuntime,
    close: async () => {
      await server.close();
      await owner.end({ timeout: 1 }).catch(() => {});
    },
  };
}
