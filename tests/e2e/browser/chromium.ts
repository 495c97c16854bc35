import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface ConsolePage {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Page errors and CSP violations seen so far (a test asserts it stays empty). */
  readonly pageErrors: string[];
}

/**
 * Debian's Chromium, headless, with the flags this machine needs (no sandbox as root, no
 * background networking: the closed network refuses it), and one page on the console.
 */
export async function openConsolePage(baseURL: string): Promise<ConsolePage> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // A CSP violation is only a console message, not a page error: count it as a failure.
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
      pageErrors.push(message.text());
  });
  return { browser, context, page, pageErrors };
}

/**
 * The first admin's first sign-in: the one-time password, then the forced change to
 * `newPassword`, ending on the overview. Waits for the login page to hydrate before typing: a
 * click on the server-rendered form before the console's script has taken it over would submit
 * it natively. Its waits suit a hook as well as a test (expect.poll runs only inside a test) and
 * a busy machine (the one-time password's hashing).
 */
export async function signInFirstTime(
  page: Page,
  admin: { readonly email: string; readonly password: string },
  newPassword: string,
): Promise<void> {
  await page.goto('/login', { waitUntil: 'networkidle' });
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === '/change-password', { timeout: 60_000 });
  await page.getByLabel('One-time password').fill(admin.password);
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Repeat new password').fill(newPassword);
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.waitForURL((u) => u.pathname === '/', { timeout: 60_000 });
}
