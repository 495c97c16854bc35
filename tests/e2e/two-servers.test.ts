/**
 * Servers are stateless: two server processes (real OS processes, so one can be SIGKILLed)
 * behind a round-robin load balancer, one PostgreSQL and one Redis. Whatever replica answers,
 * sessions, API keys, rate limits, sign-in throttling, halts, live streams and approvals behave
 * the same; killing a replica mid-flow loses nothing (every accepted order reaches the paper
 * broker once, the client's retry with the same idempotency key gets the same order, live
 * streams resume on the other replica from their last event id). The console's forwarder is
 * shown in front of the load balancer once. Waits are "until it happens" with a cap, never a
 * timing assertion.
 *
 * Over 400 lines on purpose: every case runs against the same two replica processes, load
 * balancer, database and user, started once in beforeAll; split, each file would start its own
 * pair of server processes (the slow part) to ask one question.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBus } from '@aegis/shared/bus/index';
import type { Bus } from '@aegis/shared/bus/types';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { deleteRedisKeys } from '@aegis/shared/testing/redis-keys';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { publishVenuePrices } from '@aegis/shared/testing/venue-prices';
import { TRPCClientError } from '@trpc/client';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirstAdminIfNone } from '../../server/src/provisioning/service.ts';
import { engineSignal } from '../../server/tests/integration/decisions-support.ts';
import { insertDeskLimits, PROTECTIVE_LIMITS } from '../../server/tests/integration/support/desk-limits.ts';
import { placeOrder } from '../../server/tests/integration/support/test-execution.ts';
import { clusterClient, Events, Jar, type Replica, spawnReplica, until } from '../support/cluster.ts';
import { type RoundRobinProxy, startRoundRobinProxy } from '../support/round-robin-proxy.ts';

const log = createLogger({ name: 'two-servers-test', level: 'silent' });
const SYMBOL = 'BTC-USD';
const READ_LIMIT = 40;
const EQUITY_INTERVAL_MS = 1_000;
const A = 0;
const B = 1;

let database: MigratedTestDatabase;
let owner: Sql;
let app: DatabaseHandle;
let bus: Bus;
let lb: RoundRobinProxy;
const replicas: Replica[] = [];
const urls: string[] = [];
const prefix = `aegis-test-${randomBytes(6).toString('hex')}`;
let deskId = '';
let email = '';
let password = '';

async function prices(bid = '50000', ask = '50010') {
  await publishVenuePrices(bus, `${prefix}:`, [
    { venue: 'X', instrument: SYMBOL, bid, ask, bidSize: '50', askSize: '50', last: ask, ts: new Date() },
  ]);
}

/** Signs in through `url` (the load balancer or a replica); the jar carries the session. */
async function signIn(url: string, prefer: number | null = null) {
  const jar = new Jar();
  const client = clusterClient(url, { jar, prefer });
  await client.auth.login.mutate({ email, password });
  return { jar, client };
}

async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (e instanceof TRPCClientError)
      return e.data as { httpStatus?: number; appCode?: string | null; code?: string } | undefined;
    throw e;
  }
  throw new Error('expected the call to be refused');
}

