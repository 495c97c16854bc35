/**
 * Combo orders through the real execution path (PostgreSQL, governor, outbox, paper broker,
 * reports): option contracts on a test venue (multiplier 100, deltas in `greeks`), priced in the
 * process's quote book as the venue feed fills it.
 *
 * One file: the combo lifecycle (placement, leg fills, waiting on the net limit, cancels, strategy
 * positions) on one fixture and one option chain.
 */
import { randomUUID } from 'node:crypto';
import { isAppError } from '@aegis/shared/errors';
import { asComboId, asTenantId } from '@aegis/shared/ids';
import type { PlaceComboInput } from '@aegis/shared/schemas/combo';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerAdapter } from '../../src/brokers/types.ts';
import { withTenant } from '../../src/db/database.ts';
import { listStrategyPositions } from '../../src/execution/strategy-positions.ts';
import type { Actor } from '../../src/execution/types.ts';
import type { ExecutionFixture } from './execution-fixture.ts';
import { clearTrading, insertDeskLimits } from './support/desk-limits.ts';
import { verticalSpread } from './support/option-contracts.ts';
import { COMBO_DESK_LIMITS, createOptionDesk, quoteCallVertical } from './support/option-desk.ts';

let fx: ExecutionFixture;
let actor: Actor;

const U = 'CMBX';
const C100 = 'CMBX-261218C100';
const C105 = 'CMBX-261218C105';
const P95 = 'CMBX-261218P95';

beforeAll(async () => {
  ({ fx, actor } = await createOptionDesk(U, { c100: C100, c105: C105 }, [
    { symbol: P95, right: 'put', strike: '95', delta: -0.4 },
  ]));
});
afterAll(async () => {
  await fx?.close();
});

beforeEach(async () => {
  await fx.replaceRuntime(); // first: nothing of the last test may land after the clear
  await clearTrading(fx.owner, ['combos', 'broker_connections']);
  await setLimits({});
  quoteCallVertical(fx, U, { c100: C100, c105: C105 });
  market(P95, '1.98', '2.00');
});

async function setLimits(over: Record<string, unknown>) {
  await fx.owner`delete from risk_limits`;
  await insertDeskLimits(fx.owner, fx.tenantId, { ...COMBO_DESK_LIMITS, ...over });
}
function market(symbol: string, bid: string, ask: string, size = '50') {
  fx.quote(symbol, bid, ask, size);
}

const vertical = (over: Partial<PlaceComboInput> = {}) => verticalSpread(C100, C105, over);
const place = (input: PlaceComboInput, key = randomUUID(), tenantId = fx.tenantId) =>
  fx.runtime.combos.place({ tenantId, actor, origin: 'human', idempotencyKey: key, input });
const legRows = () =>
  fx.owner`select symbol, side, status, quantity::text, filled_quantity::text, avg_fill_price::text, leg_ratio
           from orders where combo_id is not null order by client_order_id`;
const fillCount = async () => Number((await fx.owner`select count(*)::int as n from fills`)[0]!.n);
const pos = async (symbol: string) => {
  const [p] = await fx.owner`select quantity::text from positions where symbol = ${symbol}`;
  return p ? Number(p.quantity) : 0;
};

