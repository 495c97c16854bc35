import { randomBytes } from 'node:crypto';
import type { RunningServer } from '@aegis/server/http';
import { createDb } from '@aegis/shared/db/client';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { type FakeAlpaca, startFakeAlpaca } from '../../../server/tests/integration/support/fake-alpaca.ts';
import {
  startTestAuthServer,
  type TestAuthServer,
} from '../../../server/tests/integration/support/oauth-server.ts';
import { venuePrices } from '../../../server/tests/integration/venue-price-fixture.ts';
import { signInFirstTime } from './chromium.ts';
import { type Platform, reportAndStop, startPlatform, tradingSeed } from './platform.ts';

/**
 * In Chromium against the real server: a desk admin links an Alpaca
 * paper account from the Brokers page through a real OAuth 2.0 authorization server (a local
 * one speaking the protocol: authorization code + PKCE, token endpoint), the broker's redirect
 * comes back through the console's /oauth/callback forwarding, and the page shows the account's
 * balances as read from Alpaca (a local Alpaca Trading API that accepts only the access token the
 * authorization server issued). Then a proposal approved in the console on that account reaches
 * the Alpaca adapter, Alpaca fills it, and the fill comes back and shows on the Orders page.
 */
const NEW_PASSWORD = 'harbor-ledger-copper-5281';
const SYMBOL = 'AAPL';
const CLIENT = { id: 'aegis-alpaca', secret: 'alpaca-client-secret' };
let p: Platform;
let authServer: TestAuthServer;
/** The broker user's answer at the next sign-in (the test authorization server's consent step). */
let denyNextSignIn = false;
let alpaca: FakeAlpaca;
let server: RunningServer;
let page: Page;
let pageErrors: string[];
let admin: { email: string; password: string };
let deskId: string;

const shot = (name: string, height?: number) => p.shot(name, height);

/** Rows as the database has them (explains a failed wait). */
async function rows(): Promise<string> {
  const owner = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
  try {
    const connections = await owner.sql`
      select id, provider, environment, status, status_reason, account_ref, last_sync_at from broker_connections`;
    const transactions =
      await owner.sql`select provider, environment, consumed_at, expires_at from oauth_transactions`;
    const orders = await owner.sql`
      select symbol, side, status, broker, broker_connection_id, filled_quantity, reject_reason from orders`;
    const proposals = await owner.sql`select symbol, status from proposals`;
    return JSON.stringify({
      connections,
      transactions,
      orders,
      proposals,
      alpacaOrders: alpaca?.orderRequests,
    });
  } finally {
    await owner.close();
  }
}

beforeAll(async () => {
  p = await startPlatform({
    name: 'brokers',
    env: async (webOrigin) => {
      // The broker's side: its OAuth authorization server and its trading API, which accepts only
      // access tokens that authorization server issued (and still considers valid).
      authServer = await startTestAuthServer({
        clients: [
          {
            clientId: CLIENT.id,
            clientSecret: CLIENT.secret,
            redirectUris: [`${webOrigin}/oauth/callback/alpaca`],
            scope: 'account:write trading',
          },
        ],
      });
      alpaca = await startFakeAlpaca({
        authorize: async (a) => a.kind === 'bearer' && (await authServer.introspect(a.token)).active,
        cash: '25000',
        accountNumber: 'PA3DONEWHEN1',
      });
      alpaca.setPrice(SYMBOL, '189.50');
      return {
        // Alpaca's OAuth client and endpoints, pointed at the local broker.
        ALPACA_CLIENT_ID: CLIENT.id,
        ALPACA_CLIENT_SECRET: CLIENT.secret,
        ALPACA_OAUTH_AUTHORIZE_URL: authServer.authorizationUrl,
        ALPACA_OAUTH_TOKEN_URL: authServer.tokenUrl,
        // RFC 9207: the callback then requires the authorization server's `iss`.
        ALPACA_OAUTH_ISSUER: authServer.issuer,
        ALPACA_PAPER_API_URL: alpaca.url,
        ALPACA_PAPER_STREAM_URL: alpaca.streamUrl,
        TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      };
    },
    start: {
      execution: { outboxIntervalMs: 100, equityIntervalMs: 3_600_000, reconcileIntervalMs: 3_600_000 },
    },
    // A minute of price age: the steps between the price and the approval are few.
    seed: tradingSeed({ equity: SYMBOL, maxReferenceAgeMs: 60_000 }),
  });
  ({ page, pageErrors, admin, deskId } = p);
  server = p.server.running;
  await venuePrices({ server, redisPrefix: 'aegis' }, [
    { venue: 'XNAS', instrument: SYMBOL, bid: '189.45', ask: '189.55', last: '189.50' },
  ]);
  // The broker's sign-in and consent pages: the test authorization server's own driver plays the
  // broker user there (sign in, consent or refusal) and answers with its redirect back to the
  // console's callback, which Chromium then follows like any redirect (session cookie included).
  await p.context.route(`${authServer.issuer}/**`, async (route) => {
    const deny = denyNextSignIn;
    denyNextSignIn = false;
    const back = await authServer.authorize(route.request().url(), { deny });
    await route.fulfill({ status: 303, headers: { location: back.toString() } });
  });
});

