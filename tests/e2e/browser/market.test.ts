import { randomUUID } from 'node:crypto';
import { createDb } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signInFirstTime } from './chromium.ts';
import {
  insertInstruments,
  insertTradeHistory,
  type StreamingVenue,
  startStreamingVenue,
} from './market-fixtures.ts';
import { type Platform, reportFailures, startPlatform } from './platform.ts';

/**
 * In Chromium against the real server: with a venue streaming, the
 * console's instrument page shows live candles, the L2 ladder and the ticket's bid/ask; a click on
 * the ladder fills the ticket's limit price; the watchlist shows live prices; the top bar's symbol
 * search finds BTC-USD from "btc" and suggests for a typo; an unknown symbol's page suggests.
 *
 * The venue: a local Coinbase Advanced Trade WebSocket streaming a random-walk book and trades,
 * read by the real engine (ENGINE_FEED=coinbase) in this process, which publishes prices and
 * books on the bus it shares with the real server (single-machine mode) and stores the trades in
 * the test's database, from which the server reads bars and time and sales (market-fixtures.ts).
 */
const NEW_PASSWORD = 'ladder-candle-quartz-4417';
const SYMBOL = 'BTC-USD';
let p: Platform;
let venue: StreamingVenue;
let page: Page;
let pageErrors: string[];

const shot = (name: string) => p.shot(name);
const api = <T>(procedure: string, input: unknown) => p.api<T>(procedure, input);

interface BookView {
  bids: [string, string][];
  asks: [string, string][];
}
interface QuoteView {
  bid: string | null;
  ask: string | null;
  last: string | null;
}

/** The ladder's levels as drawn: asks best first, bids best first. */
async function ladderLevels(): Promise<{ bids: [string, string][]; asks: [string, string][] }> {
  return page.evaluate(() => {
    const read = (side: string) =>
      [...document.querySelectorAll<HTMLElement>(`.ladder-row[data-side="${side}"]`)].map(
        (li) => [li.dataset.price ?? '', li.dataset.size ?? ''] as [string, string],
      );
    return { asks: read('ask').reverse(), bids: read('bid') };
  });
}

const chart = () => page.locator('figure.price-chart');
const ticket = () => page.getByRole('form', { name: 'Order ticket' });

beforeAll(async () => {
  p = await startPlatform({
    name: 'market',
    seed: async (owner) => {
      await insertInstruments(owner);
      await insertTradeHistory(owner, 15);
    },
  });
  ({ page, pageErrors } = p);
  // Signed in before the venue streams: the first sign-in's password hashing is slow on a busy
  // machine, and a streaming engine makes it slower.
  await signInFirstTime(page, p.admin, NEW_PASSWORD);
  venue = await startStreamingVenue({
    bus: p.bus,
    databaseUrl: p.database.url,
    log: createLogger({ name: 'engine', level: 'warn' }),
  });
});

reportFailures('market', () => p);

afterAll(async () => {
  await venue?.stop();
  await p?.stop();
});

