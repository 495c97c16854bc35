import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { daemonGroup, type EngineDaemon } from './engine-daemon.ts';
import { type RedisScope, redisScope } from './redis-scope.ts';

/**
 * What a test file of engine daemons sets up (engine/tests/integration/daemon.test.ts,
 * tests/e2e/engine-shards.test.ts): a fresh migrated database and an owner connection to it (made
 * in beforeAll), its own Redis prefix and bus, and the daemons it spawns — in afterAll the daemons
 * still running are killed, the prefix's keys deleted and the database dropped.
 */
export interface DaemonTestBed {
  readonly prefix: string;
  readonly bus: RedisScope['bus'];
  /** The database (after beforeAll). */
  readonly db: MigratedTestDatabase;
  /** An owner connection to it (after beforeAll). */
  readonly sql: Sql;
  spawn(env: Record<string, string>, args?: readonly string[]): EngineDaemon;
}

export function daemonTestBed(name: string): DaemonTestBed {
  const { prefix, bus, close } = redisScope(name);
  const daemons = daemonGroup();
  let db: MigratedTestDatabase | undefined;
  let sql: Sql | undefined;
  beforeAll(async () => {
    db = await createMigratedTestDatabase();
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    daemons.killAll();
    await close();
    await sql?.end();
    await db?.drop();
  });
  const made = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('daemonTestBed: used before beforeAll');
    return v;
  };
  return {
    prefix,
    bus,
    get db() {
      return made(db);
    },
    get sql() {
      return made(sql);
    },
    spawn: daemons.spawn,
  };
}
