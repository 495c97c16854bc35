import { randomBytes, randomUUID } from 'node:crypto';
import { createBus } from '@aegis/shared/bus/index';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { publishVenuePrices } from '@aegis/shared/testing/venue-prices';
import { sql } from 'drizzle-orm';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseManager } from '../../src/execution/leases.ts';
import { createFirstAdminIfNone } from '../../src/provisioning/service.ts';
import { type ServerProcess, spawnServerProcess } from './support/child-server.ts';
import { insertDeskLimits, PROTECTIVE_LIMITS } from './support/desk-limits.ts';
import { type BrokerDouble, startBrokerDouble } from './support/dispatcher-broker-double.ts';
import { placeOrder } from './support/test-execution.ts';
import { until } from './support/wait.ts';
import { type Client, signIn } from './test-server.ts';

/**
 * One dispatcher per broker resource (docs/scale-out.md): leases in PostgreSQL, taken over within
 * seconds when the holder dies; two real server processes placing orders on one desk while the
 * one holding the dispatch lease is killed with SIGKILL mid-flow. What reached the broker is
 * counted at the broker (a real local HTTP broker double that outlives the processes): every
 * order exactly once, every fill applied once.
 */
const log = createLogger({ name: 'dispatcher-test', level: 'silent' });

let database: MigratedTestDatabase;
let owner: Sql;
let app: DatabaseHandle;
/** The first admin (createFirstAdminIfNone), who signs in to both servers. */
let firstAdmin: { email: string; password: string } | null = null;

beforeAll(async () => {
  database = await createMigratedTestDatabase('aegis_test_dispatch');
  owner = postgres(database.url, { max: 2, onnotice: () => {} });
  app = createDb(database.appUrl, { max: 4 });
});
afterAll(async () => {
  await app?.close();
  await owner?.end({ timeout: 5 });
  await database?.drop();
});

