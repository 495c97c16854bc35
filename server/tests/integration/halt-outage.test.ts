import { randomUUID } from 'node:crypto';
import type { TenantId } from '@aegis/shared/ids';
import {
  type OwnMigratedDatabase,
  type OwnPostgres,
  startOwnPostgres,
} from '@aegis/shared/testing/own-postgres';
import { type OwnRedis, startOwnRedis } from '@aegis/shared/testing/own-redis';
import { createTRPCClient, httpLink } from '@trpc/client';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSessionToken } from '../../src/auth/session.ts';
import type { ExecutionRuntime } from '../../src/execution/runtime.ts';
import type { RunningServer } from '../../src/http.ts';
import type { AppRouter } from '../../src/routers/_app.ts';
import { type OutageDesk, startOutageDesk } from './support/outage-desk.ts';
import { until } from './support/wait.ts';
import type { Client } from './test-server.ts';

/**
 * The halt engages even while PostgreSQL is unreachable, and once an
 * engage is acknowledged no order is accepted. On a PostgreSQL of the test's own (stopped and
 * started at will) and a Redis of its own (the halt channel is global, so a shared Redis would
 * carry this test's halts to other test servers).
 *
 * The first two cases reach the halt service directly; the third goes through the API,
 * where halt.engage authenticates from the last authorization the database confirmed
 * (auth/outage-authorization.ts) while every other call answers 503.
 */
let pg: OwnPostgres;
let redis: OwnRedis;
let database: OwnMigratedDatabase;
let owner: Sql;
let server: RunningServer;
let client: Client;
let deskId: TenantId;
let actorId: string;
let desk: OutageDesk;

const ex = () => server.deps.execution as ExecutionRuntime;

beforeAll(async () => {
  pg = await startOwnPostgres();
  redis = await startOwnRedis();
  desk = await startOutageDesk(pg, redis, 'aegis_halt_outage', {
    paper: { seed: 1, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '0' },
  });
  ({ database, server, client, owner, deskId } = desk);
  await client.auth.reauthenticate.mutate({ password: desk.password });
  const [u] = await owner<{ id: string }[]>`select id from users limit 1`;
  actorId = u!.id;
});
afterAll(async () => {
  await desk?.close();
  await redis?.stop();
  await pg?.stop();
});

/** A market buy; refused by the halt means status denied with the DESK_HALT rule failed. */
async function placeOrder() {
  ex().quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
  return client.orders.place.mutate({
    idempotencyKey: randomUUID(),
    order: { symbol: 'BTC-USD', side: 'buy', orderType: 'market', timeInForce: 'day', quantity: '0.01' },
  });
}
const haltDenied = (o: Awaited<ReturnType<typeof placeOrder>>) =>
  o.status === 'denied' && (o.denial ?? []).some((v) => !v.passed && v.code === 'DESK_HALT');

const deskRow = async () =>
  (await owner<{ engaged: boolean }[]>`select engaged from halts where tenant_id = ${deskId}`)[0] ?? null;
const engageAudits = async () =>
  (
    await owner<{ n: number }[]>`
      select count(*)::int as n from audit_log where action = 'halt.engage' and target_id = ${`desk:${deskId}`}`
  )[0]!.n;

