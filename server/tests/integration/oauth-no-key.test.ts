import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

// A server with no token encryption key: linking is refused, naming the setting, and nothing is stored.
let t: TestServer;
let admin: Client;

beforeAll(async () => {
  t = await startTestServer({
    env: { ALPACA_CLIENT_ID: 'aegis-alpaca', ALPACA_CLIENT_SECRET: 'alpaca-client-secret-0123456789' },
  });
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  admin = s.client;
  await admin.auth.reauthenticate.mutate({ password: s.password });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('linking without a token encryption key', () => {
  it('refuses OAuth and API-key links with an error naming TOKEN_ENCRYPTION_KEY, storing nothing', async () => {
    expect(t.server.deps.config.tokenKeys).toEqual([]);
    const oauth = await failure(admin.brokers.startLink.mutate({ provider: 'alpaca', environment: 'paper' }));
    expect(oauth.data?.httpStatus).toBe(412);
    expect(oauth.message).toContain('TOKEN_ENCRYPTION_KEY');

    const secret = 'plaintext-secret-must-not-be-stored';
    const apiKey = await failure(
      admin.brokers.linkApiKey.mutate({
        provider: 'coinbase',
        environment: 'live',
        apiKey: 'organizations/x/apiKeys/y',
        apiSecret: secret,
      }),
    );
    expect(apiKey.data?.httpStatus).toBe(412);
    expect(apiKey.message).toContain('TOKEN_ENCRYPTION_KEY');

    const [counts] = await t.owner<{ tx: number; conns: number }[]>`
      select (select count(*)::int from oauth_transactions) as tx,
             (select count(*)::int from broker_connections) as conns`;
    expect(counts).toEqual({ tx: 0, conns: 0 });
    expect(JSON.stringify(t.logs)).not.toContain(secret);
  });
});
