import { randomUUID } from 'node:crypto';
import { asTenantId, asUserId } from '@aegis/shared/ids';
import type { RecommendationEvent, RecommendInput } from '@aegis/shared/schemas/option-recommendation';
import { recommendationEvent } from '@aegis/shared/schemas/option-recommendation';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextInner } from '../../src/context.ts';
import { closeRecommendLimiters, RecommendRateLimiter } from '../../src/options/rate-limits.ts';
import { RedisWindowStore } from '../../src/rate-limit/window-store.ts';
import { createCaller } from '../../src/routers/_app.ts';
import { otherDeskAdmin } from './support/desk-people.ts';
import { type Client, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * options.recommend through the real router (createCaller on a real context), real PostgreSQL
 * and Redis: a synthetic underlying priced on the venue price source, its chain listed and
 * quoted by the server, the governor's dry run as the risk layer, preferences per person and
 * desk, and the recommendation limits.
 */
const SYN = 'SYN0931';
const OTHER = 'SYN0932';

let t: TestServer;
type Caller = ReturnType<typeof createCaller>;
let admin: Caller;
let colleague: Caller;
let deskB: Caller;
let deskBId = '';
let adminClient: Client;

async function callerFor(client: Client): Promise<Caller> {
  const { key } = await client.keys.create.mutate({
    name: `rec ${randomUUID().slice(0, 6)}`,
    scopes: ['read'],
  });
  return createCaller(
    createContextInner({ ...t.server.deps, credentials: { bearer: key, cookieToken: null } }),
  );
}

async function collect(
  c: Caller,
  input: Partial<RecommendInput> & { symbol: string },
): Promise<RecommendationEvent[]> {
  const events: RecommendationEvent[] = [];
  const stream = await c.options.recommend({ view: 'bullish', preset: 'balanced', ...input });
  for await (const e of stream) events.push(recommendationEvent.parse(e));
  return events;
}

const kinds = (events: RecommendationEvent[]) =>
  events.map((e) => (e.type === 'layer' ? e.layer.kind : 'result'));
const resultOf = (events: RecommendationEvent[]) => {
  const last = events.at(-1);
  if (last?.type !== 'result') throw new Error('no result');
  return last;
};
const layerOf = (events: RecommendationEvent[], kind: string) => {
  const e = events.find((x) => x.type === 'layer' && x.layer.kind === kind);
  if (e?.type !== 'layer') throw new Error(`no ${kind} layer`);
  return e.layer;
};

beforeAll(async () => {
  t = await startTestServer();
  for (const s of [SYN, OTHER]) {
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, multiplier)
      values (${s}, 'SIM', 'crypto', '0.01', '0.0001', '24x7', '1')`;
  }
  await venuePrices(t, [
    { venue: 'SIM', instrument: SYN, bid: '99.98', ask: '100.02' },
    { venue: 'SIM', instrument: OTHER, bid: '49.99', ask: '50.01' },
  ]);
  adminClient = (await signIn(t.url, t.admin.email, t.admin.password)).client;
  admin = await callerFor(adminClient);
  const u = await adminClient.users.create.mutate({
    email: 'trader-rec@example.com',
    displayName: 'T',
    role: 'trader',
  });
  colleague = await callerFor((await signIn(t.url, 'trader-rec@example.com', u.oneTimePassword!)).client);
  const b = await otherDeskAdmin(t.url, adminClient, t.admin.deskId, 'Options desk B', 'b-rec@example.com');
  deskBId = b.deskId;
  deskB = await callerFor(b.session.client);
  // The synthetic chain is listed on the first chain request and quoted from the underlying.
  await admin.marketData.chain({ symbol: SYN });
  await venuePrices(t, [{ venue: 'SIM', instrument: SYN, bid: '99.99', ask: '100.01' }]);
});

afterAll(async () => {
  await closeRecommendLimiters();
  await t?.close();
});

describe('options.presets', () => {
  it('lists the three presets with their targets', async () => {
    const p = await admin.options.presets({});
    expect(p.map((x) => [x.preset, x.targetDelta, x.maxLossShare])).toEqual([
      ['conservative', 0.3, 0.01],
      ['balanced', 0.45, 0.02],
      ['aggressive', 0.6, 0.04],
    ]);
  });
});

describe('options.recommend', () => {
  it('a desk that holds every instrument to a 2 % spread gets these legs denied: quoted wider', async () => {
    await t.owner`insert into risk_limits (tenant_id, symbol, max_spread_bps) values (${t.admin.deskId}, '*', 200)`;
    const events = await collect(admin, { symbol: SYN, capital: '100000' });
    expect(kinds(events)).toEqual(['context', 'filters', 'scoring', 'sizing', 'risk', 'result']);
    const risk = layerOf(events, 'risk');
    const failed = risk.verdicts?.filter((v) => v.status === 'failed') ?? [];
    expect(failed.length).toBeGreaterThan(0);
    expect(
      failed.every((v) => v.rule === 'spread' && v.code === 'SPREAD_TOO_WIDE' && v.limit === '200'),
    ).toBe(true);
    expect(risk.summary).toMatch(/^denied by spread/);
    expect(resultOf(events).recommendation).toMatchObject({ strategy: 'vertical', allowed: false });
    // Back to the platform defaults: options have their own spread default (15 %).
    await t.owner`delete from risk_limits where tenant_id = ${t.admin.deskId} and symbol = '*'`;
  });

  it('with the platform defaults: context, filters, scoring, sizing, risk, then an allowed balanced bullish vertical', async () => {
    const events = await collect(admin, { symbol: SYN, capital: '100000' });
    expect(kinds(events)).toEqual(['context', 'filters', 'scoring', 'sizing', 'risk', 'result']);
    const risk = layerOf(events, 'risk');
    const res = resultOf(events);
    expect(res.reason).toBeUndefined();
    const r = res.recommendation!;
    expect(r.strategy).toBe('vertical');
    expect(Number(r.quantity)).toBeGreaterThan(0);
    // On a denial, the diff shows the governor's verdicts.
    expect({
      allowed: r.allowed,
      summary: risk.summary,
      failed: risk.verdicts?.filter((v) => v.status === 'failed'),
    }).toEqual({
      allowed: true,
      summary: expect.stringMatching(/^allowed/),
      failed: [],
    });
    expect(risk.verdicts?.length).toBeGreaterThan(0);
    const [long, short] = r.legs;
    expect(long).toMatchObject({ side: 'buy', right: 'call' });
    expect(short).toMatchObject({ side: 'sell', right: 'call', expiry: long!.expiry });
    expect(Number(short!.strike)).toBeGreaterThan(Number(long!.strike));
    // Max loss within 2 % of the capital, and exactly quantity × net debit × 100.
    expect(Number(r.maxLoss)).toBeLessThanOrEqual(2000);
    expect(Number(r.maxLoss)).toBeCloseTo(Number(r.quantity) * Number(r.netPrice) * 100, 6);
    expect(Number(r.maxGain)).toBeCloseTo(
      Number(r.quantity) * (Number(short!.strike) - Number(long!.strike) - Number(r.netPrice)) * 100,
      6,
    );
    expect(r.netDelta).toBeGreaterThan(0);
    // The combo dry run values the same maximum loss.
    expect(Number(risk.rows.find((x) => x.label === 'Max loss (governor)')?.value)).toBeCloseTo(
      Number(r.maxLoss),
      6,
    );
    expect(layerOf(events, 'context').rows.find((x) => x.label === 'Underlying price')?.value).toBe('100');
  });

  it('every preset finds a recommendation on the synthetic chain, both ways, within its targets', async () => {
    for (const preset of ['conservative', 'balanced', 'aggressive'] as const) {
      for (const view of ['bullish', 'bearish'] as const) {
        const events = await collect(admin, { symbol: SYN, capital: '1000000', view, preset, save: false });
        const res = resultOf(events);
        expect({ preset, view, reason: res.reason }).toEqual({ preset, view, reason: undefined });
        const r = res.recommendation!;
        expect(r.strategy).toBe(preset === 'aggressive' ? 'single' : 'vertical');
        const target = { conservative: 0.3, balanced: 0.45, aggressive: 0.6 }[preset];
        expect(Math.abs(Math.abs(r.legs[0]!.delta!) - target)).toBeLessThanOrEqual(0.15);
        expect(r.legs[0]!.right).toBe(view === 'bullish' ? 'call' : 'put');
        expect(Number(r.maxLoss)).toBeLessThanOrEqual(
          1_000_000 * { conservative: 0.01, balanced: 0.02, aggressive: 0.04 }[preset],
        );
      }
    }
  });

  it('a single long put for a bearish aggressive view', async () => {
    const events = await collect(admin, {
      symbol: SYN,
      capital: '100000',
      view: 'bearish',
      preset: 'aggressive',
      save: false,
    });
    const r = resultOf(events).recommendation!;
    expect(r).toMatchObject({ strategy: 'single', allowed: true });
    expect(r.legs).toHaveLength(1);
    expect(r.legs[0]).toMatchObject({ side: 'buy', right: 'put' });
    expect(r.netDelta).toBeLessThan(0);
  });

  it('the governor’s denial is carried through: a capital far beyond the order limits', async () => {
    const events = await collect(admin, {
      symbol: SYN,
      capital: '500000000',
      view: 'bearish',
      preset: 'aggressive',
      save: false,
    });
    const risk = layerOf(events, 'risk');
    expect(risk.summary).toMatch(/^denied by /);
    expect(risk.verdicts?.some((v) => v.status === 'failed')).toBe(true);
    expect(resultOf(events).recommendation?.allowed).toBe(false);
  });

  it('no recommendation when the capital buys no unit, with the reason', async () => {
    const events = await collect(admin, { symbol: SYN, capital: '10', save: false });
    expect(kinds(events)).toEqual(['context', 'filters', 'scoring', 'sizing', 'risk', 'result']);
    expect(resultOf(events)).toMatchObject({ recommendation: null });
    expect(resultOf(events).reason).toMatch(/more than the loss budget 0.2/);
  });

  it('refuses an unknown symbol by name', async () => {
    await expect(collect(admin, { symbol: 'SYN9Z99', capital: '1000' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: { details: { field: 'symbol' } },
    });
  });
});

describe('preferences', () => {
  it('a refused recommendation saves nothing (an underlying with no chain)', async () => {
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size)
      values ('NOCHAIN-USD', 'COINBASE', 'crypto', '0.01', '0.0001') on conflict do nothing`;
    const before = await admin.options.preferences({});
    await expect(
      collect(admin, { symbol: 'NOCHAIN-USD', capital: '777777', preset: 'aggressive' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await admin.options.preferences({})).toEqual(before);
  });

  it('saves capital and preset with a recommendation and reuses the capital when none is given', async () => {
    expect(await admin.options.preferences({})).toEqual({ capital: '100000', preset: 'balanced' });
    await admin.options.savePreferences({ capital: '250000', preset: 'conservative' });
    expect(await admin.options.preferences({})).toEqual({ capital: '250000', preset: 'conservative' });
    const events = await collect(admin, { symbol: SYN, preset: 'conservative' });
    const budget = layerOf(events, 'sizing').rows.find((r) => r.label === 'Loss budget');
    expect(budget?.note).toContain('capital 250000');
    expect(budget?.value).toBe('2500');
  });

  it('no capital given and none saved: BAD_INPUT naming capital', async () => {
    await expect(collect(deskB, { symbol: SYN })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: { details: { field: 'capital' } },
    });
  });

  it('are a person’s own on a desk: a colleague and another desk see their own, under RLS', async () => {
    expect(await colleague.options.preferences({})).toEqual({ capital: null, preset: 'balanced' });
    expect(await deskB.options.preferences({})).toEqual({ capital: null, preset: 'balanced' });
    await deskB.options.savePreferences({ capital: '5000' });
    expect(await deskB.options.preferences({})).toEqual({ capital: '5000', preset: 'balanced' });
    expect(await admin.options.preferences({})).toEqual({ capital: '250000', preset: 'conservative' });
    const rows = await t.owner<{ tenant_id: string; capital: string }[]>`
      select tenant_id::text, capital::text from option_preferences order by option_preferences.capital`;
    expect(rows.map((r) => Number(r.capital))).toEqual([5000, 250000]);
    // The application role sees only the desk it is bound to.
    const seen = await t.owner.begin(async (tx) => {
      await tx`set local role aegis_app`;
      await tx`select set_config('app.tenant_id', ${t.admin.deskId}, true)`;
      return tx<{ capital: string }[]>`select capital::text from option_preferences`;
    });
    expect(seen.map((r) => Number(r.capital))).toEqual([250000]);
  });
});

