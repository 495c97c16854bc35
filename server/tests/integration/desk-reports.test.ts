import { randomUUID } from 'node:crypto';
import type { TenantId } from '@aegis/shared/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRuntime } from '../../src/execution/runtime.ts';
import { placeOrder, testExecution } from './support/test-execution.ts';
import { waitUntil } from './support/wait.ts';
import { type Client, failure, makeClient, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * An operator's first-day surfaces through the real server: flattening (also with a `trade` key,
 * also while halted), an order's detail (timeline from the state machine, fills, where it came
 * from and who approved it, its audit rows for audit readers only), and the desk's reports (P&L
 * by instrument and by day, the blotter, CSV exports that add up to the same numbers).
 */
let t: TestServer;
let client: Client;
let deskId: TenantId;
let adminName: string;
const ex = (): ExecutionRuntime => t.server.deps.execution!;

const quotes = () => {
  ex().quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
  ex().quotes.setQuote('ETH-USD', '3000', '3001', '100', '100', new Date());
};

const place = (order: Record<string, unknown>, c: Client = client) => placeOrder(c, order);

const settle = async () => {
  await ex().dispatcher.dispatchTenant(deskId);
  await waitUntil(
    () => client.orders.list.query({ status: 'working', limit: 100 }),
    (l) => l.every((o) => o.orderType !== 'market'),
    'market orders to settle',
  );
};

beforeAll(async () => {
  t = await startTestServer({
    rateLimiter: null,
    alerts: false,
    execution: testExecution({
      outboxIntervalMs: 100,
      paper: { seed: 5, feeBps: '10' },
    }),
  });
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  client = admin.client;
  deskId = t.admin.deskId;
  const [u] = await t.owner<{ display_name: string; email: string }[]>`
    select display_name, email from users where email = ${t.admin.email}`;
  adminName = u!.display_name.trim() || u!.email;
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status) values
    ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active'),
    ('ETH-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
  await client.auth.reauthenticate.mutate({ password: admin.password });
});
afterAll(async () => {
  await t?.close();
});