reportAndStop('brokers', () => p, rows, [() => p?.stop(), () => alpaca?.close(), () => authServer?.close()]);

const nav = () => page.getByRole('navigation', { name: 'Console sections' });
const linkedTable = () => page.getByRole('table', { name: 'Linked broker accounts of this desk' });

describe('linking Alpaca in the console and trading through it', () => {
  test('the desk admin opens Brokers: the catalogue, Robinhood unsupported, nothing linked', async () => {
    await signInFirstTime(page, admin, NEW_PASSWORD);
    await nav().getByRole('link', { name: 'Brokers' }).click();
    await page.getByRole('heading', { name: 'Brokers', level: 1 }).waitFor();
    await page.getByText('No broker accounts linked').waitFor();
    const providers = page.getByRole('list', { name: 'Broker providers' });
    const alpacaCard = providers.getByRole('listitem', { name: 'Alpaca' });
    await alpacaCard.getByRole('button', { name: 'Link with OAuth: Alpaca' }).waitFor();
    const robinhood = providers.getByRole('listitem', { name: 'Robinhood' });
    await robinhood.getByText('unsupported', { exact: true }).waitFor();
    expect(await robinhood.getByRole('button').count()).toBe(0);
    await shot('brokers-01-catalogue.png');
  });

  test('linking asks for the password, goes through the broker sign-in and lands back linked', async () => {
    await page.getByRole('button', { name: 'Link with OAuth: Alpaca' }).click();
    const dialog = page.getByRole('dialog', { name: 'Link Alpaca (sign in at the broker)' });
    await dialog.waitFor();
    await dialog.getByLabel('Your password').fill(NEW_PASSWORD);
    await shot('brokers-02-link-dialog.png');
    await dialog.getByRole('button', { name: 'Continue to Alpaca' }).click();

    // The broker's authorization server (approves the test user), then its redirect to the
    // console's /oauth/callback/alpaca, forwarded to the server, which redirects to /brokers.
    await expect
      .poll(() => new URL(page.url()).searchParams.get('linked') ?? new URL(page.url()).search, {
        timeout: 30_000,
      })
      .toMatch(/^[0-9a-f-]{36}$/);
    expect(new URL(page.url()).pathname).toBe('/brokers');
    const linkedId = new URL(page.url()).searchParams.get('linked')!;
    // The code was exchanged once, at the broker's token endpoint, by the server.
    expect(authServer.tokenRequests.authorization_code).toBe(1);

    await page
      .getByRole('status')
      .filter({ hasText: /Linked Alpaca/ })
      .waitFor();
    const row = linkedTable().locator(`tr[data-connection="${linkedId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('class')).toContain('row-highlight');
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('paper');
    expect(text).toContain('active');
    expect(text).toContain('PA3DONEWHEN1');
    expect(text).toContain('25,000.00');
    // The balances came from Alpaca, with the token the authorization server issued.
    expect(alpaca.requests.some((r) => r.path === '/v2/account' && r.auth?.kind === 'bearer')).toBe(true);
    await shot('brokers-03-linked.png');
  });

  test('the overview shows the account with its balances', async () => {
    await nav().getByRole('link', { name: 'Overview' }).click();
    const card = page.getByRole('list', { name: 'Broker accounts' }).getByRole('listitem').first();
    await card.waitFor();
    expect(await card.textContent()).toMatch(/Alpaca.*paper.*25,000\.00/);
    await page.getByRole('heading', { name: 'Broker accounts', level: 2 }).scrollIntoViewIfNeeded();
    await shot('brokers-04-overview.png');
  });

  test('a proposal approved on the Alpaca account reaches Alpaca, fills, and the fill shows', async () => {
    const fixture = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
    try {
      const rationale = {
        marketContext: 'Fixture: steady session, bid support at 189.',
        signalEvidence: 'Fixture: breakout score 0.78 on the 1m bars.',
        riskView: 'Fixture: 3 shares, inside the desk limits.',
        lessonsApplied: [],
      };
      await fixture.sql`
        insert into proposals (tenant_id, symbol, side, quantity, order_type, limit_price, time_horizon,
                               confidence, risk_score, rationale, decider, expires_at)
        values (${deskId}, ${SYMBOL}, 'buy', '3', 'limit', '190.00', 'hours',
                0.74, 30, ${fixture.sql.json(rationale)}, 'rules', now() + interval '1 hour')`;
    } finally {
      await fixture.close();
    }
    await nav().getByRole('link', { name: 'Proposals' }).click();
    const queue = page.getByRole('list', { name: 'Proposals awaiting approval' });
    const card = queue.getByRole('listitem', { name: /^Proposal: buy 3 AAPL/ });
    await card.waitFor();
    await card.getByRole('button', { name: 'Approve' }).click();
    const account = card.getByLabel('Execute on');
    // The linked account is offered beside the paper account once brokers.list answers.
    await expect.poll(() => account.locator('option').count()).toBe(2);
    const alpacaOption = account.locator('option', { hasText: 'Alpaca' });
    await account.selectOption(await alpacaOption.getAttribute('value'));
    await card.getByLabel(/Your password/).fill(NEW_PASSWORD);
    await shot('brokers-05-approve-on-alpaca.png');
    // A fresh price, as the engine keeps publishing them.
    await venuePrices({ server, redisPrefix: 'aegis' }, [
      { venue: 'XNAS', instrument: SYMBOL, bid: '189.45', ask: '189.55', last: '189.50' },
    ]);
    await card.getByRole('button', { name: /^Approve buy 3 AAPL/ }).click();
    await page.getByText(/^Approved buy 3 AAPL\./).waitFor({ timeout: 30_000 });

    // Alpaca received it (once), with our client order id.
    await expect.poll(() => alpaca.orderRequests.length, { timeout: 30_000 }).toBe(1);
    expect(alpaca.orderRequests[0]).toMatchObject({ symbol: SYMBOL, side: 'buy', qty: '3' });

    // The fill came back through the adapter and shows on the Orders page.
    await nav().getByRole('link', { name: 'Orders' }).click();
    const orderRow = page.locator('table tbody tr', { hasText: SYMBOL }).first();
    await expect.poll(() => orderRow.textContent(), { timeout: 30_000 }).toMatch(/filled/);
    const text = (await orderRow.textContent()) ?? '';
    expect(text).toContain('alpaca');
    // Quantities print by the instrument's lot size (AAPL: whole shares).
    expect(await orderRow.locator('[data-col="qty"]').textContent()).toBe('3');
    expect(text).toMatch(/189\.5/);
    await shot('brokers-06-order-filled.png');
  });

  test('Sync reads the balances again: the cash spent on the fill shows', async () => {
    await nav().getByRole('link', { name: 'Brokers' }).click();
    const row = linkedTable().locator('tbody tr').first();
    await row.waitFor();
    await row.getByRole('button', { name: /^Sync/ }).click();
    await page.getByText(/^Synced Alpaca/).waitFor();
    // 25,000 − 3 × 189.50 = 24,431.50
    await expect.poll(() => row.textContent()).toContain('24,431.50');
    await shot('brokers-07-synced.png');
  });

  test('the order ticket routes an order to the Alpaca account, named in the review', async () => {
    await nav().getByRole('link', { name: 'Orders' }).click();
    const ticket = page.getByRole('form', { name: 'Order ticket' });
    const account = ticket.getByLabel('Account');
    await expect.poll(() => account.locator('option').count()).toBe(2);
    const alpacaValue = await account.locator('option', { hasText: 'Alpaca' }).getAttribute('value');
    await account.selectOption(alpacaValue!);
    // The side toggle's radios are styled away: the trader clicks the label.
    await ticket.locator('label', { hasText: 'Sell' }).click();
    await ticket.getByLabel('Symbol').fill(SYMBOL);
    await ticket.getByLabel('Quantity').fill('1');
    await ticket.getByLabel('Limit price').fill('189');
    await venuePrices({ server, redisPrefix: 'aegis' }, [
      { venue: 'XNAS', instrument: SYMBOL, bid: '189.45', ask: '189.55', last: '189.50' },
    ]);
    await ticket.getByRole('button', { name: 'Review order' }).click();
    const review = page.getByRole('region', { name: 'Order review' });
    await review.waitFor();
    expect(await review.textContent()).toMatch(/to Alpaca \(paper\)/);
    await shot('brokers-07b-ticket-review.png');
    await review.getByRole('button', { name: /^Confirm sell 1 AAPL$/ }).click();
    await expect.poll(() => alpaca.orderRequests.length, { timeout: 30_000 }).toBe(2);
    expect(alpaca.orderRequests[1]).toMatchObject({ symbol: SYMBOL, side: 'sell', qty: '1' });
    const sellRow = page.locator('table tbody tr', { hasText: 'sell' }).first();
    await expect.poll(() => sellRow.textContent(), { timeout: 30_000 }).toMatch(/AAPL.*filled.*alpaca/);
  });

  test('a broker connection that needs relinking is flagged, relinked through the broker, active again', async () => {
    // The broker refused our refresh token (as the credential source records it).
    const owner = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
    let connectionId: string;
    try {
      const [row] = await owner.sql<{ id: string }[]>`
        update broker_connections set status = 'needs_relink',
               status_reason = 'Alpaca refused the refresh token (invalid_grant)'
        returning id`;
      connectionId = row!.id;
    } finally {
      await owner.close();
    }
    await page.goto('/brokers');
    const row = linkedTable().locator(`tr[data-connection="${connectionId}"]`);
    await expect.poll(() => row.textContent()).toMatch(/needs relink.*refused the refresh token/);
    await shot('brokers-08-needs-relink.png');
    await row.getByRole('button', { name: 'Relink Alpaca' }).click();
    const dialog = page.getByRole('dialog', { name: 'Relink Alpaca' });
    await dialog.getByLabel('Your password').fill(NEW_PASSWORD);
    await dialog.getByRole('button', { name: 'Continue to Alpaca' }).click();
    await expect
      .poll(() => new URL(page.url()).searchParams.get('linked'), { timeout: 30_000 })
      .toBe(connectionId);
    // The same connection (its orders stay with it), active again, with a new token.
    await expect.poll(() => row.textContent()).toMatch(/active/);
    expect(await linkedTable().locator('tbody tr').count()).toBe(1);
    expect(authServer.tokenRequests.authorization_code).toBe(2);
  });

  test('the broker user refusing access lands back with the refusal explained, nothing linked', async () => {
    denyNextSignIn = true;
    await page.getByRole('button', { name: 'Link with OAuth: Alpaca' }).click();
    const dialog = page.getByRole('dialog', { name: 'Link Alpaca (sign in at the broker)' });
    await dialog.getByLabel('Your password').fill(NEW_PASSWORD);
    await dialog.getByRole('button', { name: 'Continue to Alpaca' }).click();
    await expect
      .poll(() => new URL(page.url()).searchParams.get('link_error'), { timeout: 30_000 })
      .toBe('access_denied');
    const alert = page.getByRole('alert').filter({ hasText: 'The broker account was not linked.' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/cancelled or access was refused/);
    // Still the one connection (the list loads after the page does).
    await expect.poll(() => linkedTable().locator('tbody tr').count()).toBe(1);
    await shot('brokers-09-link-refused.png');
    await alert.getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('');
  });

  test('unlinking asks for confirmation with the password; the account is marked revoked', async () => {
    const row = linkedTable().locator('tbody tr').first();
    await row.getByRole('button', { name: 'Unlink Alpaca' }).click();
    const dialog = page.getByRole('dialog', { name: 'Unlink Alpaca' });
    await dialog.getByText(/New orders can no longer be routed to this account/).waitFor();
    await shot('brokers-10-unlink-confirm.png');
    await dialog.getByLabel('Your password').fill(NEW_PASSWORD);
    await dialog.getByRole('button', { name: 'Unlink account' }).click();
    await page.getByText(/^Unlinked Alpaca\./).waitFor();
    await expect.poll(() => row.textContent()).toMatch(/revoked/);
    expect(await row.getByRole('button').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
