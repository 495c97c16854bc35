import type { inferRouterOutputs } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { AppRouter } from '../../src/routers/_app.ts';
import { type Client, ORIGIN, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * Instants in procedure outputs reach the client as ISO strings, and the client's inferred type
 * says so: the server runs without a transformer, and its output schemas declare instants with
 * `isoDateTime` (shared/src/schemas/instant.ts), which turns a Date the server returns into its
 * string during output validation. The halt's state is built with the row's Date.
 */
type Outputs = inferRouterOutputs<AppRouter>;

let t: TestServer;
let client: Client;
let cookie: string;
let password: string;

beforeAll(async () => {
  t = await startTestServer();
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  client = s.client;
  password = s.password;
  cookie = s.jar.header() ?? '';
});
afterAll(async () => {
  await t?.close();
});

describe('instants in outputs', () => {
  it('a Date the server returns arrives as its ISO string, typed string', async () => {
    expectTypeOf<Outputs['halt']['status']['desk']['engagedAt']>().toEqualTypeOf<string | null>();
    expectTypeOf<Outputs['pnl']['summary']['sessionStart']>().toEqualTypeOf<string>();
    expectTypeOf<Outputs['orders']['list'][number]['createdAt']>().toEqualTypeOf<string>();

    await client.auth.reauthenticate.mutate({ password });
    await client.halt.engage.mutate({ scope: 'desk', reason: 'output instants' });
    const [row] = await t.owner<{ engaged_at: Date }[]>`
      select engaged_at from halts where tenant_id = ${t.admin.deskId} and scope = 'desk'`;
    const state = await client.halt.status.query();
    expect(typeof state.desk.engagedAt).toBe('string');
    expect(state.desk.engagedAt).toBe(row!.engaged_at.toISOString());

    // The JSON itself, as any client reads it.
    const res = await fetch(`${t.url}/trpc/halt.status`, { headers: { origin: ORIGIN, cookie } });
    const body = (await res.json()) as { result: { data: { desk: { engagedAt: unknown } } } };
    expect(body.result.data.desk.engagedAt).toBe(row!.engaged_at.toISOString());

    const pnl = await client.pnl.summary.query();
    expect(pnl.sessionStart).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
});
