import { randomUUID } from 'node:crypto';
import { withTenant } from '@aegis/shared/db/client';
import { isAppError } from '@aegis/shared/errors';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verify } from '../../src/audit/service.ts';
import type { ExecutionRuntime } from '../../src/execution/runtime.ts';
import { createExecutionFixture, type ExecutionFixture } from './execution-fixture.ts';
import { clearTrading, insertDeskLimits, mergeDeskLimits } from './support/desk-limits.ts';

/**
 * The batched order path (placement-batch.ts) under concurrency: orders that arrive together on
 * one desk are judged and written in one desk transaction, and two processes (two runtimes, each
 * with its own batcher) still serialize on the desk's database lock. Each test races many
 * placements and checks the guarantee the single-order path gave: no limit passed by two orders
 * that only one fits, one order per idempotency key, a verifiable audit chain, and a refused
 * order that writes nothing but its key's result.
 */
let fx: ExecutionFixture;
let second: ExecutionRuntime;
const actor = { type: 'user' as const, id: randomUUID() };

beforeAll(async () => {
  fx = await createExecutionFixture();
  second = fx.newRuntime();
});
afterAll(async () => {
  await fx?.close();
});

beforeEach(async () => {
  await clearTrading(fx.owner);
  fx.quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
  fx.quotes.setQuote('ETH-USD', '3000', '3001', '100', '100', new Date());
  await insertDeskLimits(fx.owner, fx.tenantId);
});

const deskLimits = (values: Record<string, string | number>, removed: string[] = []) =>
  mergeDeskLimits(fx.owner, fx.tenantId, values, removed);

const place = (rt: ExecutionRuntime, input: Partial<PlaceOrderInput>, key: string = randomUUID()) =>
  fx.placeOrder(
    { orderType: 'limit', timeInForce: 'gtc', quantity: '0.01', limitPrice: '40000', ...input },
    { key, actor, runtime: rt },
  );

/** n placements at once, alternating between the two runtimes (two server processes). */
const burst = (n: number, input: (i: number) => Partial<PlaceOrderInput>) =>
  Promise.all(Array.from({ length: n }, (_, i) => place(i % 2 ? second : fx.runtime, input(i))));

