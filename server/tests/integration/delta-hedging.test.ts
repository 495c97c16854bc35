import { optionPrice } from '@aegis/shared/options/black-scholes';
import { optionSymbol, yearsToExpiry } from '@aegis/shared/options/contract';
import type { DeskGreeksView } from '@aegis/shared/schemas/greeks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector, streamingClient } from './decisions-support.ts';
import { testExecution } from './support/test-execution.ts';
import { waitUntil } from './support/wait.ts';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * The delta-neutral hedger through the real server: a desk long 20 calls on a test future
 * (Black-76, multiplier 10, a 24x7 calendar so the test does not depend on the hour), the
 * hedger enabled in autonomous mode with a band of ±30 delta units and the future as the hedge.
 * A scripted path of 30 price steps moves the future up 16, down 28 and up 16 points, the
 * options' venue quotes priced with the same model at 30 % volatility. After every step — once
 * the hedger and the paper broker have acted — the desk's net delta is inside the band; every
 * hedge was placed from outside the band (no churn inside it). The desk's Greeks stream is
 * the desk's own: another desk's positions never appear in it.
 */
let t: TestServer;
let a: Awaited<ReturnType<typeof signIn>>;
let b: Awaited<ReturnType<typeof signIn>>;
let deskA: string;
let deskB: string;

const VENUE = 'HDGX';
const FUTURE = 'HDGF';
const VOL = 0.3;
const BAND = 30;
const expiry = new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10);
const CALL = optionSymbol({ underlying: FUTURE, expiry, right: 'call', strike: '100' });
const PUT = optionSymbol({ underlying: FUTURE, expiry, right: 'put', strike: '95' });

const execOptions = testExecution({
  outboxIntervalMs: 100,
  paper: { seed: 5 },
});

/** The future and its options' quotes at future price `f` (the options priced with Black-76). */
async function market(f: number) {
  const rate = t.server.deps.config.options.riskFreeRate;
  const years = yearsToExpiry(new Date(), expiry);
  const opt = (right: 'call' | 'put', strike: number) =>
    optionPrice({ model: 'black76', right, underlying: f, strike, years, vol: VOL, rate });
  const quote = (instrument: string, mid: number, half: number) => ({
    venue: VENUE,
    instrument,
    bid: (mid - half).toFixed(6),
    ask: (mid + half).toFixed(6),
    bidSize: '1000',
    askSize: '1000',
  });
  await venuePrices(t, [
    quote(FUTURE, f, 0.01),
    quote(CALL, opt('call', 100), 0.005),
    quote(PUT, opt('put', 95), 0.005),
  ]);
}

const greeksOf = (c: Client) => c.greeks.current.query();
const futureDelta = (v: DeskGreeksView) =>
  v.byUnderlying.find((u) => u.underlying === FUTURE)?.totals.delta ?? 0;

beforeAll(async () => {
  t = await startTestServer({
    rateLimiter: null,
    execution: execOptions,
    hedging: { intervalMs: 150 },
    env: { AUTONOMOUS_ENABLED: 'true' },
  });
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, multiplier, calendar)
    values (${FUTURE}, ${VENUE}, 'future', '0.01', '1', '10', '24x7')`;
  const [fut] = await t.owner<{ id: string }[]>`select id from instruments where symbol = ${FUTURE}`;
  // The stored delta is what the governor's net-delta rule reads for options.
  for (const [symbol, right, strike] of [
    [CALL, 'call', '100'],
    [PUT, 'put', '95'],
  ] as const) {
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, multiplier, calendar,
        underlying_id, option_right, strike, expiry, greeks)
      values (${symbol}, ${VENUE}, 'option', '0.01', '1', '10', '24x7', ${fut!.id}, ${right}, ${strike}, ${expiry},
        ${t.owner.json({ delta: right === 'call' ? 0.5 : -0.3, iv: VOL })})`;
  }
  a = await signIn(t.url, t.admin.email, t.admin.password);
  deskA = t.admin.deskId;
  deskB = (await a.client.desks.create.mutate({ name: 'Desk B' })).id;
  b = await signIn(t.url, t.admin.email, a.password);
  await b.client.auth.switchDesk.mutate({ deskId: deskB });

  // Desk A: long 20 calls. Desk B: long 5 futures and short 10 puts, no hedger.
  await t.owner`insert into positions (tenant_id, symbol, quantity, avg_cost, opened_at)
    values (${deskA}, ${CALL}, '20', '6', now()), (${deskB}, ${FUTURE}, '5', '100', now()),
           (${deskB}, ${PUT}, '-10', '4', now())`;
  // Hedges of the same size in quick succession are intended here: the desk narrows the
  // duplicate-order window (a desk decision the governor then applies like any limit).
  await t.owner`insert into risk_limits (tenant_id, symbol, duplicate_window_ms) values (${deskA}, '*', 1)`;
  await t.owner`insert into agent_settings (tenant_id, mode) values (${deskA}, 'autonomous')
    on conflict (tenant_id) do update set mode = 'autonomous'`;
  await market(100);
});
afterAll(async () => {
  await t?.close();
});