describe('halt while PostgreSQL is unreachable', () => {
  it('a write that cannot land in time: acknowledged, orders refused from the latch, the row written once later', async () => {
    // The halts table is locked against writes (reads still pass): the engage's write
    // cannot land, every order transaction still runs. This isolates the latch.
    const locker = postgres(database.url, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holding = locker.begin(async (tx) => {
      await tx`lock table halts in share row exclusive mode`;
      locked();
      await released;
    });
    // The engage must meet the lock: on a busy machine a fixed pause let it write first.
    await Promise.race([isLocked, holding]);
    try {
      const r = await ex().halts.engage({
        scope: 'desk',
        tenantId: deskId,
        actor: { type: 'user', id: actorId },
        reason: 'drill: write blocked',
      });
      expect(r.durable).toBe(false);
      expect(r.state).toMatchObject({
        halted: true,
        desk: { engaged: true, reason: 'drill: write blocked' },
      });
      expect(await deskRow()).toBeNull(); // not durable yet: only the latch stands
      for (let i = 0; i < 3; i++) expect(haltDenied(await placeOrder())).toBe(true);
    } finally {
      release();
      await holding;
      await locker.end();
    }
    await until('the durable row', async () => (await deskRow())?.engaged === true);
    await ex().halts.durable();
    expect(await engageAudits()).toBe(1);
    expect(haltDenied(await placeOrder())).toBe(true);
    // A release lifts it for good: nothing latched is left behind.
    await client.halt.release.mutate({ scope: 'desk' });
    expect(haltDenied(await placeOrder())).toBe(false);
  });

  it('PostgreSQL down: acknowledged without waiting on it, no order accepted, the row written once it is back', async () => {
    const auditsBefore = await engageAudits();
    await pg.halt('fast');
    const startedAt = Date.now();
    const r = await ex().halts.engage({
      scope: 'desk',
      tenantId: deskId,
      actor: { type: 'user', id: actorId },
      reason: 'drill: database down',
    });
    process.stdout.write(
      `halt-outage: engage acknowledged in ${Date.now() - startedAt} ms with PostgreSQL down\n`,
    );
    expect(r.durable).toBe(false);
    expect(r.state.halted).toBe(true);
    // No order can be accepted while the database is down (acceptance is a commit).
    expect(await placeOrder().then(haltDenied, () => 'refused')).not.toBe(false);

    await pg.start();
    // From the first order the database takes, every one is refused: by the latch until the
    // row lands, by the row after.
    for (let i = 0; i < 5; i++) {
      const o = await until('an order answered', async () => placeOrder());
      expect(haltDenied(o)).toBe(true);
    }
    await until('the durable row', async () => (await deskRow())?.engaged === true);
    await ex().halts.durable();
    expect(await engageAudits()).toBe(auditsBefore + 1);
    expect((await client.halt.status.query()).desk).toMatchObject({
      engaged: true,
      reason: 'drill: database down',
    });
  });

  it('through the API: halt.engage from a caller the database confirmed before the outage; nothing else is served', async () => {
    await client.halt.release.mutate({ scope: 'desk' });
    const stranger = createTRPCClient<AppRouter>({
      links: [
        httpLink({
          url: `${server.url}/trpc`,
          headers: { authorization: `Bearer ${generateSessionToken()}` },
        }),
      ],
    });
    // A desk call while the database is up: the server confirms this session and its role.
    expect((await client.halt.status.query()).desk?.engaged ?? false).toBe(false);

    await pg.halt('fast');
    const r = await client.halt.engage.mutate({ reason: 'drill: API during outage' });
    expect(r.durable).toBe(false);
    expect(r.state.halted).toBe(true);
    // Only risk-reducing procedures use the last-known authorization; the rest answer 503.
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { data?: { code?: string } }) => e.data?.code,
      );
    expect(await codeOf(client.halt.status.query())).toBe('SERVICE_UNAVAILABLE');
    expect(await codeOf(client.orders.list.query({ limit: 5 }))).toBe('SERVICE_UNAVAILABLE');
    // A well-formed credential the database never confirmed gets nothing.
    expect(await codeOf(stranger.halt.engage.mutate({ reason: 'x' }))).toBe('SERVICE_UNAVAILABLE');

    await pg.start();
    await until('the durable row', async () => (await deskRow())?.engaged === true);
    await ex().halts.durable();
    const o = await until('an order answered', async () => placeOrder());
    expect(haltDenied(o)).toBe(true);
    expect((await client.halt.status.query()).desk).toMatchObject({
      engaged: true,
      reason: 'drill: API during outage',
    });
  });
});
