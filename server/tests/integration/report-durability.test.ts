import { randomUUID } from 'node:crypto';
import { type OwnPostgres, startOwnPostgres } from '@aegis/shared/testing/own-postgres';
import { type OwnRedis, startOwnRedis } from '@aegis/shared/testing/own-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionOptions } from '../../src/execution/types.ts';
import { type OutageDesk, startOutageDesk } from './support/outage-desk.ts';
import { sleep, until } from './support/wait.ts';

/**
 * An execution report is never lost to a PostgreSQL outage. Reports are
 * delivered at least once and applied idempotently by execution id: the live path keeps retrying
 * while the database is unreachable, and a dispatch retried after the broker already has the
 * order adopts the broker's whole state (status and every fill), not just "accepted".
 *
 * On a PostgreSQL of the test's own (stopped and started at will) and a Redis of its own; each
 * case runs its own server and database, with paper-broker latency chosen for the race it needs.
 */
let pg: OwnPostgres;
let redis: OwnRedis;

type Desk = OutageDesk;
const startDesk = (name: string, execution: Partial<ExecutionOptions>) =>
  startOutageDesk(pg, redis, name, execution);

const paper = (feeBps = '0') => ({
  seed: 1,
  latencyJitterMs: 0,
  feeBps,
  minFee: '0',
  slippageBps: '0',
});

async function placeMarketBuy(d: Desk) {
  d.ex().quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
  const o = await d.client.orders.place.mutate({
    idempotencyKey: randomUUID(),
    order: { symbol: 'BTC-USD', side: 'buy', orderType: 'market', timeInForce: 'day', quantity: '0.01' },
  });
  expect(o.status).toBe('pending_new');
  return o;
}

/** The database's order, its fills and its position agree with the broker's account. */
async function expectDatabaseMatchesBroker(d: Desk, clientOrderId: string) {
  const broker = await d.ex().brokers.paper(d.deskId);
  const atBroker = (await broker.getOrderByClientId(clientOrderId))!;
  expect(atBroker.status).toBe('filled');
  const [order] = await d.owner<{ id: string; status: string; filled: string; avg: string }[]>`
    select id, status, filled_quantity::text as filled, avg_fill_price::text as avg
    from orders where client_order_id = ${clientOrderId}`;
  expect(order).toBeDefined();
  expect(order!.status).toBe('filled');
  expect(Number(order!.filled)).toBe(Number(atBroker.filledQuantity));
  expect(Number(order!.avg)).toBe(Number(atBroker.avgFillPrice));
  const brokerFills = (await broker.getExecutions(clientOrderId)).filter((r) => r.kind === 'fill');
  const dbFills = await d.owner<{ execution_id: string; quantity: string; price: string }[]>`
    select execution_id, quantity::text as quantity, price::text as price from fills
    where order_id = ${order!.id} order by execution_id`;
  const byId = (a: [string, number, number], b: [string, number, number]) => a[0].localeCompare(b[0]);
  expect(brokerFills.length).toBeGreaterThan(0);
  expect(
    dbFills
      .map((f): [string, number, number] => [f.execution_id, Number(f.quantity), Number(f.price)])
      .sort(byId),
  ).toEqual(
    brokerFills
      .map((f): [string, number, number] => [f.executionId, Number(f.lastQty), Number(f.lastPx)])
      .sort(byId),
  );
  const [pos] = await d.owner<{ quantity: string }[]>`
    select quantity::text as quantity from positions where tenant_id = ${d.deskId} and symbol = 'BTC-USD'`;
  const brokerPos = (await broker.listPositions()).find((p) => p.symbol === 'BTC-USD');
  expect(brokerPos).toBeDefined();
  expect(Number(pos?.quantity ?? '0')).toBe(Number(brokerPos!.quantity));
  // Nothing stuck: the order's outbox row was dispatched.
  await until('the outbox drained', async () => {
    const [r] = await d.owner<{ n: number }[]>`
      select count(*)::int as n from outbox where dispatched_at is null`;
    return r!.n === 0;
  });
}

beforeAll(async () => {
  pg = await startOwnPostgres();
  redis = await startOwnRedis();
});
afterAll(async () => {
  await redis?.stop();
  await pg?.stop();
});

