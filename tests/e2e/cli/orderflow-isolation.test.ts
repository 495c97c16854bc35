import { loadEngineConfig } from '@aegis/engine/config';
import { type EngineHandle, startEngine } from '@aegis/engine/index';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { createLogger } from '@aegis/shared/logging';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../server/tests/integration/decisions-support.ts';
import {
  type Client,
  makeClient,
  signIn,
  startTestServer,
  type TestServer,
} from '../../../server/tests/integration/test-server.ts';
import { venuePrices } from '../../../server/tests/integration/venue-price-fixture.ts';

/**
 * "Anything a desk sends can affect only that desk" for order flow, through the real
 * parts: the real server (PostgreSQL, Redis, HTTP) and the real engine library in-process on the
 * same Redis prefix with its `orderflow` feed on — the deployment where the shared market
 * pipeline (ticks → features → signals, no tenant) would see anything published on
 * `<prefix>:orderflow`, and every desk's agent proposes from those signals.
 *
 * Desk A ingests a run of rising buy trades on an instrument desk B's agent watches — flow that
 * makes the engine's breakout detector fire when it is market data. It must stay desk A's rows:
 * no tick, no signal, and no proposal on desk B. The same run published by the operator (no
 * tenant: a market-data bridge the operator owns) does become ticks, a signal and a desk-B
 * proposal, so the silence above is the isolation and not a dead pipeline.
 */
const log = createLogger({ name: 'orderflow-isolation', level: 'silent' });
const SYMBOL = 'FLOWX-USD';
const RUN = 100; // > the detectors' warm-up (20 ticks here) and momentum window

let t: TestServer;
let engineBus: RedisBus;
let engine: EngineHandle | undefined;
let deskA: Client;
let deskB: Client;
let deskBId: string;
let stream: string;

/** A rising run of buy trades, 100 ms apart, ending a few seconds ago (never in the future). */
function risingRun(startMs: number) {
  return Array.from({ length: RUN }, (_, i) => ({
    ts: new Date(startMs + i * 100).toISOString(),
    price: (100 + i * 0.05).toFixed(2),
    seq: i + 1,
  }));
}

beforeAll(async () => {
  t = await startTestServer({
    execution: {
      paper: { seed: 1, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '0' },
    },
  });
  stream = `${t.redisPrefix}:orderflow`;
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values (${SYMBOL}, 'TESTV', 'crypto', '0.01', '0.0001', '24x7') on conflict do nothing`;
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  await admin.client.auth.reauthenticate.mutate({ password: admin.password });
  const { key } = await admin.client.keys.create.mutate({ name: 'desk-a-feed', scopes: ['trade', 'read'] });
  deskA = makeClient(t.url, { origin: null, bearer: key });
  // Desk B: another desk whose agent watches the instrument desk A feeds.
  const b = await admin.client.desks.create.mutate({ name: 'Desk B' });
  deskBId = b.id;
  const bSession = await signIn(t.url, t.admin.email, admin.password);
  await bSession.client.auth.switchDesk.mutate({ deskId: b.id });
  await bSession.client.agent.settings.set.mutate({
    instruments: [SYMBOL],
    riskPreset: 'conservative',
    maxProposalsPerHour: 100,
  });
  deskB = bSession.client;
  await venuePrices(t, [
    { venue: 'TESTV', instrument: SYMBOL, bid: '104.9', ask: '105', bidSize: '5', askSize: '5' },
  ]);

  engineBus = new RedisBus(TEST_REDIS_URL);
  const config = loadEngineConfig({
    DATABASE_URL: t.database.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    ENGINE_FEED: 'orderflow',
    ENGINE_STREAM_PREFIX: `${t.redisPrefix}:`,
    ENGINE_CONSUMER: 'isolation-it',
    ENGINE_SYMBOLS: '16',
    ENGINE_SHARDS: '1',
    ENGINE_WORKERS: '1',
    ENGINE_WRITER_FLUSH_MS: '20',
    ENGINE_SIGNAL_MIN_SCORE: '0',
    // A short warm-up, so a 100-trade run can produce a candidate: the fitted default (200 ticks)
    // would keep the control below silent too. Same settings for desk A's run, so its silence
    // is still the isolation.
    ENGINE_PATTERN_PARAMS: JSON.stringify({ warmupTicks: 20 }),
    ENGINE_EXECUTION_PROVIDER: 'cpu',
    LOG_LEVEL: 'silent',
  });
  engine = await startEngine({ config, bus: engineBus, log });
}, 120_000);

afterAll(async () => {
  await engine?.stop().catch(() => {});
  await engineBus?.close().catch(() => {});
  await t?.close();
}, 60_000);

const ticksOf = async (symbol: string) =>
  Number((await t.owner`select count(*)::int as n from ticks where symbol = ${symbol}`)[0]?.n);
const signalsOf = async (symbol: string) =>
  Number((await t.owner`select count(*)::int as n from signals where symbol = ${symbol}`)[0]?.n);
const proposalsOfB = async () =>
  Number(
    (
      await t.owner`select count(*)::int as n from proposals where tenant_id = ${deskBId} and symbol = ${SYMBOL}`
    )[0]?.n,
  );

/** An operator entry on the shared stream (no tenant), as a market-data bridge publishes it. */
const operatorTrade = (symbol: string, ts: string, price: string, seq: number) =>
  engineBus.xadd(stream, { ts, symbol, kind: 'trade', seq: String(seq), side: 'buy', price, size: '1' });

describe('desk order flow never enters the shared market pipeline', () => {
  it("desk A's ingest creates no tick, no signal and no proposal for desk B; operator flow does", async () => {
    const t0 = Date.now() - 30_000;
    const ingested = await deskA.orderflow.ingest.mutate({
      events: risingRun(t0).map((e) => ({
        kind: 'trade' as const,
        instrument: SYMBOL,
        venue: 'TESTV',
        tsEvent: e.ts,
        source: 'desk-a-research',
        sequence: e.seq,
        price: e.price,
        size: '1',
        side: 'buy' as const,
      })),
    });
    expect(ingested.inserted).toBe(RUN);
    // A marker after the ingest on the same stream: once its tick is stored, the engine has read
    // everything published before it (a stream is read in order).
    await operatorTrade('MARK-USD', new Date().toISOString(), '1', 1);
    await eventually(async () => (await ticksOf('MARK-USD')) === 1, 30_000);
    expect(await ticksOf(SYMBOL)).toBe(0);
    expect(await signalsOf(SYMBOL)).toBe(0);
    expect(await proposalsOfB()).toBe(0);
    expect((await deskB.proposals.list.query({})).items).toEqual([]);
    // The rows are still desk A's research data, and only desk A's.
    const rows = await t.owner`select tenant_id::text as tenant, count(*)::int as n from orderflow_events
      where symbol = ${SYMBOL} group by tenant_id`;
    expect(rows).toEqual([{ tenant: t.admin.deskId, n: RUN }]);

    // Control: the same run from the operator is market data — ticks, a signal, a desk-B proposal.
    for (const e of risingRun(Date.now() - 20_000)) await operatorTrade(SYMBOL, e.ts, e.price, e.seq);
    await eventually(async () => (await ticksOf(SYMBOL)) === RUN, 30_000);
    await eventually(async () => (await signalsOf(SYMBOL)) > 0, 30_000);
    await eventually(async () => (await proposalsOfB()) > 0, 30_000);
  }, 120_000);
});