describe('delta_hedge', () => {
  it('sells the underlying that brings the desk’s delta on it to zero, from the chain’s Greeks', async () => {
    const chain = await deskB.marketData.chain({ symbol: SYN });
    const call = chain.contracts
      .filter((c) => c.right === 'call' && c.dte >= 14 && c.greeks !== null)
      .sort((a, b) => Math.abs(a.greeks!.delta - 0.5) - Math.abs(b.greeks!.delta - 0.5))[0]!;
    await t.owner`insert into positions (tenant_id, symbol, quantity, avg_cost, opened_at)
      values (${deskBId}, ${call.symbol}, '3', '4', now()), (${deskBId}, ${SYN}, '-50', '100', now())`;
    const events = await collect(deskB, {
      symbol: SYN,
      view: 'neutral',
      strategy: 'delta_hedge',
      save: false,
    });
    expect(kinds(events)).toEqual(['context', 'filters', 'scoring', 'sizing', 'risk', 'result']);
    const netDelta = 3 * call.greeks!.delta * 100 - 50;
    const r = resultOf(events).recommendation!;
    expect(r.strategy).toBe('delta_hedge');
    expect(r.legs[0]).toMatchObject({ symbol: SYN, side: netDelta > 0 ? 'sell' : 'buy' });
    // Lot 0.0001: the hedge is the net delta to four places, and what is left is under half a lot.
    expect(Number(r.quantity)).toBeCloseTo(Math.abs(netDelta), 3);
    expect(Math.abs(r.netDelta)).toBeLessThanOrEqual(0.00005 + 1e-9);
    expect(layerOf(events, 'scoring').rows.map((x) => x.label)).toEqual([SYN, call.symbol].sort());
    expect(layerOf(events, 'risk').verdicts?.length).toBeGreaterThan(0);
  });
});

