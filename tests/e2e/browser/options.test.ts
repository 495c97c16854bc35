/**
 * The options console in Chromium against the real server: a synthetic underlying quoted on the
 * venue price source gets its chain listed on first look-up; the page shows the chain with IVs,
 * Greeks and the liquidity heat scale (compared with marketData.chain), the risk slider with
 * every preset's targets (options.presets), a recommendation whose layers arrive in order and
 * match what options.recommend streams to a tRPC client, a vertical built and placed as a combo
 * (the status shown is the orders' own), and the desk's net delta after the fill equal to
 * greeks.current.
 *
 * One file over 400 lines: the steps are one session on one desk (the combo placed in one step is
 * the position whose delta the next reads), so splitting it would repeat the walk to each step.
 */
import { createDb } from '@aegis/shared/db/client';
import type { ComboView, StrategyPositionView } from '@aegis/shared/schemas/combo';
import type { DeskGreeksView } from '@aegis/shared/schemas/greeks';
import type { ChainView } from '@aegis/shared/schemas/option-chain';
import type {
  PresetTargetsView,
  RecommendationEvent,
  RecommendInput,
} from '@aegis/shared/schemas/option-recommendation';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AegisClient, createAegisClient } from '../../../scripts/lib/client.ts';
import {
  insertSyntheticUnderlying,
  type QuotingUnderlying,
  quoteUnderlying,
  UNDERLYING,
  UNDERLYING_QUOTE,
} from './options-fixtures.ts';
import { type Platform, reportFailures, startPlatform } from './platform.ts';

const NEW_PASSWORD = 'strike-vega-harbor-5821';
const CAPITAL = '25000';
const LAYERS = ['context', 'filters', 'scoring', 'sizing', 'risk'];
let p: Platform;
let page: Page;
let pageErrors: string[];
let quoting: QuotingUnderlying;
let client: AegisClient;
let deskId: string;
let recommended: Extract<RecommendationEvent, { type: 'result' }>['recommendation'] = null;

const shot = (name: string) => p.shot(name);

/** Scrolls the console's main area so the region's heading is at the top, then screenshots. */
async function shotOf(region: string, name: string): Promise<string> {
  await page.evaluate((id) => {
    const el = document.getElementById(id);
    const main = document.getElementById('main')!;
    if (el)
      main.scrollTo(
        0,
        el.getBoundingClientRect().top - main.getBoundingClientRect().top + main.scrollTop - 60,
      );
  }, region);
  return shot(name);
}

const api = <T>(procedure: string, input: unknown) => p.api<T>(procedure, input);

/** Every event options.recommend streams for `input`, through a tRPC client (SSE). */
function recommendThroughClient(input: RecommendInput): Promise<RecommendationEvent[]> {
  return new Promise((resolve, reject) => {
    const events: RecommendationEvent[] = [];
    const sub = client.options.recommend.subscribe(input, {
      onData: (e) => {
        events.push(e as RecommendationEvent);
        if (e.type === 'result') {
          sub.unsubscribe();
          resolve(events);
        }
      },
      onError: (e) => {
        sub.unsubscribe();
        reject(e);
      },
    });
  });
}

/** Two amounts priced a moment apart: equal, or within a part in 10⁴ when both are numbers. */
function expectSameAmount(shown: string, server: string): void {
  const a = Number(shown);
  const b = Number(server);
  if (!/^-?\d+(\.\d+)?$/.test(server) || !Number.isFinite(a)) expect(shown).toBe(server);
  else expect(Math.abs(a - b)).toBeLessThanOrEqual(Math.abs(b) * 1e-4);
}

/** The desk's own spread limit for every symbol (bps), as a desk admin sets it; null removes it. */
async function setDeskSpreadLimit(bps: number | null): Promise<void> {
  const owner = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
  try {
    await owner.sql`delete from risk_limits where tenant_id = ${deskId} and symbol = '*'`;
    if (bps !== null)
      await owner.sql`insert into risk_limits (tenant_id, symbol, max_spread_bps) values (${deskId}, '*', ${bps})`;
  } finally {
    await owner.close();
  }
}

