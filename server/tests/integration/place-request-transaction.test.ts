/**
 * `orders.place` holds no request transaction: its group commit is the order's transaction, so the
 * caller's role is read in one autocommit statement instead of begin, statement, commit with a
 * pooled connection left idle in the transaction while the order waits for its batch. Every other
 * desk procedure still reads the role inside its request transaction. Both are watched on the
 * server's own PostgreSQL connections (postgres.js' statement hook), through real HTTP.
 */
import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearTrading } from './support/desk-limits.ts';
import { placeOrder, testExecution } from './support/test-execution.ts';
import { type Client, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let client: Client;
/** For each statement that reads the caller's role: was its connection inside a transaction? */
const roleReads: { inTransaction: boolean }[] = [];

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null, execution: testExecution({ outboxIntervalMs: 200 }) });
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  client = admin.client;
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
    values ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
  t.server.deps.execution!.quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
  const drizzleClient = (t.server.deps.db as unknown as { $client: postgres.Sql }).$client;
  const open = new Map<number, boolean>();
  for (const c of new Set([t.server.deps.sql, drizzleClient])) {
    (c.options as { debug?: unknown }).debug = (conn: number, query: string) => {
      const q = query.trim().toLowerCase();
      if (q.startsWith('begin')) open.set(conn, true);
      else if (q === 'commit' || q === 'rollback') open.set(conn, false);
      else if (q.includes('aegis_auth_memberships') && q.includes("set_config('app.tenant_id'"))
        roleReads.push({ inTransaction: open.get(conn) === true });
    };
  }
});
afterAll(async () => {
  await t?.close();
});

describe('the request transaction of desk procedures', () => {
  it('orders.place reads the role outside any transaction; orders.list inside its own', async () => {
    roleReads.length = 0;
    const order = await placeOrder(
      client,
      {
        symbol: 'BTC-USD',
        side: 'buy',
        orderType: 'limit',
        timeInForce: 'gtc',
        quantity: '0.001',
        limitPrice: '40000',
      },
      randomUUID(),
    );
    expect(order.status).toBe('pending_new');
    expect(roleReads).toEqual([{ inTransaction: false }]);

    roleReads.length = 0;
    const list = await client.orders.list.query({ limit: 10 });
    expect(list.map((o) => o.id)).toContain(order.id);
    expect(roleReads).toEqual([{ inTransaction: true }]);
    await clearTrading(t.owner);
  });

  it('orders.place still reads the role on every call: one changed a moment ago counts', async () => {
    const order = {
      symbol: 'BTC-USD',
      side: 'buy',
      orderType: 'limit',
      quantity: '0.001',
      limitPrice: '40000',
    };
    // Authorized: the governor judges it (accepted, or denied as a duplicate of the first test's).
    await expect(placeOrder(client, order)).resolves.toHaveProperty('status');
    // Straight in the table: the session stays, only the role changes.
    await t.owner`update memberships set role = 'viewer' where user_id = (select id from users where email = ${t.admin.email.toLowerCase()}) and tenant_id = ${t.admin.deskId}`;
    try {
      await expect(placeOrder(client, order)).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    } finally {
      await t.owner`update memberships set role = 'admin' where user_id = (select id from users where email = ${t.admin.email.toLowerCase()}) and tenant_id = ${t.admin.deskId}`;
    }
    await expect(placeOrder(client, order)).resolves.toHaveProperty('status');
  });
});
