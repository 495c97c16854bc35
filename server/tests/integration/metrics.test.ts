import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * The server's /metrics: per-procedure request counters and latency histograms move for exactly
 * the procedures called (batches count each procedure), and the page is only for a scraper on
 * this host (relayed requests get 404).
 */
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null });
});
afterAll(async () => {
  await t?.close();
});

async function scrape(headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${t.url}/metrics`, { headers });
  return { status: res.status, text: await res.text() };
}

/** `name{labels} value` lines as a map from `name{labels}` to value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const count = (s: Map<string, number>, procedure: string) =>
  s.get(`aegis_server_request_duration_seconds_count{procedure="${procedure}"}`) ?? 0;

describe('/metrics', () => {
  it('counts and times exactly the procedures called', async () => {
    const admin = await signIn(t.url, t.admin.email, t.admin.password);
    const before = samples((await scrape()).text);
    for (let i = 0; i < 3; i++) await admin.client.auth.me.query();
    await admin.client.positions.list.query();
    // A batch of two calls: each procedure counts once.
    const batch = await fetch(
      `${t.url}/trpc/auth.me,auth.sessions?batch=1&input=${encodeURIComponent('{}')}`,
      {
        headers: { cookie: admin.jar.header()! },
      },
    );
    expect(batch.status).toBe(200);
    const after = samples((await scrape()).text);

    expect(count(after, 'auth.me') - count(before, 'auth.me')).toBe(4);
    expect(count(after, 'positions.list') - count(before, 'positions.list')).toBe(1);
    expect(count(after, 'auth.sessions') - count(before, 'auth.sessions')).toBe(1);
    expect(
      (after.get('aegis_server_requests_total{procedure="auth.me",status="2xx"}') ?? 0) -
        (before.get('aegis_server_requests_total{procedure="auth.me",status="2xx"}') ?? 0),
    ).toBe(4);
    // Nothing else moved: every other procedure's count is what it was.
    for (const [key, v] of after) {
      const m = /^aegis_server_request_duration_seconds_count\{procedure="([^"]+)"\}$/.exec(key);
      if (!m || ['auth.me', 'positions.list', 'auth.sessions'].includes(m[1]!)) continue;
      expect(v, m[1]).toBe(before.get(key) ?? 0);
    }
    // The histogram is cumulative and ends with +Inf = count.
    expect(after.get('aegis_server_request_duration_seconds_bucket{procedure="auth.me",le="+Inf"}')).toBe(
      count(after, 'auth.me'),
    );
    expect(after.get('aegis_server_request_duration_seconds_sum{procedure="auth.me"}')).toBeGreaterThan(0);
  });

  it('counts refusals by status class and unknown paths under one name', async () => {
    const before = samples((await scrape()).text);
    expect((await fetch(`${t.url}/trpc/auth.me`)).status).toBe(401);
    expect((await fetch(`${t.url}/trpc/no.such.procedure%22%7Bx`)).status).toBe(404);
    const after = samples((await scrape()).text);
    const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    expect(d('aegis_server_requests_total{procedure="auth.me",status="4xx"}')).toBe(1);
    expect(d('aegis_server_requests_total{procedure="unknown",status="4xx"}')).toBe(1);
    expect([...after.keys()].some((k) => k.includes('no.such'))).toBe(false);
  });

  it('reports the event loop, the database pool, Redis and the auth cache, and no tenant data', async () => {
    const { status, text } = await scrape();
    expect(status).toBe(200);
    const s = samples(text);
    expect(s.get('aegis_server_event_loop_delay_seconds{quantile="0.99"}')).toBeGreaterThanOrEqual(0);
    expect(s.get('aegis_server_db_up')).toBe(1);
    expect(s.get('aegis_server_db_pool_max')).toBe(5);
    expect(s.get('aegis_server_redis_up')).toBe(1);
    expect(s.get('aegis_server_auth_cache_misses_total')).toBeGreaterThan(0);
    expect(s.has('aegis_server_auth_cache_hits_total')).toBe(true);
    expect(text).not.toContain(t.admin.deskId);
    expect(text).not.toContain(t.admin.email);
  });

  it('is not served through a proxy or the console forwarder', async () => {
    expect((await scrape({ 'x-forwarded-for': '203.0.113.9' })).status).toBe(404);
    expect((await scrape({ forwarded: 'for=203.0.113.9' })).status).toBe(404);
    expect((await scrape({ 'x-aegis-forwarder': 'anything' })).status).toBe(404);
  });
});