describe('market views in the console', () => {
  test('the top bar search finds BTC-USD from "btc" and opens its page with the keyboard', async () => {
    const search = page.getByRole('combobox', { name: 'Search instruments' });
    await search.waitFor();
    await page.keyboard.press('/');
    await expect.poll(() => search.evaluate((el) => el === document.activeElement)).toBe(true);
    await search.pressSequentially('btc');
    const list = page.getByRole('listbox', { name: 'Search instruments: results' });
    const option = list.getByRole('option', { name: /BTC-USD/ });
    await option.waitFor();
    expect(await option.textContent()).toMatch(/BTC-USD.*Bitcoin.*COINBASE.*crypto/);
    expect(await search.getAttribute('aria-expanded')).toBe('true');
    await shot('market-01-search.png');
    await search.press('Enter');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/instruments/BTC-USD');
    await page.getByRole('heading', { name: SYMBOL, level: 1 }).waitFor();
  });

  test('a typo gets "no match — did you mean" with the close symbols', async () => {
    const search = page.getByRole('combobox', { name: 'Search instruments' });
    await search.fill('');
    await search.pressSequentially('BTC-USDX');
    await page.getByText(/No match for BTC-USDX — did you mean/).waitFor();
    const list = page.getByRole('listbox', { name: 'Search instruments: results' });
    await list.getByRole('option', { name: /BTC-USD/ }).waitFor();
    await shot('market-02-search-typo.png');
    await search.press('Escape');
    await search.fill('');
    await page.locator('main').click({ position: { x: 5, y: 5 } });
  });

  test('the instrument page draws candles from the bars and keeps the last one live', async () => {
    await page.goto('/instruments/BTC-USD?interval=1s');
    await chart().locator('canvas').first().waitFor();
    await expect
      .poll(async () => Number(await chart().getAttribute('data-bars')), { timeout: 30_000 })
      .toBeGreaterThan(0);
    // The server has as many 1 s bars as the chart drew, at least (history + live).
    const bars = await api<unknown[]>('marketData.bars', { symbol: SYMBOL, interval: '1s', limit: 600 });
    expect(Number(await chart().getAttribute('data-bars'))).toBeGreaterThan(0);
    expect(bars.length).toBeGreaterThan(0);
    const first = `${await chart().getAttribute('data-last-time')} ${await chart().getAttribute('data-last-close')}`;
    // The venue keeps trading: the newest candle changes (updated in place or a new one).
    await expect
      .poll(
        async () =>
          `${await chart().getAttribute('data-last-time')} ${await chart().getAttribute('data-last-close')}`,
        { timeout: 30_000 },
      )
      .not.toBe(first);
    await shot('market-03-instrument.png');
    // Another interval reloads from the bars.
    await page.getByRole('button', { name: '1m', exact: true }).click();
    await expect.poll(() => chart().getAttribute('data-interval')).toBe('1m');
    await expect
      .poll(async () => Number(await chart().getAttribute('data-bars')), { timeout: 30_000 })
      .toBeGreaterThan(5);
    expect(new URL(page.url()).searchParams.get('interval')).toBe('1m');
    await shot('market-04-instrument-1m.png');
  });

  test('the ladder shows the published book, and the ticket the bid and ask', async () => {
    // The market holds still so the ladder can be compared with what the server has.
    venue.pause();
    // Numbers at 8 decimals: the local venue keeps its sizes as floats (4.359999999999999).
    const round = (x: number | string) => Number(Number(x).toFixed(8));
    const numbers = (levels: readonly (readonly [string | number, string | number])[]) =>
      levels.map(([p, q]) => [round(p), round(q)]);
    const venueBook = () => {
      const b = venue.fake.bookOf(SYMBOL);
      return { bids: numbers(b.bids.slice(0, 15)), asks: numbers(b.asks.slice(0, 15)) };
    };
    // The venue's book, through the engine and the server, once the engine has caught up.
    await expect
      .poll(
        async () => {
          const b = await api<BookView>('marketData.book', { symbol: SYMBOL, levels: 15 });
          return { bids: numbers(b.bids), asks: numbers(b.asks) };
        },
        { timeout: 30_000 },
      )
      .toEqual(venueBook());
    const book = await api<BookView>('marketData.book', { symbol: SYMBOL, levels: 15 });
    expect(book.bids.length).toBe(15);
    expect(book.asks.length).toBe(15);
    // What the server has is what the ladder draws.
    await expect.poll(ladderLevels, { timeout: 30_000 }).toEqual({ bids: book.bids, asks: book.asks });
    // The best ask sits just above the spread row, the best bid just below.
    const order = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('.ladder-row, .ladder-spread')].map((e) =>
        e.classList.contains('ladder-spread') ? 'spread' : (e.dataset.price ?? ''),
      ),
    );
    expect(order[14]).toBe(book.asks[0]![0]);
    expect(order[15]).toBe('spread');
    expect(order[16]).toBe(book.bids[0]![0]);

    // The venue's top of book reaches the server's quote too (the engine's price publisher), and
    // the ticket shows that bid and ask (decimals normalized: 50000.9 = 50000.90).
    const top = [Number(book.bids[0]![0]), Number(book.asks[0]![0])];
    await expect
      .poll(
        async () => {
          const q = await api<QuoteView>('marketData.quote', { symbol: SYMBOL });
          return [Number(q.bid), Number(q.ask)];
        },
        { timeout: 30_000 },
      )
      .toEqual(top);
    const fieldOf = (name: string) => ticket().locator(`[data-field="${name}"]`).getAttribute('data-value');
    await expect
      .poll(async () => [Number(await fieldOf('bid')), Number(await fieldOf('ask'))], { timeout: 30_000 })
      .toEqual(top);
    expect(await ticket().locator('[data-field="bid"]').textContent()).toContain(
      top[0]!.toLocaleString('en-US', { minimumFractionDigits: 2 }),
    );
    await shot('market-05-ladder-ticket.png');
  });

  test('a click on the ladder puts the level into the ticket: a bid sells, an ask buys', async () => {
    const book = await api<BookView>('marketData.book', { symbol: SYMBOL, levels: 15 });
    const bid = book.bids[2]![0];
    await page.locator(`.ladder-row[data-side="bid"][data-price="${bid}"] button`).click();
    await expect.poll(() => ticket().getByLabel('Limit price').inputValue()).toBe(bid);
    expect(await ticket().getByRole('radio', { name: 'Sell' }).isChecked()).toBe(true);
    expect(await ticket().getByLabel('Symbol').inputValue()).toBe(SYMBOL);
    const ask = book.asks[1]![0];
    await page.locator(`.ladder-row[data-side="ask"][data-price="${ask}"] button`).click();
    await expect.poll(() => ticket().getByLabel('Limit price').inputValue()).toBe(ask);
    expect(await ticket().getByRole('radio', { name: 'Buy' }).isChecked()).toBe(true);
    await shot('market-06-ladder-click.png');
    venue.resume();
  });

  test('the ticket names an unknown symbol and offers the close ones', async () => {
    const symbol = ticket().getByLabel('Symbol');
    await symbol.fill('BTC-USDX');
    const note = ticket().getByText(/No instrument BTC-USDX — did you mean/);
    await note.waitFor({ timeout: 30_000 });
    await note.getByRole('button', { name: SYMBOL }).click();
    expect(await symbol.inputValue()).toBe(SYMBOL);
    await expect.poll(() => ticket().locator('[data-field="bid"]').getAttribute('data-value')).toMatch(/^\d/);
  });

  test('a signal on the instrument is drawn as a marker on its candle', async () => {
    const owner = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
    try {
      const now = new Date(Date.now() - 20_000);
      await owner.sql`
        insert into signals (id, ts, ts_event, symbol, direction, pattern, score, price, features, model_version)
        values (${randomUUID()}, ${now.toISOString()}, ${now.toISOString()}, ${SYMBOL}, 'long', 'breakout', 0.83,
                '50000', ${owner.sql.json({})}, 'fixture-1')`;
    } finally {
      await owner.close();
    }
    await page.reload();
    await expect
      .poll(async () => Number(await chart().getAttribute('data-markers')), { timeout: 30_000 })
      .toBe(1);
    await shot('market-07-signal-marker.png');
  });

  test('an order placed from the ladder is drawn on the chart with its fill', async () => {
    const before = Number(await chart().getAttribute('data-markers'));
    // Five levels up the offers: marketable while the market moves a tick or two.
    const ask = (await api<BookView>('marketData.book', { symbol: SYMBOL, levels: 15 })).asks[5]![0];
    await page.locator(`.ladder-row[data-side="ask"][data-price="${ask}"] button`).click();
    await expect.poll(() => ticket().getByLabel('Limit price').inputValue()).toBe(ask);
    await ticket().getByLabel('Quantity').fill('0.01');
    await ticket().getByRole('button', { name: 'Review order' }).click();
    const review = page.getByRole('region', { name: 'Order review' });
    await review.getByRole('button', { name: /^Confirm buy 0.01 BTC-USD$/ }).click();
    await page.getByText(/^Order (new|pending new|filled|partially filled)/).waitFor({ timeout: 30_000 });
    // The order (a circle at its limit) and its fill (an arrow) join the signal.
    await expect
      .poll(async () => Number(await chart().getAttribute('data-markers')), { timeout: 60_000 })
      .toBe(before + 2);
    await shot('market-07b-order-fill-markers.png');
  });

  test('time and sales lists the venue trades, newest first', async () => {
    const tape = page.getByRole('table', { name: /Time and sales, BTC-USD/ });
    await tape.locator('tbody tr').first().waitFor();
    const trades = await api<{ price: string }[]>('marketData.trades', { symbol: SYMBOL, limit: 5 });
    expect(trades.length).toBeGreaterThan(0);
    expect(await tape.locator('tbody tr').count()).toBeGreaterThan(0);
  });

  test('the watchlist: created on the overview, symbols added by search, live prices, a row opens the page', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Overview' })
      .click();
    const panel = page.getByRole('region', { name: 'Watchlist' });
    await panel.getByText('No watchlist yet').waitFor();
    await panel.getByLabel('Watchlist name').fill('Crypto');
    await panel.getByRole('button', { name: 'Create' }).click();
    await panel.getByText('This watchlist is empty').waitFor();
    const add = panel.getByRole('combobox', { name: 'Add a symbol to the watchlist' });
    for (const s of ['btc', 'eth']) {
      await add.pressSequentially(s);
      await panel
        .getByRole('listbox', { name: /Add a symbol/ })
        .getByRole('option')
        .first()
        .waitFor();
      await add.press('Enter');
    }
    const rows = panel.locator('tr.watchlist-row');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.evaluateAll((r) => r.map((e) => (e as HTMLElement).dataset.symbol))).toEqual([
      'BTC-USD',
      'ETH-USD',
    ]);
    // Live: the last price changes as the venue trades, and it is the server's.
    const btc = panel.locator('tr[data-symbol="BTC-USD"]');
    await expect.poll(() => btc.getAttribute('data-last'), { timeout: 30_000 }).not.toBe('');
    const seen = await btc.getAttribute('data-last');
    await expect.poll(() => btc.getAttribute('data-last'), { timeout: 30_000 }).not.toBe(seen);
    venue.pause();
    // Once the last trade has reached the server, the row shows the server's last.
    const lastOf = async () => (await api<QuoteView>('marketData.quote', { symbol: SYMBOL })).last;
    let last = await lastOf();
    await expect
      .poll(
        async () => {
          const now = await lastOf();
          const same = now === last;
          last = now;
          return same && (await btc.getAttribute('data-last')) === now;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    await shot('market-08-watchlist.png');
    venue.resume();
    await btc.getByRole('link', { name: SYMBOL }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/instruments/BTC-USD');
  });

  test('an unknown symbol shows a not-found panel with close matches', async () => {
    await page.goto('/instruments/BTC-USDX');
    const panel = page.getByRole('region', { name: 'Instrument not found' });
    await panel.getByText(/No instrument BTC-USDX is known/).waitFor();
    await panel.getByRole('link', { name: SYMBOL }).waitFor();
    await shot('market-09-not-found.png');
    await panel.getByRole('link', { name: SYMBOL }).click();
    await page.getByRole('heading', { name: SYMBOL, level: 1 }).waitFor();
  });

  test('Markets lists the watchlist and the instrument registry', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Markets' })
      .click();
    const registry = page.getByRole('table', { name: 'Instruments' });
    await expect.poll(() => registry.locator('tbody tr').count(), { timeout: 30_000 }).toBe(3);
    const eth = page.getByRole('region', { name: 'Watchlist' }).locator('tr[data-symbol="ETH-USD"]');
    await expect.poll(() => eth.getAttribute('data-last'), { timeout: 30_000 }).toMatch(/^\d/);
    await shot('market-10-markets.png');
  });

  test('the instrument page fits the window: nothing overflows sideways at 1440 and 1200 px', async () => {
    await page.goto('/instruments/BTC-USD');
    await expect
      .poll(async () => Number(await chart().getAttribute('data-bars')), { timeout: 30_000 })
      .toBeGreaterThan(0);
    // Nothing wider than its box: the main area, and the top bar (its user menu inside the window).
    const overflow = () =>
      page.evaluate(() => {
        const main = document.getElementById('main')!;
        const bar = document.querySelector<HTMLElement>('.topbar')!;
        const user = document.querySelector<HTMLElement>('.user-menu')!.getBoundingClientRect();
        return (
          Math.max(0, main.scrollWidth - main.clientWidth) +
          Math.max(0, bar.scrollWidth - bar.clientWidth) +
          Math.max(0, Math.ceil(user.right - window.innerWidth))
        );
      });
    expect(await overflow()).toBe(0);
    await page.setViewportSize({ width: 1200, height: 900 });
    await expect.poll(overflow).toBe(0);
    await page.evaluate(() => document.getElementById('main')!.scrollTo(0, 0));
    await shot('market-11-instrument-1200.png');
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  test('no page errors or CSP violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
