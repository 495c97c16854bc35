import { withTenant } from '@aegis/shared/db/client';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRiskInputs } from '../../src/execution/risk-context.ts';
import { valueDesk } from '../../src/execution/valuation.ts';
import { createExecutionFixture, type ExecutionFixture } from './execution-fixture.ts';
import { insertDeskLimits } from './support/desk-limits.ts';

/**
 * The governor's dry run (`risk.check`, OrderService.check) over real PostgreSQL: a fixed number
 * of statements whatever the size of the desk's book (no query per position or instrument), and
 * the facts it judges by are the ones valueDesk and the order path read: every position with its
 * mark and multiplier, daily P&L against the session's equity snapshot, earlier orders.
 */
let fx: ExecutionFixture;
const statements: string[] = [];
const order = {
  symbol: 'BTC-USD',
  side: 'buy',
  orderType: 'limit',
  timeInForce: 'gtc',
  quantity: '0.001',
  limitPrice: '20001',
} as PlaceOrderInput;

beforeAll(async () => {
  fx = await createExecutionFixture();
  const drizzleClient = (fx.app.db as unknown as { $client: postgres.Sql }).$client;
  for (const client of [fx.app.sql, drizzleClient]) {
    (client.options as { debug?: unknown }).debug = (_conn: number, query: string) => {
      statements.push(query);
    };
  }
  await insertDeskLimits(fx.owner, fx.tenantId, {}, ['duplicateWindowMs', 'maxOrdersPerMinute']);
  fx.quote('BTC-USD', '50000', '50010');
});
afterAll(async () => {
  await fx?.close();
});

/** Adds `n` instruments and a position in each (quoted), named from `prefix`. */
async function addPositions(prefix: string, n: number, multiplier = '1'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const s = `${prefix}${i}-USD`;
    await fx.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, multiplier, calendar)
      values (${s}, 'X', 'crypto', '0.01', '0.0001', ${multiplier}, '24x7')`;
    await fx.owner`insert into positions (tenant_id, symbol, quantity, avg_cost, realized_pnl, fees, opened_at)
      values (${fx.tenantId}, ${s}, ${String(i + 1)}, '100', ${String(i)}, '0.5', now())`;
    fx.quote(s, '101', '101.02');
  }
}

async function statementsOfOneCheck(): Promise<number> {
  statements.length = 0;
  await fx.runtime.orders.check(fx.tenantId, order, 'api');
  return statements.length;
}

describe('risk.check', () => {
  it('sends the same, bounded number of statements for a book of 2 or of 80 positions', async () => {
    await addPositions('A', 2);
    await fx.runtime.orders.check(fx.tenantId, order, 'api'); // warm-up
    const small = await statementsOfOneCheck();
    await addPositions('B', 78);
    const large = await statementsOfOneCheck();
    expect(large).toBe(small);
    // begin, set_config, 8 reads, then 4 that depend on them, commit (17 before they were pipelined).
    expect(large).toBeLessThanOrEqual(15);
  });

  it('judges against the positions, marks and daily P&L valueDesk computes', async () => {
    // A leg with a multiplier, one with no quote (valued at its cost), and a snapshot before
    // today's session start that daily P&L is measured from.
    await addPositions('M', 1, '50');
    await fx.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
      values ('NOQUOTE-USD', 'X', 'crypto', '0.01', '0.0001', '24x7')`;
    await fx.owner`insert into positions (tenant_id, symbol, quantity, avg_cost, realized_pnl, fees, opened_at)
      values (${fx.tenantId}, 'NOQUOTE-USD', '-2', '40', '7', '1', now())`;
    await fx.owner`insert into equity_snapshots (tenant_id, ts, equity, cash, realized_pnl, unrealized_pnl, fees, gross_exposure, net_exposure, reason)
      values (${fx.tenantId}, now() - interval '3 days', '1', '1', '11.5', '-3.25', '2', '0', '0', 'interval'),
             (${fx.tenantId}, now() + interval '1 day', '1', '1', '999', '999', '0', '0', '0', 'interval')`;
    const now = new Date();
    const [inputs, valuation] = await withTenant(fx.app.db, fx.tenantId, async (tx) => [
      await loadRiskInputs(
        tx,
        fx.tenantId,
        { ...order, limitPrice: order.limitPrice ?? null, stopPrice: null, origin: 'api' },
        { quotes: fx.quotes, startingCapital: '1000000', now },
      ),
      await valueDesk(tx, fx.tenantId, fx.quotes, '1000000', now),
    ]);
    expect(valuation.legs).toHaveLength(82);
    expect(inputs.ctx.dailyPnl).toEqual({
      realized: valuation.daily.realized,
      unrealized: valuation.daily.unrealized,
    });
    // The snapshot 3 days back is the base, not the one after the session start.
    expect(valuation.daily.realized).not.toBe('0');
    expect(inputs.ctx.positions).toEqual(
      valuation.legs.map((l) => ({ symbol: l.position.symbol, quantity: l.position.quantity })),
    );
    for (const l of valuation.legs) {
      expect(inputs.ctx.marks[l.position.symbol]).toBe(l.mark ?? l.position.avgCost);
      expect(inputs.ctx.instruments[l.position.symbol]?.multiplier).toBe(l.multiplier);
    }
    expect(inputs.ctx.instruments['M0-USD']?.multiplier).toMatch(/^50(\.0+)?$/);
  });

  it('sees an order placed earlier on the desk', async () => {
    // Room for the book's 80-odd legs, and the duplicate guard on.
    await fx.owner`update risk_limits set duplicate_window_ms = 60000, max_open_legs = 1000, removed_limits = '{}'::jsonb
      where tenant_id = ${fx.tenantId} and symbol = '*'`;
    const before = await fx.runtime.orders.check(fx.tenantId, order, 'api');
    expect(before.allowed).toBe(true);
    expect((await fx.placeOrder(order)).status).toBe('pending_new');
    const after = await fx.runtime.orders.check(fx.tenantId, order, 'human');
    expect(after.denials.map((d) => d.code)).toContain('DUPLICATE_ORDER');
  });
});
