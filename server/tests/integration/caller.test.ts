import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../../src/context.ts';
import { createCaller } from '../../src/routers/_app.ts';
import { signIn, startTestServer, type TestServer } from './test-server.ts';

/** Router calls without HTTP (createCaller) run the same middleware chain on a real context. */
let t: TestServer;
let key: string;

beforeAll(async () => {
  t = await startTestServer();
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  key = (await s.client.keys.create.mutate({ name: 'caller', scopes: ['read'] })).key;
});
afterAll(async () => {
  await t?.close();
});

describe('createCaller with a real context', () => {
  it('authenticates from credentials, scopes to the desk and enforces the matrix', async () => {
    const caller = createCaller(
      createContextInner({ ...t.server.deps, credentials: { bearer: key, cookieToken: null } }),
    );
    const me = await caller.auth.me();
    expect(me.kind).toBe('api_key');
    expect((await caller.keys.list()).map((k) => k.name)).toEqual(['caller']);
    await expect(caller.users.list()).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses without credentials', async () => {
    const caller = createCaller(createContextInner({ ...t.server.deps }));
    await expect(caller.auth.me()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
