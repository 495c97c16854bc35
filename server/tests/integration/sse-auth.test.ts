import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../src/routers/_app.ts';
import type { ProcedureMeta } from '../../src/trpc.ts';
import { type CookieJar, signIn, startTestServer, type TestServer } from './test-server.ts';

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
const keys: Record<'read' | 'trade', string> = { read: '', trade: '' };

beforeAll(async () => {
  t = await startTestServer();
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  jar = s.jar;
  keys.read = (await s.client.keys.create.mutate({ name: 'sse read', scopes: ['read'] })).key;
  keys.trade = (await s.client.keys.create.mutate({ name: 'sse trade', scopes: ['trade'] })).key;
});
afterAll(async () => {
  await t?.close();
});

/** Opens the stream, reads for `ms`, returns the raw SSE text and closes it. */
async function openStream(path: string, headers: Record<string, string>, ms = 1000) {
  const ac = new AbortController();
  const res = await fetch(`${t.url}/trpc/${path}?input=${encodeURIComponent('{}')}`, {
    headers,
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
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
