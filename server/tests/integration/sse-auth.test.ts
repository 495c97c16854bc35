import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../src/routers/_app.ts';
import type { ProcedureMeta } from '../../src/trpc.ts';
import { type SignedIn, signedInMember, startWithAdmin } from './support/desk-people.ts';
import {
  type Client,
  type CookieJar,
  failure,
  makeClient,
  STRONG_PASSWORD,
  signIn,
  type TestServer,
} from './test-server.ts';

/**
 * Subscriptions are served as SSE by the same handler, behind the same authentication and
 * authorization as queries. Generated: every desk-read subscription of the router is opened with
 * no credentials, a key lacking the scope, a read key and a session cookie.
 */
const subscriptions = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { type: string; meta?: ProcedureMeta } }>,
)
  .filter(([, p]) => p._def.type === 'subscription' && p._def.meta?.scope === 'read')
  .map(([path]) => path);

let t: TestServer;
let jar: CookieJar;
let admin: Client;
const keys: Record<'read' | 'trade', string> = { read: '', trade: '' };

beforeAll(async () => {
  let s: SignedIn;
  ({ ts: t, admin: s } = await startWithAdmin());
  jar = s.jar;
  admin = s.client;
  keys.read = (await s.client.keys.create.mutate({ name: 'sse read', scopes: ['read'] })).key;
  keys.trade = (await s.client.keys.create.mutate({ name: 'sse trade', scopes: ['trade'] })).key;
});
afterAll(async () => {
  await t?.close();
});

/** Opens the subscription `path` (input `{}`) with `headers`: the response, its reader and its abort. */
async function subscribe(path: string, headers: Record<string, string>) {
  const ac = new AbortController();
  const res = await fetch(`${t.url}/trpc/${path}?input=${encodeURIComponent('{}')}`, {
    headers,
    signal: ac.signal,
  });
  return { ac, res, reader: res.body!.getReader() };
}

/** Opens the stream, reads for `ms`, returns the raw SSE text and closes it. */
async function openStream(path: string, headers: Record<string, string>, ms = 1000) {
  const { ac, res, reader } = await subscribe(path, headers);
  let text = '';
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !text.includes('serialized-error')) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now()))),
    ]);
    if (!chunk) break;
    if (chunk.value) text += new TextDecoder().decode(chunk.value);
    if (chunk.done) break;
  }
  ac.abort();
  return { status: res.status, contentType: res.headers.get('content-type'), text };
}

const errorCode = (text: string) => /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1] ?? null;

describe('SSE subscriptions', () => {
  it('the router has subscriptions to check', () => {
    expect(subscriptions.length).toBeGreaterThan(0);
  });

  for (const path of subscriptions) {
    it(`${path}: refused without credentials or scope, streams for a read key and a session`, async () => {
      const anon = await openStream(path, {});
      expect(anon.contentType).toContain('text/event-stream');
      expect(JSON.parse(errorCode(anon.text)!).data.code).toBe('UNAUTHORIZED');

      const wrongScope = await openStream(path, { authorization: `Bearer ${keys.trade}` });
      expect(JSON.parse(errorCode(wrongScope.text)!).data).toMatchObject({
        code: 'FORBIDDEN',
        details: { reason: 'scope' },
      });

      const good: Record<string, string>[] = [
        { authorization: `Bearer ${keys.read}` },
        { cookie: jar.header()! },
      ];
      for (const headers of good) {
        const ok = await openStream(path, headers);
        expect(ok.text).toContain('event: connected');
        // Past authentication and authorization: streaming, or (for subscriptions that need
        // real input, given `{}` here) refused only by input validation.
        const err = errorCode(ok.text);
        if (err !== null) expect(JSON.parse(err).data.code).toBe('BAD_REQUEST');
      }
    });
  }
});

/**
 * An open stream that is read continuously; `closed` resolves with everything received once the
 * server ends it (or sends an error). Nothing here measures time: a stream that is never closed
 * makes the test time out.
 */
