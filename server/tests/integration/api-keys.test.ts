import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authInvalidations } from '../../src/auth/auth-cache.ts';
import { type Client, failure, makeClient, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let admin: Client;
let adminPassword: string;

beforeAll(async () => {
  t = await startTestServer();
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  admin = s.client;
  adminPassword = s.password;
});
afterAll(async () => {
  await t?.close();
});

/** A script's client: no cookie, no Origin, the key as Bearer. */
const keyClient = (key: string) => makeClient(t.url, { origin: null, bearer: key });

async function newKey(scopes: ('read' | 'trade' | 'admin')[], client: Client = admin) {
  return client.keys.create.mutate({ name: `key ${scopes.join('+')}`, scopes });
}

describe('API keys', () => {
  it('are shown once, recognisable by prefix, stored only as SHA-256 of the secret', async () => {
    const created = await newKey(['read']);
    expect(created.key).toMatch(/^aegis_[a-z2-7]{16}_[a-z2-7]{52}$/);
    const [, prefix, secret] = created.key.split('_');
    expect(created.apiKey.prefix).toBe(prefix);
    const [row] = await t.owner<
      { secret_hash: string }[]
    >`select secret_hash from api_keys where prefix = ${prefix!}`;
    expect(row!.secret_hash).toBe(createHash('sha256').update(secret!).digest('hex'));
    const listed = await admin.keys.list.query();
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(listed.find((k) => k.id === created.apiKey.id)?.scopes).toEqual(['read']);
  });

  it('authenticate scripts and record last use', async () => {
    const { key, apiKey } = await newKey(['read']);
    const me = await keyClient(key).auth.me.query();
    expect(me.kind).toBe('api_key');
    expect(me.scopes).toEqual(['read']);
    expect(me.activeDesk?.id).toBe(t.admin.deskId);
    await keyClient(key).keys.list.query();
    const [row] = await t.owner<
      { last_used_at: Date | null }[]
    >`select last_used_at from api_keys where id = ${apiKey.id}`;
    expect(row!.last_used_at).not.toBeNull();
  });

  it('allow what their scope covers and deny the rest with 403', async () => {
    const read = await newKey(['read']);
    const admin_ = await newKey(['admin']);
    // read: listing keys (keys.read, scope read) ok; creating a key (scope admin) denied.
    await keyClient(read.key).keys.list.query();
    const denied = await failure(keyClient(read.key).keys.create.mutate({ name: 'x', scopes: ['read'] }));
    expect(denied.data?.httpStatus).toBe(403);
    expect(denied.data?.details).toMatchObject({ reason: 'scope', permission: 'keys.create' });
    // admin scope can create keys, never broader than its own scopes.
    const minted = await keyClient(admin_.key).keys.create.mutate({ name: 'minted', scopes: ['admin'] });
    expect(minted.apiKey.scopes).toEqual(['admin']);
    const broader = await failure(
      keyClient(admin_.key).keys.create.mutate({ name: 'wider', scopes: ['trade'] }),
    );
    expect(broader.data?.httpStatus).toBe(403);
    expect(broader.data?.details).toMatchObject({ reason: 'scope_ceiling' });
    // admin scope alone cannot read (scopes are explicit, not hierarchical).
    expect((await failure(keyClient(admin_.key).keys.list.query())).data?.httpStatus).toBe(403);
    // The denial was audited in the desk's chain.
    const rows = await t.owner<{ n: number }[]>`
      select count(*)::int as n from audit_log where action = 'access.denied' and tenant_id = ${t.admin.deskId}`;
    expect(rows[0]!.n).toBeGreaterThanOrEqual(2);
  });

  it('can never do human-only actions (reauthenticate, change password, logout, switch desk)', async () => {
    const { key } = await newKey(['read', 'trade', 'admin']);
    const c = keyClient(key);
    // Thunks, called one at a time: a rejected promise nobody awaits yet is an unhandled rejection.
    for (const call of [
      () => c.auth.reauthenticate.mutate({ password: adminPassword }),
      () =>
        c.auth.changePassword.mutate({
          currentPassword: adminPassword,
          newPassword: 'another-long-passphrase-1',
        }),
      () => c.auth.logout.mutate(),
      () => c.auth.switchDesk.mutate({ deskId: t.admin.deskId }),
    ]) {
      const e = await failure(call());
      expect(e.data?.httpStatus).toBe(403);
      expect(e.data?.details).toMatchObject({ reason: 'human_only' });
    }
  });

  it('stop working when revoked', async () => {
    const { key, apiKey } = await newKey(['read']);
    await keyClient(key).auth.me.query();
    const revoked = await admin.keys.revoke.mutate({ keyId: apiKey.id });
    expect(revoked.prefix).toBe(apiKey.prefix);
    expect((await failure(keyClient(key).auth.me.query())).data?.httpStatus).toBe(401);
    // Revoking twice: not found.
    expect((await failure(admin.keys.revoke.mutate({ keyId: apiKey.id }))).data?.httpStatus).toBe(404);
  });

  it('stop working when expired', async () => {
    const { key, apiKey } = await admin.keys.create.mutate({
      name: 'short-lived',
      scopes: ['read'],
      expiresInDays: 1,
    });
    expect(apiKey.expiresAt).not.toBeNull();
    await keyClient(key).auth.me.query();
    await t.owner`update api_keys set expires_at = now() - interval '1 second' where id = ${apiKey.id}`;
    // Changed behind the server's back: announce it, as any tool that edits keys must.
    await authInvalidations.announce({ kind: 'api_key', keyId: apiKey.id });
    expect((await failure(keyClient(key).auth.me.query())).data?.httpStatus).toBe(401);
  });

  it('refuse a forged secret with a real prefix, and malformed keys', async () => {
    const { key } = await newKey(['read']);
    const forged = `${key.slice(0, -4)}aaaa`;
    for (const bad of [forged, 'aegis_', 'aegis_x_y', `${key}x`, 'not-a-token']) {
      expect((await failure(keyClient(bad).auth.me.query())).data?.httpStatus).toBe(401);
    }
  });

  it("are bounded by the creator's role (a viewer cannot grant trade)", async () => {
    const created = await admin.users.create.mutate({
      email: 'viewer-keys@example.com',
      displayName: 'Viewer Keys',
      role: 'viewer',
    });
    const viewer = await signIn(t.url, 'viewer-keys@example.com', created.oneTimePassword!);
    const e = await failure(viewer.client.keys.create.mutate({ name: 'v', scopes: ['trade'] }));
    expect(e.data?.httpStatus).toBe(403);
    const ok = await viewer.client.keys.create.mutate({ name: 'v', scopes: ['read'] });
    // A viewer sees only their own keys; cannot revoke the admin's.
    expect((await viewer.client.keys.list.query()).map((k) => k.id)).toEqual([ok.apiKey.id]);
    const adminKey = (await admin.keys.list.query()).find((k) => k.userId !== created.member.userId)!;
    expect((await failure(viewer.client.keys.revoke.mutate({ keyId: adminKey.id }))).data?.httpStatus).toBe(
      404,
    );
  });
});
