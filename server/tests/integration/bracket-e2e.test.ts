import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './decisions-support.ts';
import { signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * The reported case end to end through the real server (PostgreSQL, Redis venue prices, HTTP):
 * a proposal with its stop at 420.06 is approved; the venue price then falls to 414.6. The stop
 * leg must fire at the paper broker and the position must be closed; the target is cancelled.
 */
const PAPER = {
  paper: { seed: 5, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '0' },
};

describe('an approved proposal protects its position (bracket)', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ execution: PAPER });
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
      values ('SOL-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7') on conflict do nothing`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the price falls through the stop: the stop leg fills, the target is cancelled, the position is flat', async () => {
    const s = await signIn(t.url, t.admin.email, t.admin.password);
    await s.client.auth.reauthenticate.mutate({ password: s.password });
    const quote = (bid: string, ask: string) =>
      venuePrices(t, [
        {
          venue: 'COINBASE',
          instrument: 'SOL-USD',
          bid,
          ask,
          bidSize: '50',
          askSize: '50',
          last: bid,
          lastSize: '1',
        },
      ]);
    await quote('424.9', '425');
    const proposalId = randomUUID();
    await t.owner`insert into proposals ${t.owner({
      id: proposalId,
      tenant_id: t.admin.deskId,
      symbol: 'SOL-USD',
      side: 'buy',
      quantity: '2',
      order_type: 'market',
      stop_price: '420.06',
      target_price: '433.5',
      time_horizon: '1h',
      confidence: 0.7,
      risk_score: 30,
      rationale: t.owner.json({
        marketContext: 'SOL bid at 424.9',
        signalEvidence: 'breakout',
        riskView: 'stop 420.06, target 433.5',
        lessonsApplied: [],
      }),
      decider: 'human',
      expires_at: new Date(Date.now() + 300_000),
    } as never)}`;

    const approved = await s.client.approvals.approve.mutate({ proposalId });
    expect(approved.proposal.status).toBe('executed');
    const entryId = approved.order!.id;
    const legs = await eventually(async () => {
      const list = await s.client.orders.list.query({ status: 'all' });
      const mine = list.filter((o) => o.parentOrderId === entryId);
      return mine.length === 2 && mine.every((o) => o.status === 'new' && o.quantity === '2') ? mine : null;
    });
    expect(legs.map((o) => [o.bracketRole, o.side, o.orderType, o.stopPrice ?? o.limitPrice]).sort()).toEqual(
      [
        ['stop', 'sell', 'stop', '420.06'],
        ['target', 'sell', 'limit', '433.5'],
      ],
    );
    expect((await s.client.positions.list.query()).find((p) => p.symbol === 'SOL-USD')?.quantity).toBe('2');

    await quote('414.6', '414.7');
    const closed = await eventually(async () => {
      const list = await s.client.orders.list.query({ status: 'all' });
      const stop = list.find((o) => o.parentOrderId === entryId && o.bracketRole === 'stop');
      const target = list.find((o) => o.parentOrderId === entryId && o.bracketRole === 'target');
      return stop?.status === 'filled' && target?.status === 'cancelled' ? { stop, target } : null;
    });
    expect(closed.stop).toMatchObject({ filledQuantity: '2', avgFillPrice: '414.6' });
    const pos = await eventually(async () => {
      const p = (await s.client.positions.list.query()).find((x) => x.symbol === 'SOL-USD');
      return p && p.quantity === '0' ? p : !p ? { quantity: '0' } : null;
    });
    expect(pos.quantity).toBe('0');
  });
});
