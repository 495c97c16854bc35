import { randomUUID } from 'node:crypto';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { optionPrice } from '@aegis/shared/options/black-scholes';
import { optionSymbol, yearsToExpiry } from '@aegis/shared/options/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeltaHedger } from '../../src/hedging/hedger.ts';
import { testExecution } from './support/test-execution.ts';
import { startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * The hedger's modes and refusals, one pass at a time (no timer: each test calls a pass and
 * reads what it wrote). The server runs without its own hedger and with the platform's
 * autonomous switch off; each desk holds 20 calls on a test future, outside a ±30 band.
 * - confirmation mode: one pending proposal (decider `rules`, the governor's verdict, rationale
 *   layers) and no order; more passes do not pile up proposals;
 * - autonomous mode with the switch off: a proposal, never an order;
 * - a halted desk: a skipped action naming the halt, recorded once;
 * - the hedge instrument's calendar closed (CME, a Saturday): skipped;
 * - the governor's open-legs limit: the hedge is denied, recorded as skipped with the rule.
 */
let t: TestServer;
let app: DatabaseHandle;
const log = createLogger({ name: 'hedger-test', level: 'silent' });

const VENUE = 'HDGY';
const FUT24 = 'HDGA';
const FUTCME = 'HDGC';
const expiry = new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10);
const callOf = (u: string) => optionSymbol({ underlying: u, expiry, right: 'call', strike: '100' });

const hedgerWith = (autonomousEnabled: boolean, clock?: () => Date) =>
  new DeltaHedger({
    db: app.db,
    log,
    execution: () => t.server.deps.execution,
    autonomousEnabled,
    greeks: { rate: 0.04, dividendYield: 0 },
    ...(clock ? { clock } : {}),
  });

async function prices() {
  const years = yearsToExpiry(new Date(), expiry);
  const call = optionPrice({
    model: 'black76',
    right: 'call',
    underlying: 100,
    strike: 100,
    years,
    vol: 0.3,
    rate: 0.04,
  });
  const q = (instrument: string, mid: number) => ({
    venue: VENUE,
    instrument,
    bid: (mid - 0.01).toFixed(6),
    ask: (mid + 0.01).toFixed(6),
    bidSize: '1000',
    askSize: '1000',
  });
  await venuePrices(t, [q(FUT24, 100), q(FUTCME, 100), q(callOf(FUT24), call), q(callOf(FUTCME), call)]);
}

/** A desk long 20 calls on `future`, hedging it within ±30 with the future itself. */
async function desk(mode: 'confirmation' | 'autonomous', future = FUT24): Promise<TenantId> {
  const id = asTenantId(randomUUID());
  await t.owner`insert into tenants (id, slug, name) values (${id}, ${`hedge-${id.slice(0, 8)}`}, 'Hedge desk')`;
  await t.owner`insert into agent_settings (tenant_id, mode) values (${id}, ${mode})
    on conflict (tenant_id) do update set mode = excluded.mode`;
  await t.owner`insert into positions (tenant_id, symbol, quantity, avg_cost, opened_at)
    values (${id}, ${callOf(future)}, '20', '6', now())`;
  await t.owner`insert into hedge_settings (tenant_id, enabled, targets)
    values (${id}, true, ${t.owner.json([{ underlying: future, hedgeSymbol: future, band: '30' }])})`;
  return id;
}

const rowsOf = async (tenantId: string) => ({
  actions: await t.owner<
    { action: string; reason: string; proposal_id: string | null; side: string | null }[]
  >`
    select action, reason, proposal_id, side from hedge_actions where tenant_id = ${tenantId} order by created_at`,
  orders: await t.owner<{ id: string }[]>`select id from orders where tenant_id = ${tenantId}`,
  proposals: await t.owner<
    {
      status: string;
      decider: string;
      side: string;
      quantity: string;
      symbol: string;
      rationale: Record<string, string>;
      risk_verdict: { allowed: boolean };
    }[]
  >`select status, decider, side, quantity::text, symbol, rationale, risk_verdict from proposals where tenant_id = ${tenantId}`,
});

beforeAll(async () => {
  t = await startTestServer({
    rateLimiter: null,
    hedging: false,
    execution: testExecution({ outboxIntervalMs: 100 }),
  });
  app = createDb(t.database.appUrl, { max: 3 });
  for (const [symbol, calendar] of [
    [FUT24, '24x7'],
    [FUTCME, 'CME'],
  ] as const) {
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, multiplier, calendar)
      values (${symbol}, ${VENUE}, 'future', '0.01', '1', '10', ${calendar})`;
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, multiplier, calendar,
        underlying_id, option_right, strike, expiry, greeks)
      select ${callOf(symbol)}, ${VENUE}, 'option', '0.01', '1', '10', ${calendar}, id, 'call', '100', ${expiry},
        ${t.owner.json({ delta: 0.53, iv: 0.3 })} from instruments where symbol = ${symbol}`;
  }
  await prices();
});
afterAll(async () => {
  await app?.close();
  await t?.close();
});