describe('rate limits', () => {
  it('the 21st recommendation of one person within a minute is refused, naming the limit and when to retry', async () => {
    // Iterating to the first layer is enough: the limit is counted when the call starts.
    const first = async (c: Caller, symbol: string) => {
      const stream = await c.options.recommend({
        symbol,
        view: 'bullish',
        preset: 'balanced',
        capital: '1000',
        save: false,
      });
      for await (const _ of stream) break;
    };
    for (let i = 0; i < 20; i++) await first(colleague, OTHER);
    const refused = await first(colleague, OTHER).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      cause: { details: { limit: 'per_user', max: 20 } },
    });
    const details = (refused as { cause: { details: { retryAfterSeconds: number } } }).cause.details;
    expect(details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(details.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect((refused as Error).message).toMatch(/per_user: 20 per 60s per person; retry in \d+s/);
    // Another person on the same desk is not affected.
    await first(admin, OTHER);
  });

  it('per symbol per desk: shared by the desk’s members, not by other symbols or desks', async () => {
    const redis = new Redis('redis://127.0.0.1:6379', { protocol: 2 });
    try {
      const limiter = new RecommendRateLimiter(new RedisWindowStore(redis), {
        perUser: { limit: 100, windowMs: 60_000 },
        perSymbol: { limit: 3, windowMs: 60_000 },
        keyPrefix: `test-rec-${randomUUID()}`,
      });
      const deskA = asTenantId(randomUUID());
      const [u1, u2, u3] = [asUserId('u1'), asUserId('u2'), asUserId('u3')];
      await limiter.admit({ tenantId: deskA, userId: u1, symbol: SYN });
      await limiter.admit({ tenantId: deskA, userId: u2, symbol: SYN });
      await limiter.admit({ tenantId: deskA, userId: u1, symbol: SYN });
      await expect(limiter.admit({ tenantId: deskA, userId: u3, symbol: SYN })).rejects.toMatchObject({
        code: 'RATE_LIMITED',
        details: { limit: 'per_symbol', max: 3 },
      });
      await limiter.admit({ tenantId: deskA, userId: u3, symbol: OTHER });
      await limiter.admit({ tenantId: asTenantId(randomUUID()), userId: u3, symbol: SYN });
    } finally {
      redis.disconnect();
    }
  });
});