describe('dispatch leases', () => {
  it('one holder at a time; a dead holder is replaced once its lease expires, with a higher fencing token', async () => {
    const ttlMs = 1_500;
    // `a` never renews (a process that died or stalled right after taking the lease).
    const a = new LeaseManager(app.db, log, { ttlMs, renewMs: 3_600_000, holder: 'A' });
    const b = new LeaseManager(app.db, log, { ttlMs, renewMs: 300, holder: 'B' });
    try {
      const got = await a.acquire('paper:lease-test');
      expect(got?.lease.held).toBe(true);
      const taken = performance.now();
      expect(await b.acquire('paper:lease-test')).toBeNull();
      const lost: string[] = [];
      a.onLost((r) => lost.push(r));

      const byB = await until('B takes the lease', () => b.acquire('paper:lease-test'), 20_000);
      const takeoverMs = performance.now() - taken;
      process.stderr.write(`dispatch lease takeover after ${Math.round(takeoverMs)} ms (TTL ${ttlMs} ms)\n`);
      expect(byB.takeover).toBe(true);
      expect(byB.lease.token).toBe(got!.lease.token + 1);
      // The dead holder's own view: no longer held (it stopped before B could start).
      expect(got!.lease.held).toBe(false);
      expect(() => got!.lease.assertHeld()).toThrow(/not held/);
      // Its renewal is refused and reported.
      await a.renew();
      expect(lost).toEqual(['paper:lease-test']);
      // A fenced write with A's token matches nothing.
      const [row] = await app.db.execute<{ holder: string; token: string }>(
        sql`select holder, fencing_token::text as token from execution_leases where resource = 'paper:lease-test'`,
      );
      expect(row).toEqual({ holder: 'B', token: String(byB.lease.token) });

      // A clean release hands it over at once (no TTL to wait out).
      await b.release('paper:lease-test');
      const again = await a.acquire('paper:lease-test');
      expect(again?.lease.token).toBe(byB.lease.token + 1);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

type Child = ServerProcess;
const spawnServer = (env: Record<string, string>): Child =>
  spawnServerProcess('server/tests/integration/support/dispatcher-server.ts', env);

describe('two server processes, the dispatch lease holder killed mid-flow', () => {
  let double: BrokerDouble;
  const children: Child[] = [];
  const byHolder = new Map<string, Child>();
  let deskId: string;
  let connectionId: string;
  const redisPrefix = `aegis-test-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    double = await startBrokerDouble();
    double.setPrice('BTC-USD', '50000');
    double.placeDelayMs = 40;
    const admin = await createFirstAdminIfNone(app.db);
    if (!admin) throw new Error('first admin not created');
    deskId = admin.deskId;
    firstAdmin = admin;
    await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
      values ('BTC-USD', 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
    await insertDeskLimits(owner, deskId, { max_position: '1000' }, PROTECTIVE_LIMITS);
    // A desk-configured OAuth broker whose trading API speaks the double's protocol.
    const [provider] = await owner<{ id: string }[]>`
      insert into oauth_providers (tenant_id, slug, name, authorization_url, token_url, client_id, api_base_url, api_protocol)
      values (${deskId}, 'double', 'Broker double', ${`${double.url}/authorize`}, ${`${double.url}/token`}, 'client', ${double.url}, 'test-http')
      returning id`;
    const [conn] = await owner<{ id: string }[]>`
      insert into broker_connections (tenant_id, provider, provider_config_id, account_ref, environment, link_kind, status)
      values (${deskId}, 'oauth:double', ${provider!.id}, 'ACC1', 'paper', 'oauth', 'active') returning id`;
    connectionId = conn!.id;
    // The venue price every server reads at start (as the engine publishes it).
    const bus = createBus({ redisUrl: TEST_REDIS_URL, log });
    await publishVenuePrices(bus, `${redisPrefix}:`, [
      { venue: 'X', instrument: 'BTC-USD', bid: '50000', ask: '50010', last: '50005', ts: new Date() },
    ]);
    await bus.close();
  });
  afterAll(async () => {
    for (const c of children)
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await double?.close();
  });

  const env = () => ({
    DATABASE_URL: database.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    BROKER_URL: double.url,
    LEASE_TTL_MS: '3000',
    LEASE_RENEW_MS: '500',
  });
  /** The admin's password once the first sign-in changed it. */
  let password = '';
  let survivorUrl = '';

  it('every order reaches the broker exactly once and every fill is applied once', async () => {
    const a = spawnServer({ ...env(), HOLDER_ID: 'A' });
    children.push(a);
    byHolder.set('A', a);
    const urlA = await a.url;
    const b = spawnServer({ ...env(), HOLDER_ID: 'B' });
    children.push(b);
    byHolder.set('B', b);
    const urlB = await b.url;
    const admin = firstAdmin!;
    const sa = await signIn(urlA, admin.email, admin.password);
    const sb = await signIn(urlB, admin.email, sa.password);
    password = sa.password;
    const clients: Record<'A' | 'B', Client> = { A: sa.client, B: sb.client };

    let n = 0;
    const place = (via: 'A' | 'B') => {
      n++;
      return placeOrder(clients[via], { quantity: (0.001 * n).toFixed(3), brokerConnectionId: connectionId });
    };

    // The first order decides who holds the connection's lease.
    const first = await place('A');
    expect(first.broker).toBe('oauth:double');
    await until('the first order filled', async () => {
      const [o] = await owner<{ status: string }[]>`select status from orders where id = ${first.id}`;
      return o?.status === 'filled';
    });
    const [lease] = await owner<{ holder: string; token: string }[]>`
      select holder, fencing_token::text as token from execution_leases where resource = ${`connection:${connectionId}`}`;
    const holder = lease!.holder as 'A' | 'B';
    const survivor: 'A' | 'B' = holder === 'A' ? 'B' : 'A';
    const victim = holder === 'A' ? a : b;
    survivorUrl = holder === 'A' ? urlB : urlA;

    // Orders through both servers; the holder dies with orders committed, claimed and in flight.
    const placed: string[] = [first.id];
    const round = async (via: ('A' | 'B')[]) => {
      const rs = await Promise.allSettled(via.map((v) => place(v)));
      for (const r of rs) if (r.status === 'fulfilled') placed.push(r.value.id);
    };
    for (let i = 0; i < 4; i++) await round(['A', 'B', 'A', 'B']);
    const inFlight = round(['A', 'B', 'A', 'B', 'A', 'B']);
    await until(
      'a placement in flight at the broker',
      async () => {
        const [r] = await owner<{ n: number }[]>`
        select count(*)::int as n from outbox where dispatched_at is null and attempts > 0`;
        return r!.n > 0;
      },
      20_000,
    ).catch(() => null);
    victim.proc.kill('SIGKILL');
    const killedAt = performance.now();
    await victim.exited;
    await inFlight;
    // The survivor carries on alone.
    for (let i = 0; i < 3; i++) await round([survivor, survivor, survivor]);

    const takenOver = await until('the survivor holds the lease', async () => {
      const [l] = await owner<{ holder: string; token: string }[]>`
        select holder, fencing_token::text as token from execution_leases where resource = ${`connection:${connectionId}`}`;
      return l?.holder === survivor ? l : null;
    });
    const takeoverMs = performance.now() - killedAt;
    process.stderr.write(
      `connection lease taken over ${Math.round(takeoverMs)} ms after SIGKILL (TTL 3000 ms)\n`,
    );
    expect(Number(takenOver.token)).toBeGreaterThan(Number(lease!.token));

    // Every order committed (by either process, before or after the kill) ends filled.
    const orders = await until('every order filled', async () => {
      const os = await owner<{ id: string; client_order_id: string; status: string; quantity: string }[]>`
        select id, client_order_id, status, quantity::text as quantity from orders where tenant_id = ${deskId}`;
      return os.length > 0 && os.every((o) => o.status === 'filled') ? os : null;
    });
    for (const id of placed) expect(orders.some((o) => o.id === id)).toBe(true);
    expect(orders.length).toBeGreaterThanOrEqual(placed.length);

    // At the broker: each order exactly once (one POST per client order id), nothing else.
    for (const o of orders)
      expect({ id: o.client_order_id, calls: double.placeCalls.get(o.client_order_id) }).toEqual({
        id: o.client_order_id,
        calls: 1,
      });
    expect(double.orders.size).toBe(orders.length);
    // Fills: one per order (the double fills a market order once), applied once.
    const fills = await owner<{ order_id: string; n: number }[]>`
      select order_id, count(*)::int as n from fills where tenant_id = ${deskId} group by order_id`;
    expect(fills.length).toBe(orders.length);
    for (const f of fills) expect(f.n).toBe(1);
    const total = orders.reduce((s, o) => s + Number(o.quantity), 0);
    const [pos] = await owner<{ quantity: string }[]>`
      select quantity::text as quantity from positions where tenant_id = ${deskId} and symbol = 'BTC-USD'`;
    expect(Number(pos!.quantity)).toBeCloseTo(total, 8);
    const [retried] = await owner<{ n: number; total: number }[]>`
      select count(*) filter (where attempts > 1)::int as n, count(*)::int as total from outbox`;
    process.stderr.write(
      `${orders.length} orders, ${retried!.n} of ${retried!.total} outbox rows sent again after the kill (looked up first)\n`,
    );
    // Nothing left to send.
    const [pending] = await owner<
      { n: number }[]
    >`select count(*)::int as n from outbox where dispatched_at is null`;
    expect(pending!.n).toBe(0);
  });

  it("the paper account's resting order survives its holder's death: the next holder fills it once", async () => {
    const c = spawnServer({ ...env(), HOLDER_ID: 'C' });
    children.push(c);
    byHolder.set('C', c);
    await c.url;
    const { client } = await signIn(survivorUrl, firstAdmin!.email, password);
    const resting = await client.orders.place.mutate({
      idempotencyKey: randomUUID(),
      order: {
        symbol: 'BTC-USD',
        side: 'buy',
        orderType: 'limit',
        limitPrice: '49000',
        timeInForce: 'gtc',
        quantity: '0.5',
      },
    });
    expect(resting.broker).toBe('paper');
    await until('resting at the paper broker', async () => {
      const [o] = await owner<{ status: string }[]>`select status from orders where id = ${resting.id}`;
      return o?.status === 'new';
    });
    const [lease] = await owner<{ holder: string; token: string }[]>`
      select holder, fencing_token::text as token from execution_leases where resource = ${`paper:${deskId}`}`;
    const victim = byHolder.get(lease!.holder)!;
    expect(victim.proc.exitCode).toBeNull();
    victim.proc.kill('SIGKILL');
    await victim.exited;
    const next = await until('another process holds the paper account', async () => {
      const [l] = await owner<{ holder: string; token: string }[]>`
        select holder, fencing_token::text as token from execution_leases where resource = ${`paper:${deskId}`}`;
      return l && l.holder !== lease!.holder && Number(l.token) > Number(lease!.token) ? l : null;
    });
    expect(next.holder).not.toBe(lease!.holder);

    // The market trades through the limit: the rebuilt account fills the order, once.
    const bus = createBus({ redisUrl: TEST_REDIS_URL, log });
    try {
      await until('the resting order filled by the new holder', async () => {
        await publishVenuePrices(bus, `${redisPrefix}:`, [
          {
            venue: 'X',
            instrument: 'BTC-USD',
            bid: '48980',
            ask: '48990',
            bidSize: '10',
            askSize: '10',
            last: '48985',
            ts: new Date(),
          },
        ]);
        const [o] = await owner<{ status: string }[]>`select status from orders where id = ${resting.id}`;
        return o?.status === 'filled';
      });
    } finally {
      await bus.close();
    }
    const fills = await owner<{ quantity: string; price: string }[]>`
      select quantity::text as quantity, price::text as price from fills where order_id = ${resting.id}`;
    expect(fills.reduce((q, f) => q + Number(f.quantity), 0)).toBeCloseTo(0.5, 8);
    for (const f of fills) expect(Number(f.price)).toBeLessThanOrEqual(49000);
  });

  it('a halt engaged through a server that does not hold the lease: the holder sends every cancel once', async () => {
    const d = spawnServer({ ...env(), HOLDER_ID: 'D' });
    children.push(d);
    byHolder.set('D', d);
    await d.url;
    const alive = [...byHolder.entries()].filter(
      ([, ch]) => ch.proc.exitCode === null && ch.proc.signalCode === null,
    );
    const urlOf = async (h: string) => byHolder.get(h)!.url;
    const [, first] = alive[0]!;
    const { client: placer } = await signIn(await first.url, firstAdmin!.email, password);
    const resting: { id: string; clientOrderId: string }[] = [];
    for (let i = 0; i < 3; i++)
      resting.push(
        await placer.orders.place.mutate({
          idempotencyKey: randomUUID(),
          order: {
            symbol: 'BTC-USD',
            side: 'buy',
            orderType: 'limit',
            limitPrice: '40000',
            timeInForce: 'gtc',
            quantity: (0.1 + i / 100).toFixed(2),
            brokerConnectionId: connectionId,
          },
        }),
      );
    await until('resting at the broker', async () => {
      const os = await owner<{ status: string }[]>`
        select status from orders where id in ${owner(resting.map((o) => o.id))}`;
      return os.every((o) => o.status === 'new');
    });
    const [lease] = await owner<{ holder: string }[]>`
      select holder from execution_leases where resource = ${`connection:${connectionId}`}`;
    const [notHolder] = alive.find(([h]) => h !== lease!.holder)!;
    const { client } = await signIn(await urlOf(notHolder), firstAdmin!.email, password);
    await client.auth.reauthenticate.mutate({ password });
    const engaged = await client.halt.engage.mutate({ scope: 'desk', reason: 'dispatch test' });
    expect(engaged.cancelsQueued).toBeGreaterThanOrEqual(3);
    await until('every resting order cancelled at the broker', async () => {
      const os = await owner<{ status: string }[]>`
        select status from orders where id in ${owner(resting.map((o) => o.id))}`;
      return os.every((o) => o.status === 'cancelled');
    });
    for (const o of resting) expect(double.cancelCalls.get(o.clientOrderId)).toBe(1);
    // The process that took the engage never held the connection: the holder sent them.
    const [still] = await owner<{ holder: string }[]>`
      select holder from execution_leases where resource = ${`connection:${connectionId}`}`;
    expect(still!.holder).not.toBe(notHolder);
    await client.halt.release.mutate({ scope: 'desk' });
  });
});
