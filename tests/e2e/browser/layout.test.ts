import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningAegisServer } from './aegis-server.ts';
import { signInFirstTime } from './chromium.ts';
import { CONSOLE_PAGES } from './console-pages.ts';
import { type Platform, startPlatform } from './platform.ts';
import type { RunningWeb } from './web-process.ts';

/**
 * Every console page at a desktop size (1440 × 900) and on a phone (390 × 844), with real rows in
 * the tables (a rejected order with a long broker reason, a working order, proposals, signals):
 * no table's buttons lie outside the screen unless the table's own scroll box reaches them, no
 * table cell cuts its text, the page itself never scrolls sideways, and axe finds no serious or
 * critical accessibility violation. Screenshots of every page at both sizes go to
 * `tests/e2e/browser/screenshots/` (git-ignored) for a person to look at.
 */
const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
const NEW_PASSWORD = 'wide-table-harbour-4417';
const LONG_REASON =
  'insufficient buying power: the order needs 2,500,000.00 USD and the account has 1,250.00 USD available';

const PAGES = CONSOLE_PAGES;

const SIZES = [
  { name: 'desktop', width: 1440, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

let p: Platform;
let server: RunningAegisServer;
let web: RunningWeb;
let browser: Browser;
let desktop: BrowserContext;
let phone: BrowserContext;
let page: Page;
let pageErrors: string[];
const axeReport: Record<string, { id: string; impact: string; nodes: number; help: string }[]> = {};

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  p = await startPlatform({ name: 'layout' });
  ({ server, web, browser, context: desktop, page, pageErrors } = p);
}, 240_000);

afterAll(async () => {
  writeFileSync(path.join(SHOTS, 'axe-report.json'), `${JSON.stringify(axeReport, null, 2)}\n`);
  await phone?.close();
  await p?.stop();
});

/** Rows for every table that has a fixture path: orders, proposals, signals, agent skips. */
async function insertFixtures(): Promise<void> {
  const owner = postgres(p.database.url, { max: 1, onnotice: () => {} });
  try {
    const desk = server.firstDeskId;
    await owner`
      insert into orders (tenant_id, client_order_id, symbol, side, order_type, time_in_force, quantity,
                          limit_price, status, reject_reason, origin)
      values (${desk}, 'layout-rejected-1', 'BTC-USD', 'buy', 'limit', 'day', '50.000000000000',
              '64250.500000000000', 'rejected', ${LONG_REASON}, 'human'),
             (${desk}, 'layout-working-1', 'ETH-USD', 'sell', 'limit', 'gtc', '12.500000000000',
              '3120.550000000000', 'new', null, 'human')`;
    await server.insertPendingProposal({ side: 'buy', quantity: '0.5', limitPrice: '64000' });
    const decided = await server.insertPendingProposal({
      side: 'sell',
      quantity: '1.25',
      limitPrice: '64500',
    });
    await owner`update proposals set status = 'rejected', decided_at = now() where id = ${decided}`;
    const now = Date.now();
    await server.insertSignal({
      id: '7b0c7a52-5d1a-4c8e-9d61-0d6f1b3b2a11',
      symbol: 'BTC-USD',
      direction: 'long',
      pattern: 'breakout',
      score: 0.874,
      price: '64250.5',
      tsEvent: new Date(now - 60_000),
      tsSignal: new Date(now - 59_988),
      features: { ema_fast: 64231.7, ema_slow: 64102.9, order_flow_imbalance: 0.58 },
      flow: [
        { offsetMs: -4_000, side: 'sell', price: '64240.0', size: '0.12' },
        { offsetMs: 1_000, side: 'buy', price: '64251.0', size: '0.40' },
      ],
    });
    // Unread notifications of every severity, so axe sees each severity's tag on an unread row
    // (the tinted ground that made a critical tag's red too faint) whatever else arrives.
    await owner`
      insert into alert_events (tenant_id, kind, severity, title, body, source_key)
      values (${desk}, 'proposal.waiting', 'info', 'Proposal waiting', 'A buy of 0.5 BTC-USD waits for a decision', 'layout-info'),
             (${desk}, 'daily_loss.near', 'warning', 'Daily loss at 80 %', 'The desk has lost 80 % of its daily limit', 'layout-warning'),
             (${desk}, 'reconcile.drift', 'critical', 'Reconciliation drift', 'BTC-USD: the broker holds 1.5, the desk 1.0', 'layout-critical')`;
    await server.insertAgentSkip({
      symbol: 'BTC-USD',
      direction: 'long',
      score: 0.61,
      code: 'flip_flop',
      reason: 'minimum holding time 300 s has not passed since the last trade on this instrument',
    });
  } finally {
    await owner.end();
  }
}

