import path from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Platform, SHOTS, startPlatform } from './platform.ts';

/**
 * The top bar and the backtest form on a 390 px phone, against the same pages at 1280 × 800: on
 * the phone the top bar takes at most two rows and keeps every control on screen, named and in
 * the tab order; the backtest form is one column whose selects fill it, and nothing of either
 * reaches past the screen's right edge. At 1280 px the top bar stays one row; the form's agent
 * row takes as many columns as the form's own width gives whole selects (two beside the runs
 * list at 1280 px, four at 1000 px where the form has the row to itself). Screenshots of both pages at both sizes go to SHOTS (`narrow-*.png`).
 */
const NEW_PASSWORD = 'narrow-harbour-lantern-5183';
const PHONE = { width: 390, height: 844 } as const;
const DESKTOP = { width: 1280, height: 800 } as const;

let p: Platform;
let phone: BrowserContext;
let desktop: BrowserContext;

beforeAll(async () => {
  p = await startPlatform({ name: 'narrow-layout', newPassword: NEW_PASSWORD });
  const storageState = await p.context.storageState();
  phone = await p.browser.newContext({ viewport: PHONE, baseURL: p.web.url, storageState });
  desktop = await p.browser.newContext({ viewport: DESKTOP, baseURL: p.web.url, storageState });
  // The sign-in tab's live streams would take connections the pages below need.
  await p.page.goto('about:blank');
}, 240_000);

afterAll(async () => {
  await phone?.close();
  await desktop?.close();
  await p?.stop();
});

/** A fresh tab on `url` in `ctx`, once its heading is there and its live state has arrived. */
async function open(ctx: BrowserContext, url: string, heading: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.getByRole('heading', { name: heading, level: 1 }).first().waitFor({ timeout: 20_000 });
  // The halt's live state decides which buttons the top bar holds.
  await page.getByRole('button', { name: 'Halt', exact: true }).waitFor({ timeout: 20_000 });
  await page.waitForTimeout(300);
  return page;
}

interface Box {
  readonly what: string;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** The top bar's box and the box of every drawn control inside it. */
function topBarBoxes(page: Page) {
  return page.evaluate(() => {
    const bar = document.querySelector('.topbar')!;
    const box = (el: Element, what: string) => {
      const r = el.getBoundingClientRect();
      return { what, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    };
    const controls = [...bar.querySelectorAll('a, button, select, input, output, .role-badge')]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && !el.closest('dialog, [role="menu"], .alert-panel');
      })
      .map((el) =>
        box(el, `${el.tagName.toLowerCase()} ${el.getAttribute('aria-label') ?? el.textContent?.trim()}`),
      );
    return {
      bar: box(bar, 'top bar'),
      controls,
      viewport: document.documentElement.clientWidth,
    };
  });
}

/** How wide the document is against the screen, and what reaches past its right edge. */
function overflow(page: Page) {
  return page.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const pastTheEdge = [...document.querySelectorAll<HTMLElement>('body *')]
      .filter((el) => el.getBoundingClientRect().right > viewport + 1)
      // Inside a box that scrolls or clips sideways (a wide table): not the page's width.
      .filter((el) => {
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
          if (getComputedStyle(a).overflowX !== 'visible') return false;
        return true;
      })
      .map(
        (el) =>
          `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ${el.getBoundingClientRect().right}`,
      )
      .slice(0, 12);
    return { viewport, scrollWidth: document.documentElement.scrollWidth, pastTheEdge };
  });
}

/** Rows of boxes: a box whose middle lies below the current row's lowest edge starts a new row. */
function rowsOf(boxes: readonly Box[]): Box[][] {
  const rows: Box[][] = [];
  for (const b of [...boxes].sort((a, c) => a.top - c.top)) {
    const row = rows.at(-1);
    if (row && (b.top + b.bottom) / 2 < Math.max(...row.map((r) => r.bottom))) row.push(b);
    else rows.push([b]);
  }
  return rows;
}