describe('flatten', () => {
  it('a trade key closes every position at market and cancels working orders; a retry places nothing more', async () => {
    quotes();
    await place({ quantity: '0.3' });
    await place({ symbol: 'ETH-USD', side: 'sell', quantity: '2' });
    await settle();
    // A resting bid that would add to the long: flatten cancels it.
    const resting = await place({ orderType: 'limit', limitPrice: '40000', quantity: '0.1' });
    const { key } = await client.keys.create.mutate({ name: 'flatten-bot', scopes: ['trade'] });
    const bot = makeClient(t.url, { origin: null, bearer: key });
    const flatKey = randomUUID();
    const r = await bot.positions.flatten.mutate({ idempotencyKey: flatKey });
    expect(r.cancelled.map((o) => o.id)).toEqual([resting.id]);
    expect(r.closing.map((o) => [o.symbol, o.side, o.quantity, o.orderType, o.origin])).toEqual([
      ['BTC-USD', 'sell', '0.3', 'market', 'api'],
      ['ETH-USD', 'buy', '2', 'market', 'api'],
    ]);
    // Retried before the closing orders settle, or after: nothing is closed twice.
    const again = await bot.positions.flatten.mutate({ idempotencyKey: flatKey });
    expect(again.closing.every((o) => r.closing.some((c) => c.id === o.id))).toBe(true);
    await settle();
    const positions = await client.positions.list.query();
    expect(positions.filter((p) => Number(p.quantity) !== 0)).toEqual([]);
    const third = await bot.positions.flatten.mutate({ idempotencyKey: randomUUID() });
    expect(third.closing).toEqual([]);
    // Audited with the key's name through the order detail's actors.
    const detail = await client.orders.detail.query({ id: r.closing[0]!.id });
    expect(detail.originText).toBe(`API, key flatten-bot (${adminName})`);
    expect(detail.audit.map((a) => [a.action, a.actor.name])).toContainEqual([
      'orders.place',
      `key flatten-bot (${adminName})`,
    ]);
  });

  it('works while the desk is halted (closing is risk-reducing); a read key cannot flatten', async () => {
    quotes();
    await place({ quantity: '0.2' });
    await settle();
    await client.halt.engage.mutate({ scope: 'desk', reason: 'drill' });
    try {
      const opening = await place({ quantity: '0.1' });
      expect(opening.status).toBe('denied');
      const r = await client.positions.flatten.mutate({ idempotencyKey: randomUUID(), symbols: ['BTC-USD'] });
      expect(r.closing.map((o) => [o.side, o.quantity, o.status])).toEqual([['sell', '0.2', 'pending_new']]);
      await settle();
      const { key } = await client.keys.create.mutate({ name: 'reader', scopes: ['read'] });
      const reader = makeClient(t.url, { origin: null, bearer: key });
      const refused = await failure(reader.positions.flatten.mutate({ idempotencyKey: randomUUID() }));
      expect(refused.data?.httpStatus).toBe(403);
    } finally {
      await client.halt.release.mutate({ scope: 'desk' });
    }
  });

  it('refuses bad input by field and writes nothing', async () => {
    const before = await t.owner<{ n: number }[]>`select count(*)::int as n from orders`;
    const bad = await failure(
      client.positions.flatten.mutate({ idempotencyKey: 'x', symbols: ['BTC USD'] } as never),
    );
    expect(bad.data?.httpStatus).toBe(400);
    expect(bad.message).toMatch(/idempotencyKey|symbols/);
    const after = await t.owner<{ n: number }[]>`select count(*)::int as n from orders`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe('order detail', () => {
  it('an approved agent proposal: timeline, fill, origin with the approver by name, audit rows', async () => {
    quotes();
    const proposalId = randomUUID();
    await t.owner`insert into proposals ${t.owner({
      id: proposalId,
      tenant_id: deskId,
      symbol: 'BTC-USD',
      side: 'buy',
      quantity: '0.05',
      order_type: 'market',
      time_horizon: 'hours',
      confidence: 0.7,
      risk_score: 30,
      rationale: t.owner.json({ marketContext: 'm', signalEvidence: 's', riskView: 'r', lessonsApplied: [] }),
      decider: 'rules',
      expires_at: new Date(Date.now() + 300_000),
    } as never)}`;
    const approved = await client.approvals.approve.mutate({ proposalId });
    const id = approved.order!.id;
    await settle();
    const d = await client.orders.detail.query({ id });
    expect(d.originText).toBe(`agent proposal, approved by ${adminName}`);
    expect(d.proposal?.approvedBy?.name).toBe(adminName);
    expect(d.events.map((e) => [e.fromStatus, e.toStatus])).toEqual([
      [null, 'pending_new'],
      ['pending_new', 'new'],
      ['new', 'filled'],
    ]);
    expect(d.fills).toHaveLength(1);
    // An allowed order carries the governor's verdict too: every rule it passed, none denied.
    expect(d.verdicts?.length).toBeGreaterThan(0);
    expect(d.verdicts?.every((v) => v.status !== 'failed')).toBe(true);
    expect(d.verdicts?.some((v) => v.status === 'passed')).toBe(true);
    expect(d.audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['proposals.approve', 'orders.place']),
    );
    expect(d.audit.every((a) => !a.actor.name.includes(':'))).toBe(true);
    // Viewers (a read key) see the order but not its audit rows.
    const { key } = await client.keys.create.mutate({ name: 'viewer', scopes: ['read'] });
    const viewer = makeClient(t.url, { origin: null, bearer: key });
    const seen = await viewer.orders.detail.query({ id });
    expect(seen.events).toHaveLength(3);
    expect(seen.audit).toEqual([]);
  });

  it('another desk’s order id reads as not found', async () => {
    const [other] = await t.owner<
      { id: string }[]
    >`insert into tenants (name, slug) values ('Other desk', 'other-desk') returning id`;
    const [o] = await t.owner<{ id: string }[]>`
      insert into orders (tenant_id, client_order_id, symbol, side, order_type, time_in_force, quantity, status, origin)
      values (${other!.id}, 'other-1', 'BTC-USD', 'buy', 'market', 'day', '1', 'denied', 'human') returning id`;
    expect((await failure(client.orders.detail.query({ id: o!.id }))).data?.httpStatus).toBe(404);
  });
});

describe('reports', () => {
  it('P&L by instrument and by day agree with the positions, the blotter lists every fill, CSV exports match', async () => {
    const byInstrument = await client.reports.pnlByInstrument.query();
    const positions = await client.positions.list.query();
    expect(byInstrument.map((r) => [r.symbol, r.realizedPnl, r.fees])).toEqual(
      positions.map((p) => [p.symbol, p.realizedPnl, p.fees]),
    );
    const days = await client.reports.pnlByDay.query({});
    const realized = days.reduce((s, d) => s + Number(d.realizedPnl), 0);
    const fromPositions = positions.reduce((s, p) => s + Number(p.realizedPnl), 0);
    expect(realized).toBeCloseTo(fromPositions, 6);
    const [n] = await t.owner<
      { n: number }[]
    >`select count(*)::int as n from fills where tenant_id = ${deskId}`;
    const blotter = await client.reports.blotter.query({ range: {}, limit: 1000 });
    expect(blotter).toHaveLength(n!.n);
    expect(days.reduce((s, d) => s + d.fills, 0)).toBe(n!.n);

    const fills = await client.reports.export.query({ kind: 'fills', range: {} });
    const lines = fills.csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'time,symbol,side,quantity,price,notional,fee,liquidity,order_id,client_order_id,order_type,origin,account,execution_id',
    );
    expect(lines).toHaveLength(n!.n + 1);
    expect(fills.filename).toMatch(/^aegis-fills-\d{4}-\d{2}-\d{2}-\d{6}\.csv$/);
    const orders = await client.reports.export.query({ kind: 'orders', range: { symbol: 'ETH-USD' } });
    expect(orders.csv.split('\r\n')[1]).toContain(',ETH-USD,');
    const pos = await client.reports.export.query({ kind: 'positions', range: {} });
    expect(pos.rows).toBe(positions.length);
  });

  it('refuses a reversed range naming the field', async () => {
    const bad = await failure(
      client.reports.pnlByDay.query({ from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' }),
    );
    expect(bad.data?.httpStatus).toBe(400);
    expect(bad.message).toMatch(/to/);
  });
});
