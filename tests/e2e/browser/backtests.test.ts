import { readFileSync } from 'node:fs';
import path from 'node:path';
import { seededScorer } from '@aegis/engine/backtest/seeded-scorer';
import { type BacktestJobsHandle, startBacktestJobs } from '@aegis/engine/jobs/backtest-jobs';
import { createDb } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { signalEvaluationSchema } from '@aegis/shared/schemas/signal-quality';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { signInFirstTime } from './chromium.ts';
import { type Platform, reportAndStop, startPlatform } from './platform.ts';
import { fixtureEvaluation } from './research-fixtures.ts';

/**
 * The research pages in Chromium against the real server on a fresh migrated database: a trader
 * desk admin starts a simulation backtest from the form (after the server names a bad field),
 * follows its live progress, reads its metrics against buy-and-hold, its equity and drawdown
 * chart and its trades, compares two runs side by side; then the signal-quality page shows the
 * registry's models (two fixtures, one active) with the engine against its baselines.
 */
const NEW_PASSWORD = 'copper-replay-ledger-4471';

let p: Platform;
let jobsDb: ReturnType<typeof createDb>;
let jobs: BacktestJobsHandle;
let page: Page;
let pageErrors: string[];
let olderModel: string;
const ACTIVE_MODEL = 'gbt-2026-12-03-b';
const HARNESS_RESULT = path.resolve(import.meta.dirname, '../../../engine/eval/results/signals-test.json');

beforeAll(async () => {
  // The registry as model:train and eval:signals leave it: the active model with a fixture
  // evaluation (fixed numbers the assertions read) and an older one with the harness's committed
  // test-split result (real rows: baselines per pattern, the main horizon first).
  const harness = signalEvaluationSchema.parse(JSON.parse(readFileSync(HARNESS_RESULT, 'utf8')));
  olderModel = harness.modelVersion;
  p = await startPlatform({
    name: 'backtests',
    seed: async (owner) => {
      for (const [version, active, createdAt, evaluation] of [
        [harness.modelVersion, false, '2026-11-20T10:00:00Z', harness],
        [ACTIVE_MODEL, true, '2026-12-03T10:00:00Z', fixtureEvaluation(ACTIVE_MODEL)],
      ] as const) {
        await owner`
          insert into signal_models (version, created_at, training_data_hash, metrics, evaluation, active)
          values (${version}, ${createdAt}, ${`sha256:${version.padEnd(64, '0').slice(0, 64)}`},
                  ${owner.json({ validationAuc: 0.7112, trees: 120 })},
                  ${owner.json(evaluation)}, ${active})`;
      }
    },
  });
  ({ page, pageErrors } = p);
  // Single-machine mode: the server queues on the in-process bus, the engine's backtest worker
  // (the same startBacktestJobs the engine daemon runs) reads it. The model is a seeded one of
  // the engine's input size: this test is about the console, not about which model is committed.
  jobsDb = createDb(p.database.appUrl, { max: 4, applicationName: 'aegis-backtest-worker' });
  jobs = await startBacktestJobs({
    sql: jobsDb.sql,
    bus: p.bus,
    log: createLogger({ name: 'web-test', level: 'warn' }),
    prefix: 'aegis:',
    consumer: 'web-test',
    workers: 1,
    scorer: async () => seededScorer(1, { bias: 1 }),
    blockMs: 200,
  });
});

// A failed step leaves what the page and the database showed, for the log and the reviewer.
reportAndStop('backtests', () => p, backtestRows, [
  () => jobs?.stop(),
  () => jobsDb?.close(),
  () => p?.stop(),
]);

const form = () => page.getByRole('form', { name: 'New backtest' });

/** The backtests and jobs rows as the database has them (explains a failed wait). */
async function backtestRows(): Promise<string> {
  const owner = createDb(p.database.url, { max: 1, applicationName: 'aegis-web-test' });
  try {
    const runs = await owner.sql`
      select name, status, cancel_requested_at, progress->>'ticks' as ticks, updated_at from backtests
      order by created_at`;
    const queue = await owner.sql`select status, locked_by, locked_until, attempts from jobs`;
    return JSON.stringify({ runs, queue });
  } finally {
    await owner.close();
  }
}

const shot = (name: string, height?: number) => p.shot(name, height);

async function startSimulation(name: string, options: { seed: string; takerFee?: string }) {
  await form().getByLabel('Name').fill(name);
  await form().getByLabel('Instruments').fill(SIM_INSTRUMENTS);
  await form().getByLabel('Simulated symbols').fill('2');
  await form().getByLabel('Simulated ticks').fill(SIM_TICKS);
  await form().getByLabel('Capital').fill('50000');
  await form().getByLabel('Seed').fill(options.seed);
  if (options.takerFee) {
    // Execution settings are folded away by default.
    const execution = form().locator('details', { hasText: 'Execution' });
    if ((await execution.getAttribute('open')) === null) await execution.locator('summary').click();
    await form().getByLabel('Taker fee (bps)').fill(options.takerFee);
  }
  await form().getByRole('button', { name: 'Start backtest' }).click();
}

