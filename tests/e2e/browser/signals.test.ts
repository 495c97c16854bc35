import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createDb } from '@aegis/shared/db/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningAegisServer } from './aegis-server.ts';
import { signInFirstTime } from './chromium.ts';
import { type Platform, SHOTS, startPlatform } from './platform.ts';
import type { RunningWeb } from './web-process.ts';

/**
 * The Signals page (list, detail with the desk's order flow, accept / reject / note with the
 * keyboard) and the platform admin's global halt, in Chromium against the real server on a
 * fresh migrated database (same setup as console.test.ts). Screenshots: AEGIS_SCREENSHOT_DIR.
 */
const NEW_PASSWORD = 'steady-signal-ledger-4812';

let p: Platform;
let server: RunningAegisServer;
let web: RunningWeb;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

const older = { id: randomUUID(), symbol: 'ETH-USD' };
const newer = { id: randomUUID(), symbol: 'BTC-USD' };

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

interface SignalGet {
  result: {
    data: { decisions: { decision: string; note: string | null; userId: string }[]; orderflow: unknown[] };
  };
}

/** signals.get through the console's proxy with the browser's session (what the page sees). */
async function signalViaApi(id: string): Promise<SignalGet['result']['data']> {
  const res = await context.request.get(
    `/trpc/signals.get?input=${encodeURIComponent(JSON.stringify({ id }))}`,
  );
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as SignalGet).result.data;
}

beforeAll(async () => {
  p = await startPlatform({ name: 'signals' });
  ({ server, web, browser, context, page, pageErrors } = p);

  const now = Date.now();
  await server.insertSignal({
    ...older,
    direction: 'short',
    pattern: 'mean_reversion',
    score: 0.612,
    price: '3120.55',
    tsEvent: new Date(now - 120_000),
    tsSignal: new Date(now - 119_990),
    features: { ema_fast: 3121.2, ema_slow: 3118.4, order_flow_imbalance: -0.31, spread_z: 1.7 },
  });
  await server.insertSignal({
    ...newer,
    direction: 'long',
    pattern: 'breakout',
    score: 0.874,
    price: '64250.5',
    tsEvent: new Date(now - 60_000),
    tsSignal: new Date(now - 59_988),
    features: {
      ema_fast: 64231.7,
      ema_slow: 64102.9,
      vwap: 64188.25,
      realized_vol: 0.0042,
      order_flow_imbalance: 0.58,
      micro_price: 64249.9,
      spread_z: -0.4,
      momentum: 0.0011,
    },
    flow: [
      { offsetMs: -4_000, side: 'sell', price: '64240.0', size: '0.12' },
      { offsetMs: -1_500, side: 'buy', price: '64245.5', size: '0.40' },
      { offsetMs: 0, side: 'buy', price: '64250.5', size: '1.25' },
      { offsetMs: 2_200, side: 'buy', price: '64262.0', size: '0.08' },
    ],
  });
});

afterAll(async () => {
  await p?.stop();
});