describe('a vertical combo on the paper broker fills all-or-none', () => {
  it('waits while the net at the touches is above its limit, then fills both legs in one step', async () => {
    const c = await place(vertical());
    expect(c.status).toBe('pending_new');
    expect(c.maxLoss).toBe('580'); // 2.90 debit × 2 × 100
    await fx.settle();
    expect((await fx.runtime.combos.get(fx.tenantId, c.id)).status).toBe('new');
    // The long leg alone would be marketable at a price; the combo is not (3.00 > 2.90): nothing fills.
    market(C100, '4.98', '4.99');
    await fx.settle();
    expect(await fillCount()).toBe(0);
    expect((await legRows()).map((l) => l.status)).toEqual(['new', 'new']);
    // Net now 2.90 but the short leg shows 1 contract where 2 are needed: still nothing.
    market(C105, '2.09', '2.10', '1');
    await fx.settle();
    expect(await fillCount()).toBe(0);
    // Size there: both legs fill in the same pass at their touches.
    market(C105, '2.09', '2.10', '10');
    await fx.settle();
    const legs = await legRows();
    expect(legs.map((l) => [l.status, Number(l.filled_quantity), Number(l.avg_fill_price)])).toEqual([
      ['filled', 2, 4.99],
      ['filled', 2, 2.09],
    ]);
    expect(await fillCount()).toBe(2);
    const done = await fx.runtime.combos.get(fx.tenantId, c.id);
    expect(done).toMatchObject({ status: 'filled', filledQuantity: '2', avgNetPrice: '2.9' });
    expect(await pos(C100)).toBe(2);
    expect(await pos(C105)).toBe(-2);
    const [cash] = await fx.owner`select cash::text from equity_snapshots order by ts desc limit 1`;
    // 1,000,000 − 2 × 100 × (4.99 − 2.09), fees 0 in this fixture.
    expect(Number(cash!.cash)).toBe(1_000_000 - 580);
  });

  it('a market combo fills at once at the touches', async () => {
    const c = await place(vertical({ orderType: 'market', netLimitPrice: null }));
    await fx.settle();
    const done = await fx.runtime.combos.get(fx.tenantId, c.id);
    expect(done).toMatchObject({ status: 'filled', avgNetPrice: '3' });
    expect(done.legs.map((l) => l.status)).toEqual(['filled', 'filled']);
  });

  it('cancel cancels both legs', async () => {
    const c = await place(vertical({ netLimitPrice: '1' }));
    await fx.settle();
    const pending = await fx.runtime.combos.cancel(asTenantId(fx.tenantId), asComboId(c.id), actor);
    expect(pending.status).toBe('pending_cancel');
    await fx.settle();
    const done = await fx.runtime.combos.get(fx.tenantId, c.id);
    expect(done.status).toBe('cancelled');
    expect(done.legs.map((l) => l.status)).toEqual(['cancelled', 'cancelled']);
    // Marketable later: nothing fills.
    market(C100, '0.98', '1.00');
    await fx.settle();
    expect(await fillCount()).toBe(0);
  });

  it('the desk halt cancels a working combo whole (leg by leg at the broker)', async () => {
    const c = await place(vertical({ netLimitPrice: '1' }));
    await fx.settle();
    await fx.runtime.halts.engage({ scope: 'desk', tenantId: fx.tenantId, actor, reason: 'test' });
    expect((await fx.runtime.combos.get(fx.tenantId, c.id)).status).toBe('pending_cancel');
    await fx.settle();
    const done = await fx.runtime.combos.get(fx.tenantId, c.id);
    expect(done.status).toBe('cancelled');
    expect(done.legs.map((l) => l.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('a working combo survives a restart of the paper account and fills once', async () => {
    const c = await place(vertical());
    await fx.settle();
    expect((await fx.runtime.combos.get(fx.tenantId, c.id)).status).toBe('new');
    fx.runtime.brokers.close();
    fx.runtime = fx.newRuntime();
    await fx.runtime.brokers.session(fx.tenantId, null); // rebuilt from PostgreSQL
    // The rebuilt account holds the same working legs as the books: nothing to reconcile.
    const rec = await fx.runtime.reconciler.reconcile(fx.tenantId, 'manual', null);
    expect(rec).toMatchObject({ ok: true, orderMismatches: [], positionMismatches: [] });
    market(C100, '4.98', '4.99');
    market(C105, '2.09', '2.10');
    await fx.settle();
    expect(await fx.runtime.combos.get(fx.tenantId, c.id)).toMatchObject({
      status: 'filled',
      avgNetPrice: '2.9',
    });
    expect(await fillCount()).toBe(2);
  });

  it('a cash account takes a credit vertical whose long leg covers the short one (reserves the max loss)', async () => {
    fx.runtime.brokers.close();
    fx.runtime = fx.newRuntime({ options: { startingCapital: '1000' } });
    // Sell C100 at 4.98, buy C105 at 2.01: a 2.97 credit; max loss (5 − 2.97) × 2 × 100 = 406.
    // Reserved leg by leg it would need 2.01 × 200 + 4.98 × 200 = 1,398 > 1,000 of cash.
    const c = await place(
      vertical({
        legs: [
          { symbol: C100, side: 'sell', ratio: 1 },
          { symbol: C105, side: 'buy', ratio: 1 },
        ],
        netLimitPrice: '-2.95',
      }),
    );
    expect(c.maxLoss).toBe('410');
    await fx.settle();
    const done = await fx.runtime.combos.get(fx.tenantId, c.id);
    expect(done).toMatchObject({ status: 'filled', avgNetPrice: '-2.97' });
  });
});

describe('a broker without native combos', () => {
  it('rejects the combo at dispatch with the reason, and never sends a leg on its own', async () => {
    const sent: string[] = [];
    const adapter: BrokerAdapter = {
      name: 'no-combos',
      capabilities: { nativeBrackets: false },
      placeOrder: async (r) => {
        sent.push(r.clientOrderId);
        return { clientOrderId: r.clientOrderId, brokerOrderId: null, status: 'rejected' };
      },
      cancelOrder: async () => {},
      getOrderByClientId: async () => null,
      getExecutions: async () => [],
      listOpenOrders: async () => [],
      listPositions: async () => [],
      onExecutionReport: () => () => {},
      getAccount: async () => ({
        accountId: 'X',
        currency: 'USD',
        cash: '0',
        buyingPower: '0',
        equity: '0',
        brokerStatus: null,
      }),
      close: () => {},
    };
    const [conn] = await fx.owner`
      insert into broker_connections (tenant_id, provider, account_ref, environment, link_kind, status)
      values (${fx.tenantId}, 'alpaca', ${`PA-${randomUUID().slice(0, 8)}`}, 'paper', 'api_key', 'active') returning id`;
    fx.runtime.brokers.close();
    fx.runtime = fx.newRuntime({
      options: {
        adapterFactories: { alpaca: () => adapter },
        connections: {
          credentialsFor: () => ({
            accessToken: async () => 't',
            refreshAccessToken: async () => 't',
            apiKey: async () => ({ apiKey: 'k', apiSecret: 's' }),
          }),
          endpointsFor: () => ({ apiBaseUrl: 'http://127.0.0.1:9' }),
        },
      },
    });
    const c = await place(vertical({ brokerConnectionId: conn!.id }));
    expect(c.status).toBe('pending_new');
    await fx.settle();
    const done = await fx.runtime.combos.get(fx.tenantId, c.id);
    expect(done.status).toBe('rejected');
    expect(done.legs.map((l) => [l.status, l.rejectReason])).toEqual([
      ['rejected', 'broker no-combos has no native combo orders; combos are not legged in'],
      ['rejected', 'broker no-combos has no native combo orders; combos are not legged in'],
    ]);
    expect(sent).toEqual([]);
  });
});

describe('the governor on combos', () => {
  it('denies a combo whose legs together breach max net delta though each alone would pass', async () => {
    // Long C100 (+0.6) and short P95 (+0.4) per unit: 2 units × 100 × 100 × 1.0 = 20,000 > 15,000.
    await setLimits({ max_net_delta: '15000' });
    // Buy C100, sell P95, 2 units at a net 3.1 for the day: verticalSpread's shape as a custom combo.
    const strangle = verticalSpread(C100, P95, { strategy: 'custom', netLimitPrice: '3.1' });
    for (const [symbol, side] of [
      [C100, 'buy'],
      [P95, 'sell'],
    ] as const) {
      const single = await fx.runtime.orders.check(
        fx.tenantId,
        { symbol, side, orderType: 'market', quantity: '2', timeInForce: 'day' },
        'human',
      );
      expect(single.denials.filter((d) => d.rule === 'net_delta')).toEqual([]);
    }
    const c = await place(strangle);
    expect(c.status).toBe('denied');
    expect(c.denial!.filter((v) => v.status === 'failed')).toEqual([
      expect.objectContaining({ rule: 'net_delta', code: 'MAX_NET_DELTA', requested: '20000' }),
    ]);
    expect(c.legs.map((l) => l.status)).toEqual(['denied', 'denied']);
    expect(Number((await fx.owner`select count(*)::int as n from outbox`)[0]!.n)).toBe(0);
  });

  it('passes a vertical whose long leg alone breaches net delta (the short leg offsets it)', async () => {
    await setLimits({ max_net_delta: '5000' }); // long C100 ×2 alone: 12,000; vertical: 4,000
    const single = await fx.runtime.orders.check(
      fx.tenantId,
      { symbol: C100, side: 'buy', orderType: 'market', quantity: '2', timeInForce: 'day' },
      'human',
    );
    expect(single.allowed).toBe(false);
    const d = await fx.runtime.combos.check(fx.tenantId, vertical(), 'human');
    expect(d.allowed).toBe(true);
    expect(d.maxLoss).toBe('580');
  });

  it('counts open legs, bounds the max loss by the max order notional, and denies naked short calls', async () => {
    await setLimits({ max_open_legs: 1 });
    const legs = await fx.runtime.combos.check(fx.tenantId, vertical(), 'human');
    expect(legs.denials.map((v) => v.rule)).toEqual(['open_legs']);
    await setLimits({ max_order_notional: '500' });
    const loss = await fx.runtime.combos.check(fx.tenantId, vertical(), 'human');
    expect(loss.denials).toEqual([
      expect.objectContaining({
        rule: 'combo_max_loss',
        code: 'MAX_ORDER_NOTIONAL',
        limit: '500',
        requested: '580',
      }),
    ]);
    await setLimits({});
    const naked = await fx.runtime.combos.check(
      fx.tenantId,
      vertical({
        strategy: 'custom',
        legs: [
          { symbol: C100, side: 'buy', ratio: 1 },
          { symbol: C105, side: 'sell', ratio: 2 },
        ],
        netLimitPrice: '-1',
      }),
      'human',
    );
    expect(naked.denials).toEqual([
      expect.objectContaining({ rule: 'combo_max_loss', code: 'UNBOUNDED_LOSS' }),
    ]);
  });
});

describe('the throttle counts a combo once', () => {
  it('two combos of two legs each fit a limit of two orders a minute; a third does not', async () => {
    await setLimits({ max_orders_per_minute: 2 });
    expect((await place(vertical({ quantity: '1', netLimitPrice: '1' }))).status).toBe('pending_new');
    expect((await place(vertical({ quantity: '2', netLimitPrice: '1' }))).status).toBe('pending_new');
    const third = await place(vertical({ quantity: '3', netLimitPrice: '1' }));
    expect(third.denial!.filter((v) => v.status === 'failed')).toEqual([
      expect.objectContaining({ rule: 'throttle', code: 'ORDER_RATE_EXCEEDED', current: '2' }),
    ]);
  });
});

describe('idempotency, isolation, strategies', () => {
  it('replays the same combo for the same key; another payload under it is a CONFLICT', async () => {
    const key = randomUUID();
    const a = await place(vertical(), key);
    const b = await place(vertical(), key);
    expect(b.id).toBe(a.id);
    expect(Number((await fx.owner`select count(*)::int as n from combos`)[0]!.n)).toBe(1);
    await expect(place(vertical({ quantity: '3' }), key)).rejects.toSatisfy(
      (e: unknown) => isAppError(e) && e.code === 'CONFLICT',
    );
  });

  it('another desk can neither see nor cancel the combo', async () => {
    const other = randomUUID();
    await fx.owner`insert into tenants (id, slug, name) values (${other}, ${`desk-${other.slice(0, 6)}`}, 'Other')`;
    const c = await place(vertical({ netLimitPrice: '1' }));
    const notFound = (e: unknown) => isAppError(e) && e.code === 'NOT_FOUND';
    await expect(fx.runtime.combos.get(asTenantId(other), asComboId(c.id))).rejects.toSatisfy(notFound);
    await expect(fx.runtime.combos.cancel(asTenantId(other), asComboId(c.id), actor)).rejects.toSatisfy(
      notFound,
    );
    const seen = await withTenant(fx.app.db, other, (tx) => tx.execute(`select id from combos`));
    expect(seen.length).toBe(0);
    expect((await fx.runtime.combos.get(fx.tenantId, c.id)).status).toBe('pending_new');
  });

  it("a combo naming another desk's proposal is refused as unknown, placed or dry-run", async () => {
    const other = randomUUID();
    await fx.owner`insert into tenants (id, slug, name) values (${other}, ${`desk-${other.slice(0, 6)}`}, 'Other 2')`;
    const [p] =
      await fx.owner`insert into proposals (tenant_id, symbol, side, quantity, order_type, time_horizon,
        confidence, risk_score, rationale, decider, expires_at)
      values (${other}, ${C100}, 'buy', '1', 'market', '1h', 0.5, 10, '{}'::jsonb, 'human', now() + interval '1 hour')
      returning id`;
    const notFound = (e: unknown) => isAppError(e) && e.code === 'NOT_FOUND';
    await expect(place(vertical({ proposalId: p!.id }))).rejects.toSatisfy(notFound);
    await expect(
      fx.runtime.combos.check(fx.tenantId, vertical({ proposalId: p!.id }), 'human'),
    ).rejects.toSatisfy(notFound);
    expect(Number((await fx.owner`select count(*)::int as n from combos`)[0]!.n)).toBe(0);
  });

  it('positions.strategies: each leg with its fill, mark and P&L, and the strategy total', async () => {
    await place(vertical({ orderType: 'market', netLimitPrice: null }));
    await fx.settle();
    // Filled at 5.00 / 2.00; the marks move to mids 5.50 and 2.25.
    market(C100, '5.49', '5.51');
    market(C105, '2.24', '2.26');
    const [s] = await withTenant(fx.app.db, fx.tenantId, (tx) =>
      listStrategyPositions(tx, fx.tenantId, fx.runtime.quotes),
    );
    expect(s!.strategy).toBe('vertical');
    expect(s!.legs.map((l) => [l.symbol, l.quantity, l.avgPrice, l.mark, l.unrealizedPnl])).toEqual([
      [C100, '2', '5', '5.5', '100'],
      [C105, '-2', '2', '2.25', '-50'],
    ]);
    expect(s!.unrealizedPnl).toBe('50');
  });
});
