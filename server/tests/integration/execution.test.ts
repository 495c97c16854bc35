/**
 * The execution runtime on a fresh database (execution-fixture.ts): placement, the risk rules,
 * fills, cancels, reconciliation and broker timeouts. One file: every test uses the same fixture
 * and reset, and each describe is one part of the runtime.
 */
import { randomUUID } from 'node:crypto';
import { RedisBus } from '@aegis/shared/bus/index';
import { withTenant } from '@aegis/shared/db/client';
import { isAppError } from '@aegis/shared/errors';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getOrderWithFills } from '../../src/execution/queries.ts';
import type { Actor } from '../../src/execution/types.ts';
import {
  createExecutionFixture,
  type ExecutionFixture,
  LATE_BROKER,
  LATE_BROKER_ANSWER_MS,
  log,
} from './execution-fixture.ts';
import { clearTrading, insertDeskLimits, mergeDeskLimits } from './support/desk-limits.ts';

let fx: ExecutionFixture;
let actor: Actor;
const T = () => new Date();

beforeAll(async () => {
  fx = await createExecutionFixture();
  actor = { type: 'user', id: fx.userId };
});
afterAll(async () => {
  await fx?.close();
});

async function reset() {
  await fx.replaceRuntime(); // first: nothing of the last test may land after the clear
  await clearTrading(fx.owner);
  fx.quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', T());
  fx.quotes.setQuote('ETH-USD', '3000', '3001', '100', '100', T());
  // Explicit desk limits, as a desk trading whole bitcoins would set them: one BTC at $50,000 is
  // already at the platform's default order notional, so the money limits are widened here (the
  // protective rules keep their defaults); each test tightens or removes what it probes.
  await insertDeskLimits(fx.owner, fx.tenantId);
}

/** Merges into the desk row (symbol '*'); `removed` records explicit removals ("no limit"). */
const deskLimits = (values: Record<string, string>, removed: string[] = []) =>
  mergeDeskLimits(fx.owner, fx.tenantId, values, removed);

const place = (
  input: Partial<PlaceOrderInput>,
  key: string = randomUUID(),
  origin: 'human' | 'api' | 'agent' = 'human',
) => fx.placeOrder({ quantity: '1', ...input }, { key, origin, actor });

const orderRow = async (id: string) => (await fx.owner`select * from orders where id = ${id}`)[0]!;

