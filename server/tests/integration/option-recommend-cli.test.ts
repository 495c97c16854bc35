import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RecommendationEvent } from '@aegis/shared/schemas/option-recommendation';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * `aegis options recommend|presets|chain` as users run them: a child process against the real
 * server (real PostgreSQL and Redis), the recommendation streamed over SSE.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const CLI = `${ROOT}scripts/src/cli.ts`;
const SYN = 'SYN0941';

let t: TestServer;
let env: Record<string, string>;
const freshPrices = () => venuePrices(t, [{ venue: 'SIM', instrument: SYN, bid: '99.98', ask: '100.02' }]);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      NODE,
      [CLI, ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

beforeAll(async () => {
  t = await startTestServer();
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, multiplier)
    values (${SYN}, 'SIM', 'crypto', '0.01', '0.0001', '24x7', '1')`;
  await freshPrices();
  // Option quotes are wider than the equity-style 2 % default spread limit; and a CLI child
  // starting on a busy machine can take longer than the default 5 s reference-price age.
  await t.owner`insert into risk_limits (tenant_id, symbol, max_spread_bps, max_reference_age_ms)
    values (${t.admin.deskId}, '*', 1500, 60000)`;
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  const { key } = await admin.client.keys.create.mutate({ name: 'cli options', scopes: ['read'] });
  env = { AEGIS_URL: t.url, AEGIS_API_KEY: key };
});
afterAll(async () => {
  await t?.close();
});
// Prices stamped now for each test: staleness is not what these tests are about.
beforeEach(freshPrices);

describe('aegis options', () => {
  it('chain: the listed contracts with IV and delta', async () => {
    const r = await cli(['options', 'chain', SYN]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${SYN} at 100; ATM IV \\d+\\.\\d%`, 'm'));
    expect(r.stdout).toMatch(/^SYMBOL\s+DTE\s+BID\s+ASK\s+IV\s+DELTA\s+LIQ\s+OI$/m);
  });

  it('recommend: prints the layers in order, then the recommendation', async () => {
    const r = await cli([
      'options',
      'recommend',
      SYN,
      '--view',
      'bullish',
      '--preset',
      'balanced',
      '--capital',
      '100000',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const heads = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('== '))
      .map((l) => l.split(':')[0]);
    expect(heads).toEqual([
      '== Market context',
      '== Filters',
      '== Scoring',
      '== Sizing',
      '== Risk governor',
      '== Recommendation',
    ]);
    expect(r.stdout).toMatch(/== Recommendation: vertical × \d+ \(allowed\)/);
    expect(r.stdout).toMatch(/Loss budget\s+2000\s+\(capital 100000 × 2\.0 % \(balanced\)\)/);
  });

  it('recommend --json: the events as one array; no capital saved ⇒ the saved one is used', async () => {
    const r = await cli([
      'options',
      'recommend',
      SYN,
      '--view',
      'bearish',
      '--preset',
      'aggressive',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const events = JSON.parse(r.stdout) as RecommendationEvent[];
    expect(events.map((e) => (e.type === 'layer' ? e.layer.kind : 'result'))).toEqual([
      'context',
      'filters',
      'scoring',
      'sizing',
      'risk',
      'result',
    ]);
    const last = events.at(-1);
    expect(last?.type === 'result' && last.recommendation?.legs[0]?.right).toBe('put');
  });

  it('recommend: no recommendation exits 1 with the reason', async () => {
    const r = await cli(['options', 'recommend', SYN, '--view', 'bullish', '--capital', '10', '--no-save']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/== No recommendation: one unit risks/);
  });

  it('presets: the three presets', async () => {
    const r = await cli(['options', 'presets']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^balanced\s+0\.45\s+14-45\s+2\.0%\s+35\s+10%$/m);
  });
});