/** The page's data has arrived: no loading skeleton left (a page may keep one: give up after 20 s). */
async function settle(p: Page): Promise<void> {
  await expect
    .poll(() => p.locator('.skeleton:visible, [aria-busy="true"]:visible').count(), { timeout: 20_000 })
    .toBe(0)
    .catch(() => {});
  await p.waitForTimeout(400);
}

/**
 * The whole page: the console scrolls inside <main> (the shell is one screen high), so a
 * full-page screenshot would only show the first screen. Let the shell grow for the shot.
 */
async function fullScreenshot(p: Page, file: string): Promise<void> {
  await p.evaluate(() => {
    const shell = document.querySelector<HTMLElement>('.shell');
    const main = document.querySelector<HTMLElement>('main');
    if (shell) shell.style.height = 'auto';
    if (main) main.style.overflow = 'visible';
  });
  await p.screenshot({ path: file, fullPage: true });
  await p.evaluate(() => {
    document.querySelector<HTMLElement>('.shell')?.style.removeProperty('height');
    document.querySelector<HTMLElement>('main')?.style.removeProperty('overflow');
  });
}

const log = (line: string) =>
  process.stderr.write(`[layout] ${new Date().toISOString().slice(11, 19)} ${line}\n`);

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface LayoutProblem {
  readonly kind: string;
  readonly what: string;
}

/**
 * Layout problems on the page as it is drawn: buttons inside tables that lie outside the screen
 * and outside the visible part of their own scroll box, table cells whose text is cut, and a
 * page that scrolls sideways.
 */
function findLayoutProblems(p: Page): Promise<LayoutProblem[]> {
  return p.evaluate(() => {
    const problems: { kind: string; what: string }[] = [];
    const vw = document.documentElement.clientWidth;
    const describe = (el: Element) =>
      `${el.closest('table')?.querySelector('caption')?.textContent?.trim() ?? el.closest('table')?.getAttribute('aria-label') ?? el.closest('section, form')?.getAttribute('aria-label') ?? 'page'}: ${(el.textContent ?? '').trim().slice(0, 60)}`;
    const scrollBoxOf = (el: Element): Element | null => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        const s = getComputedStyle(a);
        if ((s.overflowX === 'auto' || s.overflowX === 'scroll') && a.scrollWidth > a.clientWidth) return a;
        if (a.tagName === 'MAIN') return null;
      }
      return null;
    };
    for (const control of document.querySelectorAll('button, table a, table select, table input')) {
      const r = control.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const box = scrollBoxOf(control);
      const visible = box ? box.getBoundingClientRect() : { left: 0, right: vw };
      const left = Math.max(0, visible.left);
      const right = Math.min(vw, visible.right);
      if (r.left >= left - 1 && r.right <= right + 1) continue;
      // Beyond the box's visible part but reachable with the table's own scroll (drawn scrollbar):
      // only when the box itself is on screen.
      if (box && visible.left >= -1 && visible.right <= vw + 1) continue;
      problems.push({ kind: 'control outside the screen', what: describe(control) });
    }
    for (const cell of document.querySelectorAll<HTMLElement>('table.dt td.dt-cell, table.dt th.dt-cell')) {
      const r = cell.getBoundingClientRect();
      if (r.width === 0) continue;
      if (cell.scrollWidth > cell.clientWidth + 1)
        problems.push({ kind: 'cut-off text', what: `${describe(cell)} [${cell.dataset.col}]` });
    }
    // Figures in KPI tiles (equity, P&L, Greeks) are never cut to an ellipsis.
    for (const value of document.querySelectorAll<HTMLElement>('.kpi dd')) {
      const r = value.getBoundingClientRect();
      if (r.width === 0) continue;
      if (value.scrollWidth > value.clientWidth + 1)
        problems.push({
          kind: 'cut-off figure',
          what: `${value.closest('.kpi')?.querySelector('dt')?.textContent?.trim() ?? 'kpi'}: ${value.textContent?.trim()}`,
        });
    }
    const main = document.querySelector('main');
    if (main && main.scrollWidth > main.clientWidth + 1)
      problems.push({
        kind: 'page scrolls sideways',
        what: `main ${main.scrollWidth} > ${main.clientWidth}`,
      });
    if (document.documentElement.scrollWidth > vw + 1)
      problems.push({
        kind: 'page scrolls sideways',
        what: `document ${document.documentElement.scrollWidth} > ${vw}`,
      });
    return problems;
  });
}

