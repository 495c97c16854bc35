/**
 * Execution through the real server (HTTP tRPC, real PostgreSQL as the app role with RLS, real
 * Redis): every risk rule as a denial with its numbers, idempotent placement, paper fills,
 * P&L, limits, and the halt (reauth, cancels, restart, Redis unreachable).
 *
 * One file: every risk rule, placement path and halt case is checked through the same server, desk
 * and reset; the rule table is data, not separate tests to split.
 */
import { randomUUID } from 'node:crypto';
import type { TenantId } from '@aegis/shared/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRuntime } from '../../src/execution/runtime.ts';
import { streamingClient } from './decisions-support.ts';
import { clearTrading, PROTECTIVE_LIMITS } from './support/desk-limits.ts';
import { placeOrder, testExecution } from './support/test-execution.ts';
import { waitUntil } from './support/wait.ts';
import { type Client, failure, makeClient, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let admin: Awaited<ReturnType<typeof signIn>>;
let client: Client;
let deskId: TenantId;
const ex = (s: { server: TestServer['server'] } = t): ExecutionRuntime => s.server.deps.execution!;
const now = () => new Date();

const execOptions = testExecution({
  outboxIntervalMs: 200,
  paper: { seed: 3, slippageBps: '5' },
});

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null, execution: execOptions });
  admin = await signIn(t.url, t.admin.email, t.admin.password);
  client = admin.client;
  deskId = t.admin.deskId;
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status) values
    ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active'),
    ('ETH-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active'),
    ('SOL-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active'),
    ('HALT-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'halted'),
    ('LSE-ONLY', 'XLON', 'equity', '0.01', '1', 'XLON', 'active')`;
  const [btc] = await t.owner`select id from instruments where symbol = 'BTC-USD'`;
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, multiplier, calendar, underlying_id, option_right, strike, expiry, greeks)
    values ('BTC-C60000', 'X', 'option', '0.01', '1', '1', '24x7', ${btc!.id}, 'call', '60000', '2026-12-25', ${t.owner.json({ delta: 0.5 })})`;
  await client.auth.reauthenticate.mutate({ password: admin.password });
});
afterAll(async () => {
  await t?.close();
});

const quotes = (s: { server: TestServer['server'] } = t) => {
  const q = ex(s).quotes;
  q.setQuote('BTC-USD', '50000', '50010', '10', '10', now());
  q.setQuote('ETH-USD', '3000', '3001', '100', '100', now());
  q.setQuote('SOL-USD', '100', '100.02', '1000', '1000', now());
  q.setQuote('HALT-USD', '10', '10.01', '10', '10', now());
  q.setQuote('LSE-ONLY', '10', '10.01', '10', '10', now());
  q.setQuote('BTC-C60000', '1000', '1010', '10', '10', now());
};

const place = (order: Record<string, unknown>, key = randomUUID(), c: Client = client) =>
  placeOrder(c, order, key);

async function reset() {
  // Let the previous test's broker work finish first, so nothing lands after the cleanup.
  await ex().dispatcher.dispatchTenant(deskId);
  await ex().brokers.drain();
  await clearTrading(t.owner);
  ex().brokers.close();
  quotes();
  // Explicit desk limits: money limits wide enough for whole-coin orders (one BTC is already the
  // platform's default order notional), and the protective rules removed, so each test turns on
  // only the rule it probes.
  await client.risk.limits.set.mutate({
    symbol: '*',
    maxOrderNotional: '10000000',
    maxGrossExposure: '100000000',
    maxNetExposure: '100000000',
    maxNetDelta: '100000000',
    maxDailyLoss: '10000000',
  });
  for (const field of PROTECTIVE_LIMITS) {
    await client.risk.limits.remove.mutate({ symbol: '*', field });
  }
}

