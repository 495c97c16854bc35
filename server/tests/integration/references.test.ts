import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * References an input carries (a proposal, a signal, an instrument) must exist, and a proposal
 * must be the caller's desk's: otherwise NOT_FOUND naming the field, and nothing is stored.
 * Time inputs are checked for order and plausibility, naming the field.
 */
let t: TestServer;
let client: Client;
let ownProposal: string;
let otherProposal: string;
const SIGNAL_ID = randomUUID();

async function proposalFor(tenantId: string): Promise<string> {
  const [p] = await t.owner<{ id: string }[]>`
    insert into proposals (tenant_id, symbol, side, quantity, order_type, time_horizon, confidence, risk_score,
                           rationale, decider, expires_at)
    values (${tenantId}, 'BTC-USD', 'buy', '0.5', 'market', 'hours', 0.7, 20, '{}'::jsonb, 'human',
            now() + interval '1 hour')
    returning id`;
  return p!.id;
}

beforeAll(async () => {
  t = await startTestServer({ rateLimiter: null });
  client = (await signIn(t.url, t.admin.email, t.admin.password)).client;
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.00000001', '24x7')`;
  await t.owner`insert into signals (id, ts, ts_event, symbol, direction, pattern, score, features, model_version)
    values (${SIGNAL_ID}, now(), now(), 'BTC-USD', 'long', 'breakout', 0.8, '{}'::jsonb, 'test')`;
  const other = randomUUID();
  await t.owner`insert into tenants (id, slug, name) values (${other}, ${`other-${other.slice(0, 8)}`}, 'Other desk')`;
  ownProposal = await proposalFor(t.admin.deskId);
  otherProposal = await proposalFor(other);
});
afterAll(async () => {
  await t?.close();
});

const order = (proposalId: string) => ({
  idempotencyKey: `ref-${randomUUID()}`,
  order: {
    symbol: 'BTC-USD',
    side: 'buy' as const,
    orderType: 'market' as const,
    quantity: '0.5',
    proposalId,
  },
});
const outcome = {
  instrument: 'BTC-USD',
  side: 'buy' as const,
  quantity: '1',
  entryPrice: '100',
  exitPrice: '101',
  openedAt: '2026-03-02T14:00:00Z',
  closedAt: '2026-03-02T15:00:00Z',
};

async function stored() {
  const [r] = await t.owner<{ orders: number; outcomes: number; decisions: number }[]>`
    select (select count(*)::int from orders) as orders, (select count(*)::int from trade_outcomes) as outcomes,
           (select count(*)::int from signal_decisions) as decisions`;
  return r!;
}

async function refusedNaming(call: Promise<unknown>, field: string, status = 404) {
  const before = await stored();
  const e = await failure(call);
  expect(e.data?.httpStatus).toBe(status);
  expect(e.data?.fields?.map((f) => f.path)).toContain(field);
  expect(e.message).toContain(field);
  expect(await stored()).toEqual(before);
}

describe('references must exist on the caller’s desk', () => {
  it('orders.place refuses another desk’s proposalId and stores no order or link', async () => {
    await refusedNaming(client.orders.place.mutate(order(otherProposal)), 'order.proposalId');
    await refusedNaming(client.orders.place.mutate(order(randomUUID())), 'order.proposalId');
    const [links] = await t.owner<{ n: number }[]>`
      select count(*)::int as n from orders where proposal_id = ${otherProposal}`;
    expect(links!.n).toBe(0);
  });

  it('orders.place links the desk’s own proposal', async () => {
    const placed = await client.orders.place.mutate(order(ownProposal));
    expect(placed.proposalId).toBe(ownProposal);
  });

  it('trades.recordOutcome refuses unknown or foreign proposal, unknown signal and unknown instrument', async () => {
    await refusedNaming(
      client.trades.recordOutcome.mutate({ ...outcome, proposalId: otherProposal }),
      'proposalId',
    );
    await refusedNaming(
      client.trades.recordOutcome.mutate({ ...outcome, signalId: randomUUID() }),
      'signalId',
    );
    await refusedNaming(
      client.trades.recordOutcome.mutate({ ...outcome, instrument: 'NOPE-USD' }),
      'instrument',
    );
    const ok = await client.trades.recordOutcome.mutate({
      ...outcome,
      proposalId: ownProposal,
      signalId: SIGNAL_ID,
    });
    expect(ok.outcomeId).toBeTruthy();
  });

  it('signals.decide refuses a signal that does not exist, naming signalId', async () => {
    await refusedNaming(
      client.signals.decide.mutate({ signalId: randomUUID(), decision: 'accept' }),
      'signalId',
    );
  });
});

describe('time inputs are checked for order and plausibility', () => {
  it('ranges whose end precedes their start are refused naming `to`', async () => {
    for (const call of [
      () => client.audit.list.query({ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }),
      () => client.signals.list.query({ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }),
      () => client.equity.series.query({ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }),
    ]) {
      const e = await failure(call());
      expect(e.data?.httpStatus).toBe(400);
      expect(e.data?.fields?.map((f) => f.path)).toEqual(['to']);
    }
  });

  it('instants before 2000 or years ahead are refused naming the field', async () => {
    const e1 = await failure(client.orders.list.query({ before: '1970-01-01T00:00:00Z' }));
    expect(e1.data?.fields).toEqual([{ path: 'before', message: 'must not be before 2000-01-01' }]);
    const e2 = await failure(client.audit.list.query({ to: '2999-01-01T00:00:00Z' }));
    expect(e2.data?.fields?.map((f) => f.path)).toEqual(['to']);
    expect(e2.message).toContain('to: must not be more than 24 h in the future');
  });
});
