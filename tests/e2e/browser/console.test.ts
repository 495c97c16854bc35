import path from 'node:path';
import type { Page } from 'playwright-core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningAegisServer } from './aegis-server.ts';
import { type Platform, SHOTS, startPlatform } from './platform.ts';
import type { RunningWeb } from './web-process.ts';

/**
 * The console end to end: the built SolidStart app (as production runs it) in front of the real
 * Aegis server on a fresh migrated database, driven in Debian's Chromium. Screenshots go to
 * AEGIS_SCREENSHOT_DIR (default /tmp/aegis-shots) for a human to judge the design.
 */
const NEW_PASSWORD = 'calm-desk-ledger-7391';

let p: Platform;
let server: RunningAegisServer;
let web: RunningWeb;
let page: Page;
let admin: { email: string; password: string };
let pageErrors: string[];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

beforeAll(async () => {
  p = await startPlatform({ name: 'console' });
  ({ server, web, page, admin, pageErrors } = p);
});

afterAll(async () => {
  await p?.stop();
});

describe('console in Chromium against the real server', () => {
  test('the built web server answers with the console shell and forwards /trpc to the server', async () => {
    const login = await fetch(`${web.url}/login`);
    expect(login.headers.get('content-security-policy')).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
    expect(login.headers.get('x-frame-options')).toBe('DENY');
    const html = await login.text();
    expect(html).toContain('Sign in');
    expect(html).toContain('AEGIS');
    // Unauthenticated tRPC call through the proxy: the server's own UNAUTHORIZED, not a proxy error.
    const res = await fetch(`${web.url}/trpc/auth.me`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { data: { code: string } } };
    expect(body.error.data.code).toBe('UNAUTHORIZED');
  });

  test('an anonymous visitor is sent to the sign-in page', async () => {
    await page.goto('/');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('Email').waitFor();
    await shot('01-login');
  });

  test("a wrong password shows the server's error and stays on the sign-in page", async () => {
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill('not-the-password-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect((await alert.textContent())?.trim().length).toBeGreaterThan(0);
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot('02-login-error');
  });

  test('the first sign-in with the one-time password requires a new password', async () => {
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/change-password');
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.getByLabel('One-time password').fill(admin.password);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat new password').fill(NEW_PASSWORD);
    await shot('03-change-password');
    await page.getByRole('button', { name: 'Save password' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/');
  });

  test('the overview shows the shell for the admin and their desk', async () => {
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const deskSwitcher = page.getByLabel('Desk', { exact: true });
    await expect.poll(() => deskSwitcher.locator('option:checked').textContent()).toBe(server.firstDeskName);
    await page.locator('.role-badge', { hasText: 'admin' }).first().waitFor();
    await page.getByRole('button', { name: /Administrator/ }).waitFor();
    // The halt's live state (halt.updates over SSE through the proxy).
    await expect.poll(() => page.locator('.status-pill').textContent()).toBe('Trading live');

    const nav = page.getByRole('navigation', { name: 'Console sections' });
    for (const section of ['Overview', 'Signals', 'Proposals', 'Orders', 'Positions', 'Audit', 'Settings']) {
      await nav.getByRole('link', { name: section }).waitFor();
    }
    for (const panel of ['Equity curve', 'Exposure', 'Live signals', 'Approvals queue', 'Recent activity']) {
      await page.getByRole('heading', { name: panel, level: 2 }).waitFor();
    }
    // Real desk data from the server: a fresh desk has no equity history, positions or signals.
    await page.getByText('No equity history yet').waitFor();
    await page.getByText('No open positions').waitFor();
    await page.getByText('No signals yet').waitFor();
    expect(await page.locator('.kpi dt', { hasText: 'Equity' }).count()).toBe(1);
    await page.getByText('No proposals awaiting approval').waitFor();
    // Every overview panel is backed by a procedure now: nothing is left "not available".
    expect(await page.getByText('Not available yet').count()).toBe(0);
    await shot('04-overview');
  });

  test('settings: an API key created in the console is shown once and listed', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Settings' })
      .click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    const form = page.getByRole('form', { name: 'Create an API key' });
    await form.getByLabel('Name').fill('nightly-report');
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = page.getByTestId('secret-value');
    await secret.waitFor();
    expect(await secret.textContent()).toMatch(/^aegis_/);
    await page.locator('table tbody tr', { hasText: 'nightly-report' }).waitFor();
  });

  test('settings: a desk admin adds a member and sees their one-time password once', async () => {
    await page.getByRole('button', { name: 'Done' }).click();
    const form = page.getByRole('form', { name: 'Add a member' });
    await form.getByLabel('Email').fill('trader@aegis.test');
    await form.getByLabel('Name').fill('Grace Trader');
    await form.getByLabel('Role').selectOption('trader');
    await form.getByRole('button', { name: 'Add member' }).click();
    await page.getByText('One-time password for trader@aegis.test').waitFor();
    expect((await page.getByTestId('secret-value').textContent())?.length).toBeGreaterThanOrEqual(12);
    await page.locator('table tbody tr', { hasText: 'trader@aegis.test' }).waitFor();
    await shot('05-settings');

    await page.getByLabel('Role of trader@aegis.test').selectOption('viewer');
    await page.getByText('trader@aegis.test: trader → viewer').waitFor();
  });

  test('settings: a desk admin configures the decision agent; the top bar shows the mode', async () => {
    const form = page.getByRole('form', { name: 'Decision agent settings' });
    await form.getByLabel('Instruments').fill('BTC-USD, eth-usd');
    await form.getByLabel('Max proposals per hour').fill('6');
    await form.getByRole('button', { name: 'Save agent settings' }).click();
    await form.getByText('Saved.').waitFor();
    await expect.poll(() => form.getByLabel('Instruments').inputValue()).toBe('BTC-USD, ETH-USD');
    // Autonomous mode is off on this platform: the option is offered disabled.
    expect(await form.getByRole('option', { name: /autonomous/ }).isDisabled()).toBe(true);
    expect(await page.locator('.mode-badge').textContent()).toBe('confirmation');
  });

  test("the overview's recent activity is the desk's real audit log", async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Overview' })
      .click();
    await page.locator('table tbody tr', { hasText: 'keys.create' }).first().waitFor();
    await page.locator('table tbody tr', { hasText: 'users.create' }).first().waitFor();
    await shot('04b-overview-activity');
  });

  test('the halt: halt with a reason and password re-entry, then release', async () => {
    const pill = page.locator('.status-pill');
    await page.getByRole('button', { name: 'Halt', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Halt trading on this desk' });
    await dialog.getByLabel('Reason').fill('browser test: verifying the halt');
    await dialog.getByLabel('Your password').fill('wrong-password-entirely');
    await dialog.getByRole('button', { name: 'Halt trading' }).click();
    await dialog.getByRole('alert').waitFor();
    expect(await pill.textContent()).toBe('Trading live');

    await dialog.getByLabel('Your password').fill(NEW_PASSWORD);
    await dialog.getByRole('button', { name: 'Halt trading' }).click();
    await expect.poll(() => pill.textContent()).toBe('Desk halted');
    await shot('06a-halted');

    await page.getByRole('button', { name: 'Release', exact: true }).click();
    const release = page.getByRole('dialog', { name: 'Release the halt' });
    await release.getByLabel('Your password').fill(NEW_PASSWORD);
    await release.getByRole('button', { name: 'Release' }).click();
    await expect.poll(() => pill.textContent()).toBe('Trading live');
  });

  test('orders: the ticket shows the risk verdicts; a denied order is not sent; a passing one is placed once', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Orders' })
      .click();
    await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();
    const ticket = page.getByRole('form', { name: 'Order ticket' });
    await ticket.getByLabel('Symbol').fill('BTC-USD');
    await ticket.getByLabel('Quantity').fill('0.01');
    await ticket.getByLabel('Limit price').fill('100');
    await ticket.getByRole('button', { name: 'Review order' }).click();
    const review = page.getByRole('region', { name: 'Order review' });
    await review.waitFor();
    // No price yet: the governor would deny it, so nothing is offered to send (a denied order is
    // never recorded by accident).
    await review.getByText('The risk governor would deny this order').waitFor();
    await review.getByText(/nothing is sent while the governor would deny it/).waitFor();
    expect(await review.getByRole('button', { name: /^Confirm/ }).count()).toBe(0);
    await shot('06b-order-review');
    // With a price the same order passes and is placed once.
    server.quote('BTC-USD', '99.9', '100.1');
    await ticket.getByRole('button', { name: 'Review order' }).click();
    await review.getByRole('button', { name: /^Confirm buy 0.01 BTC-USD$/ }).click();
    await page.getByText(/^Order (new|pending new|filled|partially filled)/).waitFor();
    await page.locator('table tbody tr', { hasText: 'BTC-USD' }).first().waitFor();
    expect(await page.locator('table tbody tr', { hasText: 'BTC-USD' }).count()).toBe(1);
    await shot('06c-orders');
  });

  test('orders: an order in doubt (status unknown) still offers Cancel', async () => {
    // A broker timeout leaves an order `unknown`: it may be live at the broker, so a trader must
    // be able to cancel it (the console's own status list once lacked `unknown`).
    const owner = postgres(p.database.url, { max: 1, onnotice: () => {} });
    try {
      const [o] = await owner<{ id: string; client_order_id: string; status: string }[]>`
        select id, client_order_id, status from orders where symbol = 'BTC-USD' order by created_at desc limit 1`;
      await owner`update orders set status = 'unknown' where id = ${o!.id}`;
      try {
        await page.reload();
        await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();
        const row = page.locator('table tbody tr', { hasText: 'BTC-USD' }).first();
        await expect.poll(() => row.textContent()).toContain('unknown');
        await page.getByRole('button', { name: `Cancel order ${o!.client_order_id}` }).waitFor();
      } finally {
        await owner`update orders set status = ${o!.status} where id = ${o!.id}`;
      }
    } finally {
      await owner.end();
    }
  });

  test('approvals: reject one proposal, approve another with password re-entry', async () => {
    await server.insertPendingProposal({ side: 'buy', quantity: '0.01', limitPrice: '100' });
    await server.insertPendingProposal({ side: 'sell', quantity: '0.02', limitPrice: '200' });
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Proposals' })
      .click();
    await page.getByRole('heading', { name: 'Proposals', level: 1 }).waitFor();
    const queue = page.getByRole('list', { name: 'Proposals awaiting approval' });
    await expect.poll(() => queue.getByRole('listitem').count(), { timeout: 10_000 }).toBe(2);
    await shot('06d-proposals');

    const buy = queue.getByRole('listitem', { name: /^Proposal: buy 0\.01/ });
    await buy.getByRole('button', { name: 'Reject' }).click();
    await buy.getByLabel('Reason (optional)').fill('not in this range');
    await buy.getByRole('button', { name: 'Reject proposal' }).click();
    await page.getByText(/^Rejected buy 0\.01 BTC-USD/).waitFor();
    await expect.poll(() => queue.getByRole('listitem').count()).toBe(1);

    const sell = queue.getByRole('listitem', { name: /^Proposal: sell 0\.02/ });
    await sell.getByRole('button', { name: 'Approve' }).click();
    await sell.getByLabel(/Your password/).fill(NEW_PASSWORD);
    await sell.getByRole('button', { name: /^Approve sell 0\.02/ }).click();
    // Executed through the governor: with no market data here the order is denied, and says so.
    await page.getByText(/^Approved sell 0\.02 BTC-USD/).waitFor();
    await page.getByText('No proposals awaiting approval').waitFor();
    // The history follows the decisions.
    await page.locator('table tbody tr', { hasText: 'rejected' }).waitFor();
    // The history refreshes after the approval's result: wait for it rather than race it.
    await expect.poll(() => page.locator('table tbody tr', { hasText: 'pending' }).count()).toBe(0);
    await shot('06e-proposals-decided');
  });

  test('agent activity: the signals the agent skipped are listed with their reasons', async () => {
    await server.insertAgentSkip({
      symbol: 'BTC-USD',
      direction: 'short',
      score: 0.82,
      code: 'flip_flop',
      reason:
        'sell BTC-USD 9 s after the buy proposal; minimum holding time 300 s (stop 420.06, target 440 not hit at 421)',
    });
    const nav = page.getByRole('navigation', { name: 'Console sections' });
    await nav.getByRole('link', { name: 'Overview' }).click();
    await nav.getByRole('link', { name: 'Proposals' }).click();
    const skipped = page.getByRole('table', { name: 'Skipped signals' });
    const row = skipped.locator('tbody tr', { hasText: 'minimum holding time 300 s' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(
      /BTC-USD.*short.*0\.82.*flip-flop.*stop 420\.06, target 440 not hit at 421/,
    );
    await expect
      .poll(() => page.getByTestId('agent-budget').textContent())
      .toMatch(/2\.00 of 2 proposal tokens \(6 per hour, 2 in the last hour\)/);
    await skipped.scrollIntoViewIfNeeded();
    await shot('06f-agent-activity');
  });

  test('keyboard: g then s opens Signals, ? opens the shortcuts help', async () => {
    await page.locator('body').click({ position: { x: 700, y: 60 } });
    await page.keyboard.press('g');
    await page.keyboard.press('s');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/signals');
    await page.getByRole('heading', { name: 'Signals', level: 1 }).waitFor();
    await page.keyboard.press('?');
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await shot('06-shortcuts');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor({ state: 'hidden' });
  });

  test('the audit page lists the desk log and verifies its hash chain', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Audit' })
      .click();
    await page.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    await page.locator('table tbody tr', { hasText: 'keys.create' }).first().waitFor();
    await page.locator('table tbody tr', { hasText: 'users.setRole' }).first().waitFor();
    // Filtered by action prefix: only key events remain.
    const filter = page.getByRole('form', { name: 'Filter the audit log' });
    await filter.getByLabel('Action').fill('keys.');
    await filter.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('table tbody tr', { hasText: 'users.' }).count()).toBe(0);
    expect(await page.locator('table tbody tr', { hasText: 'keys.create' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/Chain intact/).waitFor();
    await shot('07-audit');
  });

  test('a platform admin creates a desk and switches to it; data stays per desk', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Settings' })
      .click();
    const form = page.getByRole('form', { name: 'Create a desk' });
    await form.getByLabel('New desk').fill('Rates desk');
    await form.getByRole('button', { name: 'Create desk' }).click();
    const deskSwitcher = page.getByLabel('Desk', { exact: true });
    await deskSwitcher.locator('option', { hasText: 'Rates desk' }).waitFor({ state: 'attached' });
    expect(await deskSwitcher.isEnabled()).toBe(true);

    await Promise.all([page.waitForEvent('load'), deskSwitcher.selectOption({ label: 'Rates desk' })]);
    await expect.poll(() => deskSwitcher.locator('option:checked').textContent()).toBe('Rates desk');
    // The new desk has none of Main desk's keys.
    await page.getByText('No API keys on this desk').waitFor();
    await shot('07b-desk-switched');

    await Promise.all([
      page.waitForEvent('load'),
      deskSwitcher.selectOption({ label: server.firstDeskName }),
    ]);
    await expect.poll(() => deskSwitcher.locator('option:checked').textContent()).toBe(server.firstDeskName);
    await page.locator('table tbody tr', { hasText: 'nightly-report' }).waitFor();
  });

  test('when the server goes away the halt pill stops claiming a state, and recovers', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Overview' })
      .click();
    const pill = page.locator('.status-pill');
    await expect.poll(() => pill.textContent(), { timeout: 10_000 }).toBe('Trading live');
    const restarted = server.restart({ downMs: 1_500 });
    await expect.poll(() => pill.textContent(), { timeout: 10_000 }).toBe('Halt status n/a');
    await restarted;
    await expect.poll(() => pill.textContent(), { timeout: 30_000 }).toBe('Trading live');
  });

  test('signing out ends the session and returns to the sign-in page', async () => {
    await page.getByRole('button', { name: /Account menu/ }).click();
    await shot('08-user-menu');
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
    await page.getByText('You have been signed out.').waitFor();
    // The session is gone server-side too: the console sends us back to sign in.
    const me = await p.context.request.get('/trpc/auth.me');
    expect(me.status(), await me.text()).toBe(401);
    await page.goto('/settings');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
  });

  test('no uncaught errors or CSP violations in the page during the whole run', () => {
    expect(pageErrors).toEqual([]);
  });
});
