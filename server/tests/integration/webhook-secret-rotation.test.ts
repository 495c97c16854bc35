/**
 * Key rotation covers alert webhook secrets: endpoints created through the server under one key
 * are re-sealed under the next by rotateWebhookSecrets and by `npm run tokens:rotate`, after which
 * the old key can be removed and every secret still opens, unchanged, with its endpoint's binding.
 */
import { randomBytes } from 'node:crypto';
import { asTenantId } from '@aegis/shared/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingOf } from '../../src/alerts/delivery-sender.ts';
import { rotateWebhookSecrets } from '../../src/alerts/rotate-secrets.ts';
import { parseTokenKeys, TokenCrypto } from '../../src/auth/oauth/token-crypto.ts';
import { runTokensRotate } from './rotation-fixture.ts';
import { signIn, startTestServer, type TestServer } from './test-server.ts';

const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('base64');
const KEY_C = randomBytes(32).toString('base64');
const ring = (keys: string) => new TokenCrypto(parseTokenKeys(keys, undefined));
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null, env: { TOKEN_ENCRYPTION_KEYS: `ka:${KEY_A}` } });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

type Row = { id: string; tenant_id: string; secret_sealed: string };
const rows = () => t.owner<Row[]>`select id, tenant_id, secret_sealed from alert_endpoints order by id`;

describe('webhook secret rotation', () => {
  it('re-seals every webhook secret under the active key; the old key can then be removed', async () => {
    const { client, password } = await signIn(t.url, t.admin.email, t.admin.password);
    await client.auth.reauthenticate.mutate({ password });
    const secrets = new Map<string, string>();
    for (const n of [1, 2, 3]) {
      const created = await client.alerts.createEndpoint.mutate({
        name: `hook ${n}`,
        url: `https://hooks.example.com/${n}`,
        format: 'aegis',
        events: ['halt.engaged'],
      });
      secrets.set(created.endpoint.id, created.secret);
    }
    for (const r of await rows()) expect(r.secret_sealed.startsWith('v1.ka.')).toBe(true);

    // A secret copied into another endpoint's row does not open there: named and left as it is.
    const [first, second] = await rows();
    await t.owner`update alert_endpoints set secret_sealed = ${first!.secret_sealed} where id = ${second!.id}`;
    secrets.delete(second!.id);

    const ab = ring(`kb:${KEY_B},ka:${KEY_A}`);
    const r1 = await rotateWebhookSecrets(t.server.deps.db, ab, { batchSize: 1 });
    expect(r1.activeKid).toBe('kb');
    expect(r1.resealed).toBe(2);
    expect(r1.batches).toBeGreaterThanOrEqual(2);
    expect(r1.failed).toEqual([
      expect.objectContaining({ table: 'alert_endpoints', id: second!.id, purpose: 'alert_webhook_secret' }),
    ]);
    const r2 = await rotateWebhookSecrets(t.server.deps.db, ab, { batchSize: 1 });
    // Nothing left to change; only the secret that does not open is looked at (and named) again.
    expect(r2.resealed).toBe(0);
    expect(r2.failed.map((f) => f.id)).toEqual([second!.id]);

    const onlyB = ring(`kb:${KEY_B}`);
    for (const r of await rows()) {
      if (r.id === second!.id) {
        expect(r.secret_sealed).toBe(first!.secret_sealed);
        continue;
      }
      expect(r.secret_sealed.startsWith('v1.kb.')).toBe(true);
      expect(onlyB.decrypt(r.secret_sealed, bindingOf(asTenantId(r.tenant_id), r.id))).toBe(
        secrets.get(r.id),
      );
    }
    await t.owner`delete from alert_endpoints where id = ${second!.id}`;

    // The operator's command does the same from the environment and counts webhook secrets.
    const run = runTokensRotate(t.database.appUrl, `kc:${KEY_C},kb:${KEY_B}`);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('"webhookResealed":2');
    for (const s of secrets.values()) expect(run.output).not.toContain(s);
    const onlyC = ring(`kc:${KEY_C}`);
    for (const r of await rows())
      expect(onlyC.decrypt(r.secret_sealed, bindingOf(asTenantId(r.tenant_id), r.id))).toBe(
        secrets.get(r.id),
      );
    expect(await rotateWebhookSecrets(t.server.deps.db, onlyC)).toEqual({
      activeKid: 'kc',
      resealed: 0,
      batches: 0,
      failed: [],
    });
  });
});
