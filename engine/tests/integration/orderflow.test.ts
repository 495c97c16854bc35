import { randomBytes } from 'node:crypto';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../src/config.ts';
import { startEngine } from '../../src/index.ts';

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

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tickCount = async () => Number((await sql`select count(*)::int as n from ticks`)[0]?.n);

describe('orderflow stream feed in the engine', () => {
  it('persists operator order-flow entries as ticks, refuses desk entries, acks after persistence, counts malformed ones, drains pending on restart', async () => {
    const config = loadEngineConfig({
      DATABASE_URL: db.appUrl,
      REDIS_URL: TEST_REDIS_URL,
      ENGINE_FEED: 'orderflow',
      ENGINE_STREAM_PREFIX: prefix,
      ENGINE_CONSUMER: 'engine-it',
      ENGINE_SYMBOLS: '16',
      ENGINE_SHARDS: '2',
      ENGINE_WORKERS: '1',
      ENGINE_WRITER_FLUSH_MS: '20',
      ENGINE_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'silent',
    });
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

    const rows = await sql`select seq::int, price::text, aggressor from ticks order by ticks.seq`;
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(rows[0]).toEqual({ seq: 1, price: '3000.010000000000', aggressor: 1 });
  });
});
