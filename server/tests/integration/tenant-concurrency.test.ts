import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClient, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * 50 desks, each with its own API key, hammered concurrently through the real server whose
 * database pool has only 2 connections per pool: every connection serves many desks in turn, so
 * a tenant setting that outlived its transaction would show up as a foreign row.
 */
const DESKS = 50;
const REQUESTS = 400;

let t: TestServer;
const desks: { id: string; key: string; keyIds: Set<string> }[] = [];

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null, dbPoolMax: 2 });
  const admin = (await signIn(t.url, t.admin.email, t.admin.password)).client;
  for (let i = 0; i < DESKS; i++) {
    const desk = await admin.desks.create.mutate({ name: `Concurrency desk ${String(i).padStart(2, '0')}` });
    await admin.auth.switchDesk.mutate({ deskId: desk.id });
    const a = await admin.keys.create.mutate({ name: `desk ${i} key`, scopes: ['read', 'admin'] });
    const b = await admin.keys.create.mutate({ name: `desk ${i} spare`, scopes: ['read'] });
    desks.push({ id: desk.id, key: a.key, keyIds: new Set([a.apiKey.id, b.apiKey.id]) });
  }
}, 240_000);
afterAll(async () => {
  await t?.close();
});

describe('tenant isolation under concurrency', () => {
  it(`${REQUESTS} random requests across ${DESKS} desks over a 2-connection pool never return a foreign row`, async () => {
    const clients = desks.map((d) => makeClient(t.url, { origin: null, bearer: d.key }));
    const foreign: string[] = [];
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const calls = Array.from({ length: REQUESTS }, async () => {
      const i = Math.floor(random() * DESKS);
      const desk = desks[i]!;
      const client = clients[i]!;
      switch (Math.floor(random() * 3)) {
        case 0: {
          const keys = await client.keys.list.query();
          expect(keys).toHaveLength(2);
          for (const k of keys) if (!desk.keyIds.has(k.id)) foreign.push(`desk ${i} saw key ${k.id}`);
          break;
        }
        case 1: {
          const me = await client.auth.me.query();
          if (me.activeDesk?.id !== desk.id) foreign.push(`desk ${i} resolved to ${me.activeDesk?.id}`);
          break;
        }
        default: {
          const members = await client.users.list.query();
          if (members.length !== 1) foreign.push(`desk ${i} saw ${members.length} members`);
          const page = await client.audit.list.query({ limit: 50 });
          // Platform rows (tenant null): only this desk's members' sign-ins and global halts.
          for (const row of page.items)
            if (
              row.chain === 'desk'
                ? row.tenantId !== desk.id
                : row.tenantId !== null ||
                  (!row.action.startsWith('halt.') && !members.some((m) => m.userId === row.actorId))
            )
              foreign.push(`desk ${i} saw audit of ${row.tenantId}`);
        }
      }
    });
    const settled = await Promise.allSettled(calls);
    const failed = settled.filter((r) => r.status === 'rejected');
    // A request that failed is a failure of the test; the server's error lines say why.
    expect(
      failed.length === 0
        ? []
        : t.logs.filter((l) => Number(l.level) >= 50).map((l) => JSON.stringify(l).slice(0, 600)),
    ).toEqual([]);
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
