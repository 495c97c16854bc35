import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../../../server/tests/integration/test-server.ts';
import { cli as runCli, startCliServer } from './cli-harness.ts';

/**
 * `aegis risk limits get|set|remove|reset` as users run it: a child process against the real
 * server (real PostgreSQL and Redis). Reading works with an API key; changing signs in as a
 * person with the password on stdin and re-authenticates.
 */
let ts: TestServer;
let env: Record<string, string>;
let password: string;

const cli = (args: string[], stdin?: string) => runCli(args, env, stdin);

beforeAll(async () => {
  const s = await startCliServer(['read'], {}, 'cli risk');
  ({ t: ts, env } = s);
  password = s.admin.password;
  await ts.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values ('SOL-USD', 'X', 'crypto', '0.01', '0.0001', '24x7')`;
});
afterAll(async () => {
  await ts?.close();
});

const getJson = async (...extra: string[]) => {
  const r = await cli(['risk', 'limits', 'get', '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    symbol: string;
    fields: Record<string, { value: unknown; source: string }>;
  }[];
};

describe('aegis risk limits', () => {
  it('get: every effective limit with its source, as a table and as JSON', async () => {
    const table = await cli(['risk', 'limits', 'get']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^desk\s+maxOrderNotional\s+50000\s+default$/m);
    expect(table.stdout).toMatch(/^desk\s+priceCollarBps\s+500\s+default$/m);
    const [desk] = await getJson();
    expect(desk!.symbol).toBe('*');
    expect(Object.values(desk!.fields).every((f) => f.source === 'default' && f.value !== null)).toBe(true);
  });

  it('set merges as a person (password on stdin); an API key alone cannot change limits', async () => {
    const noEmail = await cli(['risk', 'limits', 'set', '--max-order-qty', '100']);
    expect(noEmail.code).not.toBe(0);
    expect(noEmail.stderr).toMatch(/--email is required/);
    const nothing = await cli(['risk', 'limits', 'set', '--email', ts.admin.email], `${password}\n`);
    expect(nothing.stderr).toMatch(/give at least one limit/);

    const set = await cli(
      [
        'risk',
        'limits',
        'set',
        '--email',
        ts.admin.email,
        '--max-order-qty',
        '100',
        '--max-spread-bps',
        '40',
      ],
      `${password}\n`,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^desk\s+maxOrderQty\s+100\s+desk$/m);
    const [desk] = await getJson();
    expect(desk!.fields.maxOrderQty).toEqual({ value: '100', source: 'desk', removal: null });
    expect(desk!.fields.maxSpreadBps).toMatchObject({ value: 40, source: 'desk' });
    expect(desk!.fields.priceCollarBps).toMatchObject({ value: 500, source: 'default' });
  });

  it('remove and reset one limit; instrument scopes; unknown instruments refused by name', async () => {
    const removed = await cli(
      ['risk', 'limits', 'remove', '--email', ts.admin.email, '--field', 'priceCollarBps'],
      `${password}\n`,
    );
    expect(removed.code, removed.stderr).toBe(0);
    expect((await getJson())[0]!.fields.priceCollarBps).toMatchObject({ value: null, source: 'removed' });
    const reset = await cli(
      ['risk', 'limits', 'reset', '--email', ts.admin.email, '--field', 'priceCollarBps'],
      `${password}\n`,
    );
    expect(reset.code, reset.stderr).toBe(0);
    expect((await getJson())[0]!.fields.priceCollarBps).toMatchObject({ value: 500, source: 'default' });

    const inst = await cli(
      ['risk', 'limits', 'set', '--email', ts.admin.email, '--symbol', 'SOL-USD', '--max-order-qty', '250'],
      `${password}\n`,
    );
    expect(inst.code, inst.stderr).toBe(0);
    const scopes = await getJson('--symbol', 'SOL-USD');
    expect(scopes.map((s) => s.symbol)).toEqual(['*', 'SOL-USD']);
    expect(scopes[1]!.fields.maxOrderQty).toMatchObject({ value: '250', source: 'instrument' });
    expect(scopes[1]!.fields.maxSpreadBps).toMatchObject({ value: 40, source: 'desk' });

    const unknown = await cli(['risk', 'limits', 'get', '--symbol', 'NOPE-USD']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/symbol: no instrument NOPE-USD/);
  });
});
