import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let admin: Client;
let requestIds: string[] = [];

beforeAll(async () => {
  t = await startTestServer();
  admin = (await signIn(t.url, t.admin.email, t.admin.password)).client;
});
afterAll(async () => {
  await t?.close();
});

describe('unexpected errors', () => {
  it('reach the client as a generic message with the request id; the cause is logged, not leaked', async () => {
    // Break the schema under the server (as the owner): the next desk read fails inside the driver.
    await t.owner`alter table tenants rename column slug to slug_broken`;
    try {
      requestIds = [];
      const e = await failure(admin.desks.list.query());
      expect(e.data?.httpStatus).toBe(500);
      expect(e.data?.code).toBe('INTERNAL_SERVER_ERROR');
      const requestId = e.data?.requestId;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.message).toBe(`Internal server error (request ${requestId})`);
      // Nothing of the cause reaches the client: no SQL, no column, no stack.
      const wire = JSON.stringify(e.shape);
      expect(wire).not.toMatch(/slug|select|column|postgres|stack|at /i);
      expect(e.data?.details).toBeNull();
      // The log has it, under the same request id, with the user.
      const line = t.logs.find((l) => l.requestId === requestId && l.level === 'error');
      expect(line).toBeDefined();
      expect(JSON.stringify(line)).toMatch(/slug/);
      expect(line?.userId).toBeDefined();
    } finally {
      await t.owner`alter table tenants rename column slug_broken to slug`;
    }
    void requestIds;
  });

  it('logs a database failure with its SQLSTATE and statement, never the bind values or SQL text', async () => {
    // The insert of a new desk fails inside PostgreSQL (undefined column) with the typed name bound.
    await t.owner`alter table tenants rename column slug to slug_broken`;
    const marker = 'Typed Desk Name 7f3a91';
    try {
      const e = await failure(admin.desks.create.mutate({ name: marker }));
      expect(e.data?.httpStatus).toBe(500);
      const line = t.logs.find((l) => l.requestId === e.data?.requestId && l.level === 'error');
      const wire = JSON.stringify(line);
      expect(line).toBeDefined();
      expect(wire).toContain('"sqlstate":"42703"');
      expect(wire).toMatch(/"statement":"(insert|select) tenants"/);
      expect(wire).not.toContain(marker);
      expect(wire).not.toMatch(/typed-desk-name/i);
      expect(wire).not.toMatch(/params|parameters|\$1/);
    } finally {
      await t.owner`alter table tenants rename column slug_broken to slug`;
    }
    expect(JSON.stringify(t.logs)).not.toContain(marker);
  });

  it('every response carries x-request-id; health endpoints answer', async () => {
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toMatchObject({ status: 'ok' });
    const ready = await fetch(`${t.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', db: 'ok', bus: 'ok', migrations: 'current' });
  });

  it('readiness reports pending migrations with 503', async () => {
    const [last] = await t.owner<{ id: number; created_at: string }[]>`
      select id, created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`;
    await t.owner`delete from drizzle.__drizzle_migrations where id = ${last!.id}`;
    try {
      const ready = await fetch(`${t.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not_ready', db: 'ok', migrations: 'pending' });
    } finally {
      await t.owner`insert into drizzle.__drizzle_migrations (id, hash, created_at)
                    select ${last!.id}, 'restored', ${last!.created_at}`;
    }
  });

  it('domain errors keep their code and message', async () => {
    const e = await failure(admin.keys.revoke.mutate({ keyId: '00000000-0000-4000-8000-000000000000' }));
    expect(e.data?.httpStatus).toBe(404);
    expect(e.message).toBe('API key not found');
    expect(e.data?.appCode).toBe('NOT_FOUND');
  });
});
