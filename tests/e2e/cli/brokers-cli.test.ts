import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAlpaca, startFakeAlpaca } from '../../../server/tests/integration/support/fake-alpaca.ts';
import type { Client, TestServer } from '../../../server/tests/integration/test-server.ts';
import { cli, startCliServer } from './cli-harness.ts';

/** `aegis brokers …` as people run it: a child process against a real server. */
let t: TestServer;
let admin: Client;
let password: string;
let env: Record<string, string>;
let alpaca: FakeAlpaca;
const AUTHORIZE_URL = 'http://127.0.0.1:9/oauth/authorize';

beforeAll(async () => {
  // Alpaca's trading API, local; it accepts only the key pair linked below.
  alpaca = await startFakeAlpaca({
    authorize: (a) => a.kind === 'key' && a.keyId === 'PKCLITEST' && a.secret === 'cli-secret',
    cash: '50000',
    accountNumber: 'PA3CLI0001',
  });
  const s = await startCliServer(['read', 'trade', 'admin'], {
    env: {
      TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      ALPACA_CLIENT_ID: 'aegis-cli-test',
      ALPACA_CLIENT_SECRET: 'not-used-here',
      // Never contacted: `link` only prints it.
      ALPACA_OAUTH_AUTHORIZE_URL: AUTHORIZE_URL,
      ALPACA_PAPER_API_URL: alpaca.url,
      ALPACA_PAPER_STREAM_URL: alpaca.streamUrl,
    },
  });
  ({ t, env } = s);
  admin = s.admin.client;
  password = s.admin.password;
});
afterAll(async () => {
  await t?.close();
  await alpaca?.close();
});

describe('aegis brokers', () => {
  it('lists no connections on a new desk, as a table, as JSON and as a person', async () => {
    const table = await cli(['brokers', 'list'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^\(none\)\n/);
    expect(table.stdout).toContain("No broker accounts linked: orders go to the desk's paper account.");
    const json = await cli(['brokers', 'list', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
    const asPerson = await cli(
      ['brokers', 'list', '--json', '--email', t.admin.email],
      { AEGIS_URL: t.url },
      `${password}\n`,
    );
    expect(asPerson.code, asPerson.stderr).toBe(0);
    expect(JSON.parse(asPerson.stdout)).toEqual([]);
  });

  it('link and unlink need a person: without --email they stop before calling the server', async () => {
    const link = await cli(['brokers', 'link', 'alpaca'], env);
    expect(link.code).toBe(2);
    expect(link.stderr).toMatch(
      /--email is required: linking needs a signed-in person who re-entered the password/,
    );
    const unlink = await cli(['brokers', 'unlink', randomUUID()], env);
    expect(unlink.code).toBe(2);
    expect(unlink.stderr).toMatch(/--email is required/);
  });

  it('refuses a provider id the contract does not know, and a connection id that is not one', async () => {
    const bad = await cli(['brokers', 'link', 'etrade', '--email', t.admin.email], env, `${password}\n`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown provider 'etrade'/);
    const notUuid = await cli(['brokers', 'sync', 'abc'], env);
    expect(notUuid.code).toBe(2);
    expect(notUuid.stderr).toMatch(/a connection id/);
  });

  it('a wrong password is refused as authentication (exit 3), nothing is started', async () => {
    const run = await cli(['brokers', 'link', 'alpaca', '--email', t.admin.email], env, 'not-the-password\n');
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
  });

  it("sync and unlink of a connection that is not this desk's answer not found (exit 4)", async () => {
    const id = randomUUID();
    const sync = await cli(['brokers', 'sync', id], env);
    expect(sync.code, sync.stderr).toBe(4);
    const unlink = await cli(['brokers', 'unlink', id, '--email', t.admin.email], env, `${password}\n`);
    expect(unlink.code, unlink.stderr).toBe(4);
  });

  it('link prints the authorization URL of a PKCE authorization-code request bound to the console callback', async () => {
    const run = await cli(
      ['brokers', 'link', 'alpaca', '--json', '--email', t.admin.email],
      env,
      `${password}\n`,
    );
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { authorizationUrl: string; expiresAt: string };
    const url = new URL(out.authorizationUrl);
    expect(`${url.origin}${url.pathname}`).toBe(AUTHORIZE_URL);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe('aegis-cli-test');
    expect(url.searchParams.get('redirect_uri')).toBe('http://localhost:3000/oauth/callback/alpaca');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')?.length).toBeGreaterThanOrEqual(32);
    expect(Date.parse(out.expiresAt)).toBeGreaterThan(Date.now());
    const [tx] = await t.owner<{ provider: string; environment: string }[]>`
      select provider, environment from oauth_transactions`;
    expect(tx).toEqual({ provider: 'alpaca', environment: 'paper' });
    // For people: the URL and what to do with it.
    const human = await cli(['brokers', 'link', 'alpaca', '--email', t.admin.email], env, `${password}\n`);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/authorizationUrl\s+http:\/\/127\.0\.0\.1:9\/oauth\/authorize\?/);
    expect(human.stdout).toMatch(/Open the URL above before/);
  });

  it('a linked Alpaca account: listed with its balances, synced from Alpaca, then unlinked by a person', async () => {
    // Linked the way the console does it (API keys, after the password re-entry).
    await admin.auth.reauthenticate.mutate({ password });
    const linked = await admin.brokers.linkApiKey.mutate({
      provider: 'alpaca',
      environment: 'paper',
      label: 'CLI paper',
      apiKey: 'PKCLITEST',
      apiSecret: 'cli-secret',
    });
    expect(linked).toMatchObject({ status: 'active', accountRef: 'PA3CLI0001' });

    const list = await cli(['brokers', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { id: string; account: { cash: string } | null }[];
    expect(rows.map((r) => r.id)).toEqual([linked.id]);
    expect(Number(rows[0]!.account?.cash)).toBe(50000);
    // The secrets never come back, in any output.
    expect(list.stdout).not.toContain('cli-secret');
    const table = await cli(['brokers', 'list'], env);
    expect(table.stdout).toMatch(/^ID\s+PROVIDER\s+LABEL\s+ENV\s+STATUS/);
    expect(table.stdout).toMatch(
      new RegExp(`${linked.id}\\s+alpaca\\s+CLI paper\\s+paper\\s+active\\s+PA3CLI0001`),
    );

    alpaca.setBuyingPower('12345.67');
    const sync = await cli(['brokers', 'sync', linked.id, '--json'], env);
    expect(sync.code, sync.stderr).toBe(0);
    const synced = JSON.parse(sync.stdout) as {
      status: string;
      account: { buyingPower: string };
      lastSyncAt: string;
    };
    expect(synced.status).toBe('active');
    expect(Number(synced.account.buyingPower)).toBe(12345.67);
    expect(Date.parse(synced.lastSyncAt)).toBeGreaterThan(Date.parse(linked.lastSyncAt ?? '1970-01-01'));

    const unlink = await cli(
      ['brokers', 'unlink', linked.id, '--json', '--email', t.admin.email],
      env,
      `${password}\n`,
    );
    expect(unlink.code, unlink.stderr).toBe(0);
    expect(JSON.parse(unlink.stdout)).toMatchObject({ connectionId: linked.id });
    const after = JSON.parse((await cli(['brokers', 'list', '--json'], env)).stdout) as { status: string }[];
    expect(after.map((r) => r.status)).toEqual(['revoked']);
  });
});
