import { createLogger } from '@aegis/shared/logging';
import type { SignalEvaluation } from '@aegis/shared/schemas/signal-quality';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PATH, FIXTURE_TICKS } from '../../../engine/tests/fixtures/make-replay-fixture.ts';
import type { TestServer } from '../../../server/tests/integration/test-server.ts';
import { startTestBacktestWorkers } from '../backtests/test-backtest-workers.ts';
import { cli, startCliServer } from './cli-harness.ts';

/**
 * `aegis backtest` and `aegis eval signals` as users run them: a child process against a real
 * server, with an engine-side backtest worker started here on the same database and Redis prefix.
 */
const log = createLogger({ name: 'backtest-cli-test', level: 'silent' });

let t: TestServer;
let env: Record<string, string>;
let workers: { stop(): Promise<void> };

beforeAll(async () => {
  ({ t, env } = await startCliServer(['read', 'trade']));
  workers = await startTestBacktestWorkers(t, { consumer: 'cli-test', log });
});
afterAll(async () => {
  await workers?.stop();
  await t?.close();
});

describe('aegis backtest', () => {
  let id = '';

  it('run <file> --json: uploads, runs with progress on stderr, prints the backtest with its result', async () => {
    const run = await cli(
      ['backtest', 'run', FIXTURE_PATH, '--instruments', 'SYN0000,SYN0001', '--json'],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ status: 'succeeded', spec: { instruments: ['SYN0000', 'SYN0001'] } });
    expect(out.result.ticks).toBeGreaterThan(0);
    expect(out.result.ticks).toBeLessThanOrEqual(FIXTURE_TICKS);
    expect(out.result.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(run.stderr).toContain('uploaded replay-small.ticks');
    expect(run.stderr).toMatch(/\] 100%/);
    id = out.id;
  });

  it('run without --instruments takes the symbols of the file; prints metrics against buy-and-hold', async () => {
    const run = await cli(['backtest', 'run', FIXTURE_PATH, '--name', 'all symbols'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('BUY & HOLD');
    expect(run.stdout).toMatch(/total return\s+-?\d/);
    expect(run.stderr).toContain('12 instrument(s)');
  });

  it('list, show and cancel', async () => {
    const list = await cli(['backtest', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((b: { id: string }) => b.id)).toContain(id);
    const show = await cli(['backtest', 'show', id], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('succeeded');
    expect(show.stdout).toContain('sharpe');
    // A finished backtest cannot be cancelled: refused (exit 5) with the reason.
    const cancel = await cli(['backtest', 'cancel', id], env);
    expect(cancel.code).toBe(5);
    expect(cancel.stderr).toContain('already succeeded');
    const missing = await cli(['backtest', 'show', '00000000-0000-4000-8000-000000000000'], env);
    expect(missing.code).toBe(4);
  });

  it('run on a missing file is a usage-level failure before anything is uploaded', async () => {
    const run = await cli(['backtest', 'run', '/nonexistent/file.ticks'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot read the file');
  });
});

describe('aegis eval signals', () => {
  it("prints each model version's latest evaluation: engine beside the baselines", async () => {
    const row = (source: SignalEvaluation['rows'][number]['source'], dir: number, auc: number | null) => ({
      source,
      pattern: 'all',
      signals: 100,
      precisionLocation: 0.3,
      precisionDirection: dir,
      recall: 0.5,
      forwardReturnBp: { '200': dir * 10 },
      hitRate: 0.5,
      auc,
      calibration: [],
    });
    const evaluation: SignalEvaluation = {
      modelVersion: 'm-cli-1',
      split: 'test',
      seeds: [101, 102],
      symbols: 20,
      ticks: 400_000,
      events: 80,
      horizonsTicks: [200],
      rows: [
        row('engine', 0.42, 0.68),
        row('momentum', 0.21, null),
        row('mean_reversion_rule', 0.1, null),
        row('random', 0.05, null),
      ],
      target: { met: true, checks: [{ name: 'auc', passed: true, detail: '0.680 ≥ 0.65' }] },
    };
    await t.owner`
      insert into signal_models (version, training_data_hash, evaluation, active)
      values ('m-cli-1', ${'e'.repeat(64)}, ${t.owner.json(evaluation as never)}, true)`;
    const human = await cli(['eval', 'signals'], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('model m-cli-1 (active) — test split');
    for (const s of ['engine', 'momentum', 'mean_reversion_rule', 'random'])
      expect(human.stdout).toContain(s);
    expect(human.stdout).toContain('42.00%');
    expect(human.stdout).toContain('target met');
    const json = await cli(['eval', 'signals', '--json'], env);
    expect(JSON.parse(json.stdout)[0].evaluation).toEqual(evaluation);
  });
});

describe('aegis backtest run against a tight rate limit', () => {
  let tight: TestServer;
  let tightEnv: Record<string, string>;
  beforeAll(async () => {
    ({ t: tight, env: tightEnv } = await startCliServer(['read', 'trade'], {
      env: { RATE_LIMIT_MUTATIONS: '3', RATE_LIMIT_WINDOW_SECONDS: '2' },
    }));
  });
  afterAll(async () => {
    await tight?.close();
  });

  it('waits out TOO_MANY_REQUESTS and sends the same call again: the upload completes, one backtest is queued', async () => {
    // uploadStart, 2 chunks, uploadFinish, create: 5 mutations against 3 per 2 s.
    const run = await cli(
      ['backtest', 'run', FIXTURE_PATH, '--instruments', 'SYN0000', '--no-wait', '--json'],
      tightEnv,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('rate limited by the server: waiting');
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'queued' });
    const rows = await tight.owner`select status from backtest_uploads`;
    expect(rows.map((r) => r.status)).toEqual(['complete']);
    expect(await tight.owner`select id from backtests`).toHaveLength(1);
  });
});
