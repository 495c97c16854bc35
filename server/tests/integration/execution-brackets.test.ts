import { randomUUID } from 'node:crypto';
import { MemoryBus } from '@aegis/shared/bus/index';
import { asOrderId, asProposalId, asTenantId } from '@aegis/shared/ids';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/database.ts';
import { listOrders } from '../../src/execution/queries.ts';
import type { Actor } from '../../src/execution/types.ts';
import { ProposalWorkflow } from '../../src/proposals/workflow.ts';
import { decisionStreams } from '../../src/signals/streams.ts';
import {
  createExecutionFixture,
  type ExecutionFixture,
  LATE_BROKER,
  LATE_BROKER_ANSWER_MS,
  log,
} from './execution-fixture.ts';
import { clearTrading, insertDeskLimits } from './support/desk-limits.ts';

/**
 * Bracket orders through the real execution path (PostgreSQL, outbox, paper broker, reports):
 * an approved proposal's stop and target become OCO legs of its entry, sized to what the entry
 * fills; driving the price through a level closes the position and cancels the other leg.
 */
let fx: ExecutionFixture;
let actor: Actor;

beforeAll(async () => {
  fx = await createExecutionFixture();
  actor = { type: 'user', id: fx.userId };
});
afterAll(async () => {
  await fx?.close();
});

beforeEach(async () => {
  await fx.replaceRuntime(); // first: nothing of the last test may land after the clear
  await clearTrading(fx.owner, ['proposals']);
  fx.quote('ETH-USD', '3000', '3001', '100');
  // Whole ETH at $3,000: explicit desk limits above the platform's default order notional.
  await insertDeskLimits(fx.owner, fx.tenantId);
});

const place = (input: Partial<PlaceOrderInput>) =>
  fx.placeOrder(
    { symbol: 'ETH-USD', quantity: '2', bracket: { stopPrice: '2900', targetPrice: '3200' }, ...input },
    { actor },
  );

const rows = async () =>
  fx.owner`select id, bracket_role, parent_order_id, oco_group, side, order_type, status,
             quantity::text, filled_quantity::text, avg_fill_price::text, stop_price::text, limit_price::text
           from orders order by created_at, bracket_role nulls first`;
const leg = async (role: 'stop' | 'target') => (await rows()).find((r) => r.bracket_role === role)!;
const entryRow = async () => (await rows()).find((r) => r.bracket_role === null)!;
const position = async () => {
  const [p] = await fx.owner`select quantity::text from positions where symbol = 'ETH-USD'`;
  return p ? Number(p.quantity) : 0;
};
/** The price moves; the paper broker works its orders against it; the reports are applied. */
const market = async (bid: string, ask: string, size = '100') => {
  fx.quote('ETH-USD', bid, ask, size);
  await fx.settle();
};