beforeAll(async () => {
  database = await createMigratedTestDatabase('aegis_test_two_servers');
  owner = postgres(database.url, { max: 2, onnotice: () => {} });
  app = createDb(database.appUrl, { max: 2 });
  bus = createBus({ redisUrl: TEST_REDIS_URL, log });
  const admin = await createFirstAdminIfNone(app.db);
  if (!admin) throw new Error('first admin not created');
  deskId = admin.deskId;
  email = admin.email;
  await owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, status)
    values (${SYMBOL}, 'X', 'crypto', '0.01', '0.0001', '24x7', 'active')`;
  // Room for this file's orders: no collar/age/spread/duplicate/throttle rules in the way.
  await insertDeskLimits(owner, deskId, { max_position: '1000' }, PROTECTIVE_LIMITS);
  await prices();

  const env = {
    DATABASE_URL: database.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    LEASE_TTL_MS: '3000',
    LEASE_RENEW_MS: '500',
    RATE_LIMIT_READS: String(READ_LIMIT),
    RATE_LIMIT_MUTATIONS: '200',
    // Both replicas run the equity timer every second: one snapshot per interval between them.
    EQUITY_INTERVAL_MS: String(EQUITY_INTERVAL_MS),
  };
  // Both at once: neither is "the first" in any way the test relies on.
  replicas.push(spawnReplica('A', env), spawnReplica('B', env));
  urls.push(...(await Promise.all(replicas.map((r) => r.url))));
  lb = await startRoundRobinProxy(urls);

  // The first sign-in must change the generated password.
  const jar = new Jar();
  const c = clusterClient(urls[A]!, { jar });
  await c.auth.login.mutate({ email, password: admin.password });
  password = 'violet-harbor-tungsten-47';
  await c.auth.changePassword.mutate({ currentPassword: admin.password, newPassword: password });
}, 120_000);

afterAll(async () => {
  for (const r of replicas) if (r.alive()) r.proc.kill('SIGKILL');
  await Promise.all(replicas.map((r) => r.exited));
  await lb?.close();
  await bus?.deleteStream(`${prefix}:signals`).catch(() => {});
  await bus?.close();
  // This file's Redis keys (rate-limit windows, throttle counters, venue prices): by its prefix.
  await deleteRedisKeys(`${prefix}:*`);
  await app?.close();
  await owner?.end({ timeout: 5 });
  await database?.drop();
});

describe('two server replicas behind a load balancer', () => {
  it('a session made on one replica is good on the other; ended on one, it is refused by both at once', async () => {
    const { jar, client: onA } = await signIn(urls[A]!);
    const onB = clusterClient(urls[B]!, { jar });
    expect((await onB.auth.me.query()).user.email).toBe(email);
    // Through the load balancer: every call answered, by both replicas.
    const viaLb = clusterClient(lb.url, { jar });
    const before = [...lb.answered];
    for (let i = 0; i < 4; i++) expect((await viaLb.auth.me.query()).user.email).toBe(email);
    expect(lb.answered[A]! - before[A]!).toBe(2);
    expect(lb.answered[B]! - before[B]!).toBe(2);

    // Re-authenticated on B: the fresh re-authentication counts on A (a halt needs it).
    await onB.auth.reauthenticate.mutate({ password });
    const engaged = await onA.halt.engage.mutate({ scope: 'desk', reason: 'reauth on the other replica' });
    expect(engaged.state.desk.engaged).toBe(true);
    await onA.halt.release.mutate({ scope: 'desk' });

    // Signed out through A: B refuses the same cookie on its very next call.
    await onA.auth.logout.mutate();
    expect((await refusal(onB.auth.me.query()))?.httpStatus).toBe(401);
    expect((await refusal(clusterClient(urls[B]!, { jar }).auth.me.query()))?.httpStatus).toBe(401);
  });

  it('an API key revoked through one replica is refused by the other at once', async () => {
    const { client: onA } = await signIn(urls[A]!);
    await onA.auth.reauthenticate.mutate({ password });
    const { key, apiKey } = await onA.keys.create.mutate({ name: 'cluster', scopes: ['read'] });
    const keyOnB = clusterClient(urls[B]!, { bearer: key, origin: 'http://localhost:3000' });
    expect((await keyOnB.halt.status.query()).halted).toBe(false);
    await onA.keys.revoke.mutate({ keyId: apiKey.id });
    expect((await refusal(keyOnB.halt.status.query()))?.httpStatus).toBe(401);
  });

  it('a rate limit spread over both replicas is one limit', async () => {
    const { jar } = await signIn(lb.url);
    const on = [clusterClient(urls[A]!, { jar }), clusterClient(urls[B]!, { jar })];
    let allowed = 0;
    let refused = 0;
    // Alternating replicas, twice the limit: each replica alone saw only the limit.
    for (let i = 0; i < 2 * READ_LIMIT; i++) {
      try {
        await on[i % 2]!.halt.status.query();
        allowed++;
      } catch (e) {
        expect(e).toBeInstanceOf(TRPCClientError);
        expect((e as TRPCClientError<never>).data).toMatchObject({ httpStatus: 429 });
        refused++;
      }
    }
    expect(allowed).toBe(READ_LIMIT);
    expect(refused).toBe(READ_LIMIT);
  });

  it('sign-in throttling counts failed attempts on both replicas together', async () => {
    const victim = `nobody-${randomUUID().slice(0, 8)}@example.com`;
    const codes: (string | null | undefined)[] = [];
    // The free attempts (five) spread over both; the sixth is throttled wherever it lands.
    for (let i = 0; i < 6; i++) {
      const c = clusterClient(urls[i % 2]!, { jar: new Jar() });
      codes.push(
        (await refusal(c.auth.login.mutate({ email: victim, password: 'wrong-password-123' })))?.appCode,
      );
    }
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('UNAUTHENTICATED'));
    expect(codes[5]).toBe('RATE_LIMITED');
  });

  it('a halt engaged through A denies an order through B at once, and B streams it live', async () => {
    const { jar, client: onA } = await signIn(urls[A]!);
    const onB = clusterClient(urls[B]!, { jar });
    await onA.auth.reauthenticate.mutate({ password });
    const live = new Events<{ desk: { engaged: boolean } }>();
    const sub = onB.halt.updates.subscribe(undefined, live.handlers());
    try {
      await until('the current halt state on B', () => live.items.length >= 1);
      expect(live.items[0]!.desk.engaged).toBe(false);
      await onA.halt.engage.mutate({ scope: 'desk', reason: 'two replicas' });
      const denied = await placeOrder(onB, { quantity: '0.001' });
      expect(denied.status).toBe('denied');
      expect(denied.denial?.some((v) => v.code === 'DESK_HALT')).toBe(true);
      await until('the engage streamed by B', () => live.items.some((e) => e.desk.engaged));
      await onB.halt.release.mutate({ scope: 'desk' });
      const placed = await placeOrder(onA, { quantity: '0.001' });
      expect(placed.status).not.toBe('denied');
      await until('the release streamed by B', () => !live.items.at(-1)!.desk.engaged);
    } finally {
      sub.unsubscribe();
    }
  });

  it('orders placed on A stream to a client on B; signals and proposals reach a client on either', async () => {
    const { jar, client: onA } = await signIn(urls[A]!);
    const onB = clusterClient(urls[B]!, { jar });
    await onA.agent.settings.set.mutate({
      instruments: [SYMBOL],
      riskPreset: 'conservative',
      maxProposalsPerHour: 1000,
    });
    const orders = new Events<{ data: { id: string; status: string } }>();
    const signalsOnA = new Events<{ id: string; data: { id: string } }>();
    const signalsOnB = new Events<{ id: string; data: { id: string } }>();
    const proposalsOnB = new Events<{ id: string; data: { id: string; signalId: string; status: string } }>();
    const subs = [
      onB.orders.updates.subscribe(undefined, orders.handlers()),
      onA.signals.onNew.subscribe({}, signalsOnA.handlers()),
      onB.signals.onNew.subscribe({}, signalsOnB.handlers()),
      onB.proposals.onChange.subscribe({}, proposalsOnB.handlers()),
    ];
    try {
      await until('the four streams started', () =>
        [orders, signalsOnA, signalsOnB, proposalsOnB].every((e) => e.starts > 0),
      );
      const placed = await placeOrder(onA, { quantity: '0.002' });
      await until('the order filled, streamed by B', () =>
        orders.items.some((e) => e.data.id === placed.id && e.data.status === 'filled'),
      );

      // Approving needs a fresh re-authentication: made on B, it counts on A.
      await onB.auth.reauthenticate.mutate({ password });
      // One signal at a time (the agent keeps one pending proposal per side and instrument).
      await prices();
      for (const price of ['50010', '50011']) {
        const s = engineSignal({ symbol: SYMBOL, price });
        await bus.xadd(`${prefix}:signals`, s);
        await until(`signal ${s.id} on A's stream`, () => signalsOnA.items.some((e) => e.data.id === s.id));
        await until(`signal ${s.id} on B's stream`, () => signalsOnB.items.some((e) => e.data.id === s.id));
        const p = (
          await until(`the proposal for ${s.id} on B's stream`, () =>
            proposalsOnB.items.find((e) => e.data.signalId === s.id && e.data.status === 'pending'),
          )
        ).data;
        // Whichever replica's agent proposed, both replicas approve at once: one approval
        // wins, one order; the other is told it came second.
        const outcomes = await Promise.allSettled([
          onA.approvals.approve.mutate({ proposalId: p.id }),
          onB.approvals.approve.mutate({ proposalId: p.id }),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
        expect((lost.reason as TRPCClientError<never>).data).toMatchObject({ httpStatus: 409 });
        const [n] = await owner<
          { n: number }[]
        >`select count(*)::int as n from orders where proposal_id = ${p.id} and parent_order_id is null`;
        expect(n!.n).toBe(1);
        await until(`the executed proposal ${p.id} on B's stream`, () =>
          proposalsOnB.items.some((e) => e.data.id === p.id && e.data.status === 'executed'),
        );
      }
    } finally {
      for (const s of subs) s.unsubscribe();
    }
  });

  it('the console forwarder in front of the load balancer: sign-in cookie, calls and a live stream', async () => {
    const { proxyToServer } = await import('../../web/src/server/trpc-proxy.ts');
    const forward = async (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string') headers.set(k, v);
        else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const body = chunks.length > 0 ? Buffer.concat(chunks) : null;
      const response = await proxyToServer(
        new Request(`http://${req.headers.host}${req.url}`, {
          method: req.method ?? 'GET',
          headers,
          signal: abort.signal,
          ...(body ? { body } : {}),
        }),
        { serverUrl: lb.url, clientAddress: '127.0.0.1', headersTimeoutMs: 10_000 },
      );
      const out: Record<string, string | string[]> = {};
      response.headers.forEach((v, k) => {
        if (k !== 'set-cookie') out[k] = v;
      });
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) out['set-cookie'] = cookies;
      res.writeHead(response.status, out);
      res.flushHeaders();
      if (!response.body) return void res.end();
      for await (const chunk of response.body) res.write(chunk);
      res.end();
    };
    // A client that goes away aborts the forwarded stream: that is the end of it, not a failure.
    const forwarder: Server = createServer((req, res) => void forward(req, res).catch(() => res.destroy()));
    await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(forwarder.address() as AddressInfo).port}`;
    try {
      const { jar, client } = await signIn(url);
      const before = [...lb.answered];
      for (let i = 0; i < 2; i++) expect((await client.auth.me.query()).user.email).toBe(email);
      expect(lb.answered[A]! - before[A]!).toBe(1);
      expect(lb.answered[B]! - before[B]!).toBe(1);
      const live = new Events<{ data: { halted: boolean } }>();
      const sub = clusterClient(url, { jar }).halt.updates.subscribe(undefined, live.handlers());
      await until('a live event through the forwarder', () => live.items.length >= 1);
      sub.unsubscribe();
    } finally {
      forwarder.closeAllConnections();
      await new Promise<void>((r) => forwarder.close(() => r()));
    }
  });

  it('a timer every replica runs writes once per interval: equity snapshots', async () => {
    // The desk holds a position by now (earlier orders filled): both timers want to snapshot it.
    const rows = await until('four interval snapshots', async () => {
      const r = await owner<{ ts: Date }[]>`
        select ts from equity_snapshots where tenant_id = ${deskId} and reason = 'interval' order by ts`;
      return r.length >= 4 ? r : null;
    });
    // Two unsynchronised 1 s timers would leave pairs closer than half an interval.
    for (let i = 1; i < rows.length; i++)
      expect(rows[i]!.ts.getTime() - rows[i - 1]!.ts.getTime()).toBeGreaterThanOrEqual(
        EQUITY_INTERVAL_MS / 2,
      );
  });

  it('a replica killed mid-flow loses nothing: orders once, retries get the same order, streams resume', async () => {
    await prices();
    const { jar, client: viaLb } = await signIn(lb.url);
    await viaLb.agent.settings.set.mutate({
      instruments: [SYMBOL],
      riskPreset: 'conservative',
      maxProposalsPerHour: 1000,
    });
    const first = await placeOrder(viaLb, { quantity: '0.001' });
    await until('a first order filled (someone holds the paper account)', async () => {
      const [o] = await owner<{ status: string }[]>`select status from orders where id = ${first.id}`;
      return o?.status === 'filled';
    });
    // The replica to kill: the one holding the desk's paper account.
    const [lease] = await owner<{ holder: string; token: string }[]>`
      select holder, fencing_token::text as token from execution_leases where resource = ${`paper:${deskId}`}`;
    expect(lease).toBeDefined();
    const victimIndex = lease!.holder === 'A' ? A : B;
    const survivorIndex = 1 - victimIndex;
    const victim = replicas[victimIndex]!;

    // Live streams held by the victim (the load balancer is asked for it).
    const onVictim = clusterClient(lb.url, { jar, prefer: victimIndex });
    const signals = new Events<{ id: string; data: { id: string } }>();
    const proposals = new Events<{ id: string; data: { id: string; signalId: string; status: string } }>();
    const subs = [
      onVictim.signals.onNew.subscribe({}, signals.handlers()),
      onVictim.proposals.onChange.subscribe({}, proposals.handlers()),
    ];
    await until('both streams started', () => signals.starts > 0 && proposals.starts > 0);
    const before = engineSignal({ symbol: SYMBOL, price: '50012' });
    await bus.xadd(`${prefix}:signals`, before);
    await until('a signal streamed by the victim', () => signals.items.some((e) => e.data.id === before.id));
    const pending = (
      await until('its proposal streamed by the victim', () =>
        proposals.items.find((e) => e.data.signalId === before.id),
      )
    ).data;

    // Orders through the load balancer, concurrently; the client retries a failed call with
    // the same idempotency key until it gets an answer.
    const keys: string[] = [];
    const quantities = new Map<string, string>();
    const answers = new Map<string, string>();
    let retries = 0;
    const placeUntilAnswered = async (key: string, quantity: string) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const o = await placeOrder(viaLb, { quantity }, key);
          answers.set(key, o.id);
          return;
        } catch (e) {
          const status =
            e instanceof TRPCClientError
              ? (e.data as { httpStatus?: number } | undefined)?.httpStatus
              : undefined;
          if (attempt > 50 || (status !== undefined && status < 500)) throw e;
          retries++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const batch = (n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) => {
          const key = randomUUID();
          keys.push(key);
          const quantity = (0.001 * (keys.length + i)).toFixed(3);
          quantities.set(key, quantity);
          return placeUntilAnswered(key, quantity);
        }),
      );
    await batch(6);
    const inFlight = batch(8);
    await until('placements in flight', () => keys.length >= 14);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    await inFlight;
    // While the streams reconnect, the survivor stores more signals, and the pending proposal
    // is approved through it (the client's re-authentication was made on the dead replica).
    await viaLb.auth.reauthenticate.mutate({ password });
    const approved = await viaLb.approvals.approve.mutate({ proposalId: pending.id });
    expect(approved.proposal.status).toBe('executed');
    const during = [
      engineSignal({ symbol: SYMBOL, price: '50013' }),
      engineSignal({ symbol: SYMBOL, price: '50014' }),
    ];
    for (const s of during) await bus.xadd(`${prefix}:signals`, s);
    await prices();
    await batch(4);

    // The survivor took the paper account over (higher fencing token) and drained the outbox.
    const taken = await until('the survivor holds the paper account', async () => {
      const [l] = await owner<{ holder: string; token: string }[]>`
        select holder, fencing_token::text as token from execution_leases where resource = ${`paper:${deskId}`}`;
      return l && l.holder === replicas[survivorIndex]!.name ? l : null;
    });
    expect(Number(taken.token)).toBeGreaterThan(Number(lease!.token));
    const filled = await until(
      'every accepted order filled',
      async () => {
        const os = await owner<{ id: string; status: string; quantity: string; filled: string }[]>`
        select id, status, quantity::text as quantity, filled_quantity::text as filled
        from orders where id in ${owner([...answers.values()])}`;
        return os.length === answers.size && os.every((o) => o.status === 'filled') ? os : null;
      },
      30_000,
    ).catch(async (e) => {
      // What is still open, and what the survivor said: the failure's context.
      const open = await owner`
        select id, status, quantity::text, broker_order_id from orders
        where id in ${owner([...answers.values()])} and status <> 'filled'`;
      process.stderr.write(
        `orders not filled: ${JSON.stringify(open)}\n${replicas[survivorIndex]!.output.join('\n').slice(0, 4000)}\n`,
      );
      throw e;
    });
    expect(answers.size).toBe(keys.length);

    // A retry of every key, now: the same order each time, and no new order row.
    const [count] = await owner<
      { n: number }[]
    >`select count(*)::int as n from orders where tenant_id = ${deskId}`;
    for (const key of keys) {
      const again = await placeOrder(viaLb, { quantity: quantities.get(key)! }, key);
      expect(again.id).toBe(answers.get(key));
    }
    const [after] = await owner<
      { n: number }[]
    >`select count(*)::int as n from orders where tenant_id = ${deskId}`;
    expect(after!.n).toBe(count!.n);

    // Exactly once at the paper broker: each order's fills add up to its quantity, never more.
    const fills = await owner<{ order_id: string; qty: string; n: number }[]>`
      select order_id, sum(quantity)::text as qty, count(*)::int as n from fills
      where order_id in ${owner([...answers.values()])} group by order_id`;
    expect(fills.length).toBe(filled.length);
    for (const o of filled) {
      const f = fills.find((x) => x.order_id === o.id);
      expect({ id: o.id, qty: Number(f?.qty) }).toEqual({ id: o.id, qty: Number(o.quantity) });
    }

    // The streams came back through the other replica and caught up: nothing missed, no repeats.
    for (const s of during) {
      await until(
        `signal ${s.id} after the reconnect`,
        () => signals.items.some((e) => e.data.id === s.id),
        30_000,
      );
    }
    await until('the approval, streamed after the reconnect', () =>
      proposals.items.some((e) => e.data.id === pending.id && e.data.status === 'executed'),
    );
    expect(signals.starts).toBeGreaterThan(1);
    expect(proposals.starts).toBeGreaterThan(1);
    const ids = signals.items.map((e) => e.data.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const s of subs) s.unsubscribe();
    process.stderr.write(
      `two replicas: ${keys.length} orders, ${retries} client retries after the kill, ` +
        `paper lease ${lease!.holder} → ${taken.holder} (token ${lease!.token} → ${taken.token}), ` +
        `${lb.failovers} load-balancer failovers\n`,
    );
  });
});
