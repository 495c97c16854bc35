import { once } from 'node:events';
import net from 'node:net';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSql } from '../../src/db/client.ts';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '../../src/testing/database.ts';

/**
 * postgres.js looks up array types on each new connection unless told not to; a connection
 * killed during that lookup escapes as an unhandled rejection (porsager/postgres#1223) and ends
 * the process. connectSql learns the types once per client, so later connections (every
 * reconnect after a PostgreSQL restart) never run the lookup. A TCP proxy in front of the real
 * server counts the lookups the client sends.
 */
let database: MigratedTestDatabase;
let owner: Sql;
let proxy: net.Server;
let lookups = 0;
let proxyUrl: string;

beforeAll(async () => {
  database = await createMigratedTestDatabase('aegis_db_client');
  owner = postgres(database.url, { max: 1, onnotice: () => {} });
  const target = new URL(database.appUrl);
  proxy = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes('typarray')) lookups++;
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const { port } = proxy.address() as net.AddressInfo;
  const u = new URL(database.appUrl);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  proxyUrl = u.toString();
});

afterAll(async () => {
  proxy?.close();
  await owner?.end();
  await database?.drop();
});

describe('connectSql', () => {
  it('looks up array types once per client, not on every reconnect, and still parses arrays', async () => {
    const sql = connectSql(proxyUrl, { max: 1, applicationName: 'aegis-db-client-test' });
    try {
      await expect(sql`select array['a', 'b']::text[] as xs`).resolves.toEqual([{ xs: ['a', 'b'] }]);
      for (let i = 0; i < 3; i++) {
        // End this client's connection from the server side, as a restart would.
        await owner`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'aegis-db-client-test'`;
        let rows: { xs: number[] }[] | null = null;
        for (let attempt = 0; attempt < 20 && rows === null; attempt++) {
          rows = await sql<{ xs: number[] }[]>`select array[1, 2, 3]::int4[] as xs`.catch(() => null);
        }
        expect(rows).toEqual([{ xs: [1, 2, 3] }]);
      }
      expect(lookups).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