describe('orders through the server', () => {
  it('places idempotently, fills at the paper broker, shows positions and P&L', async () => {
    await reset();
    const key = randomUUID();
    const a = await place({ quantity: '0.5' }, key);
    const b = await place({ quantity: '0.5' }, key);
    expect(b.id).toBe(a.id);
    const conflict = await failure(place({ quantity: '0.6' }, key));
    expect(conflict.data?.code).toBe('CONFLICT');
    const filled = await waitUntil(
      () => client.orders.get.query({ id: a.id }),
      (r) => r.order.status === 'filled',
      'fill',
    );
    expect(filled.fills.map((f) => [f.quantity, f.price])).toEqual([['0.5', '50010']]);
    // A plain allowed order keeps the governor's verdict too: each rule it passed and its limit.
    const detail = await client.orders.detail.query({ id: a.id });
    expect(detail.verdicts?.length).toBeGreaterThan(0);
    expect(detail.verdicts?.every((v) => v.status !== 'failed')).toBe(true);
    expect(detail.verdicts).toContainEqual(
      expect.objectContaining({ rule: 'order_notional', status: 'passed', limit: '10000000' }),
    );
    const positions = await client.positions.list.query();
    expect(positions).toMatchObject([
      { symbol: 'BTC-USD', quantity: '0.5', avgCost: '50010', mark: '50005', unrealizedPnl: '-2.5' },
    ]);
    const pnl = await client.pnl.summary.query();
    expect(pnl).toMatchObject({
      accounting: 'average_cost',
      realizedPnl: '0',
      unrealizedPnl: '-2.5',
      netPnl: '-2.5',
    });
    const series = await client.equity.series.query({ limit: 10 });
    expect(series.at(-1)).toMatchObject({ reason: 'fill' });
    const list = await client.orders.list.query({ status: 'terminal', limit: 10 });
    expect(list.map((o) => o.id)).toContain(a.id);
  });

  it('limit partial fill, IOC and FOK through the server', async () => {
    await reset();
    const lim = await place({
      symbol: 'ETH-USD',
      orderType: 'limit',
      limitPrice: '3001',
      quantity: '150',
      timeInForce: 'gtc',
    });
    await waitUntil(
      () => client.orders.get.query({ id: lim.id }),
      (r) => r.order.status === 'partially_filled',
      'partial',
    );
    ex().quotes.setQuote('SOL-USD', '100', '100.02', '1000', '1000', now());
    const ioc = await place({
      symbol: 'SOL-USD',
      orderType: 'limit',
      limitPrice: '100.02',
      quantity: '1500',
      timeInForce: 'ioc',
    });
    const fok = await place({
      symbol: 'SOL-USD',
      side: 'sell',
      orderType: 'limit',
      limitPrice: '100',
      quantity: '1001',
      timeInForce: 'fok',
    });
    const i = await waitUntil(
      () => client.orders.get.query({ id: ioc.id }),
      (r) => r.order.status === 'cancelled',
      'ioc',
    );
    expect(i.order.filledQuantity).toBe('1000');
    const f = await waitUntil(
      () => client.orders.get.query({ id: fok.id }),
      (r) => r.order.status === 'cancelled',
      'fok',
    );
    expect(f.order.filledQuantity).toBe('0');
    const c = await client.orders.cancel.mutate({ orderId: lim.id });
    expect(c.status).toBe('pending_cancel');
    await waitUntil(
      () => client.orders.get.query({ id: lim.id }),
      (r) => r.order.status === 'cancelled',
      'cancel',
    );
  });

  it('concurrent placements: one order per idempotency key, no pool exhaustion', async () => {
    await reset();
    const key = randomUUID();
    const same = await Promise.all(Array.from({ length: 8 }, () => place({ quantity: '0.01' }, key)));
    expect(new Set(same.map((o) => o.id)).size).toBe(1);
    // more concurrent requests than the request pool has connections (5 in tests)
    const many = await Promise.all(
      Array.from({ length: 16 }, (_, i) => place({ quantity: ((i + 1) / 1000).toFixed(3) })),
    );
    expect(many.every((o) => o.status !== 'denied')).toBe(true);
    const [n] = await t.owner`select count(*)::int as n from orders`;
    expect(n!.n).toBe(17);
  });

  it('risk.check is a dry run with every rule', async () => {
    await reset();
    const r = await client.risk.check.query({
      symbol: 'BTC-USD',
      side: 'buy',
      orderType: 'market',
      timeInForce: 'day',
      quantity: '1',
    });
    expect(r.allowed).toBe(true);
    expect(r.verdicts.length).toBe(17);
    expect((await client.orders.list.query({ status: 'all', limit: 10 })).length).toBe(0);
  });
});

