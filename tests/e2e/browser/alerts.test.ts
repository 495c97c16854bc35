import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningServer } from '@aegis/server/http';
import { parseTokenKeys, TokenCrypto } from '@aegis/shared/crypto/token-crypto';
import { asTenantId } from '@aegis/shared/ids';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Platform, reportFailures, startPlatform } from './platform.ts';

/**
 * The notification centre and webhooks in Chromium against the real server: a halt engaged on
 * the desk raises the bell's unread count live (no reload) and shows in its list; on /alerts a
 * desk admin adds a webhook endpoint (its secret shown once), sends a test event to a real local
 * receiver that verifies the signature, and reads the attempt in the endpoint's delivery log.
 */
const NEW_PASSWORD = 'harbor-bell-quartz-5120';
let p: Platform;
let server: RunningServer;
let page: Page;
let pageErrors: string[];
let deskId: string;
let receiver: Server;
let receiverUrl: string;
let receiverSecret: string | null = null;
const received: { verified: boolean; event: string | undefined }[] = [];

const shot = (name: string) => p.shot(name);

const bell = () => page.getByTestId('alert-bell');

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['x-aegis-timestamp'] ?? '');
      const expected = Buffer.from(
        `v1=${createHmac('sha256', receiverSecret ?? '-')
          .update(`${ts}.${body}`)
          .digest('hex')}`,
      );
      const given = Buffer.from(String(req.headers['x-aegis-signature'] ?? ''));
      const fresh = Math.abs(Date.now() / 1000 - Number(ts)) <= 300;
      const verified = fresh && given.length === expected.length && timingSafeEqual(given, expected);
      received.push({ verified, event: req.headers['x-aegis-event'] as string | undefined });
      res.statusCode = verified ? 204 : 401;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/aegis`;

  const key = randomBytes(32).toString('base64');
  p = await startPlatform({
    newPassword: NEW_PASSWORD,
    env: () => ({ TOKEN_ENCRYPTION_KEY: key }),
    start: {
      execution: { outboxIntervalMs: 100, equityIntervalMs: 3_600_000, reconcileIntervalMs: 3_600_000 },
      alerts: {
        crypto: new TokenCrypto(parseTokenKeys(undefined, key)),
        targets: { allowLocalhost: true },
        scanIntervalMs: 500,
        sendIntervalMs: 250,
      },
    },
  });
  ({ page, pageErrors, deskId } = p);
  server = p.server.running;
});

reportFailures(
  'alerts',
  () => p,
  async () => `received ${JSON.stringify(received)}`,
);

afterAll(async () => {
  await p?.stop();
  await new Promise((r) => receiver?.close(r));
});

describe('desk alerts in the console', () => {
  test('a halt raises the bell live and shows in its list', async () => {
    await bell().waitFor();
    await expect
      .poll(() => bell().getAttribute('aria-label'), { timeout: 15_000 })
      .toBe('Notifications, 0 unread');
    await expect(page.getByTestId('alert-unread-count').count()).resolves.toBe(0);

    const actor = { type: 'system' as const, id: 'alerts-browser-test' };
    await server.deps.execution!.halts.engage({
      scope: 'desk',
      tenantId: asTenantId(deskId),
      actor,
      reason: 'bell drill',
    });
    // Live: the page is not reloaded.
    await expect
      .poll(() => page.getByTestId('alert-unread-count').textContent(), { timeout: 15_000 })
      .toBe('1');
    expect(await bell().getAttribute('aria-label')).toBe('Notifications, 1 unread');
    await shot('alerts-bell-count.png');

    await bell().click();
    const panel = page.getByRole('region', { name: 'Notifications' });
    await panel.getByText('Desk halt engaged', { exact: true }).waitFor();
    await expect(panel.getByText(/bell drill/).count()).resolves.toBe(1);
    await shot('alerts-bell-open.png');

    await panel.getByRole('button', { name: 'Mark "Desk halt engaged" read' }).click();
    await expect.poll(() => page.getByTestId('alert-unread-count').count(), { timeout: 15_000 }).toBe(0);
    await page.keyboard.press('Escape');
    await server.deps.execution!.halts.release({ scope: 'desk', tenantId: asTenantId(deskId), actor });
  });

  test('/alerts: add an endpoint, send a test event, read its delivery log', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Alerts' })
      .click();
    await page.getByRole('heading', { name: 'Notifications', level: 2 }).waitFor();
    await page.getByText('Desk halt engaged', { exact: true }).first().waitFor();

    const form = page.getByRole('form', { name: 'Add a webhook endpoint' });
    await form.getByLabel('Name').fill('desk pager');
    await form.getByLabel('URL').fill(receiverUrl);
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = page.getByTestId('secret-value');
    await secret.waitFor();
    receiverSecret = (await secret.textContent())!.trim();
    expect(receiverSecret).toMatch(/^whsec_/);
    await shot('alerts-endpoint-secret.png');

    await page.getByRole('button', { name: 'Send a test event to desk pager' }).click();
    const log = page.getByTestId('delivery-log');
    await expect
      .poll(() => log.locator('tbody tr').first().textContent(), { timeout: 15_000 })
      .toMatch(/test.*1.*delivered.*204/);
    expect(received).toEqual([{ verified: true, event: 'test' }]);
    // The listing shows where it points, never the path (a chat webhook's path is a credential).
    await expect(page.getByTestId('endpoints').getByText('/hooks/aegis').count()).resolves.toBe(0);
    await shot('alerts-page-delivery-log.png');
    expect(pageErrors).toEqual([]);
  });
});