describe('bracket orders', () => {
  it('an approved proposal places its bracket: the stop fires when the price falls through it, the target is cancelled, the position is flat', async () => {
    const proposalId = asProposalId(randomUUID());
    await fx.owner`insert into proposals ${fx.owner({
      id: proposalId,
      tenant_id: fx.tenantId,
      symbol: 'ETH-USD',
      side: 'buy',
      quantity: '2',
      order_type: 'limit',
      limit_price: '3001',
      stop_price: '2900',
      target_price: '3200',
      time_horizon: '1h',
      confidence: 0.7,
      risk_score: 30,
      rationale: fx.owner.json({}),
      decider: 'human',
      expires_at: new Date(Date.now() + 300_000),
    } as never)}`;
    const workflow = new ProposalWorkflow({
      db: fx.app.db,
      bus: new MemoryBus(),
      log,
      streams: decisionStreams(`t${randomUUID().slice(0, 6)}`),
      execution: () => fx.runtime,
    });
    const { proposal, order } = await workflow.approve({
      tenantId: fx.tenantId,
      proposalId,
      actor,
      userId: null,
      reason: null,
      origin: 'human',
    });
    expect(proposal.status).toBe('executed');
    expect(order).toMatchObject({ status: 'pending_new', parentOrderId: null, bracketRole: null });
    await fx.settle();

    const entry = await entryRow();
    expect(entry).toMatchObject({ id: order!.id, status: 'filled', filled_quantity: '2.000000000000' });
    expect(await leg('stop')).toMatchObject({
      parent_order_id: order!.id,
      oco_group: order!.id,
      side: 'sell',
      order_type: 'stop',
      stop_price: '2900.000000000000',
      status: 'new',
      quantity: '2.000000000000',
    });
    expect(await leg('target')).toMatchObject({
      side: 'sell',
      order_type: 'limit',
      limit_price: '3200.000000000000',
      status: 'new',
      quantity: '2.000000000000',
    });
    expect(await position()).toBe(2);

    // Every leg is visible in the orders list with its parent, and audited.
    const listed = await withTenant(fx.app.db, fx.tenantId, (tx) =>
      listOrders(tx, fx.tenantId, { status: 'working', limit: 100 }),
    );
    expect(listed.map((o) => [o.bracketRole, o.parentOrderId]).sort()).toEqual([
      ['stop', order!.id],
      ['target', order!.id],
    ]);
    const audits = await fx.owner`select count(*)::int as n from audit_log where action = 'orders.place'`;
    expect(audits[0]!.n).toBe(3);

    await market('2950', '2951'); // above the stop: nothing happens
    expect((await leg('stop')).status).toBe('new');
    await market('2890', '2891'); // through the stop
    expect(await leg('stop')).toMatchObject({ status: 'filled', filled_quantity: '2.000000000000' });
    expect(Number((await leg('stop')).avg_fill_price)).toBeLessThanOrEqual(2900);
    expect((await leg('target')).status).toBe('cancelled');
    expect(await position()).toBe(0);
    const [trade] = await fx.owner`select proposal_id, quantity::text from trade_outcomes`;
    expect(trade).toMatchObject({ proposal_id: proposalId, quantity: '2.000000000000' });
    const broker = await fx.runtime.brokers.paper(fx.tenantId);
    expect(await broker.listOpenOrders()).toEqual([]);
    expect((await fx.runtime.reconciler.reconcile(fx.tenantId, 'manual')).ok).toBe(true);
  });

  it('the target fills when the price trades through it and cancels the stop', async () => {
    await place({});
    await fx.settle();
    expect((await leg('target')).status).toBe('new');
    fx.quote('ETH-USD', '3199', '3200', '100');
    fx.quotes.setTrade('ETH-USD', '3201', '5', fx.now());
    await fx.settle();
    expect(await leg('target')).toMatchObject({ status: 'filled', avg_fill_price: '3200.000000000000' });
    expect((await leg('stop')).status).toBe('cancelled');
    expect(await position()).toBe(0);
  });

  it('a partial fill of the entry sizes the legs to it; the next fill grows them', async () => {
    fx.quote('ETH-USD', '3000', '3001', '0.5');
    await place({ orderType: 'limit', limitPrice: '3001', timeInForce: 'gtc' });
    await fx.settle();
    expect(await entryRow()).toMatchObject({ status: 'partially_filled', filled_quantity: '0.500000000000' });
    expect((await leg('stop')).quantity).toBe('0.500000000000');
    expect((await leg('target')).quantity).toBe('0.500000000000');
    // The governor counts the OCO pair once: 0.5 of working sells, not 1.
    const check = await fx.runtime.orders.check(
      fx.tenantId,
      { symbol: 'ETH-USD', side: 'sell', orderType: 'market', timeInForce: 'day', quantity: '0.5' },
      'human',
    );
    expect(check.allowed).toBe(true);

    await market('3000', '3001', '5');
    expect(await entryRow()).toMatchObject({ status: 'filled', filled_quantity: '2.000000000000' });
    expect((await leg('stop')).quantity).toBe('2.000000000000');
    expect(await position()).toBe(2);
    await market('2800', '2801');
    expect(await position()).toBe(0);
    expect((await leg('target')).status).toBe('cancelled');
  });

  it('cancelling an entry before it fills cancels its legs', async () => {
    const o = await place({ orderType: 'limit', limitPrice: '2950', timeInForce: 'gtc' });
    await fx.settle();
    expect((await leg('stop')).status).toBe('new');
    await fx.runtime.orders.cancel(asTenantId(fx.tenantId), asOrderId(o.id), actor);
    await fx.settle();
    expect((await entryRow()).status).toBe('cancelled');
    expect((await leg('stop')).status).toBe('cancelled');
    expect((await leg('target')).status).toBe('cancelled');
  });

  it('an entry cancelled before it was sent takes its legs with it; incoherent levels are refused by name', async () => {
    const o = await place({ orderType: 'limit', limitPrice: '2950', timeInForce: 'gtc' });
    await fx.runtime.orders.cancel(asTenantId(fx.tenantId), asOrderId(o.id), actor);
    await fx.settle();
    expect((await rows()).map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    const refused = await place({ bracket: { stopPrice: '3300', targetPrice: '3200' } }).catch((e) => e);
    expect(refused.details?.field).toBe('bracket.stopPrice');
  });

  it('a leg the governor denies denies the whole bracket, naming the leg (dry run and placement)', async () => {
    // The entry is worth 2 × 3001; the target leg 2 × 3200, above this desk's order notional.
    await fx.owner`update risk_limits set max_order_notional = '6200' where tenant_id = ${fx.tenantId}`;
    const input = {
      symbol: 'ETH-USD',
      side: 'buy' as const,
      orderType: 'market' as const,
      timeInForce: 'day' as const,
      quantity: '2',
      bracket: { stopPrice: '2900', targetPrice: '3200' },
    };
    const dry = await fx.runtime.orders.check(fx.tenantId, input, 'human');
    expect(dry.allowed).toBe(false);
    expect(dry.denials.map((d) => [d.code, d.message?.startsWith('target leg')])).toEqual([
      ['MAX_ORDER_NOTIONAL', true],
    ]);
    const o = await place({});
    expect(o.status).toBe('denied');
    expect((await rows()).map((r) => r.status)).toEqual(['denied', 'denied', 'denied']);
    expect(await fx.owner`select count(*)::int as n from outbox`).toEqual([{ n: 0 }]);
    // Without the bracket the same entry passes.
    expect((await fx.runtime.orders.check(fx.tenantId, { ...input, bracket: null }, 'human')).allowed).toBe(
      true,
    );
  });

  it('a halted desk keeps the protective legs: the stop still fires', async () => {
    await place({});
    await fx.settle();
    const r = await fx.haltDesk();
    expect(r.cancelsQueued).toBe(0);
    await fx.settle();
    expect((await leg('stop')).status).toBe('new');
    // While halted a new bracket's entry is denied, legs with it.
    const denied = await place({});
    expect(denied.status).toBe('denied');
    expect((await rows()).filter((x) => x.status === 'denied')).toHaveLength(3);
    await market('2890', '2891');
    expect((await leg('stop')).status).toBe('filled');
    expect(await position()).toBe(0);
  });

  it('a broker timeout leaves the entry unknown; the retry finds it and its legs, never sending a second bracket', async () => {
    await fx.replaceRuntime({ options: LATE_BROKER });
    const o = await place({ orderType: 'limit', limitPrice: '2950', timeInForce: 'gtc' });
    await fx.runtime.dispatcher.dispatchTenant(fx.tenantId);
    expect((await entryRow()).status).toBe('unknown');
    expect((await leg('stop')).status).toBe('pending_new');
    await new Promise((r) => setTimeout(r, LATE_BROKER_ANSWER_MS + 100));
    await fx.runtime.brokers.drain();
    await fx.owner`update outbox set available_at = now() where aggregate_id = ${o.id}`;
    await fx.settle();
    expect((await rows()).map((r) => r.status)).toEqual(['new', 'new', 'new']);
    const broker = await fx.runtime.brokers.paper(fx.tenantId);
    expect((await broker.listOpenOrders()).length).toBe(3);
  });

  it('reconciliation catches up the legs (and entry) whose reports were lost', async () => {
    const broker = await fx.runtime.brokers.paper(fx.tenantId);
    broker.setReportsMuted(true);
    await place({ orderType: 'limit', limitPrice: '2950', timeInForce: 'gtc' });
    await fx.settle();
    expect((await rows()).map((r) => r.status)).toEqual(['pending_new', 'pending_new', 'pending_new']);
    broker.setReportsMuted(false);
    const r = await fx.runtime.reconciler.reconcile(fx.tenantId, 'manual');
    expect(r.ok).toBe(true);
    expect((await rows()).map((x) => x.status)).toEqual(['new', 'new', 'new']);
  });

  it('reconciliation ends the legs of an unknown entry the broker never received', async () => {
    await fx.runtime.dispatcher.stop();
    const o = await place({});
    await fx.owner`update orders set status = 'unknown' where id = ${o.id}`;
    await fx.owner`update outbox set dispatched_at = now() where aggregate_id = ${o.id}`;
    const r = await fx.runtime.reconciler.reconcile(fx.tenantId, 'manual');
    expect(r.resolved).toEqual([{ orderId: o.id, status: 'rejected' }]);
    expect((await rows()).map((x) => x.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('legs survive a restart of the paper account: the stop fires after the process restarted', async () => {
    await place({ quantity: '1' });
    await fx.settle();
    fx.runtime.brokers.close();
    fx.runtime = fx.newRuntime();
    await fx.runtime.brokers.paper(fx.tenantId); // rebuilt from PostgreSQL
    await market('2890', '2891');
    expect((await leg('stop')).status).toBe('filled');
    expect((await leg('target')).status).toBe('cancelled');
    expect(await position()).toBe(0);
  });
});