describe('execution reports survive a PostgreSQL outage', () => {
  let d: Desk;
  beforeAll(async () => {
    // Reconciliation stays out of the way (an hour): it must not be what repairs the fill. The
    // dispatch lease outlives the 10 s outage (its default TTL is 10 s: an outage longer than
    // the TTL costs the process its lease, closing this paper account, which is then rebuilt
    // from PostgreSQL; the queued report is applied either way, but this test reads the
    // account that made the fill).
    d = await startDesk('aegis_report_outage', {
      leaseTtlMs: 60_000,
      brokerTimeoutMs: 60_000,
      reconcileIntervalMs: 3_600_000,
      paper: { ...paper(), latencyMs: 0 },
    });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('a fill the broker reports while the database is down is applied once it is back', async () => {
    // A buy limit under the ask rests at the broker; the database records it (`new`) and its
    // outbox row is done before the outage, so neither a dispatch retry nor the outbox lease can
    // bring the fill in: only the live report path (and its catch-up) can.
    d.ex().quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
    const o = await d.client.orders.place.mutate({
      idempotencyKey: randomUUID(),
      order: {
        symbol: 'BTC-USD',
        side: 'buy',
        orderType: 'limit',
        limitPrice: '49990',
        timeInForce: 'day',
        quantity: '0.01',
      },
    });
    const broker = await d.ex().brokers.paper(d.deskId);
    const resting = await until('the order resting at the broker, recorded and dispatched', async () => {
      const [r] = await d.owner<{ status: string; pending: number }[]>`
        select o.status,
          (select count(*)::int from outbox x where x.aggregate_id = o.id::text and x.dispatched_at is null) as pending
        from orders o where o.client_order_id = ${o.clientOrderId}`;
      return r && r.pending === 0 && r.status !== 'pending_new' ? r : null;
    });
    expect(resting.status).toBe('new');
    expect(Number((await broker.getOrderByClientId(o.clientOrderId))?.filledQuantity)).toBe(0);

    // Connections are refused at once while PostgreSQL is down, so a retry budget counted in
    // attempts is spent in moments; the outage lasts many times the old one (~1.4 s).
    await pg.halt('fast');
    try {
      // The ask drops through the limit: the broker fills the order and reports it now.
      d.ex().quotes.setQuote('BTC-USD', '49970', '49980', '10', '10', new Date());
      expect((await broker.getOrderByClientId(o.clientOrderId))?.status).toBe('filled');
      await sleep(10_000);
    } finally {
      await pg.start();
    }
    await until('the order filled in the database', async () => {
      const [r] = await d.owner<{ status: string }[]>`
        select status from orders where client_order_id = ${o.clientOrderId}`;
      return r?.status === 'filled';
    });
    await expectDatabaseMatchesBroker(d, o.clientOrderId);
  });
});

describe('a retried dispatch adopts what the broker already did', () => {
  let d: Desk;
  beforeAll(async () => {
    // The first broker call times out (300 ms) before the order reaches the exchange (400 ms):
    // the order is `unknown` and the dispatcher looks it up on its retry, after it filled.
    d = await startDesk('aegis_report_retry', {
      brokerTimeoutMs: 300,
      paper: { ...paper('1'), latencyMs: 400 },
    });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('the broker filled the order: the database records filled with the fill, not accepted', async () => {
    const broker = await d.ex().brokers.paper(d.deskId);
    // The live reports never arrive (a dropped report session): only the lookup can tell.
    broker.setReportsMuted(true);
    const o = await placeMarketBuy(d);
    await until('the order resolved in the database', async () => {
      const [r] = await d.owner<{ status: string }[]>`
          select o.status from orders o
          where o.client_order_id = ${o.clientOrderId}
            and not exists (select 1 from outbox x where x.aggregate_id = o.id::text and x.dispatched_at is null)`;
      return r && r.status !== 'pending_new' && r.status !== 'unknown' ? r.status : null;
    });
    await expectDatabaseMatchesBroker(d, o.clientOrderId);
    const [fee] = await d.owner<{ fees: string }[]>`
      select fees::text as fees from orders where client_order_id = ${o.clientOrderId}`;
    expect(Number(fee!.fees)).toBeGreaterThan(0);
  });
});
