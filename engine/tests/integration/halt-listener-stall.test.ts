import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { connectSql } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaltListener } from '../../src/halt/halt-listener.ts';
import { startStallProxy } from '../support/stall-proxy.ts';
import { until } from '../support/wait.ts';

/**
 * The halt listener's backup poll against a database connection that goes silent (a stalled
 * host, a half-open socket after a restart). Without a deadline the read on it never settled,
 * every later poll coalesced onto it, and the engine never again learned of a global halt from
 * PostgreSQL. Pub/sub is left quiet here (nothing is published), so only the poll can see it.
 */
const log = createLogger({ name: 'halt-listener-stall-test', level: 'silent' });
const DEADLINE_MS = 500;
const POLL_MS = 100;

let db: MigratedTestDatabase;
let owner: Sql;

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  owner = postgres(db.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await owner?.end({ timeout: 1 });
  await db?.drop();
});

describe('halt listener on a connection that goes silent', () => {
  it('gives up on the read at its deadline and sees the global halt on a fresh connection', async () => {
    const target = new URL(db.appUrl);
    const proxy = await startStallProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(db.appUrl);
    viaProxy.port = String(proxy.port);
    const listener = new HaltListener({
      bus: new MemoryBus(),
      connect: () =>
        connectSql(viaProxy.toString(), { max: 1, connectTimeout: 1, applicationName: 'halt-stall-test' }),
      dbTimeoutMs: DEADLINE_MS,
      pollMs: POLL_MS,
      log,
    });
    await listener.start();
    try {
      expect(listener.status()).toMatchObject({ global: false, via: 'poll', pollErrors: 0 });
      const connectionsBefore = proxy.connections;

      // The listener's connection goes silent for good, then the switch is engaged in the truth.
      proxy.stallOpen();
      await owner`
        insert into halts (scope, tenant_id, engaged, reason, engaged_at, updated_at)
        values ('global', null, true, 'stall test', now(), now())`;

      // One deadline plus a couple of poll periods; without the deadline it never comes.
      await until('the global halt seen by polling', () => listener.isHalted(), DEADLINE_MS + 4000);

      expect(listener.status()).toMatchObject({ global: true, reason: 'stall test', via: 'poll' });
      expect(listener.metrics().pollTimeouts).toBeGreaterThanOrEqual(1);
      expect(listener.metrics().pollErrors).toBeGreaterThanOrEqual(1);
      expect(proxy.connections).toBeGreaterThan(connectionsBefore);
    } finally {
      // The relay first: a stalled read (the code before the deadline) would hold stop() forever.
      await proxy.close();
      await listener.stop();
    }
  });
});