describe('batched placement keeps the guarantees of one transaction per order', () => {
  it('a throttle of 5 per minute lets exactly 5 of 30 concurrent orders through', async () => {
    await deskLimits({ max_orders_per_minute: 5 }, ['duplicateWindowMs', 'priceCollarBps']);
    const placed = await burst(30, (i) => ({ limitPrice: String(40000 + i) }));
    expect(placed.filter((o) => o.status === 'pending_new')).toHaveLength(5);
    const denied = placed.filter((o) => o.status === 'denied');
    expect(denied).toHaveLength(25);
    for (const d of denied) expect(d.rejectReason).toContain('ORDER_RATE_EXCEEDED');
    const [row] = await fx.owner`select count(*)::int as n from orders where status <> 'denied'`;
    expect(row!.n).toBe(5);
  });

  it('gross exposure that fits 3 orders lets exactly 3 of 24 concurrent orders through', async () => {
    // 0.01 BTC at ~50,000 ≈ 500 each: room for three, not four.
    await deskLimits({ max_gross_exposure: '1700' }, [
      'duplicateWindowMs',
      'maxOrdersPerMinute',
      'priceCollarBps',
    ]);
    const placed = await burst(24, () => ({ limitPrice: '50005' }));
    expect(placed.filter((o) => o.status === 'pending_new')).toHaveLength(3);
    const [row] = await fx.owner`select count(*)::int as n from outbox where topic = 'broker.place'`;
    expect(row!.n).toBe(3);
  });

  it('the duplicate guard sees an identical order accepted earlier in the same batch', async () => {
    await deskLimits({ duplicate_window_ms: 60_000 }, ['maxOrdersPerMinute', 'priceCollarBps']);
    const placed = await burst(10, () => ({ limitPrice: '40000' }));
    expect(placed.filter((o) => o.status === 'pending_new')).toHaveLength(1);
    for (const o of placed.filter((p) => p.status === 'denied'))
      expect(o.rejectReason).toContain('DUPLICATE');
  });

  it('one idempotency key sent 12 times at once, through two processes, makes one order', async () => {
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => place(i % 2 ? second : fx.runtime, { limitPrice: '41000' }, key)),
    );
    expect(new Set(results.map((o) => o.id)).size).toBe(1);
    const [row] = await fx.owner`select count(*)::int as n from orders`;
    expect(row!.n).toBe(1);
    const [k] = await fx.owner`select status, response from idempotency_keys where key = ${key}`;
    expect(k!.status).toBe('completed');
    expect(k!.response).toMatchObject({ ok: true, value: { orderId: results[0]!.id } });
  });

  it('the same key with another order in the same burst is a CONFLICT and writes nothing', async () => {
    const key = randomUUID();
    const results = await Promise.allSettled([
      place(fx.runtime, { limitPrice: '41000' }, key),
      place(fx.runtime, { limitPrice: '41001' }, key),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    const reason = (failed[0] as PromiseRejectedResult).reason;
    expect(isAppError(reason) && reason.code).toBe('CONFLICT');
    const [row] = await fx.owner`select count(*)::int as n from orders`;
    expect(row!.n).toBe(1);
  });

  it('an unknown instrument in a batch fails alone: its key stores the error, the others are placed', async () => {
    await deskLimits({}, ['duplicateWindowMs', 'maxOrdersPerMinute', 'priceCollarBps']);
    const auditBefore =
      await fx.owner`select count(*)::int as n from audit_log where tenant_id = ${fx.tenantId}`;
    const badKey = randomUUID();
    const results = await Promise.allSettled([
      place(fx.runtime, { limitPrice: '40001' }),
      place(fx.runtime, { symbol: 'NOPE-USD' }, badKey),
      place(fx.runtime, { limitPrice: '40002' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const err = (results[1] as PromiseRejectedResult).reason;
    expect(isAppError(err) && err.code).toBe('NOT_FOUND');
    const [orders] = await fx.owner`select count(*)::int as n from orders`;
    expect(orders!.n).toBe(2);
    const auditAfter =
      await fx.owner`select count(*)::int as n from audit_log where tenant_id = ${fx.tenantId}`;
    expect(auditAfter[0]!.n - auditBefore[0]!.n).toBe(2);
    // The retry replays the stored error rather than trying again.
    const again = await place(fx.runtime, { symbol: 'NOPE-USD' }, badKey).catch((e: unknown) => e);
    expect(isAppError(again) && again.code).toBe('NOT_FOUND');
    const [k] = await fx.owner`select status from idempotency_keys where key = ${badKey}`;
    expect(k!.status).toBe('completed');
  });

  it('the audit chain verifies after 120 concurrent orders from two processes', async () => {
    await deskLimits({}, ['duplicateWindowMs', 'maxOrdersPerMinute', 'priceCollarBps']);
    const placed = await burst(120, (i) => ({ limitPrice: String(30000 + i), side: i % 3 ? 'buy' : 'sell' }));
    expect(placed.every((o) => o.status === 'pending_new')).toBe(true);
    const result = await withTenant(fx.app.db, fx.tenantId, (tx) => verify(tx, { tenantId: fx.tenantId }));
    expect(result.ok).toBe(true);
    const rows = await fx.owner<{ target_id: string }[]>`
      select target_id from audit_log where tenant_id = ${fx.tenantId} and action = 'orders.place'`;
    const audited = new Set(rows.map((r) => r.target_id));
    for (const o of placed) expect(audited.has(o.id)).toBe(true);
  });

  it('the per-order path (orderPlacement: per-order) gives the same throttle result', async () => {
    const perOrder = fx.newRuntime({ options: { orderPlacement: 'per-order' } });
    await deskLimits({ max_orders_per_minute: 4 }, ['duplicateWindowMs', 'priceCollarBps']);
    const placed = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        place(i % 2 ? perOrder : fx.runtime, { limitPrice: String(40000 + i) }),
      ),
    );
    expect(placed.filter((o) => o.status === 'pending_new')).toHaveLength(4);
  });
});