describe('hedger modes', () => {
  it('confirmation mode: one pending proposal with the verdict and its layers, no order, no pile-up', async () => {
    const id = await desk('confirmation');
    const hedger = hedgerWith(true);
    expect((await hedger.runDesk(id)).get(FUT24)).toBe('proposed');
    await prices();
    expect((await hedger.runDesk(id)).get(FUT24)).toBe('waiting_proposal');
    expect((await hedger.runDesk(id)).get(FUT24)).toBe('waiting_proposal');
    const r = await rowsOf(id);
    expect(r.orders).toEqual([]);
    expect(r.proposals).toHaveLength(1);
    const p = r.proposals[0]!;
    // ≈ 20 × 10 × 0.53 = 106 delta units: sell 10 futures of 10.
    expect(p).toMatchObject({ status: 'pending', decider: 'rules', side: 'sell', symbol: FUT24 });
    expect(Number(p.quantity)).toBe(10);
    expect(p.risk_verdict.allowed).toBe(true);
    expect(p.rationale.signalEvidence).toContain('outside the band ±30');
    expect(p.rationale.riskView).toContain('confirmation mode');
    expect(r.actions.map((a) => a.action)).toEqual(['proposed']);
    expect(r.actions[0]!.proposal_id).not.toBeNull();
  });

  it('a desk that turns autonomous with a hedge proposal pending places nothing beside it', async () => {
    const id = await desk('confirmation');
    const hedger = hedgerWith(true);
    expect((await hedger.runDesk(id)).get(FUT24)).toBe('proposed');
    await t.owner`update agent_settings set mode = 'autonomous' where tenant_id = ${id}`;
    expect((await hedger.runDesk(id)).get(FUT24)).toBe('waiting_proposal');
    const r = await rowsOf(id);
    expect(r.orders).toEqual([]);
    expect(r.proposals).toHaveLength(1);
  });

  it('autonomous mode with the platform switch off only proposes', async () => {
    const id = await desk('autonomous');
    expect((await hedgerWith(false).runDesk(id)).get(FUT24)).toBe('proposed');
    const r = await rowsOf(id);
    expect(r.orders).toEqual([]);
    expect(r.proposals).toHaveLength(1);
    expect(r.proposals[0]!.rationale.riskView).toContain('autonomous mode is not allowed on this server');
  });

  it('autonomous mode with the switch on places the hedge', async () => {
    const id = await desk('autonomous');
    await prices();
    expect((await hedgerWith(true).runDesk(id)).get(FUT24)).toBe('placed');
    const r = await rowsOf(id);
    expect(r.orders).toHaveLength(1);
    expect(r.proposals).toEqual([]);
    expect(r.actions.map((a) => [a.action, a.side])).toEqual([['placed', 'sell']]);
  });

  it('a halted desk records a skipped action, once', async () => {
    const id = await desk('autonomous');
    await t.owner`insert into halts (scope, tenant_id, engaged, reason, engaged_at)
      values ('desk', ${id}, true, 'test', now())`;
    const hedger = hedgerWith(true);
    expect((await hedger.runDesk(id)).get(FUT24)).toBe('skipped');
    expect((await hedger.runDesk(id)).get(FUT24)).toBe('skipped');
    const r = await rowsOf(id);
    expect(r.orders).toEqual([]);
    expect(r.actions).toHaveLength(1);
    expect(r.actions[0]).toMatchObject({
      action: 'skipped',
      reason: 'halt engaged (desk)',
      side: 'sell',
    });
  });

  it('a closed calendar (CME on a Saturday) records skipped', async () => {
    const id = await desk('autonomous', FUTCME);
    await prices();
    // Saturday 5 December 2026, 10:00 New York: CME Globex is between Friday's close and Sunday's open.
    const saturday = () => new Date('2026-12-05T15:00:00Z');
    expect((await hedgerWith(true, saturday).runDesk(id)).get(FUTCME)).toBe('skipped');
    const r = await rowsOf(id);
    expect(r.orders).toEqual([]);
    expect(r.actions[0]?.reason).toBe(`market closed for ${FUTCME} (CME: weekend)`);
  });

  it("the governor's open-legs limit denies the hedge: recorded as skipped with the rule", async () => {
    const id = await desk('autonomous');
    await t.owner`insert into risk_limits (tenant_id, symbol, max_open_legs) values (${id}, '*', 1)`;
    await prices();
    expect((await hedgerWith(true).runDesk(id)).get(FUT24)).toBe('skipped');
    const r = await rowsOf(id);
    expect(r.orders).toEqual([]);
    expect(r.actions[0]?.reason).toMatch(/^denied by the risk governor: .*open_legs/);
  });

  it('inside the band nothing is written', async () => {
    const id = await desk('autonomous');
    await t.owner`update hedge_settings set targets = ${t.owner.json([{ underlying: FUT24, hedgeSymbol: FUT24, band: '500' }])}
      where tenant_id = ${id}`;
    expect((await hedgerWith(true).runDesk(id)).get(FUT24)).toBe('inside_band');
    expect((await rowsOf(id)).actions).toEqual([]);
  });
});
