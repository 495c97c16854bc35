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
const SIGNAL_ID = '6f1d3a52-8c4e-4b7a-9e21-0d5c7b8a9f10';

beforeAll(async () => {
  t = await startTestServer();
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  admin = s.client;
  jar = s.jar;
  // A real signal and instrument, so a bad note or instrument is the only thing wrong.
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.00000001', '24x7') on conflict do nothing`;
  await t.owner`insert into signals (id, ts, ts_event, symbol, direction, pattern, score, features, model_version)
    values (${SIGNAL_ID}, now(), now(), 'BTC-USD', 'long', 'breakout', 0.8, '{}'::jsonb, 'test')`;
});
afterAll(async () => {
  await t?.close();
});

async function counts() {
  const [r] = await t.owner<
    {
      users: number;
      tenants: number;
      keys: number;
      memberships: number;
      orders: number;
      decisions: number;
      outcomes: number;
    }[]
  >`
    select (select count(*)::int from users) as users, (select count(*)::int from tenants) as tenants,
           (select count(*)::int from api_keys) as keys, (select count(*)::int from memberships) as memberships,
           (select count(*)::int from orders) as orders, (select count(*)::int from signal_decisions) as decisions,
           (select count(*)::int from trade_outcomes) as outcomes`;
  return r!;
}

const ORDER = { symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: '1' };
const OUTCOME = {
  instrument: 'BTC-USD',
  side: 'buy',
  quantity: '1',
  entryPrice: '100',
  exitPrice: '90',
  openedAt: '2026-03-02T14:00:00Z',
  closedAt: '2026-03-02T15:00:00Z',
};

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
      'isPlatformAdmin',
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
      '__proto__',
    ],
    // Control characters (NUL reached PostgreSQL and failed with a 500 that logged the bind values).
    [
      'NUL in the sign-in email',
      () => raw(admin.auth.login, { email: 'nul\u0000typed@example.com', password: 'whatever-password' }),
      'email',
    ],
    [
      'NUL in a signal decision note',
      () => raw(admin.signals.decide, { signalId: SIGNAL_ID, decision: 'note', note: 'looks\u0000good' }),
      'note',
    ],
    [
      'NUL in an outcome instrument',
      () => raw(admin.trades.recordOutcome, { ...OUTCOME, instrument: 'BTC\u0000USD' }),
      'instrument',
    ],
    [
      'escape sequence in a rejection reason',
      () =>
        raw(admin.approvals.reject, {
          proposalId: '00000000-0000-4000-8000-000000000000',
          reason: 'all \u001b[2J clear',
        }),
      'reason',
    ],
    // Unknown keys inside nested objects are refused with the key named, not silently dropped.
    [
      'tenantId inside an order',
      () =>
        raw(admin.orders.place, {
          idempotencyKey: 'bad-input-order-1',
          order: { ...ORDER, tenantId: '00000000-0000-4000-8000-000000000000' },
        }),
      'order.tenantId',
    ],
    [
      '__proto__ inside an order',
      () =>
        raw(
          admin.orders.place,
          JSON.parse(
            `{"idempotencyKey":"bad-input-order-2","order":${JSON.stringify(ORDER).slice(0, -1)},"__proto__":{"isAdmin":true}}}`,
          ),
        ),
      'order.__proto__',
    ],
    [
      'unknown key in a governor dry run',
      () =>
        (admin.risk.check as unknown as { query: (i: unknown) => Promise<unknown> }).query({
          ...ORDER,
          venue: 'X',
        }),
      'venue',
    ],
    // Times are checked for order and plausibility.
    [
      'outcome closed before it opened',
      () => raw(admin.trades.recordOutcome, { ...OUTCOME, closedAt: '2026-03-02T13:00:00Z' }),
      'closedAt',
    ],
    [
      'outcome opened before 2000',
      () => raw(admin.trades.recordOutcome, { ...OUTCOME, openedAt: '1970-01-01T00:00:00Z' }),
      'openedAt',
    ],
    [
      'outcome closed in the far future',
      () => raw(admin.trades.recordOutcome, { ...OUTCOME, closedAt: '2999-01-01T00:00:00Z' }),
      'closedAt',
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

  it('nothing of a refused input reaches the log, and nothing is logged as a server error', () => {
    const wire = JSON.stringify(t.logs);
    expect(wire).not.toContain('typed@example.com');
    expect(wire).not.toContain('looks');
    expect(t.logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  });
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