/** The phone's top bar: two rows at most, no control and nothing else past the screen's edges. */
async function expectCompactTopBar(page: Page): Promise<void> {
  const m = await topBarBoxes(page);
  const rows = rowsOf(m.controls);
  const what = JSON.stringify(rows.map((r) => r.map((b) => b.what)));
  expect(rows.length, what).toBeLessThanOrEqual(2);
  // Two rows of its tallest control, the gap between them and the bar's padding and border.
  const tallest = Math.max(...m.controls.map((b) => b.bottom - b.top));
  expect(m.bar.bottom - m.bar.top, what).toBeLessThanOrEqual(2 * tallest + 20);
  const o = await overflow(page);
  expect(o.scrollWidth, o.pastTheEdge.join(', ')).toBeLessThanOrEqual(o.viewport);
  expect(m.controls.filter((b) => b.left < 0 || b.right > m.viewport)).toEqual([]);
}

/** The accessible names of the top bar's controls that Tab reaches, in order. */
async function tabbedTopBarNames(page: Page): Promise<string[]> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const names: string[] = [];
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    const name = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el?.closest('.topbar')) return null;
      const labelled = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
      return (el.getAttribute('aria-label') ?? labelled ?? el.textContent ?? '').replace(/\s+/g, ' ').trim();
    });
    if (name !== null) names.push(name);
    else if (names.length > 0) break;
  }
  return names;
}

