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
