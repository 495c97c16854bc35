import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { freePort } from '@aegis/shared/testing/free-port';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureWebBuild } from '../../../web/build.ts';
import { type RunningAegisServer, startAegisServer } from './aegis-server.ts';
import { openConsolePage, signInFirstTime } from './chromium.ts';
import { type RunningWeb, startBuiltWeb } from './web-process.ts';

/**
 * The risk-limits editor (Settings) in Chromium against the real server on a fresh migrated
 * database: a fresh desk shows every limit at its platform default; an admin sets one (a merge),
 * removes one after a confirmation, and resets it, re-entering the password each time.
 */
const SHOTS = process.env.AEGIS_SCREENSHOT_DIR ?? '/tmp/aegis-shots';
const NEW_PASSWORD = 'amber-limit-ledger-2290';

let database: MigratedTestDatabase;
let server: RunningAegisServer;
let web: RunningWeb;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const build = await ensureWebBuild();
  if (build.built) process.stderr.write(`[browser] built web console in ${build.ms} ms\n`);
  database = await createMigratedTestDatabase();
  const webPort = await freePort();
  server = await startAegisServer({ database, publicOrigin: `http://127.0.0.1:${webPort}` });
  web = await startBuiltWeb({ port: webPort, serverUrl: server.url });
  ({ browser, context, page, pageErrors } = await openConsolePage(web.url));
});

afterAll(async () => {
  if (web) writeFileSync(path.join(SHOTS, 'risk-limits-web-server.log'), web.output());
  await context?.close();
  await browser?.close();
  await web?.stop();
  await server?.stop();
  await database?.drop();
});

const password = () => page.getByLabel('Your password (required for every change)');
const row = (panel: Locator, field: string) => panel.locator(`tr[data-field="${field}"]`);
const cell = (panel: Locator, field: string, n: number) =>
  row(panel, field).locator('td').nth(n).textContent();

describe('risk limits editor in Chromium against the real server', () => {
  test('the desk admin signs in and sees every limit at its platform default', async () => {
    await signInFirstTime(page, server.firstAdmin, NEW_PASSWORD);

    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Settings' })
      .click();
    await page.getByRole('heading', { name: 'Risk limits', level: 2 }).waitFor();
    const desk = page.getByRole('form', { name: 'Risk limits for the desk' });
    await desk.waitFor().catch(async (e) => {
      const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Risk limits' }) });
      throw new Error(`risk limits panel: ${await panel.first().textContent()}`, { cause: e });
    });
    await expect.poll(() => desk.locator('tr[data-field]').count()).toBe(15);
    expect(await desk.locator('tr[data-source="default"]').count()).toBe(15);
    expect(await cell(desk, 'maxOrderNotional', 0)).toBe('50,000');
    expect(await cell(desk, 'maxOrderNotional', 1)).toContain('platform default');
  });

  test('set merges one value; remove needs a confirmation; reset restores the default', async () => {
    const desk = page.getByRole('form', { name: 'Risk limits for the desk' });
    await desk.getByLabel('New Order quantity (units)').fill('100');
    await password().fill(NEW_PASSWORD);
    await desk.getByRole('button', { name: 'Save new values' }).click();
    await page.getByText('Limits saved.').waitFor();
    await expect.poll(() => cell(desk, 'maxOrderQty', 0)).toBe('100');
    expect(await row(desk, 'maxOrderQty').getAttribute('data-source')).toBe('desk');
    // The other protections keep their defaults (finding 2).
    expect(await row(desk, 'priceCollarBps').getAttribute('data-source')).toBe('default');
    expect(await cell(desk, 'priceCollarBps', 0)).toBe('500');

    await password().fill(NEW_PASSWORD);
    await row(desk, 'priceCollarBps').getByRole('button', { name: 'Remove' }).click();
    await row(desk, 'priceCollarBps').getByRole('button', { name: 'Confirm: no limit' }).click();
    await expect.poll(() => row(desk, 'priceCollarBps').getAttribute('data-source')).toBe('removed');
    expect(await cell(desk, 'priceCollarBps', 0)).toBe('no limit');
    await page.screenshot({ path: path.join(SHOTS, 'risk-limits.png'), fullPage: true });

    await password().fill(NEW_PASSWORD);
    await row(desk, 'priceCollarBps').getByRole('button', { name: 'Reset' }).click();
    await expect.poll(() => row(desk, 'priceCollarBps').getAttribute('data-source')).toBe('default');
    expect(await cell(desk, 'priceCollarBps', 0)).toBe('500');
    expect(await cell(desk, 'maxOrderQty', 0)).toBe('100');
    expect(pageErrors).toEqual([]);
  });
});