describe('the top bar and the backtest form on a 390 px phone and at 1280 px', () => {
  test('the top bar on a phone: two rows at most, all on screen, every control named and tabbable', async () => {
    const page = await open(phone, '/', 'Overview');
    try {
      await page.screenshot({ path: path.join(SHOTS, 'narrow-overview-phone.png') });
      await expectCompactTopBar(page);

      // Every control of the top bar is there, by its accessible name, and on screen.
      for (const control of [
        page.getByRole('link', { name: 'Aegis overview' }),
        page.getByRole('combobox', { name: 'Desk' }),
        page.getByRole('combobox', { name: 'Search instruments' }),
        page.locator('.topbar output.status-pill'),
        page.getByRole('button', { name: 'Halt', exact: true }),
        page.getByRole('button', { name: /^Notifications/ }),
        page.getByRole('button', { name: /Account menu/ }),
      ]) {
        const box = await control.boundingBox();
        expect(box, String(control)).not.toBeNull();
        expect(box!.x).toBeGreaterThanOrEqual(0);
        expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
      }
      const tabbed = await tabbedTopBarNames(page);
      // The desk select is disabled (out of the tab order) while the user has one desk.
      const deskEnabled = await page.getByRole('combobox', { name: 'Desk' }).isEnabled();
      for (const name of [
        /Aegis overview/,
        ...(deskEnabled ? [/^Desk$/] : []),
        /Search instruments/,
        /^Halt$/,
        /Notifications/,
        /Account menu/,
      ])
        expect(
          tabbed.some((n) => name.test(n)),
          `${name} in ${JSON.stringify(tabbed)}`,
        ).toBe(true);

      // What opens from the bar opens on screen: the account menu (with the role the bar no
      // longer shows) and the notifications panel.
      const onScreen = async (opened: Locator) => {
        await opened.waitFor();
        const box = (await opened.boundingBox())!;
        expect(box.x, String(opened)).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width, String(opened)).toBeLessThanOrEqual(PHONE.width);
      };
      await page.getByRole('button', { name: /Account menu/ }).click();
      const menu = page.getByRole('menu', { name: 'Account' });
      await onScreen(menu);
      expect(await menu.textContent()).toMatch(/· admin/);
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: /^Notifications/ }).click();
      await onScreen(page.getByRole('region', { name: 'Notifications' }));
      await page.screenshot({ path: path.join(SHOTS, 'narrow-overview-phone-alerts.png') });
    } finally {
      await page.close();
    }
  }, 90_000);

  test('from 360 to 760 px wide the top bar keeps to two rows', async () => {
    const page = await open(phone, '/', 'Overview');
    try {
      for (const width of [360, 600, 760]) {
        await page.setViewportSize({ width, height: PHONE.height });
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        await page.screenshot({ path: path.join(SHOTS, `narrow-overview-${width}.png`) });
        await expectCompactTopBar(page);
      }
    } finally {
      await page.close();
    }
  }, 90_000);

  test('from 800 to 1280 px the top bar is one row: no control past the edge or over another', async () => {
    const page = await open(desktop, '/', 'Overview');
    try {
      for (const width of [800, 900, 1000, 1100, 1280]) {
        await page.setViewportSize({ width, height: DESKTOP.height });
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        await page.screenshot({ path: path.join(SHOTS, `narrow-overview-${width}.png`) });
        const m = await topBarBoxes(page);
        const rows = rowsOf(m.controls);
        expect(rows, `${width} px`).toHaveLength(1);
        expect(
          m.controls.filter((b) => b.left < 0 || b.right > m.viewport).map((b) => b.what),
          `${width} px`,
        ).toEqual([]);
        // Side by side in their row: each control ends before the next begins.
        const row = [...rows[0]!].sort((a, b) => a.left - b.left);
        const overlaps = row
          .slice(1)
          .flatMap((b, i) => (b.left < row[i]!.right - 1 ? [`${row[i]!.what} / ${b.what}`] : []));
        expect(overlaps, `${width} px`).toEqual([]);
        const o = await overflow(page);
        expect(o.scrollWidth, `${width} px: ${o.pastTheEdge.join(', ')}`).toBeLessThanOrEqual(o.viewport);
      }
    } finally {
      await page.setViewportSize(DESKTOP);
      await page.close();
    }
  }, 90_000);

  test('the top bar at 1280 px is one row, the height it always had', async () => {
    const page = await open(desktop, '/', 'Overview');
    try {
      await page.screenshot({ path: path.join(SHOTS, 'narrow-overview-desktop.png') });
      const m = await topBarBoxes(page);
      expect(rowsOf(m.controls)).toHaveLength(1);
      // --topbar-h: 44px, its bottom border included.
      expect(Math.round(m.bar.bottom - m.bar.top)).toBe(44);
      const o = await overflow(page);
      expect(o.scrollWidth, o.pastTheEdge.join(', ')).toBeLessThanOrEqual(o.viewport);
      for (const shown of ['.role-badge:not(.mode-badge)', '.mode-badge', '.brand-name'])
        expect(await page.locator(`.topbar ${shown}`).isVisible(), shown).toBe(true);
    } finally {
      await page.close();
    }
  }, 90_000);

  /** Each field of the backtest form: its fieldset, its control's and its field's box. */
  const formBoxes = (page: Page) =>
    page.evaluate(() => {
      const form = document.querySelector('form.bt-form')!;
      for (const d of form.querySelectorAll('details')) d.open = true;
      return [...form.querySelectorAll<HTMLElement>('.field')].map((field) => {
        const control = field.querySelector('select, input, textarea')!;
        const c = control.getBoundingClientRect();
        const f = field.getBoundingClientRect();
        return {
          name: field.dataset.field ?? '',
          tag: control.tagName.toLowerCase(),
          fieldset: [...form.querySelectorAll('fieldset')].indexOf(field.closest('fieldset')!),
          left: Math.round(c.left),
          right: c.right,
          width: c.width,
          fieldWidth: f.width,
          formRight: form.getBoundingClientRect().right,
          viewport: document.documentElement.clientWidth,
        };
      });
    });

  /**
   * The backtest form's selects that are narrower than they draw themselves when left to their
   * own width (their longest option and the arrow): those cut their selected text. Each is
   * measured against a hidden copy of itself at width auto, in its own field (the same styles).
   */
  const clippedSelects = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLSelectElement>('form.bt-form select')].flatMap((select) => {
        const whole = select.cloneNode(true) as HTMLSelectElement;
        whole.removeAttribute('id');
        whole.removeAttribute('name');
        Object.assign(whole.style, {
          position: 'absolute',
          visibility: 'hidden',
          width: 'auto',
          minWidth: '0',
          maxWidth: 'none',
        });
        select.parentElement!.append(whole);
        const needed = whole.getBoundingClientRect().width;
        whole.remove();
        const has = select.getBoundingClientRect().width;
        return has + 0.5 < needed ? [`${select.name}: ${has} px of the ${needed} px it needs`] : [];
      }),
    );

  test('the backtest form on a phone: one column, selects as wide as it, nothing past the edge', async () => {
    const page = await open(phone, '/backtests', 'Backtests');
    try {
      await page.getByRole('form', { name: 'New backtest' }).scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, 'narrow-backtests-phone.png') });
      const fields = await formBoxes(page);
      const selects = fields.filter((f) => f.tag === 'select');
      expect(selects.map((s) => s.name)).toEqual(['agent.decider', 'agent.riskPreset']);
      for (const f of fields) {
        expect(f.right, f.name).toBeLessThanOrEqual(f.viewport);
        expect(f.right, f.name).toBeLessThanOrEqual(f.formRight + 0.5);
      }
      for (const s of selects) expect(s.width, s.name).toBeGreaterThanOrEqual(s.fieldWidth - 0.5);
      expect(await clippedSelects(page)).toEqual([]);
      // One column: every field of a fieldset starts at the same x.
      for (const fieldset of new Set(fields.map((f) => f.fieldset))) {
        const lefts = new Set(fields.filter((f) => f.fieldset === fieldset).map((f) => f.left));
        expect(lefts.size, `fieldset ${fieldset}`).toBe(1);
      }
      const o = await overflow(page);
      expect(o.scrollWidth, o.pastTheEdge.join(', ')).toBeLessThanOrEqual(o.viewport);
    } finally {
      await page.close();
    }
  }, 90_000);

  test('the backtest form follows its own width: two agent columns beside the runs at 1280 px, four alone', async () => {
    const page = await open(desktop, '/backtests', 'Backtests');
    try {
      await page.screenshot({ path: path.join(SHOTS, 'narrow-backtests-desktop.png') });
      // At 1280 px the form shares the row with the runs list (about 430 px wide): four agent
      // columns there cut the risk preset's select to "balanc". Two columns, selects whole.
      expect(await clippedSelects(page)).toEqual([]);
      let fields = await formBoxes(page);
      let agent = fields.filter((f) => f.name.startsWith('agent.'));
      expect(agent).toHaveLength(4);
      expect(new Set(agent.map((f) => f.left)).size).toBe(2);
      for (const f of fields) expect(f.right, f.name).toBeLessThanOrEqual(f.formRight + 0.5);

      // At 1000 px the runs list goes below the form, which is then wider than at 1280 px: the
      // agent row is four columns again, selects still whole.
      await page.setViewportSize({ width: 1000, height: DESKTOP.height });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await page.screenshot({ path: path.join(SHOTS, 'narrow-backtests-1000.png') });
      fields = await formBoxes(page);
      agent = fields.filter((f) => f.name.startsWith('agent.'));
      expect(new Set(agent.map((f) => f.left)).size).toBe(4);
      for (const f of fields) expect(f.right, f.name).toBeLessThanOrEqual(f.formRight + 0.5);
      expect(await clippedSelects(page)).toEqual([]);
    } finally {
      await page.close();
    }
  }, 90_000);

  // Last: it halts the desk and the platform.
  test('the desk and the platform halted (the widest halt row): still two rows on a phone', async () => {
    const page = await open(phone, '/', 'Overview');
    try {
      const engage = async (button: string, submit: string, after: string) => {
        await page.getByRole('button', { name: button, exact: true }).click();
        const dialog = page.getByRole('dialog');
        await dialog.getByLabel('Reason').fill('narrow layout check');
        await dialog.getByLabel('Your password').fill(NEW_PASSWORD);
        await dialog.getByRole('button', { name: submit }).click();
        await page.getByRole('button', { name: after, exact: true }).waitFor({ timeout: 20_000 });
      };
      await engage('Halt', 'Halt trading', 'Release');
      await engage('Global halt', 'Halt all desks', 'Release global');
      await page.screenshot({ path: path.join(SHOTS, 'narrow-overview-phone-halted.png') });
      expect(await page.locator('.topbar output.status-pill').textContent()).toBe('Global halt');
      await expectCompactTopBar(page);
    } finally {
      await page.close();
    }
  }, 90_000);
});