const num = (text: string | null) => Number((text ?? '').replaceAll(',', '').replace('−', '-'));

beforeAll(async () => {
  p = await startPlatform({ name: 'options', newPassword: NEW_PASSWORD, seed: insertSyntheticUnderlying });
  ({ page, pageErrors, deskId } = p);
  quoting = await quoteUnderlying(p.bus);
  // The test's own tRPC client: the same session, through the console's proxy.
  const cookie = (await p.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  client = createAegisClient({ url: p.web.url, headers: { cookie, origin: p.web.url } });
});

reportFailures('options', () => p);

afterAll(async () => {
  quoting?.stop();
  await p?.stop();
});

const chainTable = () => page.locator('table.chain-table');

describe('the options console', () => {
  test('looking up SYN0001 shows its chain with IVs, Greeks and the liquidity heat scale', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Options' })
      .click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/options');
    const search = page.getByRole('combobox', { name: 'Option underlying' });
    await search.pressSequentially('syn0001');
    await page
      .getByRole('listbox', { name: 'Option underlying: results' })
      .getByRole('option', { name: /SYN0001/ })
      .waitFor();
    await search.press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('symbol')).toBe(UNDERLYING);

    // The chain of the expiry shown, with the filters of the preset on the slider.
    await expect.poll(() => chainTable().locator('tbody tr').count(), { timeout: 60_000 }).toBeGreaterThan(4);
    await expect.poll(() => chainTable().getAttribute('data-expiry')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const expiry = (await chainTable().getAttribute('data-expiry'))!;
    const presets = await api<PresetTargetsView[]>('options.presets', {});
    const preset = await page.locator('#risk-slider').getAttribute('aria-valuetext');
    const filters = presets.find((p) => p.preset === preset)!.filters;
    const chain = await api<ChainView>('marketData.chain', { symbol: UNDERLYING, expiry, filters });
    expect(chain.contracts.length).toBeGreaterThan(4);
    // The underlying's price is the venue's (its mid or last, whichever the chain prices from).
    expect([UNDERLYING_QUOTE.last, '100']).toContain(String(Number(chain.underlyingPrice)));

    // Every contract of the expiry is in the table; IV, delta and liquidity are the server's.
    const drawn = await page.evaluate(() =>
      [
        ...document.querySelectorAll<HTMLElement>('table.chain-table td[data-col="liquidity"][data-symbol]'),
      ].map((td) => {
        const row = td.closest('tr')!;
        const cell = (col: string) =>
          row.querySelector<HTMLElement>(`td[data-col="${col}"][data-side="${td.dataset.side}"]`)
            ?.textContent ?? '';
        return {
          symbol: td.dataset.symbol!,
          liquidity: Number(td.dataset.liquidity),
          background: getComputedStyle(td).backgroundColor,
          excluded: td.dataset.excluded ?? '',
          title: td.title,
          iv: cell('iv'),
          delta: cell('delta'),
          gamma: cell('gamma'),
          vega: cell('vega'),
        };
      }),
    );
    const bySymbol = new Map(chain.contracts.map((c) => [c.symbol, c]));
    expect(drawn.map((d) => d.symbol).sort()).toEqual([...bySymbol.keys()].sort());
    let withIv = 0;
    for (const d of drawn) {
      const c = bySymbol.get(d.symbol)!;
      expect(Math.abs(d.liquidity - c.liquidity)).toBeLessThan(0.5);
      if (c.iv !== null) {
        withIv++;
        expect(Math.abs(num(d.iv) - c.iv * 100)).toBeLessThan(0.15);
        expect(Math.abs(num(d.delta) - c.greeks!.delta)).toBeLessThan(0.005);
        expect(d.gamma).not.toBe('—');
        expect(d.vega).not.toBe('—');
      }
      // Excluded contracts are marked with the filters that removed them, and say why.
      expect(d.excluded).toBe(c.excludedBy.join(' '));
      if (c.excludedBy.length > 0) expect(d.title).toMatch(/^Excluded: /);
    }
    expect(withIv).toBeGreaterThan(4);
    // The heat scale: brighter background for a higher score (alpha of the accent colour).
    const alpha = (bg: string) =>
      Number(/\/ ([\d.]+)\)|rgba\([^)]*,\s*([\d.]+)\)/.exec(bg)?.slice(1).find(Boolean) ?? 1);
    const heat = drawn.map((d) => ({ l: d.liquidity, a: alpha(d.background) })).sort((x, y) => x.l - y.l);
    for (let i = 1; i < heat.length; i++) expect(heat[i]!.a).toBeGreaterThanOrEqual(heat[i - 1]!.a - 1e-3);
    expect(heat.at(-1)!.a).toBeGreaterThan(heat[0]!.a);

    // The at-the-money row is the strike nearest the underlying; the header shows the analytics.
    const spot = Number(chain.underlyingPrice);
    const strikes = [...new Set(chain.contracts.map((c) => c.strike))];
    const nearest = strikes.reduce((a, b) =>
      Math.abs(Number(b) - spot) < Math.abs(Number(a) - spot) ? b : a,
    );
    expect(await chainTable().locator('tr.chain-atm').getAttribute('data-strike')).toBe(nearest);
    expect(Number(await page.locator('[data-field="underlying-price"]').getAttribute('data-value'))).toBe(
      spot,
    );
    if (chain.atmIv !== null) {
      const shown = Number(await page.locator('[data-field="atm-iv"]').getAttribute('data-value'));
      expect(Math.abs(shown - chain.atmIv)).toBeLessThan(0.001);
    }
    // The page centres the at-the-money strike in the chain's own scroll box.
    await expect
      .poll(() =>
        page.evaluate(() => {
          const box = document.querySelector<HTMLElement>('.chain-scroll')!.getBoundingClientRect();
          const row = document.querySelector<HTMLElement>('tr.chain-atm')!.getBoundingClientRect();
          return row.top > box.top + 40 && row.bottom < box.bottom;
        }),
      )
      .toBe(true);
    await shot('options-01-chain.png');
  });

  test('the risk slider shows each preset’s targets and stops on balanced', async () => {
    const presets = await api<PresetTargetsView[]>('options.presets', {});
    expect(presets.map((p) => p.preset)).toEqual(['conservative', 'balanced', 'aggressive']);
    for (const p of presets) {
      const cell = (t: string) =>
        page.locator(`td[data-preset="${p.preset}"][data-target="${t}"]`).textContent();
      expect(await cell('delta')).toBe(p.targetDelta.toFixed(2));
      expect(await cell('dte')).toBe(`${p.minDte}–${p.maxDte}`);
      expect(num((await cell('max-loss'))!.replace('%', ''))).toBeCloseTo(p.maxLossShare * 100, 1);
    }
    const slider = page.locator('#risk-slider');
    await slider.focus();
    await page.keyboard.press('Home');
    await expect.poll(() => slider.getAttribute('aria-valuetext')).toBe('conservative');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => slider.getAttribute('aria-valuetext')).toBe('balanced');
    expect(await page.locator('td.preset-active[data-target="delta"]').getAttribute('data-preset')).toBe(
      'balanced',
    );
    // The chain follows the preset's filters.
    await page.getByLabel('Capital (USD)').fill(CAPITAL);
    await page.getByLabel('Strategy', { exact: true }).selectOption('vertical');
    await page.getByRole('radio', { name: 'bullish' }).check();
  });

  test('two clicks in the chain build a vertical: the long leg, then the short one', async () => {
    const atm = chainTable().locator('tr.chain-atm');
    const strike = (await atm.getAttribute('data-strike'))!;
    const next = chainTable().locator('tr.chain-atm + tr');
    const nextStrike = (await next.getAttribute('data-strike'))!;
    const midOf = async (row: typeof atm) =>
      num(await row.locator('td[data-col="mid"][data-side="call"]').textContent());
    const longMid = await midOf(atm);
    const shortMid = await midOf(next);
    await atm.locator('td[data-col="ask"][data-side="call"]').click();
    await next.locator('td[data-col="bid"][data-side="call"]').click();
    const builder = page.getByRole('form', { name: 'Vertical spread' });
    await expect.poll(() => builder.getByLabel('Short strike (sell)').inputValue()).toBe(nextStrike);
    expect(await builder.getByLabel('Long strike (buy)').inputValue()).toBe(strike);
    expect(await builder.getByLabel('Right', { exact: true }).inputValue()).toBe('call');
    // The limit starts at the mids' difference (the table shows mids to 4 decimals).
    const limit = Number(await builder.getByLabel('Net limit (+ debit / − credit)').inputValue());
    expect(Math.abs(limit - (longMid - shortMid))).toBeLessThan(0.0005);
    // A bull call spread: a debit, the loss bounded by it, the gain by the strikes' width less it.
    const figure = async (f: string) =>
      Number(await builder.locator(`[data-field="${f}"]`).getAttribute('data-value'));
    const width = (Number(nextStrike) - Number(strike)) * 100;
    expect(await figure('max-loss')).toBeCloseTo(limit * 100, 6);
    expect(await figure('max-gain')).toBeCloseTo(width - limit * 100, 6);
    expect(await figure('breakeven')).toBeCloseTo(Number(strike) + limit, 6);
  });

  test('a recommendation shows its layers in order, the same the server streams, then the result', async () => {
    // Record the order in which layers enter the page.
    await page.evaluate(() => {
      const w = window as unknown as { __layers: string[] };
      w.__layers = [];
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes)
            if (n instanceof HTMLElement && n.matches('.rec-layer')) w.__layers.push(n.dataset.kind ?? '');
      }).observe(document.body, { childList: true, subtree: true });
    });
    await page.getByRole('button', { name: `Recommend for ${UNDERLYING}` }).click();
    const panel = page.getByRole('region', { name: 'Recommendation', exact: true });
    await panel.locator('.rec-result, .rec-none').first().waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { __layers: string[] }).__layers)).toEqual(LAYERS);
    expect(await panel.locator('.rec-step.done').count()).toBe(5);

    // The same request through a tRPC client (not saved): the same layers and result.
    const events = await recommendThroughClient({
      symbol: UNDERLYING,
      view: 'bullish',
      preset: 'balanced',
      capital: CAPITAL,
      strategy: 'vertical',
      save: false,
    });
    const layers = events.flatMap((e) => (e.type === 'layer' ? [e.layer] : []));
    expect(layers.map((l) => l.kind)).toEqual(LAYERS);
    const shownRows = async (kind: string) =>
      panel.locator(`.rec-layer[data-kind="${kind}"] .rec-row-item`).evaluateAll((items) =>
        items.map((i) => ({
          label: (i as HTMLElement).dataset.label,
          value: i.querySelector<HTMLElement>('dd[data-value]')?.dataset.value,
        })),
      );
    const filters = layers.find((l) => l.kind === 'filters')!;
    expect(filters.rows.length).toBeGreaterThan(0);
    expect(await shownRows('filters')).toEqual(filters.rows.map((r) => ({ label: r.label, value: r.value })));
    // Sizing prices the legs at their mids, which decay with time between the two requests (a
    // second or two): the same rows, the same quantity, prices equal to a part in 10⁴.
    const sizing = layers.find((l) => l.kind === 'sizing')!;
    const sized = await shownRows('sizing');
    expect(sized.map((r) => r.label)).toEqual(sizing.rows.map((r) => r.label));
    for (const [i, r] of sizing.rows.entries()) expectSameAmount(sized[i]!.value!, r.value);
    // Every rule of the governor's verdict is listed in the risk layer.
    const risk = layers.find((l) => l.kind === 'risk')!;
    expect(await panel.locator('.rec-layer[data-kind="risk"] .verdicts li').count()).toBe(
      risk.verdicts?.length ?? 0,
    );

    const result = events.at(-1) as Extract<RecommendationEvent, { type: 'result' }>;
    expect(result.type).toBe('result');
    recommended = result.recommendation;
    if (result.recommendation) {
      const rec = result.recommendation;
      // The governor's verdict on the recommendation, as the server gave it.
      expect(await panel.locator('.rec-result').getAttribute('data-allowed')).toBe(String(rec.allowed));
      expect(await panel.locator('.rec-result [data-field="quantity"]').textContent()).toBe(
        Number(rec.quantity).toLocaleString('en-US'),
      );
      const figure = (f: string) =>
        panel.locator(`.rec-result [data-field="${f}"]`).getAttribute('data-value');
      expectSameAmount((await figure('net-price'))!, rec.netPrice);
      expectSameAmount((await figure('max-loss'))!, rec.maxLoss);
      expect(
        await panel
          .locator('.rec-result .rec-legs tbody tr')
          .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.symbol)),
      ).toEqual(rec.legs.map((l) => l.symbol));
    } else {
      await panel.getByText(`No recommendation: ${result.reason}`).waitFor();
    }
    // The capital was saved to the profile with the request.
    expect(Number((await api<{ capital: string | null }>('options.preferences', {})).capital)).toBe(
      Number(CAPITAL),
    );
    // Two views of the panel: the first layers, then the result (the panel follows the stream
    // with a smooth scroll; it is set instantly here so the pictures are not mid-scroll).
    const scrollRec = (to: 'top' | 'result') =>
      page.evaluate((where) => {
        const body = document
          .querySelector<HTMLElement>('#options-recommendation-title')!
          .closest('.panel')!
          .querySelector<HTMLElement>('.panel-body')!;
        const result = body.querySelector<HTMLElement>('.rec-result, .rec-none');
        const top = where === 'top' || !result ? 0 : result.offsetTop - body.offsetTop - 8;
        body.scrollTo({ top, behavior: 'instant' });
      }, to);
    await page.waitForTimeout(600);
    await scrollRec('top');
    await shotOf('options-request-title', 'options-02-recommendation-layers.png');
    await scrollRec('result');
    await shot('options-02b-recommendation-result.png');
  });

  test('the recommended vertical in the builder: denied under a tight desk spread limit, then placed and filled', async () => {
    expect(recommended?.strategy).toBe('vertical');
    const rec = recommended!;
    const long = rec.legs.find((l) => l.side === 'buy')!;
    const short = rec.legs.find((l) => l.side === 'sell')!;
    // What the page recommended (its own request, priced a moment before the client's).
    const shownRec = async (f: string) =>
      (await page.locator(`.rec-result [data-field="${f}"]`).getAttribute('data-value')) ?? '';
    const netPrice = await shownRec('net-price');
    const maxLoss = await shownRec('max-loss');
    const maxGain = await shownRec('max-gain');
    const breakeven = (await shownRec('breakevens')).split(' ')[0]!;
    await page.getByRole('button', { name: 'Load into strategy builder' }).click();
    const builder = page.getByRole('form', { name: 'Vertical spread' });
    await expect.poll(() => builder.getByLabel('Long strike (buy)').inputValue()).toBe(long.strike);
    expect(await builder.getByLabel('Short strike (sell)').inputValue()).toBe(short.strike);
    expect(await builder.getByLabel('Expiry', { exact: true }).inputValue()).toBe(long.expiry);
    expect(await builder.getByLabel('Quantity (spreads)').inputValue()).toBe(rec.quantity);
    expect(await builder.getByLabel('Net limit (+ debit / − credit)').inputValue()).toBe(netPrice);
    // The builder's own exact arithmetic agrees with the recommender's.
    const figure = (f: string) => builder.locator(`[data-field="${f}"]`).getAttribute('data-value');
    expect(Number(await figure('max-loss'))).toBe(Number(maxLoss));
    if (maxGain !== '') expect(Number(await figure('max-gain'))).toBe(Number(maxGain));
    expect(Number(await figure('breakeven'))).toBeCloseTo(Number(breakeven), 6);
    await shotOf('options-builder-title', 'options-03-builder.png');

    // At the natural price (pay the long ask, take the short bid) both legs are marketable.
    await builder.getByRole('button', { name: 'Natural' }).click();
    const chain = await api<ChainView>('marketData.chain', { symbol: UNDERLYING, expiry: long.expiry! });
    const ask = chain.contracts.find((c) => c.symbol === long.symbol)!.ask!;
    const bid = chain.contracts.find((c) => c.symbol === short.symbol)!.bid!;
    // The builder read its quotes a moment before this chain: the venue keeps quoting, and each
    // re-derived option quote moves by time decay (~1e-6 a second on a loaded machine).
    expect(Number(await builder.getByLabel('Net limit (+ debit / − credit)').inputValue())).toBeCloseTo(
      Number(ask) - Number(bid),
      3,
    );
    const place = builder.getByRole('button', { name: /^Place / });
    const status = page.getByRole('region', { name: 'Combo order' });

    // The desk tightens its spread limit to 1 % (as a desk admin would): the legs, quoted wider,
    // must be refused. The governor's dry run first, then the order itself.
    await setDeskSpreadLimit(100);
    await builder.getByRole('button', { name: 'Check', exact: true }).click();
    const check = page.getByRole('region', { name: 'Governor check' });
    await check.getByText('The risk governor would deny this combo').waitFor({ timeout: 30_000 });
    expect(await check.locator('li[data-rule="spread"][data-status="failed"]').count()).toBeGreaterThan(0);

    // Placed anyway, it is denied, and the page lists why: the combo's own state on the server.
    await place.click();
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 30_000 }).toBe('denied');
    expect(await status.locator('li[data-rule="spread"][data-status="failed"]').count()).toBeGreaterThan(0);
    const denied = await api<ComboView>('orders.combo', {
      id: (await status.getAttribute('data-combo-id'))!,
    });
    expect(denied.status).toBe('denied');
    expect(denied.denial?.filter((v) => v.status === 'failed').map((v) => v.rule)).toContain('spread');
    await shotOf('options-builder-title', 'options-04-denied.png');

    // The desk removes its own limit again (the platform's option default applies) and places again.
    await setDeskSpreadLimit(null);
    await place.click();
    await expect
      .poll(() => status.getAttribute('data-status'), { timeout: 60_000 })
      .toMatch(/^(filled|rejected|cancelled|expired)$/);
    expect(await status.getAttribute('data-status')).toBe('filled');
    const filled = await api<ComboView>('orders.combo', {
      id: (await status.getAttribute('data-combo-id'))!,
    });
    expect(filled.id).not.toBe(denied.id);
    expect(filled.status).toBe('filled');
    expect(Number(filled.filledQuantity)).toBe(Number(rec.quantity));
    // What the page shows is the combo's and its orders' own state.
    const legs = await status.locator('li[data-order-id]').evaluateAll((l) =>
      l.map((e) => ({
        id: (e as HTMLElement).dataset.orderId!,
        symbol: (e as HTMLElement).dataset.symbol,
        status: (e as HTMLElement).dataset.status,
      })),
    );
    expect(legs).toEqual(filled.legs.map((l) => ({ id: l.id, symbol: l.symbol, status: l.status })));
    expect(legs.map((l) => l.symbol)).toEqual([long.symbol, short.symbol]);
    for (const leg of legs) {
      const { order } = await api<{ order: { status: string } }>('orders.get', { id: leg.id });
      expect(order.status).toBe(leg.status);
    }
    expect(Number(await status.locator('[data-field="avg-net-price"]').getAttribute('data-value'))).toBe(
      Number(filled.avgNetPrice),
    );
    await shotOf('options-builder-title', 'options-05-filled.png');
  });

  test('after the fill the desk Greeks show the net delta greeks.current reports, against the limits', async () => {
    const panel = page.getByRole('region', { name: 'Desk Greeks' });
    await expect
      .poll(() => panel.locator('table[aria-label="Greeks per position"] tbody tr').count(), {
        timeout: 30_000,
      })
      .toBe(2);
    const current = await api<DeskGreeksView>('greeks.current', {});
    expect(current.positions.map((p) => p.symbol).sort()).toEqual(
      [recommended!.legs[0]!.symbol, recommended!.legs[1]!.symbol].sort(),
    );
    expect(current.totals.delta).toBeGreaterThan(0);
    // The stream and the query price the same positions at (nearly) the same instant: a few
    // seconds of time decay apart at most.
    const shown = async () => Number(await panel.locator('[data-field="delta"]').getAttribute('data-value'));
    await expect
      .poll(async () => Math.abs((await shown()) - current.totals.delta) / Math.abs(current.totals.delta), {
        timeout: 30_000,
      })
      .toBeLessThan(1e-3);
    const usage = Number(await panel.locator('[data-field="net-delta"]').getAttribute('data-usage'));
    expect(usage).toBeCloseTo(Math.abs(current.totals.dollarDelta) / Number(current.limits.maxNetDelta), 3);
    expect(await panel.locator('[data-field="open-legs"]').getAttribute('data-usage')).toBe(
      (current.limits.openLegs / current.limits.maxOpenLegs!).toFixed(4),
    );
    // The hedger's state on this desk, as hedging.settings has it.
    const hedging = await api<{ enabled: boolean; mode: string }>('hedging.settings', {});
    await expect
      .poll(() => panel.locator('.hedger-status').getAttribute('data-enabled'), { timeout: 20_000 })
      .toBe(String(hedging.enabled));
    expect(await panel.locator('.hedger-status').textContent()).toContain(hedging.mode);
    // The open strategy, per combo and leg, as positions.strategies has it.
    const strategies = await api<StrategyPositionView[]>('positions.strategies', {});
    expect(strategies.length).toBe(1);
    const open = page.getByRole('table', { name: 'Open strategies' });
    const group = open.locator(`tbody[data-combo-id="${strategies[0]!.comboId}"]`);
    await expect
      .poll(
        () =>
          group
            .locator('tr.strategy-leg')
            .evaluateAll((r) => r.map((e) => (e as HTMLElement).dataset.symbol)),
        {
          timeout: 15_000,
        },
      )
      .toEqual(strategies[0]!.legs.map((l) => l.symbol));
    await shotOf('options-greeks-title', 'options-06-greeks.png');
  });

  test('the page fits the window: nothing overflows sideways (page or panel) at 1440 and 1200 px', async () => {
    // How far the main area scrolls sideways, and (to fix it) what sticks out past its edge.
    const overflow = async () => {
      const { px, culprits } = await page.evaluate(() => {
        const main = document.getElementById('main')!;
        const edge = main.getBoundingClientRect().right;
        const out = [...main.querySelectorAll<HTMLElement>('*')]
          .filter((e) => e.getBoundingClientRect().right > edge + 0.5 && !e.closest('.scroll'))
          .slice(0, 5)
          .map(
            (e) =>
              `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right - edge)}px`,
          );
        // A panel whose content runs past its own edge (a table under its neighbour) counts too.
        const panels = [...main.querySelectorAll<HTMLElement>('.panel')].filter(
          (p) => p.scrollWidth > p.clientWidth + 1,
        );
        for (const p of panels)
          out.push(`panel ${p.getAttribute('aria-labelledby')} ${p.scrollWidth - p.clientWidth}px`);
        return {
          px:
            Math.max(0, main.scrollWidth - main.clientWidth) +
            panels.reduce((n, p) => n + p.scrollWidth - p.clientWidth, 0),
          culprits: out,
        };
      });
      if (px > 0) process.stderr.write(`[options] sideways overflow ${px}px: ${culprits.join('; ')}\n`);
      return px;
    };
    expect(await overflow()).toBe(0);
    // The console frame stays put: the page scrolls inside its main area, never the document.
    const documentScroll = () =>
      page.evaluate(() => {
        const d = document.scrollingElement!;
        return Math.max(0, d.scrollHeight - d.clientHeight) + d.scrollTop;
      });
    expect(await documentScroll()).toBe(0);
    await page.setViewportSize({ width: 1200, height: 900 });
    await expect.poll(overflow).toBe(0);
    expect(await documentScroll()).toBe(0);
    // Both sides of the chain fit at 1200 px (mid and volume give way).
    expect(
      await page.evaluate(() => {
        const box = document.querySelector<HTMLElement>('.chain-scroll')!;
        return box.scrollWidth - box.clientWidth;
      }),
    ).toBeLessThanOrEqual(0);
    await page.evaluate(() => document.getElementById('main')!.scrollTo(0, 0));
    await shot('options-07-1200-top.png');
    await shotOf('options-request-title', 'options-08-1200-lower.png');
    await shotOf('options-greeks-title', 'options-09-1200-greeks.png');
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  test('no page errors or CSP violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