describe('every risk rule denies through the server, with its numbers', () => {
  const cases: {
    name: string;
    limits?: Record<string, unknown>;
    setup?: () => Promise<void>;
    order: Record<string, unknown>;
    code: string;
    inside?: Record<string, unknown>;
  }[] = [
    {
      name: 'max order qty',
      limits: { maxOrderQty: '1' },
      order: { quantity: '1.0001' },
      inside: { quantity: '1' },
      code: 'MAX_ORDER_QTY',
    },
    {
      name: 'max order notional',
      limits: { maxOrderNotional: '5001' },
      order: { quantity: '0.1001' },
      inside: { quantity: '0.1' },
      code: 'MAX_ORDER_NOTIONAL',
    },
    {
      name: 'max position',
      limits: { maxPosition: '0.5' },
      order: { quantity: '0.51' },
      inside: { quantity: '0.5' },
      code: 'MAX_POSITION',
    },
    {
      name: 'max gross exposure',
      limits: { maxGrossExposure: '10001' },
      order: { quantity: '0.2001' },
      inside: { quantity: '0.2' },
      code: 'MAX_GROSS_EXPOSURE',
    },
    {
      name: 'max net exposure',
      limits: { maxNetExposure: '10001' },
      order: { quantity: '0.2001' },
      inside: { quantity: '0.2' },
      code: 'MAX_NET_EXPOSURE',
    },
    {
      name: 'max net delta (option: 0.5 × 1 × 50005 per contract)',
      limits: { maxNetDelta: '50005' },
      order: { symbol: 'BTC-C60000', orderType: 'limit', limitPrice: '1010', quantity: '3' },
      inside: { symbol: 'BTC-C60000', orderType: 'limit', limitPrice: '1010', quantity: '2' },
      code: 'MAX_NET_DELTA',
    },
    {
      name: 'max open legs',
      limits: { maxOpenLegs: 1 },
      setup: async () => {
        await place({
          symbol: 'ETH-USD',
          orderType: 'limit',
          limitPrice: '2000',
          quantity: '1',
          timeInForce: 'gtc',
        });
      },
      order: { quantity: '0.1' },
      inside: {
        symbol: 'ETH-USD',
        orderType: 'limit',
        limitPrice: '2001',
        quantity: '1',
        timeInForce: 'gtc',
      },
      code: 'MAX_OPEN_LEGS',
    },
    {
      name: 'max daily loss',
      limits: { maxDailyLoss: '1000' },
      setup: async () => {
        // Yesterday's close had 1000 more realized P&L than now: today's loss is 1000.
        await t.owner`insert into equity_snapshots (tenant_id, ts, equity, cash, realized_pnl, unrealized_pnl, fees, gross_exposure, net_exposure, reason)
          values (${deskId}, now() - interval '2 days', '1001000', '1001000', '1000', '0', '0', '0', '0', 'interval')`;
      },
      order: { quantity: '0.1' },
      code: 'MAX_DAILY_LOSS',
    },
    {
      name: 'stale reference price',
      limits: { maxReferenceAgeMs: 1000 },
      setup: async () => {
        await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size) values ('STALE-USD', 'X', 'crypto', '0.01', '0.01') on conflict do nothing`;
        ex().quotes.setQuote('STALE-USD', '100', '100.02', '1000', '1000', new Date(Date.now() - 5000));
      },
      order: { symbol: 'STALE-USD', quantity: '1' },
      inside: { symbol: 'SOL-USD', quantity: '1' },
      code: 'STALE_REFERENCE_PRICE',
    },
    {
      name: 'price collar',
      limits: { priceCollarBps: 100 },
      order: { orderType: 'limit', limitPrice: '50506', timeInForce: 'gtc' },
      inside: { orderType: 'limit', limitPrice: '50505', timeInForce: 'gtc' },
      code: 'PRICE_OUTSIDE_COLLAR',
    },
    // BTC 50000 × 50010 is 2.0 bps wide, ETH 3000 × 3001 is 3.3 bps
    {
      name: 'spread guard',
      limits: { maxSpreadBps: 2 },
      order: { symbol: 'ETH-USD', quantity: '1' },
      inside: { quantity: '0.1' },
      code: 'SPREAD_TOO_WIDE',
    },
    {
      name: 'market hours (no calendar for XLON)',
      order: { symbol: 'LSE-ONLY', quantity: '1' },
      code: 'UNKNOWN_CALENDAR',
    },
    {
      name: 'restricted instrument',
      limits: { restricted: true },
      order: { quantity: '0.1' },
      code: 'INSTRUMENT_RESTRICTED',
    },
    { name: 'halted instrument', order: { symbol: 'HALT-USD', quantity: '1' }, code: 'INSTRUMENT_HALTED' },
    {
      name: 'duplicate order',
      limits: { duplicateWindowMs: 60_000 },
      setup: async () => {
        await place({ quantity: '0.123' });
      },
      order: { quantity: '0.123' },
      inside: { quantity: '0.124' },
      code: 'DUPLICATE_ORDER',
    },
    {
      name: 'order rate throttle',
      limits: { maxOrdersPerMinute: 2 },
      setup: async () => {
        await place({ quantity: '0.01' });
        await place({ quantity: '0.02' });
      },
      order: { quantity: '0.03' },
      code: 'ORDER_RATE_EXCEEDED',
    },
    {
      name: 'circuit breaker / automation disabled (API-key orders are automated)',
      setup: async () => {
        await t.owner`insert into agent_settings (tenant_id, automation_enabled, automation_disabled_reason) values (${deskId}, false, 'test')`;
      },
      order: { quantity: '0.1' },
      code: 'AUTOMATION_DISABLED',
    },
    {
      name: 'halt',
      setup: async () => {
        await client.halt.engage.mutate({ scope: 'desk', reason: 'rule test' });
      },
      order: { quantity: '0.1' },
      code: 'DESK_HALT',
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      await reset();
      if (c.limits) await client.risk.limits.set.mutate({ symbol: '*', ...c.limits } as never);
      await c.setup?.();
      let placer = client;
      if (c.code === 'AUTOMATION_DISABLED') {
        const { key } = await client.keys.create.mutate({
          name: `bot ${randomUUID().slice(0, 6)}`,
          scopes: ['trade'],
        });
        const { makeClient } = await import('./test-server.ts');
        placer = makeClient(t.url, { bearer: key, origin: null });
      }
      if (c.inside) expect((await place(c.inside)).status).not.toBe('denied');
      const o = await place(c.order, randomUUID(), placer);
      expect(o.status).toBe('denied');
      const failed = o.denial!.filter((v) => !v.passed);
      expect(failed.map((v) => v.code)).toContain(c.code);
      const v = failed.find((x) => x.code === c.code)!;
      expect(v.rule).toBeTruthy();
      if (c.limits && !('restricted' in c.limits)) expect(v.limit).toBeDefined();
    });
  }
});

describe('halt through the server', () => {
  it('needs a recent password re-entry and an engage cancels every working order', async () => {
    await reset();
    const orders = await Promise.all(
      [1, 2, 3].map((i) => place({ orderType: 'limit', limitPrice: String(40000 + i), timeInForce: 'gtc' })),
    );
    for (const o of orders)
      await waitUntil(
        () => client.orders.get.query({ id: o.id }),
        (r) => r.order.status === 'new',
        'accepted',
      );
    // a fresh session without reauth is refused
    const fresh = await signIn(t.url, t.admin.email, admin.password);
    const denied = await failure(fresh.client.halt.engage.mutate({ scope: 'desk', reason: 'x' }));
    expect(denied.data?.details).toMatchObject({ reason: 'reauth_required' });
    const r = await client.halt.engage.mutate({ scope: 'desk', reason: 'drill' });
    expect(r.cancelsQueued).toBe(3);
    for (const o of orders)
      await waitUntil(
        () => client.orders.get.query({ id: o.id }),
        (x) => x.order.status === 'cancelled',
        'cancelled',
      );
    expect((await client.halt.status.query()).halted).toBe(true);
    const [audit] =
      await t.owner`select count(*)::int as n from audit_log where action in ('halt.engage', 'halt.cancel_all')`;
    expect(audit!.n).toBeGreaterThanOrEqual(2);
  });

  it('a script halts with a trade-scoped API key (audited with the key name); releasing stays human', async () => {
    await reset();
    const keyClient = (key: string) => makeClient(t.url, { origin: null, bearer: key });
    const trade = await client.keys.create.mutate({ name: 'ci-halt-bot', scopes: ['read', 'trade'] });
    const read = await client.keys.create.mutate({ name: 'dashboards', scopes: ['read'] });
    // A read-only key is refused for want of the scope, named in the error.
    const noScope = await failure(keyClient(read.key).halt.engage.mutate({ reason: 'x' }));
    expect(noScope.data?.details).toMatchObject({ reason: 'scope', permission: 'halt.engage' });
    const r = await keyClient(trade.key).halt.engage.mutate({ reason: 'volatility drill' });
    expect(r.state.desk.engaged).toBe(true);
    const [row] = await t.owner<{ details: string; actor_type: string }[]>`
      select details, actor_type from audit_log where action = 'halt.engage' order by id desc limit 1`;
    expect(row!.actor_type).toBe('api_key');
    expect(row!.details).toContain('API key "ci-halt-bot"');
    expect(row!.details).toContain('volatility drill');
    // The key cannot lift it: releasing needs a person who re-entered the password.
    const release = await failure(keyClient(trade.key).halt.release.mutate({}));
    expect(release.data?.details).toMatchObject({ reason: 'human_only' });
    expect((await client.halt.status.query()).desk.engaged).toBe(true);
    await client.halt.release.mutate({ scope: 'desk' });
  });

  it('a desk release cannot lift the global halt; the halt survives a server restart', async () => {
    await reset();
    await client.halt.engage.mutate({ scope: 'global', reason: 'platform drill' });
    await client.halt.engage.mutate({ scope: 'desk', reason: 'desk drill' });
    const s = await client.halt.release.mutate({ scope: 'desk' });
    expect(s).toMatchObject({ halted: true, global: { engaged: true }, desk: { engaged: false } });

    // restart: a second server process on the same database
    const second = await startTestServerOn(t);
    try {
      const c2 = (await signIn(second.url, t.admin.email, admin.password)).client;
      expect((await c2.halt.status.query()).global.engaged).toBe(true);
      quotes(second);
      const o = await place({ quantity: '0.1' }, randomUUID(), c2);
      expect(o.denial?.find((v) => !v.passed)?.code).toBe('GLOBAL_HALT');
    } finally {
      await second.close();
    }
    await client.halt.release.mutate({ scope: 'global' });
    expect((await client.halt.status.query()).halted).toBe(false);
  });

  it('holds with Redis unreachable (server pointed at a closed port)', async () => {
    await reset();
    const dead = await startTestServerOn(t, { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const c = (await signIn(dead.url, t.admin.email, admin.password)).client;
      await c.auth.reauthenticate.mutate({ password: admin.password });
      quotes(dead);
      const r = await c.halt.engage.mutate({ scope: 'desk', reason: 'redis down' });
      expect(r.state.halted).toBe(true);
      const o = await place({ quantity: '0.1' }, randomUUID(), c);
      expect(o.denial?.find((v) => !v.passed)?.code).toBe('DESK_HALT');
      const reducing = await place({ side: 'sell', quantity: '0.1' }, randomUUID(), c);
      expect(reducing.denial?.find((v) => !v.passed)?.code).toBe('DESK_HALT'); // flat: selling is not reducing
    } finally {
      await dead.close();
    }
    await client.halt.release.mutate({ scope: 'desk' });
  });
});

/** Another server process on the same database (restart / different config). */
async function startTestServerOn(base: TestServer, env: Record<string, string> = {}) {
  const { createDb } = await import('@aegis/shared/db/client');
  const { createLogger } = await import('@aegis/shared/logging');
  const { loadServerConfig } = await import('../../src/env.ts');
  const { startServer } = await import('../../src/http.ts');
  const { MemoryLoginThrottle } = await import('../../src/auth/login-throttle.ts');
  const { TEST_REDIS_URL } = await import('@aegis/shared/testing/services');
  const config = loadServerConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVER_HOST: '127.0.0.1',
    SERVER_PORT: '0',
    DATABASE_URL: base.database.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    PUBLIC_ORIGIN: 'http://localhost:3000',
    ARGON2_MAX_CONCURRENCY: '2',
    ...env,
  });
  const db = createDb(base.database.appUrl, { max: 5 });
  const server = await startServer({
    config,
    log: createLogger({ name: 'second', level: 'silent' }),
    db,
    loginThrottle: new MemoryLoginThrottle(),
    rateLimiter: null,
    redisKeyPrefix: `aegis-test-2-${randomUUID().slice(0, 8)}`,
    execution: execOptions,
    // The signal consumer needs Redis to start; the halt must not.
    decisions: { consumeSignals: false },
  });
  return {
    server,
    url: server.url,
    async close() {
      await server.close();
      await db.close();
    },
  };
}

describe('live subscriptions (SSE)', () => {
  it('streams order updates, positions and halt state', async () => {
    await reset();
    const { key } = await client.keys.create.mutate({
      name: `sse ${randomUUID().slice(0, 6)}`,
      scopes: ['read'],
    });
    const sub = streamingClient(t.url, { bearer: key });
    const orderEvents: { id: string; status: string }[] = [];
    const positionEvents: { symbol: string; quantity: string }[][] = [];
    const haltEvents: boolean[] = [];
    const started = (n: number) => {
      let left = n;
      let done!: () => void;
      const p = new Promise<void>((r) => {
        done = r;
      });
      return { p, one: () => --left === 0 && done() };
    };
    const ready = started(3);
    const s1 = sub.orders.updates.subscribe(undefined, {
      onStarted: ready.one,
      onData: (d) => orderEvents.push(d.data),
    });
    const s2 = sub.positions.updates.subscribe(undefined, {
      onStarted: ready.one,
      onData: (d) => positionEvents.push(d.data),
    });
    const s3 = sub.halt.updates.subscribe(undefined, {
      onStarted: ready.one,
      onData: (d) => haltEvents.push(d.halted),
    });
    try {
      await ready.p;
      const o = await place({ quantity: '0.2' });
      await waitUntil(
        async () => orderEvents,
        (e) => e.some((x) => x.id === o.id && x.status === 'filled'),
        'filled event',
      );
      await waitUntil(
        async () => positionEvents,
        (e) => e.some((ps) => ps.some((p) => p.symbol === 'BTC-USD' && p.quantity === '0.2')),
        'position event',
      );
      await waitUntil(
        async () => haltEvents,
        (e) => e.length >= 1,
        'initial halt state',
      );
      expect(haltEvents[0]).toBe(false);
      await client.halt.engage.mutate({ scope: 'desk', reason: 'sse' });
      await waitUntil(
        async () => haltEvents,
        (e) => e.includes(true),
        'halt event',
      );
      await client.halt.release.mutate({ scope: 'desk' });
      await waitUntil(
        async () => haltEvents,
        (e) => e.at(-1) === false,
        'release event',
      );
    } finally {
      s1.unsubscribe();
      s2.unsubscribe();
      s3.unsubscribe();
    }
  });
});