describe('signals and the global halt in Chromium against the real server', () => {
  test('the platform admin signs in (one-time password, then a new one)', async () => {
    await signInFirstTime(page, server.firstAdmin, NEW_PASSWORD);
    await expect.poll(() => page.locator('.status-pill').textContent()).toBe('Trading live');
  });

  test('signals: the list, then arrow keys select and the detail shows the order-flow context', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Signals' })
      .click();
    await page.getByRole('heading', { name: 'Signals', level: 1 }).waitFor();
    const rows = page.locator('tr[data-signal-id]');
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByText('No signal selected').waitFor();

    const detail = page.locator('.signal-detail');
    await page.locator('main h1').click();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => rows.first().getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => detail.locator('.signal-symbol').textContent()).toBe(newer.symbol);
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => detail.locator('.signal-symbol').textContent()).toBe(older.symbol);
    await detail.getByText('No order flow around this signal').waitFor();
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => detail.locator('.signal-symbol').textContent()).toBe(newer.symbol);

    // The desk's own order flow within ±60 s of the event, and the engine's features.
    const flow = detail.getByRole('table', { name: 'Desk order flow around the signal' });
    await expect.poll(() => flow.locator('tbody tr').count()).toBe(4);
    // Prices print by the instrument's tick size (BTC-USD: 0.01).
    expect(await flow.locator('tr.flow-mark [data-col="price"]').textContent()).toBe('64,250.50');
    expect(await detail.locator('.signal-score').textContent()).toContain('0.874');
    await detail.locator('.feature dt', { hasText: 'order_flow_imbalance' }).waitFor();
    await detail.getByText('No decision recorded on this desk.').waitFor();
    await shot('10-signals-detail');
  });

  test('signals: accept with `a`, an empty note shows the server error, a note with `n` is stored', async () => {
    const detail = page.locator('.signal-detail');
    const decisions = detail.getByRole('list', { name: 'Decisions on this signal' });

    await page.keyboard.press('a');
    await detail.getByText('Accepted.').waitFor();
    await decisions.getByText('Accepted').waitFor();

    // No text: the server refuses (a note needs text) and the panel says so.
    await detail.getByRole('button', { name: 'Add note' }).click();
    const alert = detail.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/note needs text/);

    await page.locator('main h1').click();
    await page.keyboard.press('n');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('signal-note');
    await page.keyboard.type('Thin book above 64.3k; size down.');
    await page.keyboard.press('Control+Enter');
    await detail.getByText('Note added.').waitFor();
    await decisions.getByText('Thin book above 64.3k; size down.').waitFor();
    expect(await alert.count()).toBe(0);
    await shot('11-signals-decided');

    // Stored: through the API the page uses, and in the table itself.
    const viaApi = await signalViaApi(newer.id);
    // signals.get lists the desk's decisions newest first.
    expect(viaApi.decisions.map((d) => [d.decision, d.note])).toEqual([
      ['note', 'Thin book above 64.3k; size down.'],
      ['accept', null],
    ]);
    expect(viaApi.orderflow).toHaveLength(4);
    const owner = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
    try {
      const stored = await owner.sql<{ tenant_id: string; decision: string; note: string | null }[]>`
        select tenant_id, decision, note from signal_decisions where signal_id = ${newer.id} order by created_at`;
      expect(stored).toEqual([
        { tenant_id: server.firstDeskId, decision: 'accept', note: null },
        { tenant_id: server.firstDeskId, decision: 'note', note: 'Thin book above 64.3k; size down.' },
      ]);
    } finally {
      await owner.close();
    }
    // The other signal was not touched.
    expect((await signalViaApi(older.id)).decisions).toEqual([]);
  });

  test('signals: `g` then `r` navigates to Orders and does not reject the selected signal', async () => {
    await page.locator('main h1').click();
    await page.keyboard.press('g');
    await page.keyboard.press('r');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/orders');
    expect((await signalViaApi(newer.id)).decisions).toHaveLength(2);
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Signals' })
      .click();
    await page.locator('tr[data-signal-id]').first().click();
    await page.locator('.signal-detail').getByText('Thin book above 64.3k; size down.').waitFor();
    // `r` rejects the selected (clicked) signal.
    await page.locator('main h1').click();
    await page.keyboard.press('r');
    await page.locator('.signal-detail').getByText('Rejected.').waitFor();
    expect((await signalViaApi(newer.id)).decisions.map((d) => d.decision)).toEqual([
      'reject',
      'note',
      'accept',
    ]);
  });

  test('global halt: engaged by the platform admin; desk release is disabled while it holds', async () => {
    const pill = page.locator('.status-pill');
    await page.getByRole('button', { name: 'Global halt', exact: true }).click();
    const engage = page.getByRole('dialog', { name: 'Halt trading on every desk' });
    await engage.getByLabel('Reason').fill('browser test: venue outage drill');
    await engage.getByLabel('Your password').fill(NEW_PASSWORD);
    await engage.getByRole('button', { name: 'Halt all desks' }).click();
    await expect.poll(() => pill.textContent()).toBe('Global halt');
    expect(await pill.getAttribute('data-state')).toBe('global');
    expect(await pill.getAttribute('title')).toContain('venue outage drill');

    // The desk's own switch can still be engaged under a global halt …
    await page.getByRole('button', { name: 'Halt', exact: true }).click();
    const desk = page.getByRole('dialog', { name: 'Halt trading on this desk' });
    await desk.getByLabel('Reason').fill('browser test: desk halt under the global one');
    await desk.getByLabel('Your password').fill(NEW_PASSWORD);
    await desk.getByRole('button', { name: 'Halt trading' }).click();
    // … but not released while the global halt holds, and the button says why.
    const deskRelease = page.getByRole('button', { name: 'Release', exact: true });
    await expect.poll(() => deskRelease.isDisabled()).toBe(true);
    expect(await deskRelease.getAttribute('title')).toMatch(/global halt is in force/);
    expect(await pill.textContent()).toBe('Global halt');
    await shot('12-global-halt');
  });

  test('global halt: released with password re-entry; the desk halt stays until released', async () => {
    const pill = page.locator('.status-pill');
    await page.getByRole('button', { name: 'Release global', exact: true }).click();
    const release = page.getByRole('dialog', { name: 'Release the global halt' });
    await release.getByLabel('Your password').fill('wrong-password-entirely');
    await release.getByRole('button', { name: 'Release global halt' }).click();
    await release.getByRole('alert').waitFor();
    expect(await pill.textContent()).toBe('Global halt');

    await release.getByLabel('Your password').fill(NEW_PASSWORD);
    await release.getByRole('button', { name: 'Release global halt' }).click();
    await expect.poll(() => pill.textContent()).toBe('Desk halted');
    await page.getByRole('button', { name: 'Global halt', exact: true }).waitFor();

    const deskRelease = page.getByRole('button', { name: 'Release', exact: true });
    await expect.poll(() => deskRelease.isEnabled()).toBe(true);
    await deskRelease.click();
    const desk = page.getByRole('dialog', { name: 'Release the halt' });
    await desk.getByLabel('Your password').fill(NEW_PASSWORD);
    await desk.getByRole('button', { name: 'Release' }).click();
    await expect.poll(() => pill.textContent()).toBe('Trading live');
    await shot('13-halts-released');

    const status = await context.request.get('/trpc/halt.status');
    const state = ((await status.json()) as { result: { data: { halted: boolean } } }).result.data;
    expect(state.halted).toBe(false);
  });

  test('a viewer sees the signal detail and its decisions but no actions, and no halt controls', async () => {
    const email = 'viewer@aegis.test';
    const created = await context.request.post('/trpc/users.create', {
      headers: { origin: web.url, 'content-type': 'application/json' },
      data: { email, displayName: 'Vera Viewer', role: 'viewer' },
    });
    expect(created.status(), await created.text()).toBe(200);
    const oneTime = ((await created.json()) as { result: { data: { oneTimePassword: string } } }).result.data
      .oneTimePassword;

    const viewerContext = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      baseURL: web.url,
    });
    const viewer = await viewerContext.newPage();
    viewer.on('pageerror', (error) => pageErrors.push(`viewer: ${error.message}`));
    try {
      await viewer.goto('/login');
      await viewer.getByLabel('Email').fill(email);
      await viewer.getByLabel('Password').fill(oneTime);
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => new URL(viewer.url()).pathname).toBe('/change-password');
      await viewer.getByLabel('One-time password').fill(oneTime);
      await viewer.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await viewer.getByLabel('Repeat new password').fill(NEW_PASSWORD);
      await viewer.getByRole('button', { name: 'Save password' }).click();
      await expect.poll(() => new URL(viewer.url()).pathname).toBe('/');
      await expect.poll(() => viewer.locator('.status-pill').textContent()).toBe('Trading live');

      await viewer.goto('/signals');
      await viewer.locator('tr[data-signal-id]').first().click();
      const detail = viewer.locator('.signal-detail');
      await detail.getByText('Thin book above 64.3k; size down.').waitFor();
      await detail.getByText('Your role on this desk can view signals, not decide on them.').waitFor();
      // No action: the only buttons are the table's own "show details" toggles.
      expect(await detail.locator('button:not(.dt-toggle)').count()).toBe(0);
      expect(await detail.locator('textarea').count()).toBe(0);
      // No decision shortcuts offered either.
      expect(await viewer.locator('.panel-meta kbd').count()).toBe(0);
      await viewer.locator('main h1').click();
      await viewer.keyboard.press('a');
      expect(await viewer.getByRole('button', { name: /^(Halt|Global halt|Release)/ }).count()).toBe(0);
      await viewer.screenshot({ path: path.join(SHOTS, '14-signals-viewer.png') });
    } finally {
      await viewerContext.close();
    }
    expect((await signalViaApi(newer.id)).decisions).toHaveLength(3);
  });

  test('no uncaught errors or CSP violations in the page during the whole run', () => {
    expect(pageErrors).toEqual([]);
  });
});
