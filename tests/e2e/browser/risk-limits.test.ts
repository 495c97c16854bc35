import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signInFirstTime } from './chromium.ts';
import { type Platform, SHOTS, startPlatform } from './platform.ts';

/**
 * The risk-limits editor (Settings) in Chromium against the real server on a fresh migrated
 * database: a fresh desk shows every limit at its platform default; an admin sets one (a merge),
 * removes one after a confirmation, and resets it, re-entering the password each time.
 */
const NEW_PASSWORD = 'amber-limit-ledger-2290';

let p: Platform;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  p = await startPlatform({ name: 'risk-limits' });
  ({ page, pageErrors } = p);
});

afterAll(async () => {
  await p?.stop();
});

const password = () => page.getByLabel('Your password (required for every change)');
const row = (panel: Locator, field: string) => panel.locator(`tr[data-field="${field}"]`);
const cell = (panel: Locator, field: string, n: number) =>
  row(panel, field).locator('td').nth(n).textContent();

describe('risk limits editor in Chromium against the real server', () => {
  test('the desk admin signs in and sees every limit at its platform default', async () => {
    await signInFirstTime(page, p.admin, NEW_PASSWORD);

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
