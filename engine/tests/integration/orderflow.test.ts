import { randomBytes } from 'node:crypto';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { createLogger } from '@aegis/shared/logging';
import { OrderflowStreamProducer, orderflowStream } from '@aegis/shared/shards/orderflow-shards';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../src/config.ts';
import { startEngine } from '../../src/index.ts';
import { until } from '../support/wait.ts';

/**
 * The orderflow feed end to end over real Redis and PostgreSQL: operator entries of
 * `<prefix>orderflow` (no tenant) become ticks in the ticks table; an entry is acknowledged in the
 * consumer group only once its tick is persisted; malformed entries — and any entry carrying a
 * desk's tenantId — are counted (per kind, in /metrics) and acknowledged, never a tick; entries a
 * previous engine read and never acknowledged are drained first on restart.
 */
const log = createLogger({ name: 'orderflow-it', level: 'silent' });
const prefix = `orderflow-test:${Date.now().toString(36)}:${randomBytes(3).toString('hex')}:`;
const stream = `${prefix}orderflow`;
let db: MigratedTestDatabase;
let sql: Sql;
const bus = new RedisBus(TEST_REDIS_URL);

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  sql = postgres(db.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  for (const s of [stream, `${prefix}signals`, `${stream}:dead`]) await bus.deleteStream(s);
  for (let k = 0; k < 4; k++) await bus.deleteStream(orderflowStream(`${prefix}sh:`, 4, k));
  await bus.close();
  await sql?.end();
  await db?.drop();
});

const trade = (seq: number) => ({
  ts: new Date(Date.UTC(2026, 0, 2, 15, 0, 0, seq)).toISOString(),
  symbol: 'ETH-USD',
  kind: 'trade',
  seq: String(seq),
  side: seq % 2 ? 'buy' : 'sell',
  price: `${3000 + seq / 100}`,
  size: '0.5',
  source: 'operator-bridge',
});

/** An engine reading the order-flow stream on the test database and Redis, plus `env`. */
const orderflowConfig = (env: Record<string, string>) =>
  loadEngineConfig({
    DATABASE_URL: db.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    ENGINE_FEED: 'orderflow',
    ENGINE_SYMBOLS: '16',
    ENGINE_SHARDS: '2',
    ENGINE_WORKERS: '1',
    ENGINE_WRITER_FLUSH_MS: '20',
    ENGINE_EXECUTION_PROVIDER: 'cpu',
    LOG_LEVEL: 'silent',
    ...env,
  });

const tickCount = async () => Number((await sql`select count(*)::int as n from ticks`)[0]?.n);

describe('orderflow stream feed in the engine', () => {
  it('persists operator order-flow entries as ticks, refuses desk entries, acks after persistence, counts malformed ones, drains pending on restart', async () => {
    const config = orderflowConfig({ ENGINE_STREAM_PREFIX: prefix, ENGINE_CONSUMER: 'engine-it' });
    // A previous engine (same consumer name) read 3 entries and died before acknowledging them.
    await bus.ensureGroup(stream, 'engine', '0');
    for (let i = 1; i <= 3; i++) await bus.xadd(stream, trade(i));
    expect(await bus.readGroup(stream, 'engine', 'engine-it', { count: 10 })).toHaveLength(3);

    const engine = await startEngine({ config, bus, log });
    await until('pending entries persisted', async () => (await tickCount()) === 3);
    for (let i = 4; i <= 10; i++) await bus.xadd(stream, trade(i));
    await until('new entries persisted', async () => (await tickCount()) === 10);
    // Entries that carry no tick still move the durable position, so they are acknowledged too.
    await bus.xadd(stream, { ...trade(11), price: 'abc' });
    await bus.xadd(stream, { ...trade(12), side: 'sideways' });
    await bus.xadd(stream, { kind: 'trade' });
    // A desk's flow (what orderflow.ingest once published): well-formed, yet refused.
    await bus.xadd(stream, { ...trade(13), tenantId: '00000000-0000-0000-0000-000000000001' });
    await until('everything acknowledged', async () => (await bus.pending(stream, 'engine')).count === 0);
    const metrics = engine.metricsText();
    expect(metrics).toContain(
      `aegis_engine_malformed_records_total{source="orderflow:${stream}",kind="number"} 1`,
    );
    expect(metrics).toContain(
      `aegis_engine_malformed_records_total{source="orderflow:${stream}",kind="aggressor"} 1`,
    );
    expect(metrics).toContain(
      `aegis_engine_malformed_records_total{source="orderflow:${stream}",kind="payload"} 1`,
    );
    expect(metrics).toContain(
      `aegis_engine_malformed_records_total{source="orderflow:${stream}",kind="desk_flow"} 1`,
    );
    const report = await engine.stop();
    expect(report).toMatchObject({ ticksIn: 10, ticksPersisted: 10, ticksLost: 0 });

    // As float8: the same value whatever the column's storage type (numeric or float8).
    const rows =
      await sql`select seq::int, price::numeric::float8 as price, aggressor from ticks order by ticks.seq`;
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(rows[0]).toEqual({ seq: 1, price: 3000.01, aggressor: 1 });
  });

  it('sharded (ENGINE_ORDERFLOW_SHARDS=4): one engine owns every shard, persists each event once, resumes each shard from its cursor, releases its leases at stop', async () => {
    const shardPrefix = `${prefix}sh:`;
    const config = orderflowConfig({
      ENGINE_STREAM_PREFIX: shardPrefix,
      ENGINE_CONSUMER: 'engine-solo',
      ENGINE_ORDERFLOW_SHARDS: '4',
      ENGINE_SHARD_LEASE_TTL_MS: '2000',
      ENGINE_SHARD_RENEW_MS: '200',
    });
    const symbols = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH'];
    const producer = new OrderflowStreamProducer({ bus, prefix: shardPrefix, shards: 4 });
    const shardsUsed = new Set<string>();
    const write = async (from: number, to: number) => {
      for (let seq = from; seq <= to; seq++)
        for (const symbol of symbols)
          shardsUsed.add((await producer.append({ ...trade(seq), symbol })).stream);
    };
    const count = async () =>
      Number((await sql`select count(*)::int as n from ticks where symbol = any(${symbols})`)[0]?.n);
    await write(1, 5);
    expect(shardsUsed.size).toBeGreaterThan(1);

    let engine = await startEngine({ config, bus, log });
    expect(engine.stats().shards?.leases.owned.map((o) => o.shard)).toEqual([0, 1, 2, 3]);
    await until('first events persisted', async () => (await count()) === 40);
    expect(engine.readiness().shards).toBe(true);
    expect(engine.metricsText()).toContain('aegis_engine_shards_owned 4');
    await engine.stop();
    const released = await sql`select count(*)::int as n from engine_shard_leases where expires_at > now()`;
    expect(released[0]?.n).toBe(0);

    // Written while no engine runs; the restart resumes each shard after its committed cursor.
    await write(6, 8);
    engine = await startEngine({ config, bus, log });
    await until('events written while down persisted', async () => (await count()) === 64);
    await write(9, 10);
    await until('later events persisted', async () => (await count()) === 80);
    const dup = await sql`
      select count(*)::int as n from (select symbol, seq from ticks where symbol = any(${symbols})
       group by 1, 2 having count(*) > 1) d`;
    expect(dup[0]?.n).toBe(0);
    const tokens = await sql<
      { fencing_token: string }[]
    >`select fencing_token::text from engine_shard_leases`;
    expect(tokens.map((t) => Number(t.fencing_token))).toEqual([2, 2, 2, 2]);
    await engine.stop();
  });
});
