import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseTokenKeys, TokenCrypto } from '@aegis/shared/crypto/token-crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { engineSignal } from '../../../server/tests/integration/decisions-support.ts';
import { cli } from '../cli/cli-harness.ts';
import { signInFirstTime } from './chromium.ts';
import { CONSOLE_PAGES } from './console-pages.ts';
import { type Platform, reportFailures, startPlatform, tradingSeed } from './platform.ts';

/**
 * An operator's first day, end to end through the real server and the built console in
 * Chromium: the first sign-in (one-time password, then a new one), the instruments, a signal the
 * engine publishes arriving live, an agent's proposal approved and filled, a trade placed from
 * the ticket and filled, trading halted from a script (the real `aegis` CLI with a trade-scoped
 * API key made in the console) and the console showing it, the audit log naming the key and the
 * sign-in, and the trade blotter exported as CSV. Then every console page is saved as a
 * screenshot at a desktop size and on a phone, for a person to look at.
 */
const NEW_PASSWORD = 'first-light-harbour-7731';
const SYMBOL = 'BTC-USD';
const KEY_NAME = 'first-day-script';
const SHOT_DIR = path.resolve(import.meta.dirname, '../../../test-results/screenshots/first-day');
const SIZES = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
] as const;

let p: Platform;
let page: Page;

const nav = (section: string) =>
  page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: section }).click();
const heading = (name: string) => page.getByRole('heading', { name, level: 1 }).waitFor();
/** A price on the paper venue, as the venue price source would set it. */
const quote = () => p.server.quote(SYMBOL, '64000', '64050');

beforeAll(async () => {
  // Alerts on, as in production: the halt from the script reaches the bell.
  const tokenKey = randomBytes(32).toString('base64');
  p = await startPlatform({
    env: () => ({ TOKEN_ENCRYPTION_KEY: tokenKey }),
    start: {
      alerts: {
        crypto: new TokenCrypto(parseTokenKeys(undefined, tokenKey)),
        scanIntervalMs: 500,
        sendIntervalMs: 250,
      },
      execution: { outboxIntervalMs: 100, equityIntervalMs: 3_600_000, reconcileIntervalMs: 3_600_000 },
    },
    seed: tradingSeed({ maxReferenceAgeMs: 600_000 }),
  });
  page = p.page;
  await mkdir(SHOT_DIR, { recursive: true });
}, 240_000);

reportFailures('first-day', () => p);

afterAll(async () => {
  await p?.stop();
});