async function openLive(path: string, headers: Record<string, string>) {
  const { ac, reader } = await subscribe(path, headers);
  let text = '';
  let onConnected: () => void = () => {};
  const connected = new Promise<void>((r) => {
    onConnected = r;
  });
  const closed = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (value) text += new TextDecoder().decode(value);
        if (text.includes('event: connected')) onConnected();
        if (done || text.includes('serialized-error')) break;
      }
    } catch {
      // aborted by the test
    }
    ac.abort();
    return text;
  })();
  return { connected, closed, abort: () => ac.abort() };
}

function closingError(text: string) {
  const raw = errorCode(text);
  expect(raw, `stream ended without an error event:\n${text}`).not.toBeNull();
  return JSON.parse(raw!) as { message: string; data: { code: string; details: { reason?: string } | null } };
}

describe('revocation reaches open streams', () => {
  it('revoking an API key closes its open orders.updates stream with the reason', async () => {
    const { key, apiKey } = await admin.keys.create.mutate({ name: 'sse revoke', scopes: ['read'] });
    const stream = await openLive('orders.updates', { authorization: `Bearer ${key}` });
    await stream.connected;
    await admin.keys.revoke.mutate({ keyId: apiKey.id });
    const err = closingError(await stream.closed);
    expect(err.data.code).toBe('UNAUTHORIZED');
    expect(err.message).toBe('API key revoked');
  }, 20_000);

  it('ending a session closes its open orders.updates stream with the reason', async () => {
    const other = await signIn(t.url, t.admin.email, STRONG_PASSWORD);
    const stream = await openLive('orders.updates', { cookie: other.jar.header()! });
    await stream.connected;
    // From the first session: end every other session of the user.
    const { ended } = await admin.auth.revokeSessions.mutate({ all: true });
    expect(ended).toBeGreaterThan(0);
    const err = closingError(await stream.closed);
    expect(err.data.code).toBe('UNAUTHORIZED');
    expect(err.message).toBe('Session ended');
  }, 20_000);

  it('removing a member from the desk closes their open stream', async () => {
    const { created, session: viewer } = await signedInMember(
      t.url,
      admin,
      { email: 'leaving.viewer@example.com', password: 'amber-glacier-quartz-82' },
      'Leaving Viewer',
      'viewer',
    );
    const stream = await openLive('orders.updates', { cookie: viewer.jar.header()! });
    await stream.connected;
    // users.setRole(null) also ends the member's sessions; removing only the membership row (as
    // the owner) proves the stream's own membership re-check.
    await t.owner.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${t.admin.deskId}, true)`;
      await tx`delete from memberships where user_id = ${created.member.userId}`;
    });
    const err = closingError(await stream.closed);
    expect(err.data.code).toBe('FORBIDDEN');
    expect(err.data.details?.reason).toBe('not_a_member');
  }, 20_000);

  it('a password change revokes the user’s API keys (said in the response, audited) and closes their streams', async () => {
    const { session: trader } = await signedInMember(
      t.url,
      admin,
      { email: 'rotating.trader@example.com', password: 'amber-glacier-quartz-81' },
      'Rotating Trader',
      'trader',
    );
    const { key } = await trader.client.keys.create.mutate({ name: 'script', scopes: ['read'] });
    await trader.client.keys.create.mutate({ name: 'script 2', scopes: ['read'] });
    const stream = await openLive('orders.updates', { authorization: `Bearer ${key}` });
    await stream.connected;

    const res = await trader.client.auth.changePassword.mutate({
      currentPassword: trader.password,
      newPassword: 'cobalt-meadow-lantern-93',
    });
    expect(res.apiKeysRevoked).toBe(2);

    const err = closingError(await stream.closed);
    expect(err.data.code).toBe('UNAUTHORIZED');
    expect(err.message).toBe('API key revoked');
    const refused = await failure(makeClient(t.url, { bearer: key }).auth.me.query());
    expect(refused.data?.code).toBe('UNAUTHORIZED');
    const [row] = await t.owner<{ details: string }[]>`
      select details from audit_log where action = 'auth.change_password' and actor_id = ${trader.user.id}
      order by ts desc limit 1`;
    expect(row?.details).toContain('api keys revoked: 2');
  }, 20_000);
});
