import type { RunningServer } from '@aegis/server/http';
import { createDb } from '@aegis/shared/db/client';
import { asTenantId } from '@aegis/shared/ids';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { venuePrices } from '../../../server/tests/integration/venue-price-fixture.ts';
import { type Platform, reportFailures, startPlatform, tradingSeed } from './platform.ts';

/**
 * The console never shows a status that events have overtaken: the ticket follows the order it
 * placed to its fill; a halt engaged while a review is open re-checks it and withdraws Confirm
 * (no denied order gets recorded by accident); a pending proposal's "checks passed" says it no
 * longer holds while the desk is halted; an approval's notice follows its order to the fill.
 */
const NEW_PASSWORD = 'tundra-signal-amber-6620';
const SYMBOL = 'AAPL';
let p: Platform;
let server: RunningServer;
let page: Page;
let deskId: string;

const quote = () =>
  venuePrices({ server, redisPrefix: 'aegis' }, [
    { venue: 'XNAS', instrument: SYMBOL, bid: '189.45', ask: '189.55', last: '189.50' },
  ]);
const ticket = () => page.getByRole('form', { name: 'Order ticket' });
const review = () => page.getByRole('region', { name: 'Order review' });
const halt = (on: boolean) => {
  const ks = server.deps.execution!.halts;
  const actor = { type: 'system' as const, id: 'live-status-test' };
  return on
    ? ks.engage({ scope: 'desk', tenantId: asTenantId(deskId), actor, reason: 'browser test' })
    : ks.release({ scope: 'desk', tenantId: asTenantId(deskId), actor });
};

const shot = (name: string) => p.shot(name);

async function fillTicket(side: 'buy' | 'sell', quantity: string, limit: string): Promise<void> {
  await ticket().getByLabel('Symbol').fill(SYMBOL);
  await ticket()
    .getByText(side === 'buy' ? 'Buy' : 'Sell', { exact: true })
    .click();
  await ticket().getByLabel('Quantity').fill(quantity);
  await ticket().getByLabel('Limit price').fill(limit);
  await ticket().getByRole('button', { name: 'Review order' }).click();
  await review().waitFor();
}

beforeAll(async () => {
  p = await startPlatform({
    newPassword: NEW_PASSWORD,
    start: {
      alerts: false,
      execution: { outboxIntervalMs: 100, equityIntervalMs: 3_600_000, reconcileIntervalMs: 3_600_000 },
    },
    seed: tradingSeed({ equity: SYMBOL, maxReferenceAgeMs: 600_000 }),
  });
  ({ page, deskId } = p);
  server = p.server.running;
  await quote();
});

reportFailures(
  'live-status',
  () => p,
  async () => {
    const owner = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
    try {
      const orders = await owner.sql`select symbol, side, status, filled_quantity, reject_reason from orders`;
      return `orders ${JSON.stringify(orders)}`;
    } finally {
      await owner.close();
    }
  },
);

afterAll(async () => {
  await p?.stop();
});

describe('statuses that follow the facts', () => {
  test('the ticket follows its order from pending new to the fill', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Orders' })
      .click();
    await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();
    await quote();
    await fillTicket('buy', '2', '189.60');
    await review().getByText('Risk checks pass').waitFor();
    await review()
      .getByRole('button', { name: /^Confirm buy 2 AAPL$/ })
      .click();
    // The paper account fills at the offer; the ticket says so without a reload.
    await ticket()
      .locator('..')
      .getByText(/^Order filled 2 @ 189\.55$/)
      .waitFor({ timeout: 30_000 });
    await shot('live-status-01-ticket-filled.png');
  });

  test('a halt engaged during the review withdraws Confirm; a reducing order still offers it', async () => {
    await quote();
    await fillTicket('buy', '1', '189.60');
    await review()
      .getByRole('button', { name: /^Confirm buy 1 AAPL$/ })
      .waitFor();
    await halt(true);
    try {
      await review().getByText('The risk governor would deny this order').waitFor({ timeout: 15_000 });
      await review()
        .getByText(/^Trading is halted: only orders that reduce a position pass/)
        .waitFor();
      expect(
        await review()
          .getByRole('button', { name: /^Confirm/ })
          .count(),
      ).toBe(0);
      await shot('live-status-02-halted-review.png');
      // Selling part of the position reduces it: the governor lets it through, Confirm is back.
      await fillTicket('sell', '1', '189.40');
      await review().getByText('Risk checks pass').waitFor();
      await review()
        .getByRole('button', { name: /^Confirm sell 1 AAPL$/ })
        .waitFor();
    } finally {
      await halt(false);
    }
    // Released: the open review is asked again.
    await fillTicket('buy', '1', '189.60');
    await review()
      .getByRole('button', { name: /^Confirm buy 1 AAPL$/ })
      .waitFor();
  });

  test('a pending proposal says its passed checks do not hold during a halt; the approval follows its order', async () => {
    const owner = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
    try {
      const rationale = {
        marketContext: 'Fixture: range-bound.',
        signalEvidence: 'Fixture: breakout 0.8.',
        riskView: 'Fixture: small size.',
        lessonsApplied: [],
      };
      const verdict = { allowed: true, rules: [], checkedAt: new Date().toISOString() };
      await owner.sql`
        insert into proposals (tenant_id, symbol, side, quantity, order_type, limit_price, time_horizon,
                               confidence, risk_score, rationale, decider, expires_at, risk_verdict)
        values (${deskId}, ${SYMBOL}, 'buy', '1', 'limit', '189.60', 'hours', 0.7, 30,
                ${owner.sql.json(rationale)}, 'rules', now() + interval '1 hour', ${owner.sql.json(verdict)})`;
    } finally {
      await owner.close();
    }
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Proposals' })
      .click();
    const card = page
      .getByRole('list', { name: 'Proposals awaiting approval' })
      .getByRole('listitem', { name: /^Proposal: buy 1 AAPL/ });
    await card.getByText('risk checks passed when proposed').waitFor({ timeout: 15_000 });
    await card.getByText('holding for hours').waitFor();
    await halt(true);
    try {
      await card.getByText('halted: passes only if it reduces a position').waitFor({ timeout: 15_000 });
      await shot('live-status-03-proposal-halted.png');
    } finally {
      await halt(false);
    }
    await card.getByText('risk checks passed when proposed').waitFor({ timeout: 15_000 });
    await quote();
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByLabel(/Your password/).fill(NEW_PASSWORD);
    await card.getByRole('button', { name: /^Approve buy 1 AAPL/ }).click();
    await page.getByText(/^Approved buy 1 AAPL\. Order filled 1 @ 189\.55\.$/).waitFor({ timeout: 30_000 });
    await shot('live-status-04-approved-filled.png');
  });
});