describe('execution: placement, outbox, paper fills, positions', () => {
  beforeEach(reset);

  it('places a market order: pending_new with an outbox row and an audit row, then fills at the broker', async () => {
    const o = await place({ quantity: '2' });
    expect(o.status).toBe('pending_new');
    expect(o.clientOrderId).toMatch(/^AE[0-9a-f]{30}$/);
    const ob = await fx.owner`select topic, dispatched_at from outbox where aggregate_id = ${o.id}`;
    expect(ob).toEqual([{ topic: 'broker.place', dispatched_at: null }]);
    const audit = await fx.owner`select action, outcome, target_id from audit_log where target_id = ${o.id}`;
    expect(audit).toEqual([{ action: 'orders.place', outcome: 'ok', target_id: o.id }]);

    await fx.settle();
    const after = await fx.runtime.orders.get(fx.tenantId, o.id);
    expect(after).toMatchObject({ status: 'filled', filledQuantity: '2', avgFillPrice: '50010' });
    const [pos] =
      await fx.owner`select quantity::text, avg_cost::text from positions where tenant_id = ${fx.tenantId}`;
    expect(pos).toEqual({ quantity: '2.000000000000', avg_cost: '50010.000000000000' });
    const snaps = await fx.owner`select reason from equity_snapshots where tenant_id = ${fx.tenantId}`;
    expect(snaps.map((s) => s.reason)).toEqual(['fill']);
  });

  it('limit order: partial fill against displayed size, rest works; IOC cancels the rest; FOK all or nothing', async () => {
    fx.quotes.setQuote('BTC-USD', '50000', '50010', '1', '1', T());
    const lim = await place({ orderType: 'limit', limitPrice: '50010', quantity: '1.5', timeInForce: 'gtc' });
    await fx.settle();
    expect(await fx.runtime.orders.get(fx.tenantId, lim.id)).toMatchObject({
      status: 'partially_filled',
      filledQuantity: '1',
    });

    fx.quotes.setQuote('ETH-USD', '3000', '3001', '10', '10', T());
    const ioc = await place({
      symbol: 'ETH-USD',
      orderType: 'limit',
      limitPrice: '3001',
      quantity: '15',
      timeInForce: 'ioc',
    });
    const fokNo = await place({
      symbol: 'ETH-USD',
      side: 'sell',
      orderType: 'limit',
      limitPrice: '3000',
      quantity: '11',
      timeInForce: 'fok',
    });
    const fokYes = await place({
      symbol: 'ETH-USD',
      side: 'sell',
      orderType: 'limit',
      limitPrice: '3000',
      quantity: '10',
      timeInForce: 'fok',
    });
    await fx.settle();
    expect(await fx.runtime.orders.get(fx.tenantId, ioc.id)).toMatchObject({
      status: 'cancelled',
      filledQuantity: '10',
    });
    expect(await fx.runtime.orders.get(fx.tenantId, fokNo.id)).toMatchObject({
      status: 'cancelled',
      filledQuantity: '0',
    });
    expect(await fx.runtime.orders.get(fx.tenantId, fokYes.id)).toMatchObject({
      status: 'filled',
      filledQuantity: '10',
    });
  });

  it('P&L worked example through paper fills (average cost, 1 bp fees)', async () => {
    fx.runtime.brokers.close();
    fx.runtime = fx.newRuntime({
      options: {
        paper: { seed: 7, latencyMs: 0, latencyJitterMs: 0, feeBps: '1', minFee: '0', slippageBps: '5' },
      },
    });
    // buy 100 @ 50, buy 50 @ 53, sell 120 @ 55, sell 50 @ 49; mark 47.50 (mid of 47.49 / 47.51)
    // fees 1 bp: 0.5 + 0.265 + 0.66 + 0.245 = 1.67
    // realized: (55 − 51) × 120 − (51 − 49) × 30 = 480 − 60 = 420; short −20 @ 49
    // unrealized: (47.50 − 49) × (−20) = +30; net = 420 + 30 − 1.67 = 448.33
    await deskLimits({}, ['maxSpreadBps', 'priceCollarBps', 'maxReferenceAgeMs']);
    const step = async (side: 'buy' | 'sell', qty: string, bid: string, ask: string) => {
      fx.quotes.setQuote('ETH-USD', bid, ask, '1000', '1000', T());
      await place({ symbol: 'ETH-USD', side, quantity: qty });
      await fx.settle();
    };
    await step('buy', '100', '49.99', '50');
    await step('buy', '50', '52.99', '53');
    await step('sell', '120', '55', '55.01');
    await step('sell', '50', '49', '49.01');
    fx.quotes.setQuote('ETH-USD', '47.49', '47.51', '1000', '1000', T());
    const [pos] =
      await fx.owner`select quantity::text, avg_cost::text, realized_pnl::text, fees::text from positions where symbol = 'ETH-USD'`;
    expect(pos).toEqual({
      quantity: '-20.000000000000',
      avg_cost: '49.000000000000',
      realized_pnl: '420.000000000000',
      fees: '1.670000000000',
    });
    const [snap] =
      await fx.owner`select equity::text, realized_pnl::text, unrealized_pnl::text, fees::text from equity_snapshots order by ts desc limit 1`;
    // the last snapshot was written at the last fill (mark then 49.005): the curve moves with marks
    expect(snap?.realized_pnl).toBe('420.000000000000');
    const rt = fx.runtime;
    const { valueDesk } = await import('../../src/execution/valuation.ts');
    const { withTenant } = await import('@aegis/shared/db/client');
    const v = await withTenant(fx.app.db, fx.tenantId, (tx) =>
      valueDesk(tx, fx.tenantId, fx.quotes, rt.options.startingCapital, T()),
    );
    expect(v.pnl).toMatchObject({
      realizedPnl: '420',
      unrealizedPnl: '30',
      fees: '1.67',
      netPnl: '448.33',
      equity: '1000448.33',
    });
  });
});

