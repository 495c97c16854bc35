import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createBus } from '@aegis/shared/bus/index';
import type { Bus } from '@aegis/shared/bus/types';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { freePort } from '@aegis/shared/testing/free-port';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeEach, onTestFailed } from 'vitest';
import { ensureWebBuild } from '../../../web/build.ts';
import { type RunningAegisServer, startAegisServer } from './aegis-server.ts';
import { openConsolePage, signInFirstTime } from './chromium.ts';
import { type RunningWeb, startBuiltWeb } from './web-process.ts';

/** Where the browser tests leave their screenshots and failure notes. */
export const SHOTS = process.env.AEGIS_SCREENSHOT_DIR ?? '/tmp/aegis-shots';

/** The whole platform as a browser test drives it: server, built console, Chromium on it. */
export interface Platform {
  readonly database: MigratedTestDatabase;
  /** The in-process bus the server runs on (single-machine mode); workers beside it share it. */
  readonly bus: Bus;
  readonly server: RunningAegisServer;
  readonly web: RunningWeb;
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Page errors and CSP violations (a test asserts it stays empty). */
  readonly pageErrors: string[];
  /** Every console error message of the page. */
  readonly consoleErrors: string[];
  /** The first admin's one-time credentials (bootstrap). */
  readonly admin: { readonly email: string; readonly password: string };
  readonly deskId: string;
  /**
   * A screenshot of the page once it has painted, into SHOTS; the file's path. The console
   * scrolls inside its main area, not the document, so a full-page shot is the viewport: with
   * `height`, the viewport is that tall for the shot (what is in view stays in view), then 900.
   */
  shot(name: string, height?: number): Promise<string>;
  /** A tRPC query through the console's own /trpc proxy with the page's session. */
  api<T>(procedure: string, input: unknown): Promise<T>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  /** Names the console server's log, saved into SHOTS on stop (`<name>-web-server.log`). */
  readonly name?: string;
  /**
   * The first admin's new password: when given, the first sign-in (one-time password, forced
   * change) is done before this resolves; without it the page is left on nothing.
   */
  readonly newPassword?: string;
  /** Server environment beyond the defaults; told the console's origin (OAuth redirects). */
  readonly env?: (webOrigin: string) => Promise<Record<string, string>> | Record<string, string>;
  /** `startServer` options beyond config, log and bus. */
  readonly start?: Parameters<typeof startAegisServer>[0]['start'];
  /** Reference data, written as the database owner before the server starts. */
  readonly seed?: Parameters<typeof startAegisServer>[0]['seed'];
}

/**
 * A seed for trading tests: `equity` registered as a 24x7 equity on XNAS (the tests are about the
 * console, not exchange hours), and the desk accepting reference prices up to `maxReferenceAgeMs`
 * old (default 5 s): the browser's steps between a price and an order must not decide a test.
 */
export function tradingSeed(options: {
  readonly equity?: string;
  readonly maxReferenceAgeMs: number;
}): NonNullable<PlatformOptions['seed']> {
  return async (owner, deskId) => {
    if (options.equity)
      await owner`
        insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
        values (${options.equity}, 'XNAS', 'equity', '0.01', '1', '24x7', 'active')`;
    await owner`
      insert into risk_limits (tenant_id, symbol, max_reference_age_ms)
      values (${deskId}, '*', ${options.maxReferenceAgeMs})`;
  };
}

/**
 * The start-up every end-to-end browser test shares: the console's production build (built only
 * when stale), a fresh migrated database with the first admin, the real server in-process on an
 * in-process bus, the built console in front of it, Chromium on the console, and (with
 * `newPassword`) the first admin's first sign-in. What was started is stopped again when a later
 * step fails.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  mkdirSync(SHOTS, { recursive: true });
  const build = await ensureWebBuild();
  if (build.built) process.stderr.write(`[browser] built web console in ${build.ms} ms\n`);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
  };
  try {
    const database = await createMigratedTestDatabase();
    stops.push(() => database.drop());
    const webPort = await freePort();
    const webOrigin = `http://127.0.0.1:${webPort}`;
    const bus = createBus({ log: createLogger({ name: 'server', level: 'warn' }) });
    stops.push(() => bus.close());
    const server = await startAegisServer({
      database,
      publicOrigin: webOrigin,
      bus,
      env: (await options.env?.(webOrigin)) ?? {},
      start: { rateLimiter: null, ...options.start },
      ...(options.seed ? { seed: options.seed } : {}),
    });
    stops.push(() => server.stop());
    const web = await startBuiltWeb({ port: webPort, serverUrl: server.url });
    stops.push(async () => {
      // The console server's own log, for diagnosing a failure (proxy errors are logged there).
      if (options.name) writeFileSync(path.join(SHOTS, `${options.name}-web-server.log`), web.output());
      await web.stop();
    });
    const { browser, context, page, pageErrors } = await openConsolePage(web.url);
    stops.push(() => browser.close());
    stops.push(() => context.close());
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    if (options.newPassword !== undefined)
      await signInFirstTime(page, server.firstAdmin, options.newPassword);
    return {
      database,
      bus,
      server,
      web,
      browser,
      context,
      page,
      pageErrors,
      consoleErrors,
      admin: server.firstAdmin,
      deskId: server.firstDeskId,
      async shot(name, height = 900) {
        if (height !== 900) await page.setViewportSize({ width: 1440, height });
        // Let the shell lay out (at the new height) before the shot.
        await page.evaluate(
          () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
        );
        const file = path.join(SHOTS, name);
        await page.screenshot({ path: file });
        if (height !== 900) await page.setViewportSize({ width: 1440, height: 900 });
        return file;
      },
      async api<T>(procedure: string, input: unknown): Promise<T> {
        const res = await page.request.get(
          `${web.url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`,
        );
        const body = (await res.json()) as { result?: { data: T }; error?: unknown };
        if (!body.result) throw new Error(`${procedure}: ${JSON.stringify(body.error)}`);
        return body.result.data;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * On every failed test of the file: a screenshot and a note (url, main text, page and console
 * errors, and `extra`) named FAILED-<file>-<test> in SHOTS.
 */
export function reportFailures(
  file: string,
  platform: () => Platform | undefined,
  extra?: () => Promise<string>,
): void {
  beforeEach((ctx) => {
    onTestFailed(async () => {
      const p = platform();
      const name = `FAILED-${file}-${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`;
      await p?.page.screenshot({ path: path.join(SHOTS, `${name}.png`) }).catch(() => {});
      const main = await p?.page
        .locator('main')
        .textContent()
        .catch(() => null);
      const more = await extra?.().catch((e: unknown) => `extra failed: ${String(e)}`);
      writeFileSync(
        path.join(SHOTS, `${name}.txt`),
        `url ${p?.page.url()}\nmain ${main}\npage errors ${JSON.stringify(p?.pageErrors)}\n` +
          `console errors ${JSON.stringify(p?.consoleErrors)}\n${more ?? ''}\n`,
      );
    });
  });
}

/**
 * A test file's reporting and teardown: reportFailures with the database rows that `rows`
 * describes, and after all tests each of `stops` in order (the platform's among them where the
 * file needs it; each returns undefined when what it stops never started).
 */
export function reportAndStop(
  file: string,
  platform: () => Platform | undefined,
  rows: () => Promise<string>,
  stops: readonly (() => Promise<unknown> | undefined)[],
): void {
  reportFailures(file, platform, async () => `rows ${await rows()}`);
  afterAll(async () => {
    for (const stop of stops) await stop();
  });
}