describe('every console page fits at 1440 × 900 and on a 390 px phone', () => {
  test('the admin signs in; orders, proposals, signals and a skipped signal are on the desk', async () => {
    await signInFirstTime(page, server.firstAdmin, NEW_PASSWORD);
    await insertFixtures();
    phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      baseURL: web.url,
      storageState: await desktop.storageState(),
    });
    // The sign-in tab would keep its live streams open: a browser holds 6 connections per host,
    // and a second console tab's requests would queue behind them.
    await page.goto('about:blank');
  }, 60_000);

  for (const size of SIZES) {
    for (const target of PAGES) {
      test(`${target.name} at ${size.width} × ${size.height}`, async () => {
        // A fresh tab per page: a page's live streams and chart timers never hold up the next.
        const p = await (size.name === 'desktop' ? desktop : phone).newPage();
        const errors: string[] = [];
        p.on('pageerror', (e) => errors.push(e.message));
        try {
          log(`${target.name} ${size.name}: open`);
          await p.goto(target.path, { waitUntil: 'domcontentloaded' });
          await p
            .getByRole('heading', { name: target.heading, level: 1 })
            .first()
            .waitFor({ timeout: 20_000 });
          await settle(p);
          await p.screenshot({ path: path.join(SHOTS, `${target.name}-${size.name}.png`) });
          await fullScreenshot(p, path.join(SHOTS, `${target.name}-${size.name}-full.png`));

          log(`${target.name} ${size.name}: shot`);
          const problems = await findLayoutProblems(p);
          log(`${target.name} ${size.name}: layout checked`);
          expect.soft(problems, `${target.name} at ${size.width} px`).toEqual([]);

          const axe = await withTimeout(
            new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze(),
            45_000,
            `axe on ${target.name}`,
          );
          log(`${target.name} ${size.name}: axe done`);
          const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
          axeReport[`${target.name}-${size.name}`] = axe.violations.map((v) => ({
            id: v.id,
            impact: v.impact ?? 'unknown',
            nodes: v.nodes.length,
            help: v.help,
          }));
          expect
            .soft(
              serious.map(
                (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
              ),
              `axe on ${target.name} at ${size.width} px`,
            )
            .toEqual([]);
          expect.soft(errors).toEqual([]);
        } finally {
          await p.close();
        }
      }, 90_000);
    }
  }

  test('a clickable row takes the keyboard focus and Enter opens it (signals)', async () => {
    const p = await desktop.newPage();
    try {
      await p.goto('/signals');
      const row = p.locator('tr[data-signal-id="7b0c7a52-5d1a-4c8e-9d61-0d6f1b3b2a11"]');
      await row.waitFor({ timeout: 20_000 });
      expect(await row.getAttribute('tabindex')).toBe('0');
      await row.focus();
      await p.keyboard.press('Enter');
      await expect.poll(() => row.getAttribute('aria-selected'), { timeout: 10_000 }).toBe('true');
      await p.getByRole('button', { name: /^Accept/ }).waitFor({ timeout: 20_000 });
      // What accepting does is said where the button is.
      expect(await p.locator('#signal-decision-help').textContent()).toContain('They place no order');
    } finally {
      await p.close();
    }
  }, 60_000);

  test('the orders table: the Cancel button is on screen and the long reason is readable', async () => {
    for (const ctx of [desktop, phone]) {
      const p = await ctx.newPage();
      try {
        await p.goto('/orders');
        const table = p.getByRole('table', { name: 'Orders, newest first' });
        await table.waitFor();
        const cancel = p.getByRole('button', { name: 'Cancel order layout-working-1' });
        await cancel.waitFor();
        const box = await cancel.boundingBox();
        const viewport = p.viewportSize()!;
        expect(box).not.toBeNull();
        expect(box!.x).toBeGreaterThanOrEqual(0);
        expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width);
        // The quantity prints by the lot size, not with the database's twelve decimals.
        const rejected = table.locator('tbody tr', { hasText: 'BTC-USD' }).first();
        expect(await rejected.locator('td[data-col="qty"]').textContent()).toBe('50');
        // The reason is a column at 1440 px; on a phone it is in the row's details line.
        if (viewport.width >= 1000) {
          expect(await rejected.locator('td[data-col="reason"]').textContent()).toBe(LONG_REASON);
        } else {
          await rejected.getByRole('button', { name: 'Show details' }).click();
          const details = rejected.locator('xpath=following-sibling::tr[1]');
          await expect.poll(() => details.textContent()).toContain(LONG_REASON);
          await p.screenshot({ path: path.join(SHOTS, 'orders-phone-details.png'), fullPage: true });
        }
      } finally {
        await p.close();
      }
    }
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
