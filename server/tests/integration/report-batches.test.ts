/**
 * Execution reports that change only orders' states (acknowledgements, rejects, cancels, expiries,
 * restatements) applied as a run in one transaction (`applyExecutionReports`) end exactly as the
 * same reports applied one at a time (`applyExecutionReport`): the same outcome for each report
 * (applied, stale, illegal, unknown order) and the same order rows (status, quantity, broker id,
 * reject reason, version). The run costs the same statements whatever its length.
 */
import { randomUUID } from 'node:crypto';
import type { OrderView } from '@aegis/shared/schemas/order';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionReport } from '../../src/brokers/types.ts';
import { applyExecutionReports } from '../../src/execution/reports.ts';
import { createExecutionFixture, type ExecutionFixture, log } from './execution-fixture.ts';
import { insertDeskLimits } from './support/desk-limits.ts';
import { sleep } from './support/wait.ts';

let fx: ExecutionFixture;
const deps = () => ({ db: fx.app.db, log });
const statements: string[] = [];

beforeAll(async () => {
  fx = await createExecutionFixture();
  await insertDeskLimits(fx.owner, fx.tenantId, {}, ['duplicateWindowMs', 'maxOrdersPerMinute']);
  fx.quote('BTC-USD', '50000', '50010');
  await fx.runtime.dispatcher.stop();
  const client = (fx.app.db as unknown as { $client: postgres.Sql }).$client;
  (client.options as { debug?: unknown }).debug = (_conn: number, query: string) => {
    statements.push(query);
  };
});
afterAll(async () => {
  await fx?.close();
});

/** Five resting orders the broker has not seen yet (their outbox rows marked sent). */
async function fiveOrders(): Promise<OrderView[]> {
  const placed: OrderView[] = [];
  for (let i = 0; i < 5; i++)
    placed.push(
      await fx.placeOrder({
        orderType: 'limit',
        limitPrice: String(40000 + i),
        quantity: '1',
        timeInForce: 'gtc',
      }),
    );
  await fx.owner`update outbox set dispatched_at = now() where aggregate_id in ${fx.owner(placed.map((o) => o.id))}`;
  return placed;
}

/** The same run of reports for a set of five orders A..E (a report for an unknown order too). */
function run(o: OrderView[]): ExecutionReport[] {
  const [a, b, c, d] = o as [OrderView, OrderView, OrderView, OrderView];
  let n = 0;
  const r = (x: OrderView | null, kind: ExecutionReport['kind'], extra: Partial<ExecutionReport> = {}) =>
    ({
      kind,
      executionId: `E${++n}-${randomUUID().slice(0, 6)}`,
      clientOrderId: x?.clientOrderId ?? 'AE-nobody',
      brokerOrderId: x ? `X-${o.indexOf(x)}` : 'X-none',
      symbol: 'BTC-USD',
      side: 'buy',
      tsEvent: fx.now(),
      cumQty: '0',
      leavesQty: '1',
      avgPx: null,
      ...extra,
    }) as ExecutionReport;
  return [
    r(a, 'accepted'), // applied
    r(b, 'accepted'), // applied
    r(a, 'accepted'), // stale: a late acknowledgement
    r(c, 'expired'), // illegal: pending_new cannot expire
    r(a, 'cancel_rejected', { reason: 'too late' }), // illegal: no cancel pending
    r(a, 'restated', { orderQty: '3', reason: 'broker restated' }), // applied: quantity 3
    r(b, 'cancelled'), // applied
    r(c, 'rejected', { reason: 'no margin' }), // applied
    r(b, 'cancelled'), // stale: already cancelled
    r(null, 'accepted'), // unknown order
    r(d, 'accepted', { brokerOrderId: undefined }), // applied, no broker id
    r(d, 'restated', { orderQty: '-1' }), // illegal: negative quantity
  ];
}

const rowsOf = async (o: OrderView[]) => {
  const rows = await fx.owner`select id, status, quantity::text, filled_quantity::text, broker_order_id,
    reject_reason, version from orders where id in ${fx.owner(o.map((x) => x.id))}`;
  const byId = new Map(rows.map((r) => [r.id as string, r]));
  return o.map((x) => {
    const { id: _id, ...rest } = byId.get(x.id)!;
    return rest;
  });
};

