import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRuntime } from '../../src/execution/runtime.ts';
import { testExecution } from './support/test-execution.ts';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * Risk limits deny by default (docs/architecture.md, "Deny-by-default limits"), through the real server: a fresh desk
 * has effective limits for every rule, a partial update merges, `{}` and null are refused,
 * removing a limit is its own audited procedure, and the verdict lists every rule with a status.
 */
let t: TestServer;
let client: Client;
const ex = (): ExecutionRuntime => t.server.deps.execution!;

beforeAll(async () => {
  t = await startTestServer({
    rateLimiter: null,
    execution: testExecution({
      outboxIntervalMs: 200,
      paper: { seed: 3 },
    }),
  });
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  client = admin.client;
  // A 24/7 instrument priced like the finding's stock (~$168), so market hours never interfere.
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status) values
    ('SOL-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
  await client.auth.reauthenticate.mutate({ password: admin.password });
});
afterAll(async () => {
  await t?.close();
});

const quote = () => ex().quotes.setQuote('SOL-USD', '167.99', '168.01', '100', '100', new Date());
const order = (o: Record<string, unknown>) =>
  ({ symbol: 'SOL-USD', side: 'buy', orderType: 'market', timeInForce: 'day', quantity: '1', ...o }) as never;
const check = (o: Record<string, unknown>) => client.risk.check.query(order(o));
const rule = <V extends { rule: string }>(verdicts: readonly V[], name: string): V =>
  verdicts.find((v) => v.rule === name)!;
const auditActions = async () =>
  (await t.owner`select action, details from audit_log where action like 'risk.limits.%' order by id`) as unknown as {
    action: string;
    details: string;
  }[];