describe('desk Greeks', () => {
  it("are each desk's own, in underlying units, with limits and open legs", async () => {
    const va = await greeksOf(a.client);
    expect(va.positions.map((p) => p.symbol)).toEqual([CALL]);
    expect(va.missing).toEqual([]);
    const call = va.positions[0]!;
    expect(call.iv).toBeCloseTo(VOL, 4);
    // 20 × 10 × Black-76 delta (≈ 0.53 at the money, 90 days, 30 %).
    expect(call.contribution.delta).toBeGreaterThan(95);
    expect(call.contribution.delta).toBeLessThan(115);
    expect(va.byUnderlying).toHaveLength(1);
    expect(va.byUnderlying[0]).toMatchObject({ underlying: FUTURE, price: '100' });
    expect(va.totals.dollarDelta).toBeCloseTo(va.totals.delta * 100, 6);
    expect(va.limits).toEqual({ maxNetDelta: '500000', maxOpenLegs: 20, openLegs: 1 });

    const vb = await greeksOf(b.client);
    expect(vb.positions.map((p) => p.symbol).sort()).toEqual([FUTURE, PUT].sort());
    expect(vb.positions.find((p) => p.symbol === FUTURE)?.contribution.delta).toBe(50);
    // Short puts are long delta.
    expect(vb.positions.find((p) => p.symbol === PUT)!.contribution.delta).toBeGreaterThan(0);
    expect(vb.byUnderlying.map((u) => u.underlying)).toEqual([FUTURE]);
    expect(vb.limits.openLegs).toBe(2);
  });

  it('hedging settings are validated, audited and need hedging.manage', async () => {
    const bad = await failure(
      a.client.hedging.update.mutate({ targets: [{ underlying: FUTURE, hedgeSymbol: 'NOPE1', band: '30' }] }),
    );
    expect(bad.message).toContain('targets[0].hedgeSymbol');
    const notHedge = await failure(
      a.client.hedging.update.mutate({ targets: [{ underlying: CALL, hedgeSymbol: FUTURE, band: '30' }] }),
    );
    expect(notHedge.message).toContain('targets[0]');
    const s = await a.client.hedging.settings.query();
    expect(s).toMatchObject({ enabled: false, targets: [], mode: 'autonomous', autonomousAllowed: true });
    const [audits] = await t.owner<
      { n: number }[]
    >`select count(*)::int as n from audit_log where action = 'hedging.update'`;
    expect(audits!.n).toBe(0);
  });
});

