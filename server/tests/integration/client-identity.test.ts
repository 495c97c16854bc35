import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARDER_HEADER } from '../../src/client-ip.ts';
import { loadServerConfig } from '../../src/env.ts';
import { CookieJar, makeClient, ORIGIN, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * Which address the server believes a caller has (per-IP throttle, rate limiter, audit log,
 * session list). Every test process here is a local process on the server's machine, which is
 * exactly the attacker finding 5 describes: it must not be able to choose its address.
 */
const FORWARDER_SECRET = randomBytes(32).toString('base64url');

let t: TestServer;
let password: string;

beforeAll(async () => {
  t = await startTestServer({ env: { FORWARDER_SECRET } });
  password = (await signIn(t.url, t.admin.email, t.admin.password)).password;
});
afterAll(async () => {
  await t?.close();
});

/** Signs in with the given extra headers and returns the address the server recorded for it. */
async function recordedIp(headers: Record<string, string>): Promise<string | null> {
  const jar = new CookieJar();
  const res = await fetch(`${t.url}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN, ...headers },
    body: JSON.stringify({ email: t.admin.email, password }),
  });
  expect(res.status).toBe(200);
  jar.store(res.headers);
  const sessions = await makeClient(t.url, { jar }).auth.sessions.query();
  return sessions.find((s) => s.current)?.ip ?? null;
}

describe('client identity', () => {
  it('loopback is not a trusted proxy by default', () => {
    const config = loadServerConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/x' });
    expect([...config.trustedProxies]).toEqual([]);
  });

  it('a forged X-Forwarded-For from a local process that is not the forwarder is ignored', async () => {
    expect(await recordedIp({ 'x-forwarded-for': '203.0.113.9' })).toBe('127.0.0.1');
  });

  it('a wrong forwarder secret is ignored like no secret', async () => {
    expect(
      await recordedIp({ 'x-forwarded-for': '203.0.113.9', [FORWARDER_HEADER]: `${FORWARDER_SECRET}x` }),
    ).toBe('127.0.0.1');
    expect(await recordedIp({ 'x-forwarded-for': '203.0.113.9', [FORWARDER_HEADER]: '' })).toBe('127.0.0.1');
  });

  it('the forwarder proving itself with the per-start secret is believed', async () => {
    expect(await recordedIp({ 'x-forwarded-for': '203.0.113.9', [FORWARDER_HEADER]: FORWARDER_SECRET })).toBe(
      '203.0.113.9',
    );
    // Its appended hop counts, not what the browser put in front of it.
    expect(
      await recordedIp({ 'x-forwarded-for': '10.1.2.3, 203.0.113.10', [FORWARDER_HEADER]: FORWARDER_SECRET }),
    ).toBe('203.0.113.10');
  });

  it('the secret never reaches a log line', () => {
    expect(JSON.stringify(t.logs)).not.toContain(FORWARDER_SECRET);
  });

  it('a configured proxy address is believed without the secret', async () => {
    const t2 = await startTestServer({ env: { TRUSTED_PROXIES: '127.0.0.1' } });
    try {
      const pw = (await signIn(t2.url, t2.admin.email, t2.admin.password)).password;
      const jar = new CookieJar();
      const res = await fetch(`${t2.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: ORIGIN, 'x-forwarded-for': '203.0.113.11' },
        body: JSON.stringify({ email: t2.admin.email, password: pw }),
      });
      jar.store(res.headers);
      const sessions = await makeClient(t2.url, { jar }).auth.sessions.query();
      expect(sessions.find((s) => s.current)?.ip).toBe('203.0.113.11');
    } finally {
      await t2.close();
    }
  });
});