describe("an operator's first day", () => {
  test('signs in for the first time: the one-time password, then a password of their own', async () => {
    await signInFirstTime(page, p.admin, NEW_PASSWORD);
    await heading('Overview');
    await expect.poll(() => page.locator('.status-pill').textContent()).toBe('Trading live');
  });

  test('lists the instruments the platform trades', async () => {
    await nav('Markets');
    await heading('Markets');
    const table = page.getByRole('table', { name: 'Instruments' });
    await table.locator('tbody tr', { hasText: 'BTC-USD' }).waitFor();
    await table.locator('tbody tr', { hasText: 'ETH-USD' }).waitFor();
    expect(await table.locator('tbody tr').count()).toBe(2);
  });

  test('watches a signal the engine publishes arrive on the Signals page, without a reload', async () => {
    await nav('Signals');
    await heading('Signals');
    const rows = page.locator('tr[data-signal-id]');
    await page.getByText('No signals yet').waitFor();
    expect(await rows.count()).toBe(0);
    // As the engine publishes it: an entry on the signals stream, which the server's consumer
    // stores and fans out to the page's live subscription.
    const signal = engineSignal({ symbol: SYMBOL, direction: 'long', pattern: 'breakout', score: '0.83' });
    await p.bus.xadd(p.server.running.deps.decisions!.streams.signals, signal);
    const row = page.locator(`tr[data-signal-id="${signal.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain(SYMBOL);
    expect(await rows.count()).toBe(1);
  });

  test("approves the agent's proposal and sees its order fill", async () => {
    await p.server.insertPendingProposal({ side: 'buy', quantity: '0.25', limitPrice: '64100' });
    await nav('Proposals');
    await heading('Proposals');
    const card = page
      .getByRole('list', { name: 'Proposals awaiting approval' })
      .getByRole('listitem', { name: /^Proposal: buy 0\.25 BTC-USD/ });
    quote();
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByLabel(/Your password/).fill(NEW_PASSWORD);
    await card.getByRole('button', { name: /^Approve buy 0\.25 BTC-USD/ }).click();
    await page.getByText(/^Approved buy 0\.25 BTC-USD\. Order filled 0\.25 @ /).waitFor({ timeout: 30_000 });
    await page.getByText('No proposals awaiting approval').waitFor();
  });

  test('places a trade from the ticket and sees it fill', async () => {
    await nav('Orders');
    await heading('Orders');
    quote();
    const ticket = page.getByRole('form', { name: 'Order ticket' });
    await ticket.getByLabel('Symbol').fill(SYMBOL);
    await ticket.getByText('Sell', { exact: true }).click();
    await ticket.getByLabel('Quantity').fill('0.1');
    await ticket.getByLabel('Limit price').fill('63900');
    await ticket.getByRole('button', { name: 'Review order' }).click();
    const review = page.getByRole('region', { name: 'Order review' });
    await review.getByText('Risk checks pass').waitFor();
    await review.getByRole('button', { name: /^Confirm sell 0\.1 BTC-USD$/ }).click();
    // The paper account fills a sell at the bid.
    await ticket
      .locator('..')
      .getByText(/^Order filled 0\.1 @ 64,?000(\.0+)?$/)
      .waitFor({ timeout: 30_000 });
  });

  test('halts trading from a script with a trade-scoped API key, and the console shows it', async () => {
    await nav('Settings');
    await heading('Settings');
    const form = page.getByRole('form', { name: 'Create an API key' });
    await form.getByLabel('Name').fill(KEY_NAME);
    await form.getByLabel('trade').check();
    await form.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('secret-value').textContent())?.trim() ?? '';
    expect(key).toMatch(/^aegis_/);
    await page.getByRole('button', { name: 'Done' }).click();

    const pill = page.locator('.status-pill');
    expect(await pill.textContent()).toBe('Trading live');
    // The day's fills are in the notification centre already; the halt adds one more.
    const unread = async () => Number((await page.getByTestId('alert-unread-count').textContent()) ?? '0');
    await expect.poll(unread, { timeout: 15_000 }).toBe(2);
    const run = await cli(['halt', 'on', '--reason', 'first day: end-of-session drill'], {
      AEGIS_URL: p.server.url,
      AEGIS_API_KEY: key,
    });
    expect(run.code, run.stderr).toBe(0);
    // Live: the page is not reloaded.
    await expect.poll(() => pill.textContent(), { timeout: 15_000 }).toBe('Desk halted');
    // The notification centre has it too, live: the bell counts it, its list says who halted.
    await expect.poll(unread, { timeout: 15_000 }).toBe(3);
    await page.getByTestId('alert-bell').click();
    const notifications = page.getByRole('region', { name: 'Notifications' });
    await notifications.getByText('Desk halt engaged', { exact: true }).waitFor();
    expect(await notifications.textContent()).toContain(KEY_NAME);
    await page.keyboard.press('Escape');
    // And a halted desk takes no new buy: the ticket's review says so.
    await nav('Orders');
    const ticket = page.getByRole('form', { name: 'Order ticket' });
    await ticket.getByLabel('Symbol').fill(SYMBOL);
    await ticket.getByText('Buy', { exact: true }).click();
    await ticket.getByLabel('Quantity').fill('0.1');
    await ticket.getByLabel('Limit price').fill('64100');
    await ticket.getByRole('button', { name: 'Review order' }).click();
    await page
      .getByRole('region', { name: 'Order review' })
      .getByText('The risk governor would deny this order')
      .waitFor({ timeout: 15_000 });
  });

  test('reads the audit log: the halt names the key, the sign-in is there', async () => {
    await nav('Audit');
    await heading('Audit');
    const entries = page.getByRole('table', { name: 'Audit log entries, newest first' });
    const halt = entries.locator('tbody tr', { hasText: 'halt.engage' });
    await halt.first().waitFor();
    expect(await halt.first().textContent()).toContain(KEY_NAME);
    // Actors in words: the key by its name and whose it is, the person by name (not type:id).
    const actor = (row: typeof halt) => row.first().locator('td[data-col="actor"]').textContent();
    expect(await actor(halt)).toBe(`key ${KEY_NAME} (Administrator)`);
    const login = entries.locator('tbody tr', { hasText: 'auth.login' });
    expect(await actor(login)).toBe('Administrator');
    await entries.locator('tbody tr', { hasText: 'auth.login' }).first().waitFor();
    // Quantities in the details read as a person wrote them, not as numeric(…,12) text.
    const approve = entries.locator('tbody tr', { hasText: 'proposals.approve' }).first();
    expect(await approve.textContent()).toContain('buy 0.25 BTC-USD');
    expect(await approve.textContent()).not.toContain('0.250000');
  });

  test('exports the trade blotter as CSV with both fills in it', async () => {
    await nav('Reports');
    await heading('Reports');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export Fills (blotter)' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    const fills = lines.slice(1).filter((l) => l.includes(SYMBOL));
    expect(fills).toHaveLength(2);
    expect(fills.some((l) => /\bbuy\b/.test(l) && l.includes('0.25'))).toBe(true);
    expect(fills.some((l) => /\bsell\b/.test(l) && l.includes('0.1'))).toBe(true);
    // The approved proposal's fill says where it came from, as the order drawer does.
    expect(fills.some((l) => /\bbuy\b/.test(l) && l.includes(',agent proposal,'))).toBe(true);
  });

  test("the blotter and P&L print prices to the tick, fees to cents, and the proposal's origin", async () => {
    const blotter = page.getByRole('group', { name: 'Trade blotter' });
    const buy = blotter.locator('tbody tr', { hasText: '0.25' }).first();
    await buy.waitFor();
    const cell = (row: typeof buy, col: string) => row.locator(`td[data-col="${col}"]`).textContent();
    expect(await cell(buy, 'qty')).toBe('0.25');
    expect(await cell(buy, 'price')).toMatch(/^\d{2},\d{3}\.\d{2}$/);
    expect(await cell(buy, 'fee')).toMatch(/^\d+\.\d{2}$/);
    expect(await cell(buy, 'origin')).toBe('agent proposal');
    expect(await cell(buy, 'order')).toMatch(/^[0-9a-f]{8}$/);
    const pnl = page.getByRole('group', { name: 'P&L by instrument' }).locator('tbody tr').first();
    expect(await cell(pnl, 'avg')).toMatch(/^\d{2},\d{3}\.\d{2}$/);
    expect(await cell(pnl, 'mark')).toMatch(/^\d{2},\d{3}\.\d{2}$/);
  });

  test('every console page, at a desktop size and on a phone, saved as a screenshot', async () => {
    const state = await p.context.storageState();
    for (const size of SIZES) {
      const context = await p.browser.newContext({ viewport: size, baseURL: p.web.url, storageState: state });
      try {
        const shotPage = await context.newPage();
        for (const cp of CONSOLE_PAGES) {
          await shotPage.goto(cp.path);
          await shotPage.getByRole('heading', { name: cp.heading, level: 1 }).waitFor({ timeout: 20_000 });
          await expect
            .poll(() => shotPage.locator('.skeleton:visible, [aria-busy="true"]:visible').count(), {
              timeout: 20_000,
            })
            .toBe(0)
            .catch(() => {});
          await shotPage.screenshot({ path: path.join(SHOT_DIR, `${cp.name}-${size.width}.png`) });
          if ((cp.name === 'orders' || cp.name === 'proposals') && size.width < 640) {
            // On a phone the status stays on screen; the created time folds into the details line.
            const status = shotPage.locator('tbody tr td[data-col="status"]').first();
            const box = await status.boundingBox();
            expect(box, `${cp.name}: status cell`).not.toBeNull();
            expect(box!.x + box!.width).toBeLessThanOrEqual(size.width);
          }
          if (cp.name === 'instrument') {
            // No last trade reads in words, never as a pair of dashes.
            expect(await shotPage.locator('.instrument-price').textContent()).not.toMatch(/[—–]/);
          }
        }
      } finally {
        await context.close();
      }
    }
    expect(p.pageErrors).toEqual([]);
  });
});