describe('risk limits deny by default', () => {
  it('finding 3: a fresh desk denies BUY 100,000 at market of a $168 instrument by order notional', async () => {
    quote();
    const d = await check({ quantity: '100000' });
    expect(d.allowed).toBe(false);
    expect(rule(d.verdicts, 'order_notional')).toMatchObject({
      status: 'failed',
      passed: false,
      code: 'MAX_ORDER_NOTIONAL',
      limit: '50000',
      requested: '16801000',
    });
    // Every rule is listed; the ones with nothing to check say why instead of hiding.
    expect(d.verdicts).toHaveLength(17);
    for (const v of d.verdicts) expect(['passed', 'failed', 'not_applicable']).toContain(v.status);
    expect(rule(d.verdicts, 'price_collar')).toMatchObject({
      status: 'not_applicable',
      message: 'market order: no limit price to collar',
    });
    expect(rule(d.verdicts, 'circuit_breaker').status).toBe('not_applicable');
    for (const r of [
      'order_qty',
      'position',
      'gross_exposure',
      'net_exposure',
      'net_delta',
      'open_legs',
      'daily_loss',
    ]) {
      expect(rule(d.verdicts, r).limit, r).toBeDefined();
    }

    const placed = await client.orders.place.mutate({
      idempotencyKey: randomUUID(),
      order: order({ quantity: '100000' }),
    });
    expect(placed.status).toBe('denied');
    expect(placed.denial!.find((v) => v.rule === 'order_notional')?.status).toBe('failed');
  });

  it('get shows every effective limit of a fresh desk as the platform default', async () => {
    const [desk] = await client.risk.limits.get.query();
    expect(desk!.symbol).toBe('*');
    expect(desk!.stored).toBe(false);
    for (const [k, v] of Object.entries(desk!.fields)) {
      expect(v.source, k).toBe('default');
      expect(v.value, k).not.toBeNull();
    }
    expect(desk!.fields.maxOrderNotional.value).toBe('50000');
  });

  it('finding 2: setting one limit keeps the collar; a buy limit 1000x the market is still denied', async () => {
    quote();
    const after = await client.risk.limits.set.mutate({ maxOrderQty: '100' });
    expect(after.fields.maxOrderQty).toMatchObject({ value: '100', source: 'desk' });
    expect(after.fields.priceCollarBps).toMatchObject({ value: 500, source: 'default' });
    expect(after.fields.maxOrdersPerMinute.source).toBe('default');
    const d = await check({ orderType: 'limit', limitPrice: '168000', quantity: '0.01' });
    expect(d.allowed).toBe(false);
    expect(rule(d.verdicts, 'price_collar')).toMatchObject({
      status: 'failed',
      code: 'PRICE_OUTSIDE_COLLAR',
    });
    // A second partial update merges: the first field keeps its value.
    const merged = await client.risk.limits.set.mutate({ maxSpreadBps: 50 });
    expect(merged.fields.maxOrderQty.value).toBe('100');
    expect(merged.fields.maxSpreadBps).toMatchObject({ value: 50, source: 'desk' });
  });

  it('`{}` and null are refused with the input named, and nothing is audited', async () => {
    const before = (await auditActions()).length;
    const empty = await failure(client.risk.limits.set.mutate({} as never));
    expect(empty.data?.httpStatus).toBe(400);
    expect(empty.message).toMatch(/no limit given/);
    const nul = await failure(client.risk.limits.set.mutate({ priceCollarBps: null } as never));
    expect(nul.data?.httpStatus).toBe(400);
    expect(nul.message).toMatch(/priceCollarBps: null does not remove a limit/);
    expect((await auditActions()).length).toBe(before);
    const [desk] = await client.risk.limits.get.query();
    expect(desk!.fields.priceCollarBps.source).toBe('default');
  });

  it('remove is its own audited action; the rule then reports not_applicable with the reason; reset restores', async () => {
    quote();
    const removed = await client.risk.limits.remove.mutate({ field: 'priceCollarBps' });
    expect(removed.fields.priceCollarBps).toMatchObject({
      value: null,
      source: 'removed',
      removal: { scope: '*' },
    });
    const d = await check({ orderType: 'limit', limitPrice: '168000', quantity: '0.01' });
    const collar = rule(d.verdicts, 'price_collar');
    expect(collar.status).toBe('not_applicable');
    expect(collar.message).toMatch(/^limit removed by a desk admin at \d{4}-/);
    // A later partial update of another field leaves the removal in place.
    await client.risk.limits.set.mutate({ maxOrderQty: '200' });
    const [desk] = await client.risk.limits.get.query();
    expect(desk!.fields.priceCollarBps.source).toBe('removed');

    const reset = await client.risk.limits.reset.mutate({ field: 'priceCollarBps' });
    expect(reset.fields.priceCollarBps).toMatchObject({ value: 500, source: 'default' });
    expect(reset.fields.maxOrderQty.value).toBe('200');
    const again = await check({ orderType: 'limit', limitPrice: '168000', quantity: '0.01' });
    expect(rule(again.verdicts, 'price_collar').status).toBe('failed');

    const log = await auditActions();
    expect(log.map((l) => l.action)).toEqual(
      expect.arrayContaining(['risk.limits.set', 'risk.limits.remove', 'risk.limits.reset']),
    );
    expect(log.find((l) => l.action === 'risk.limits.remove')!.details).toBe(
      'limits *: priceCollarBps removed (was 500)',
    );
  });

  it('instrument overrides: refused for unknown instruments and book-wide fields; replace the desk value', async () => {
    const unknown = await failure(client.risk.limits.set.mutate({ symbol: 'NOPE-USD', maxOrderQty: '1' }));
    expect(unknown.data?.httpStatus).toBe(400);
    expect(unknown.message).toMatch(/^symbol: no instrument NOPE-USD/);
    const bookWide = await failure(
      client.risk.limits.set.mutate({ symbol: 'SOL-USD', maxGrossExposure: '1' }),
    );
    expect(bookWide.message).toMatch(/maxGrossExposure: bounds the whole book/);

    await client.risk.limits.set.mutate({ maxOrderQty: '100' });
    const inst = await client.risk.limits.set.mutate({ symbol: 'SOL-USD', maxOrderQty: '250' });
    expect(inst.fields.maxOrderQty).toMatchObject({ value: '250', source: 'instrument' });
    expect(inst.fields.maxSpreadBps).toMatchObject({ value: 50, source: 'desk' });
    expect(inst.fields.maxOrderNotional.source).toBe('default');
    quote();
    const d = await check({ quantity: '200' });
    expect(rule(d.verdicts, 'order_qty')).toMatchObject({ status: 'passed', limit: '250' });
    const scopes = await client.risk.limits.get.query();
    expect(scopes.map((s) => s.symbol)).toEqual(['*', 'SOL-USD']);
    await client.risk.limits.reset.mutate({ symbol: 'SOL-USD' });
    expect((await client.risk.limits.get.query()).map((s) => s.symbol)).toEqual(['*']);
  });
});