describe('state-only execution reports in one transaction', () => {
  it('end as the same reports applied one at a time: outcomes and order rows', async () => {
    const one = await fiveOrders();
    const many = await fiveOrders();

    const alone: string[] = [];
    for (const rep of run(one)) alone.push((await fx.runtime.applyReport(fx.tenantId, rep)).outcome);

    const results = await applyExecutionReports(deps(), fx.tenantId, run(many), fx.now());
    expect(results.map((x) => x.outcome)).toEqual(alone);
    expect(alone).toEqual([
      'applied',
      'applied',
      'stale',
      'illegal',
      'illegal',
      'applied',
      'applied',
      'applied',
      'stale',
      'unknown_order',
      'applied',
      'illegal',
    ]);
    expect(await rowsOf(many)).toEqual(await rowsOf(one));
    expect((await rowsOf(many)).map((r) => r.status)).toEqual([
      'new',
      'cancelled',
      'rejected',
      'new',
      'pending_new',
    ]);

    // The last applied report of each order carries the order as it now is.
    const rows = await rowsOf(many);
    const views = results.map((x) => x.order ?? null);
    expect(views[5]).toMatchObject({
      id: many[0]!.id,
      status: 'new',
      quantity: '3',
      version: rows[0]!.version,
    });
    expect(views[6]).toMatchObject({ id: many[1]!.id, status: 'cancelled', version: rows[1]!.version });
    expect(views[0]).toBeNull(); // A's later report carries it
  });

  it('costs the same statements for one report as for twelve', async () => {
    const a = await fiveOrders();
    statements.length = 0;
    await applyExecutionReports(deps(), fx.tenantId, run(a).slice(0, 1), fx.now());
    const forOne = statements.length;
    const b = await fiveOrders();
    statements.length = 0;
    await applyExecutionReports(deps(), fx.tenantId, run(b), fx.now());
    expect(statements.length).toBe(forOne);
    expect(forOne).toBeLessThanOrEqual(5); // begin, the desk setting, read and lock, update, commit
  });

  it('refuses fills (they go one at a time, with the book)', async () => {
    const [a] = await fiveOrders();
    const fill = {
      ...run([a!, a!, a!, a!])[0]!,
      kind: 'fill',
      lastQty: '1',
      lastPx: '40000',
      fee: '0',
    } as ExecutionReport;
    await expect(applyExecutionReports(deps(), fx.tenantId, [fill], fx.now())).rejects.toThrow(/no fills/);
  });

  it('through the broker sessions: forty acknowledgements are applied in runs, every order acknowledged once', async () => {
    await fx.replaceRuntime();
    const placed = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fx.placeOrder({
          orderType: 'limit',
          limitPrice: String(30000 + i),
          quantity: '0.01',
          timeInForce: 'gtc',
        }),
      ),
    );
    // The orders are held locked, so the first report waits on its order while the broker's
    // other acknowledgements arrive and queue behind it; then they are let go.
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holding = fx.owner.begin(async (tx) => {
      await tx`select id from orders where id in ${tx(placed.map((o) => o.id))} for update`;
      locked();
      await released;
    });
    await isLocked;
    statements.length = 0;
    const settling = fx.settle();
    await sleep(500);
    release();
    await holding;
    await settling;
    const rows = await fx.owner`select status, version, broker_order_id from orders
      where id in ${fx.owner(placed.map((o) => o.id))}`;
    expect(rows.map((r) => r.status)).toEqual(placed.map(() => 'new'));
    expect(rows.every((r) => r.broker_order_id !== null && r.version === 1)).toBe(true);
    // Read and locked by client order id: one at a time (`= $n`) or a run at once (`in (…)`).
    const lockReads = statements.filter(
      (q) => /from "orders".*"client_order_id" (=|in)/s.test(q) && /for update/.test(q),
    );
    const runs = lockReads.filter((q) => /"client_order_id" in \(/.test(q));
    expect(runs.length).toBeGreaterThan(0);
    expect(lockReads.length).toBeLessThan(40);
  });
});