describe('the delta-neutral hedger', () => {
  it('keeps the net delta inside the band through a scripted price path', async () => {
    const subscriber = streamingClient(t.url, { jar: a.jar });
    const seen = new Collector<DeskGreeksView>();
    const sub = subscriber.greeks.updates.subscribe({}, { onData: seen.push, onError: seen.fail });
    await seen.waitFor(1);
    const seenB = new Collector<DeskGreeksView>();
    const subB = streamingClient(t.url, { jar: b.jar }).greeks.updates.subscribe(
      {},
      { onData: seenB.push, onError: seenB.fail },
    );
    await seenB.waitFor(1);

    const updated = await a.client.hedging.update.mutate({
      enabled: true,
      targets: [{ underlying: FUTURE, hedgeSymbol: FUTURE, band: String(BAND) }],
    });
    expect(updated).toMatchObject({
      enabled: true,
      targets: [{ underlying: FUTURE, hedgeSymbol: FUTURE, band: '30' }],
    });
    const [audit] = await t.owner<
      { details: string }[]
    >`select details from audit_log where action = 'hedging.update'`;
    expect(audit?.details).toContain(`${FUTURE} ±30 via ${FUTURE}`);

    const hedger = t.server.hedging!.hedger;
    let f = 100;
    const settle = async (step: string) => {
      const passes = hedger.passes;
      let polls = 0;
      return waitUntil(
        async () => {
          // The venue keeps quoting the same market (as a live one does), so a slow machine never
          // leaves the hedger with a price older than the governor's reference-age limit.
          if (++polls % 40 === 0) await market(f);
          const working = await t.owner<{ n: number }[]>`select count(*)::int as n from orders
            where tenant_id = ${deskA} and status in ('pending_new', 'new', 'partially_filled', 'pending_cancel', 'unknown')`;
          return { passes: hedger.passes, working: working[0]!.n, view: await greeksOf(a.client) };
        },
        (s) => s.passes >= passes + 2 && s.working === 0 && Math.abs(futureDelta(s.view)) <= BAND,
        `the hedged book after ${step}`,
      );
    };

    const first = await settle('enabling the hedger');
    const deltas = [futureDelta(first.view)];
    const path = [...Array(8).fill(2), ...Array(14).fill(-2), ...Array(8).fill(2)] as number[];
    for (const [i, move] of path.entries()) {
      f += move;
      await market(f);
      const s = await settle(`step ${i + 1} (future at ${f})`);
      deltas.push(futureDelta(s.view));
    }
    expect(f).toBe(104);
    for (const d of deltas) expect(Math.abs(d)).toBeLessThanOrEqual(BAND);

    const actions = await a.client.hedging.actions.query({ limit: 200 });
    const placed = actions.filter((x) => x.action === 'placed');
    // The opening hedge plus the rebalancing the path forces, never a hedge from inside the band.
    expect(placed.length).toBeGreaterThanOrEqual(4);
    expect(placed.length).toBeLessThanOrEqual(20);
    for (const p of placed) {
      expect(Math.abs(p.netDeltaBefore)).toBeGreaterThan(BAND);
      expect(p.orderId).not.toBeNull();
    }
    expect(actions.filter((x) => x.action === 'skipped')).toEqual([]);
    const orders = await t.owner<{ origin: string; status: string; created_by: string }[]>`
      select origin, status, created_by from orders where tenant_id = ${deskA}`;
    expect(orders).toHaveLength(placed.length);
    for (const o of orders)
      expect(o).toEqual({ origin: 'agent', status: 'filled', created_by: 'agent:hedger' });
    // Nothing for the desk without a hedger.
    const [other] = await t.owner<
      { n: number }[]
    >`select count(*)::int as n from orders where tenant_id = ${deskB}`;
    expect(other!.n).toBe(0);

    // The live stream: desk A's Greeks only, updated as the hedges filled.
    await seen.waitFor(3);
    sub.unsubscribe();
    const symbols = new Set(seen.items.flatMap((v) => v.positions.map((p) => p.symbol)));
    expect(symbols.has(PUT)).toBe(false);
    expect([...symbols].sort()).toEqual([CALL, FUTURE].sort());
    expect(seen.items.some((v) => v.byUnderlying[0]?.band === '30')).toBe(true);
    // Desk B's stream: its own positions, repriced as the future moved; never desk A's calls.
    await seenB.waitFor(2);
    subB.unsubscribe();
    const symbolsB = new Set(seenB.items.flatMap((v) => v.positions.map((p) => p.symbol)));
    expect([...symbolsB].sort()).toEqual([FUTURE, PUT].sort());
    expect(seenB.items.every((v) => v.byUnderlying[0]?.band === null)).toBe(true);
  }, 180_000);
});