// The simulated symbols' names, and a size that runs for a few seconds here (the worker shares
// this process with the server and the test), so the progress bar is seen moving.
const SIM_INSTRUMENTS = 'SIM-A, SIM-B';
const SIM_TICKS = '600000';

describe('backtests and signal quality in Chromium against the real server', () => {
  test('the desk admin signs in and opens Backtests', async () => {
    await signInFirstTime(page, p.admin, NEW_PASSWORD);

    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Backtests' })
      .click();
    await page.getByRole('heading', { name: 'Backtests', level: 1 }).waitFor();
    await form().waitFor();
    await page.getByText('No backtests on this desk yet').waitFor();
  });

  test('the server names a bad field and the form shows it beside its input', async () => {
    await form().getByLabel('Name').fill('bad capital');
    await form().getByLabel('Instruments').fill(SIM_INSTRUMENTS);
    await form().getByLabel('Capital').fill('-5');
    await form().getByRole('button', { name: 'Start backtest' }).click();
    const capital = form().getByLabel('Capital');
    await expect.poll(() => capital.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await capital.getAttribute('aria-describedby')) ?? '';
    const errorId = describedBy.split(' ').find((id) => id.endsWith('-error'));
    expect(errorId).toBeDefined();
    expect(await page.locator(`#${errorId}`).textContent()).toMatch(/decimal|greater than zero/);
    await form().getByRole('alert').waitFor();
    await shot('backtests-field-error.png');
    // Nothing was queued.
    await page.getByText('No backtests on this desk yet').waitFor();
  });

  test('an LLM run shows its estimated cost before it can be started', async () => {
    await form().getByLabel('Capital').fill('');
    await form().getByLabel('Decider').selectOption('openai');
    await form().getByRole('button', { name: 'Estimate the LLM cost' }).click();
    const estimate = form().getByRole('status', { name: 'LLM cost estimate' });
    await estimate.waitFor();
    expect(await estimate.textContent()).toMatch(/at most \$[\d.]+ per simulated hour/);
    await form().getByRole('button', { name: 'Start with the LLM at this cost' }).waitFor();
    // Any edit asks again; back to the rules, nothing was queued.
    await form().getByLabel('Decider').selectOption('rules');
    await form().getByRole('button', { name: 'Start backtest' }).waitFor();
    expect(await estimate.count()).toBe(0);
    await page.getByText('No backtests on this desk yet').waitFor();
  });

  test('a simulation backtest runs with live progress, then shows metrics, charts and trades', async () => {
    await startSimulation('Sim, default fees', { seed: '7' });
    const detail = page.locator('section[data-backtest]');
    await detail.getByRole('heading', { name: 'Sim, default fees', level: 2 }).waitFor();
    // Live progress over SSE: the bar's value moves while the run is running.
    const bar = detail.getByRole('progressbar', { name: 'Backtest progress' });
    await bar.waitFor();
    await expect
      .poll(async () => Number((await bar.getAttribute('value')) ?? '0'), { timeout: 60_000 })
      .toBeGreaterThan(0);
    await shot('backtests-progress.png');

    await expect
      .poll(() => detail.getByTestId('bt-status').textContent(), { timeout: 120_000 })
      .toBe('succeeded');
    const metrics = detail.getByRole('table', { name: /against buy-and-hold/ });
    await metrics.waitFor();
    for (const measure of ['Total return', 'Sharpe', 'Max drawdown', 'Win rate', 'Profit factor', 'Fees']) {
      await metrics.getByRole('rowheader', { name: measure, exact: true }).waitFor();
    }
    expect(await metrics.getByRole('columnheader').allTextContents()).toEqual([
      'Measure',
      'Strategy',
      'Buy-and-hold',
    ]);
    await detail.getByRole('img', { name: /Equity of Sim, default fees against buy-and-hold/ }).waitFor();
    await detail.getByRole('img', { name: /Drawdown, deepest/ }).waitFor();
    await detail.getByRole('heading', { name: 'Per-pattern attribution', level: 2 }).waitFor();
    await detail.getByRole('tab', { name: /Fills/ }).waitFor();
    await shot('backtests-result.png', 1500);
    // The runs list shows it finished.
    await expect
      .poll(() => page.locator('tr[data-backtest-id]').first().getAttribute('data-status'))
      .toBe('succeeded');
  });

  test('two runs compared side by side: metrics and overlaid equity', async () => {
    await startSimulation('Sim, 10 bp fees', { seed: '7', takerFee: '10' });
    const detail = page.locator('section[data-backtest]');
    await detail.getByRole('heading', { name: 'Sim, 10 bp fees', level: 2 }).waitFor();
    await expect
      .poll(() => detail.getByTestId('bt-status').textContent(), { timeout: 120_000 })
      .toBe('succeeded');

    await page.getByRole('checkbox', { name: 'Compare Sim, default fees' }).check();
    await page.getByRole('checkbox', { name: 'Compare Sim, 10 bp fees' }).check();
    await page.getByRole('button', { name: 'Compare side by side' }).click();
    const compare = page.getByRole('region', { name: 'Comparison' });
    await compare.waitFor();
    const table = compare.getByRole('table', { name: /^Metrics of/ });
    await table.waitFor();
    const headers = await table.getByRole('columnheader').allTextContents();
    // In the order they were ticked; the same data, so one buy-and-hold column.
    expect(headers).toEqual(['Measure', 'Sim, default fees', 'Sim, 10 bp fees', 'Buy-and-hold']);
    await compare.getByRole('img', { name: /overlaid/ }).waitFor();
    // The only spec difference is the fee (and nothing else is claimed).
    const diff = compare.getByRole('table', { name: 'Spec differences' });
    expect(await diff.locator('tbody tr td:first-child').allTextContents()).toEqual([
      'execution.takerFeeBps',
    ]);
    await shot('backtests-compare.png', 1200);
  });

  test('a running backtest is cancelled from its page', async () => {
    await form().getByLabel('Name').fill('Long sim, cancelled');
    await form().getByLabel('Instruments').fill(SIM_INSTRUMENTS);
    await form().getByLabel('Simulated symbols').fill('2');
    await form().getByLabel('Simulated ticks').fill('50000000');
    await form().getByRole('button', { name: 'Start backtest' }).click();
    const detail = page.locator('section[data-backtest]');
    await detail.getByRole('heading', { name: 'Long sim, cancelled', level: 2 }).waitFor();
    await expect
      .poll(() => detail.getByTestId('bt-status').textContent(), { timeout: 60_000 })
      .toBe('running');
    await detail.getByRole('button', { name: 'Cancel backtest' }).click();
    await expect
      .poll(() => detail.getByTestId('bt-status').textContent(), { timeout: 30_000 })
      .toBe('cancelled')
      .catch(async (e) => {
        throw new Error(`not cancelled; rows: ${await backtestRows()}`, { cause: e });
      });
    await detail.getByText(/Stopped after [\d,]+ ticks/).waitFor();
    expect(await detail.getByRole('button', { name: 'Cancel backtest' }).count()).toBe(0);
  });

  test('signal quality shows the registry with the engine against its baselines', async () => {
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Signal quality' })
      .click();
    await page.getByRole('heading', { name: 'Signal quality', level: 1 }).waitFor();
    const models = page.getByRole('table', { name: 'Signal models' });
    await expect.poll(() => models.locator('tbody tr').count()).toBe(2);
    // The active model is marked and shown by default.
    const active = models.locator('tr[data-model="gbt-2026-12-03-b"]');
    await active.getByText('active').waitFor();
    expect(await active.getAttribute('aria-selected')).toBe('true');
    const table = page.getByRole('table', { name: /Signal quality of model gbt-2026-12-03-b/ });
    await table.waitFor();
    const overall = table.locator('tbody[data-pattern="all"]');
    expect(await overall.locator('tr[data-source] th').allTextContents()).toEqual([
      'Engine',
      'Momentum rule',
      'Mean-reversion rule',
      'Random',
    ]);
    // Per-pattern rows, the calibration chart and the target check with a failed item.
    await table.locator('tbody[data-pattern="order_flow_drift"]').waitFor();
    await page.getByRole('img', { name: /Calibration of Engine \(all\) scores/ }).waitFor();
    await page.getByText('Target not met').waitFor();
    expect(await page.locator('.sq-checks li[data-passed="false"]').count()).toBe(1);
    await shot('signal-quality.png', 1300);

    // Choosing the older model shows its own evaluation.
    await page.getByRole('button', { name: `Show model ${olderModel}` }).click();
    const older = page.getByRole('table', { name: new RegExp(`Signal quality of model ${olderModel}`) });
    await older.waitFor();
    expect(await older.locator('tbody[data-pattern]').count()).toBeGreaterThan(1);
    await shot('signal-quality-harness.png', 1300);
    expect(pageErrors).toEqual([]);
  });

  test('no table is cut off at 1440 px: wide ones scroll inside their panel', async () => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});