describe('execution: idempotency', () => {
  beforeEach(reset);

  it('replays the first result for the same key and payload', async () => {
    const key = randomUUID();
    const a = await place({ quantity: '1' }, key);
    const b = await place({ quantity: '1' }, key);
    expect(b.id).toBe(a.id);
    expect((await fx.owner`select count(*)::int as n from orders`)[0]!.n).toBe(1);
  });

  it('rejects the same key with a different payload (CONFLICT)', async () => {
    const key = randomUUID();
    await place({ quantity: '1' }, key);
    await expect(place({ quantity: '2' }, key)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('concurrent calls with one key produce one order', async () => {
    const key = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => place({ quantity: '0.5' }, key)),
    );
    const ok = results
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id);
    expect(new Set(ok).size).toBe(1);
    expect(ok.length).toBe(8);
    expect((await fx.owner`select count(*)::int as n from orders`)[0]!.n).toBe(1);
  });

  it('stores a deterministic error and replays it', async () => {
    const key = randomUUID();
    await expect(place({ symbol: 'NOPE-USD' }, key)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await fx.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size) values ('NOPE-USD', 'X', 'crypto', '0.01', '0.01') on conflict do nothing`;
    const err = await place({ symbol: 'NOPE-USD' }, key).catch((e: unknown) => e);
    expect(isAppError(err) && err.code === 'NOT_FOUND' && err.details?.replayed).toBe(true);
    await fx.owner`delete from instruments where symbol = 'NOPE-USD'`;
  });

  it('keys are scoped per principal', async () => {
    const key = randomUUID();
    const a = await place({ quantity: '1' }, key);
    const other = await fx.runtime.orders.place({
      tenantId: fx.tenantId,
      actor: { type: 'api_key', id: randomUUID() },
      origin: 'api',
      idempotencyKey: key,
      input: { symbol: 'BTC-USD', side: 'buy', orderType: 'market', timeInForce: 'day', quantity: '1' },
    });
    expect(other.id).not.toBe(a.id);
  });
});

describe('execution: governor in the order transaction', () => {
  beforeEach(reset);

  it('denies with every verdict stored, audited as denied, nothing queued', async () => {
    await deskLimits({ max_order_qty: '1' });
    const o = await place({ quantity: '1.5' });
    expect(o.status).toBe('denied');
    expect(o.denial?.find((v) => !v.passed)).toMatchObject({
      rule: 'order_qty',
      code: 'MAX_ORDER_QTY',
      limit: '1',
      requested: '1.5',
    });
    expect(o.denial?.length).toBeGreaterThan(10);
    expect((await fx.owner`select count(*)::int as n from outbox`)[0]!.n).toBe(0);
    const [a] = await fx.owner`select outcome from audit_log where target_id = ${o.id}`;
    expect(a?.outcome).toBe('denied');
  });

  it('working orders count against the position limit at once', async () => {
    await fx.owner`insert into risk_limits (tenant_id, symbol, max_position) values (${fx.tenantId}, 'BTC-USD', '3')`;
    const a = await place({ orderType: 'limit', limitPrice: '49000', quantity: '2', timeInForce: 'gtc' });
    await fx.settle();
    expect((await fx.runtime.orders.get(fx.tenantId, a.id)).status).toBe('new');
    const b = await place({ orderType: 'limit', limitPrice: '49000', quantity: '1.5', timeInForce: 'gtc' });
    expect(b.status).toBe('denied');
    expect(b.denial?.find((v) => v.rule === 'position')).toMatchObject({
      passed: false,
      requested: '3.5',
      current: '2',
    });
  });

  it('concurrent orders cannot both pass a limit (per-desk order lock)', async () => {
    await fx.owner`insert into risk_limits (tenant_id, symbol, max_position) values (${fx.tenantId}, 'BTC-USD', '1')`;
    const rs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        place({ orderType: 'limit', limitPrice: String(49000 + i), quantity: '0.4', timeInForce: 'gtc' }),
      ),
    );
    expect(rs.filter((r) => r.status === 'pending_new').length).toBe(2);
  });
});

describe('execution: outbox and broker failures', () => {
  beforeEach(reset);

  it('a crash between commit and dispatch: the next process sends the committed order exactly once', async () => {
    await fx.runtime.dispatcher.stop(); // this process will "crash" before dispatching
    const o = await place({ quantity: '1' });
    // "crash": this runtime never dispatches; a new one (new process) starts from the database
    fx.runtime.brokers.close();
    const next = fx.newRuntime();
    fx.runtime = next;
    await fx.settle(next);
    await fx.settle(next);
    const broker = await next.brokers.paper(fx.tenantId);
    expect((await broker.getOrderByClientId(o.clientOrderId))?.status).toBe('filled');
    expect((await fx.runtime.orders.get(fx.tenantId, o.id)).status).toBe('filled');
    const [ob] =
      await fx.owner`select attempts, dispatched_at is not null as done from outbox where aggregate_id = ${o.id}`;
    expect(ob).toEqual({ attempts: 1, done: true });
  });

  it('a broker timeout marks the order unknown; it is then found by client order id, never resent under a new id', async () => {
    await fx.replaceRuntime({ options: LATE_BROKER });
    const o = await place({ orderType: 'limit', limitPrice: '40000', quantity: '1', timeInForce: 'gtc' });
    await fx.runtime.dispatcher.dispatchTenant(fx.tenantId);
    expect((await orderRow(o.id)).status).toBe('unknown');
    // the broker got it after all; its acknowledgement resolves the ambiguity
    await new Promise((r) => setTimeout(r, LATE_BROKER_ANSWER_MS + 100));
    await fx.runtime.brokers.drain();
    expect((await orderRow(o.id)).status).toBe('new');
    await fx.owner`update outbox set available_at = now() where aggregate_id = ${o.id}`;
    await fx.runtime.dispatcher.dispatchTenant(fx.tenantId);
    const broker = await fx.runtime.brokers.paper(fx.tenantId);
    expect((await broker.listOpenOrders()).map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
  });

  it('reconciliation resolves an unknown order the broker never received (rejected)', async () => {
    await fx.runtime.dispatcher.stop();
    const o = await place({ quantity: '1' });
    await fx.owner`update orders set status = 'unknown' where id = ${o.id}`;
    await fx.owner`update outbox set dispatched_at = now() where aggregate_id = ${o.id}`;
    const r = await fx.runtime.reconciler.reconcile(fx.tenantId, 'manual');
    expect(r.resolved).toEqual([{ orderId: o.id, status: 'rejected' }]);
  });
});

describe('execution: reports', () => {
  beforeEach(reset);

  it('deduplicates by execution id and accepts fills before the acknowledgement', async () => {
    await fx.runtime.dispatcher.stop();
    const o = await place({ orderType: 'limit', limitPrice: '40000', quantity: '2', timeInForce: 'gtc' });
    await fx.owner`update outbox set dispatched_at = now() where aggregate_id = ${o.id}`;
    const base = {
      clientOrderId: o.clientOrderId,
      brokerOrderId: 'X1',
      symbol: 'BTC-USD',
      side: 'buy' as const,
      tsEvent: T(),
      avgPx: null,
    };
    const fill = {
      ...base,
      kind: 'fill' as const,
      executionId: 'E2',
      lastQty: '1',
      lastPx: '40000',
      fee: '0',
      cumQty: '1',
      leavesQty: '1',
    };
    expect((await fx.runtime.applyReport(fx.tenantId, fill)).outcome).toBe('applied');
    expect((await fx.runtime.applyReport(fx.tenantId, fill)).outcome).toBe('duplicate');
    const ack = { ...base, kind: 'accepted' as const, executionId: 'E1', cumQty: '0', leavesQty: '2' };
    expect((await fx.runtime.applyReport(fx.tenantId, ack)).outcome).toBe('stale');
    const fill2 = { ...fill, executionId: 'E3', lastPx: '40010' };
    expect((await fx.runtime.applyReport(fx.tenantId, fill2)).order).toMatchObject({
      status: 'filled',
      filledQuantity: '2',
      avgFillPrice: '40005',
    });
    const over = { ...fill, executionId: 'E4' };
    expect((await fx.runtime.applyReport(fx.tenantId, over)).outcome).toBe('illegal');
    expect((await fx.owner`select count(*)::int as n from fills`)[0]!.n).toBe(2);
  });

  it('stores fill times to the µs and shows them (µs end to end)', async () => {
    await fx.runtime.dispatcher.stop();
    const o = await place({ orderType: 'limit', limitPrice: '40000', quantity: '1', timeInForce: 'gtc' });
    await fx.owner`update outbox set dispatched_at = now() where aggregate_id = ${o.id}`;
    const tsEventUs = 1_767_322_800_123_456;
    const fill = {
      kind: 'fill' as const,
      executionId: 'EU1',
      clientOrderId: o.clientOrderId,
      brokerOrderId: 'XU1',
      symbol: 'BTC-USD',
      side: 'buy' as const,
      tsEvent: new Date(Math.floor(tsEventUs / 1000)),
      tsEventUs,
      lastQty: '1',
      lastPx: '40000',
      fee: '0',
      cumQty: '1',
      leavesQty: '0',
      avgPx: '40000',
    };
    expect((await fx.runtime.applyReport(fx.tenantId, fill)).outcome).toBe('applied');
    const [row] = await fx.owner`select to_char(ts at time zone 'UTC', 'HH24:MI:SS.US') as t from fills
      where execution_id = 'EU1'`;
    expect(row?.t).toBe('03:00:00.123456');
    const { fills: shown } = await withTenant(fx.app.db, fx.tenantId, (tx) =>
      getOrderWithFills(tx, fx.tenantId, o.id),
    );
    expect(shown[0]).toMatchObject({
      tsMicros: '2026-01-02T03:00:00.123456Z',
      ts: fill.tsEvent.toISOString(),
    });
  });
});

describe('execution: reconciliation drift', () => {
  beforeEach(reset);

  it('a position the broker has and we do not halts automation for the desk, audited', async () => {
    const broker = await fx.runtime.brokers.paper(fx.tenantId);
    // an order placed at the broker outside Aegis
    await broker.placeOrder({
      clientOrderId: 'outside-1',
      symbol: 'ETH-USD',
      side: 'buy',
      orderType: 'market',
      timeInForce: 'day',
      quantity: '3',
    });
    await fx.runtime.brokers.drain();
    const r = await fx.runtime.reconciler.reconcile(fx.tenantId, 'schedule');
    expect(r.ok).toBe(false);
    expect(r.positionMismatches).toEqual([{ symbol: 'ETH-USD', ours: '0', broker: '3' }]);
    const [s] =
      await fx.owner`select automation_enabled, automation_disabled_reason from agent_settings where tenant_id = ${fx.tenantId}`;
    expect(s?.automation_enabled).toBe(false);
    const [a] =
      await fx.owner`select outcome from audit_log where action = 'execution.reconcile' order by id desc limit 1`;
    expect(a?.outcome).toBe('failed');
    // automated orders are now denied; a person's order is not
    expect(
      (await place({ quantity: '0.1' }, randomUUID(), 'agent')).denial?.find((v) => !v.passed)?.code,
    ).toBe('AUTOMATION_DISABLED');
    expect((await place({ quantity: '0.1' })).status).toBe('pending_new');
  });

  it('an order that fills at the broker while reconciliation runs is not drift', async () => {
    const o = await place({ orderType: 'limit', limitPrice: '49000', quantity: '1', timeInForce: 'gtc' });
    await fx.settle();
    const broker = await fx.runtime.brokers.paper(fx.tenantId);
    const list = broker.listOpenOrders.bind(broker);
    let calls = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locking: Promise<unknown> = Promise.resolve();
    broker.listOpenOrders = async () => {
      calls++;
      if (calls === 2) {
        // Between the catch-up and the comparison the broker fills the order, and its report is
        // still being applied: the order's row is locked (as by the report's transaction) for a
        // moment, so our side still says `new` when the comparison reads it.
        let locked: () => void = () => {};
        const isLocked = new Promise<void>((r) => {
          locked = r;
        });
        locking = fx.owner.begin(async (tx) => {
          await tx`select 1 from orders where id = ${o.id} for update`;
          locked();
          await held;
        });
        await isLocked;
        fx.quotes.setQuote('BTC-USD', '48980', '48990', '10', '10', T());
        setTimeout(release, 300);
      }
      return list();
    };
    const r = await fx.runtime.reconciler.reconcile(fx.tenantId, 'schedule');
    release();
    await locking;
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(r.orderMismatches).toEqual([]);
    expect(r.positionMismatches).toEqual([]);
    expect(r.ok).toBe(true);
    const [s] =
      await fx.owner`select automation_enabled from agent_settings where tenant_id = ${fx.tenantId}`;
    expect(s?.automation_enabled ?? true).toBe(true);
    await fx.settle();
    const [row] = await fx.owner`select status from orders where id = ${o.id}`;
    expect(row?.status).toBe('filled');
  });

  it('a clean book reconciles ok', async () => {
    await place({ quantity: '1' });
    await fx.settle();
    expect((await fx.runtime.reconciler.reconcile(fx.tenantId, 'start')).ok).toBe(true);
  });
});

describe('execution: circuit breaker', () => {
  beforeEach(reset);

  it('three closed trades each losing more than $500 disable automated trading', async () => {
    await deskLimits({}, ['maxSpreadBps', 'priceCollarBps', 'duplicateWindowMs']);
    for (let i = 0; i < 3; i++) {
      fx.quotes.setQuote('ETH-USD', '2999', '3000', '100', '100', T());
      await place({ symbol: 'ETH-USD', quantity: '1' }, randomUUID(), 'agent');
      await fx.settle();
      fx.quotes.setQuote('ETH-USD', '2499', '2500', '100', '100', T());
      await place({ symbol: 'ETH-USD', side: 'sell', quantity: '1' }, randomUUID(), 'agent');
      await fx.settle();
    }
    const [s] =
      await fx.owner`select automation_enabled from agent_settings where tenant_id = ${fx.tenantId}`;
    expect(s?.automation_enabled).toBe(false);
    const [a] = await fx.owner`select action from audit_log where action = 'risk.circuit_breaker'`;
    expect(a).toBeTruthy();
    expect((await place({ symbol: 'ETH-USD', quantity: '1' }, randomUUID(), 'agent')).status).toBe('denied');
  });
});

describe('halt', () => {
  beforeEach(reset);

  it('desk halt: cancels every working order, denies new risk, lets risk-reducing orders pass; audited', async () => {
    const buy = await place({ quantity: '2' });
    await fx.settle();
    expect((await orderRow(buy.id)).status).toBe('filled');
    const resting = await Promise.all(
      [1, 2, 3].map((i) =>
        place({ orderType: 'limit', limitPrice: String(40000 + i), quantity: '0.1', timeInForce: 'gtc' }),
      ),
    );
    await fx.settle();
    const r = await fx.runtime.halts.engage({
      scope: 'desk',
      tenantId: fx.tenantId,
      actor,
      reason: 'test',
    });
    expect(r.cancelsQueued).toBe(3);
    expect(r.state).toMatchObject({
      halted: true,
      desk: { engaged: true, reason: 'test' },
      global: { engaged: false },
    });
    await fx.settle();
    for (const o of resting) expect((await orderRow(o.id)).status).toBe('cancelled');
    const broker = await fx.runtime.brokers.paper(fx.tenantId);
    expect(await broker.listOpenOrders()).toEqual([]);
    const denied = await place({ quantity: '0.1' });
    expect(denied.denial?.find((v) => !v.passed)?.code).toBe('DESK_HALT');
    const reducing = await place({ side: 'sell', quantity: '1' });
    expect(reducing.status).toBe('pending_new');
    const [a] = await fx.owner`select action from audit_log where action = 'halt.engage'`;
    expect(a).toBeTruthy();
  });

  it('a desk release cannot lift the global halt; global halt survives a restart', async () => {
    await fx.runtime.halts.engage({ scope: 'global', tenantId: fx.tenantId, actor, reason: 'platform' });
    await fx.runtime.halts.engage({ scope: 'desk', tenantId: fx.tenantId, actor, reason: 'desk' });
    const s = await fx.runtime.halts.release({ scope: 'desk', tenantId: fx.tenantId, actor });
    expect(s).toMatchObject({ halted: true, global: { engaged: true }, desk: { engaged: false } });
    fx.runtime.brokers.close();
    fx.runtime = fx.newRuntime(); // restart
    // Flat: the buy adds risk (a short left by another test's late fill would let it pass).
    expect(await fx.owner`select symbol from positions where quantity <> 0`).toEqual([]);
    expect((await place({ quantity: '0.1' })).denial?.find((v) => !v.passed)?.code).toBe('GLOBAL_HALT');
    await fx.runtime.halts.release({ scope: 'global', tenantId: fx.tenantId, actor });
    expect((await place({ quantity: '0.1' })).status).toBe('pending_new');
  });

  it('works with Redis unreachable (closed port): PostgreSQL is the truth', async () => {
    const deadBus = new RedisBus('redis://127.0.0.1:1', {
      log,
      redisOptions: {
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        lazyConnect: true,
      },
    });
    fx.runtime.brokers.close();
    fx.runtime = fx.newRuntime({ bus: deadBus });
    await fx.runtime.start({ reconcile: false });
    const r = await fx.runtime.halts.engage({
      scope: 'desk',
      tenantId: fx.tenantId,
      actor,
      reason: 'redis down',
    });
    expect(r.state.halted).toBe(true);
    expect((await place({ quantity: '0.1' })).status).toBe('denied');
    await fx.runtime.stop();
  });
});

describe('quote feed', () => {
  it("feeds the QuoteBook from the venue price source only, by each instrument's venue", async () => {
    const { MemoryBus } = await import('@aegis/shared/bus/index');
    const { publishVenuePrices } = await import('@aegis/shared/testing/venue-prices');
    // The in-process bus: the single-machine mode, where the engine publishes on the same bus.
    const bus = new MemoryBus();
    await fx.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size)
      values ('FEED-A', 'COINBASE', 'crypto', '0.01', '0.01'), ('FEED-B', 'COINBASE', 'crypto', '0.01', '0.01')`;
    const rt = fx.newRuntime({ bus, options: { pricePrefix: 'test:', venueRefreshMs: 3_600_000 } });
    const t0 = new Date(Date.now() - 1000);
    await publishVenuePrices(bus, 'test:', [
      { venue: 'COINBASE', instrument: 'FEED-A', bid: '50000', ask: '50010', last: '50005', ts: t0 },
      // Another venue's price for the same symbol is not FEED-A's price (it trades on COINBASE).
      { venue: 'XNAS', instrument: 'FEED-A', bid: '1', ask: '2', ts: new Date() },
    ]);
    // Published before start: the snapshot is read at start, nothing to wait for.
    await rt.quoteFeed.start();
    expect(rt.quotes.get('FEED-A')).toMatchObject({ tsQuote: t0 });
    expect(rt.quotes.mark('FEED-A')?.toString()).toBe('50005');
    expect(rt.quotes.get('FEED-A')?.last?.toString()).toBe('50005');

    // What the server read before, and must not any more: ticks rows (they hold desk flow the
    // engine consumed) and the desk order-flow stream.
    const ts = new Date();
    await fx.owner`insert into ticks (ts, ts_ingest, symbol, seq, kind, price, size, bid, ask, bid_size, ask_size)
      values (${ts}, ${ts}, 'FEED-B', 1, 2, '1.005', '0', '1', '1.01', '5', '6'),
             (${ts}, ${ts}, 'FEED-B', 2, 1, '1.01', '3', null, null, null, null)`;
    await bus.xadd('test:orderflow', {
      symbol: 'FEED-B',
      ts: ts.toISOString(),
      kind: 'quote',
      bid: '1',
      ask: '1.01',
      bidSize: '1',
      askSize: '1',
    });
    const t1 = new Date(ts.getTime() - 500);
    await publishVenuePrices(bus, 'test:', [
      { venue: 'COINBASE', instrument: 'FEED-B', bid: '3000', ask: '3001', ts: t1 },
    ]);
    for (let i = 0; i < 200 && rt.quotes.get('FEED-B')?.tsQuote?.getTime() !== t1.getTime(); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(rt.quotes.get('FEED-B')).toMatchObject({ tsQuote: t1, last: null });
    expect(rt.quotes.mark('FEED-B')?.toString()).toBe('3000.5');

    // An instrument registered while running gets its venue's prices without a restart.
    await fx.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size) values ('NEW-USD', 'COINBASE', 'crypto', '0.01', '0.01')`;
    await publishVenuePrices(bus, 'test:', [
      { venue: 'COINBASE', instrument: 'NEW-USD', bid: '7', ask: '7.01' },
    ]);
    for (let i = 0; i < 200 && !rt.quotes.get('NEW-USD'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(rt.quotes.mark('NEW-USD')?.toString()).toBe('7.005');
    await rt.quoteFeed.stop();
    await bus.close();
  });
});

describe('time in force day', () => {
  beforeEach(reset);

  it('a 24/7 day order expires at the desk day boundary; a gtc order stays', async () => {
    let now = new Date();
    fx.runtime.brokers.close();
    fx.runtime = fx.newRuntime({ clock: () => now });
    const day = await place({ orderType: 'limit', limitPrice: '40000', quantity: '0.1', timeInForce: 'day' });
    const gtc = await place({ orderType: 'limit', limitPrice: '40001', quantity: '0.1', timeInForce: 'gtc' });
    await fx.settle();
    expect(await fx.runtime.expireDayOrders()).toBe(0);
    now = new Date(now.getTime() + 24 * 3600_000);
    expect(await fx.runtime.expireDayOrders()).toBe(1);
    expect((await orderRow(day.id)).status).toBe('expired');
    expect((await orderRow(gtc.id)).status).toBe('new');
  });
});
