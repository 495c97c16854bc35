import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  type CookieJar,
  failure,
  ORIGIN,
  signIn,
  startTestServer,
  type TestServer,
} from './test-server.ts';

let t: TestServer;
let admin: Client;
let jar: CookieJar;

beforeAll(async () => {
  t = await startTestServer();
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  admin = s.client;
  jar = s.jar;
});
afterAll(async () => {
  await t?.close();
});

async function counts() {
  const [r] = await t.owner<{ users: number; tenants: number; keys: number; memberships: number }[]>`
    select (select count(*)::int from users) as users, (select count(*)::int from tenants) as tenants,
           (select count(*)::int from api_keys) as keys, (select count(*)::int from memberships) as memberships`;
  return r!;
}

/** Calls a mutation with raw (untyped) input, as a hostile client would. */
const raw = (fn: object, input: unknown) =>
  (fn as { mutate: (input: unknown) => Promise<unknown> }).mutate(input);

const SQLI = ["' OR 1=1 --", "'; DROP TABLE users; --", '" OR ""="', "1'); DELETE FROM sessions; --"];
const XSS = '<script>alert(document.cookie)</script>';

describe('bad inputs are refused with BAD_REQUEST naming the field, and write nothing', () => {
  const cases: [string, () => Promise<unknown>, string][] = [
    ['wrong type', () => raw(admin.users.create, { email: 42, displayName: 'A', role: 'trader' }), 'email'],
    [
      'missing field',
      () => raw(admin.users.create, { email: 'a@example.com', role: 'trader' }),
      'displayName',
    ],
    [
      'unknown key',
      () =>
        raw(admin.users.create, {
          email: 'a@example.com',
          displayName: 'A',
          role: 'trader',
          isPlatformAdmin: true,
        }),
      '(input)',
    ],
    [
      'enum outside its values',
      () => raw(admin.users.create, { email: 'a@example.com', displayName: 'A', role: 'root' }),
      'role',
    ],
    [
      'oversized string',
      () => raw(admin.users.create, { email: 'a@example.com', displayName: 'x'.repeat(101), role: 'trader' }),
      'displayName',
    ],
    [
      'oversized email',
      () =>
        raw(admin.users.create, {
          email: `${'a'.repeat(250)}@example.com`,
          displayName: 'A',
          role: 'viewer',
        }),
      'email',
    ],
    [
      'control characters',
      () =>
        raw(admin.users.create, { email: 'a@example.com', displayName: 'evil\u0000name', role: 'trader' }),
      'displayName',
    ],
    [
      'oversized password',
      () => raw(admin.auth.login, { email: 'a@example.com', password: 'p'.repeat(5000) }),
      'password',
    ],
    ['SQL in a uuid', () => raw(admin.users.setRole, { userId: "1' OR '1'='1", role: 'admin' }), 'userId'],
    [
      'SQL in an email',
      () => raw(admin.users.create, { email: SQLI[1], displayName: 'A', role: 'viewer' }),
      'email',
    ],
    ['array for object', () => raw(admin.keys.create, ['read']), '(input)'],
    ['bad scope', () => raw(admin.keys.create, { name: 'k', scopes: ['read', 'superuser'] }), 'scopes.1'],
    [
      'too many scopes',
      () => raw(admin.keys.create, { name: 'k', scopes: ['read', 'read', 'read', 'read'] }),
      'scopes',
    ],
    [
      'float for int',
      () => raw(admin.keys.create, { name: 'k', scopes: ['read'], expiresInDays: 1.5 }),
      'expiresInDays',
    ],
    [
      'huge number',
      () => raw(admin.keys.create, { name: 'k', scopes: ['read'], expiresInDays: 1e12 }),
      'expiresInDays',
    ],
    ['null for string', () => raw(admin.desks.create, { name: null }), 'name'],
    ['empty string', () => raw(admin.desks.create, { name: '   ' }), 'name'],
    [
      'prototype pollution key',
      () => raw(admin.desks.create, JSON.parse('{"name":"d","__proto__":{"admin":true}}')),
      '(input)',
    ],
  ];

  for (const [label, call, field] of cases) {
    it(label, async () => {
      const before = await counts();
      const e = await failure(call());
      expect(e.data?.httpStatus).toBe(400);
      expect(e.data?.code).toBe('BAD_REQUEST');
      expect(e.data?.fields?.map((f) => f.path)).toContain(field);
      expect(e.message).toContain(field === '(input)' ? 'Invalid input' : field);
      expect(await counts()).toEqual(before);
    });
  }
});

describe('hostile strings that are valid input are stored and returned verbatim, never executed', () => {
  it('SQL injection strings in text fields and credentials', async () => {
    const before = await counts();
    for (const s of SQLI) {
      const e = await failure(
        admin.auth.login.mutate({ email: `x${s.replace(/\s/g, '')}@example.com`, password: s }),
      );
      expect(e.data?.httpStatus).toBe(401);
    }
    const desk = await admin.desks.create.mutate({ name: SQLI[1]! });
    expect(desk.name).toBe(SQLI[1]);
    const after = await counts();
    expect(after.users).toBe(before.users);
    expect(after.tenants).toBe(before.tenants + 1);
    const [users] = await t.owner<{ n: number }[]>`select count(*)::int as n from users`;
    expect(users!.n).toBe(before.users);
  });

  it('script injection and unicode round-trip exactly', async () => {
    for (const name of [
      XSS,
      'Zoë Ångström 山田太郎',
      'مكتب التداول',
      '🚀 desk 👩‍💻',
      'e\u0301 combining',
      '\u202Eevil',
    ]) {
      const created = await admin.users.create.mutate({
        email: `u${Math.random().toString(36).slice(2)}@example.com`,
        displayName: name,
        role: 'viewer',
      });
      expect(created.member.displayName).toBe(name.trim());
      const listed = (await admin.users.list.query()).find((m) => m.userId === created.member.userId);
      expect(listed?.displayName).toBe(name.trim());
    }
    // Unicode emails and passwords work for sign-in (passwords compared as given).
    const pw = 'pässwörd-ünïcödé-🔑-long';
    await admin.users.create.mutate({
      email: 'jörg@exämple.com',
      displayName: 'Jörg',
      role: 'viewer',
      initialPassword: pw,
    });
    const s = await signIn(t.url, 'jörg@exämple.com', pw);
    expect(s.user.displayName).toBe('Jörg');
  });

  it('malformed JSON and wrong methods are refused without a 500', async () => {
    const cookie = jar.header()!;
    const post = (path: string, body: string) =>
      fetch(`${t.url}/trpc/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN, cookie },
        body,
      });
    expect((await post('desks.create', '{"name": "unterminated')).status).toBe(400);
    expect((await post('desks.create', 'null')).status).toBe(400);
    // A mutation over GET is not accepted.
    const get = await fetch(`${t.url}/trpc/desks.create?input=${encodeURIComponent('{"name":"via get"}')}`, {
      headers: { cookie },
    });
    expect(get.status).toBe(405);
    expect((await fetch(`${t.url}/trpc/no.such.procedure`, { headers: { cookie } })).status).toBe(404);
    const big = await post('desks.create', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }));
    expect(big.status).toBe(413);
  });
});
