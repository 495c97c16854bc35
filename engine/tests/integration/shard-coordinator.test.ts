import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MalformedRecords } from '../../src/feeds/malformed.ts';
import { SymbolTable } from '../../src/feeds/symbol-table.ts';
import { createTickRecord } from '../../src/feeds/tick.ts';
import { ShardCoordinator } from '../../src/shards/shard-coordinator.ts';
import { ShardedOrderflowFeed } from '../../src/shards/shard-feed.ts';
import { ShardLeaseStore } from '../../src/shards/shard-lease-store.ts';

/**
 * The coordinator's policy, one round at a time (no timers), against a real PostgreSQL: a lone
 * engine takes every shard, a joining one gets its share by clean handovers, a restarted engine
 * takes its own leases back at once (new token), and a renewal that finds a lease taken reports
 * it lost. The feeds are real shard feeds that are never run (nothing is read, so every handover
 * is settled at once).
 */
const log = createLogger({ name: 'shard-coordinator-it', level: 'silent' });
let db: MigratedTestDatabase;
let sql: Sql;
const bus = new RedisBus(TEST_REDIS_URL);

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  sql = postgres(db.appUrl, { max: 4, onnotice: () => {} });
});
afterAll(async () => {
  await bus.close();
  await sql?.end();
  await db?.drop();
});

function engine(name: string, prefix: string, ttlMs = 60_000) {
  const lost: number[] = [];
  let coordinator: ShardCoordinator | null = null;
  const feed = new ShardedOrderflowFeed(
    {
      bus,
      symbolTable: new SymbolTable({ capacity: 64, shards: 1 }),
      malformed: new MalformedRecords(log),
      log,
      held: (s) => coordinator?.held(s) ?? false,
    },
    createTickRecord(),
  );
  coordinator = new ShardCoordinator({
    store: new ShardLeaseStore(sql, ttlMs),
    feed,
    log,
    prefix,
    shards: 4,
    engine: name,
    renewMs: 1000,
    checkpoint: () => {},
    onLost: (s) => lost.push(s),
  });
  return { coordinator, feed, lost };
}

/** Runs rounds of every engine until none changes (each handover settles within its round). */
async function settle(...engines: ReturnType<typeof engine>[]): Promise<void> {
  for (let i = 0; i < 10; i++) {
    for (const e of engines) await e.coordinator.round();
    await new Promise((r) => setTimeout(r, 30));
  }
}

describe('shard coordinator', () => {
  it('a lone engine takes every shard; a joining engine gets half by clean handovers', async () => {
    const a = engine('engine-a', 'c1:');
    await a.coordinator.round();
    expect(a.coordinator.owned()).toEqual([0, 1, 2, 3]);
    expect(a.feed.shards().map((s) => [s.shard, s.stream, s.after])).toEqual([
      [0, 'c1:orderflow:0', '0-0'],
      [1, 'c1:orderflow:1', '0-0'],
      [2, 'c1:orderflow:2', '0-0'],
      [3, 'c1:orderflow:3', '0-0'],
    ]);
    const b = engine('engine-b', 'c1:');
    await settle(a, b);
    expect(a.coordinator.owned()).toHaveLength(2);
    expect(b.coordinator.owned()).toHaveLength(2);
    expect(new Set([...a.coordinator.owned(), ...b.coordinator.owned()]).size).toBe(4);
    expect(a.coordinator.stats()).toMatchObject({ handovers: 2, lost: 0, members: 2 });
    expect(b.coordinator.stats()).toMatchObject({ acquired: 2, takeovers: 2 });
    // B's shards were released by A and taken with the next token.
    for (const s of b.feed.shards()) expect(s.token).toBe(2);
    await a.coordinator.stop();
    await b.coordinator.stop();
  });

  it('a restarted engine takes its live leases back at once; the old process finds them lost', async () => {
    const first = engine('engine-a', 'c2:');
    await first.coordinator.round();
    expect(first.coordinator.owned()).toEqual([0, 1, 2, 3]);
    // The process "crashes" (never releases); its successor of the same name starts.
    const second = engine('engine-a', 'c2:');
    await second.coordinator.round();
    expect(second.coordinator.owned()).toEqual([0, 1, 2, 3]);
    for (const s of second.feed.shards()) expect(s.token).toBe(2);
    expect(second.coordinator.stats().members).toBe(1);
    // Had the old process only been paused, its next round reports every lease lost.
    await first.coordinator.round();
    expect(first.lost.sort()).toEqual([0, 1, 2, 3]);
    expect(first.coordinator.owned()).toEqual([]);
    expect(first.feed.shards()).toEqual([]);
    await second.coordinator.stop();
  });

  it("another engine waits out a dead engine's TTL, then takes every shard with the next token", async () => {
    const dead = engine('engine-x', 'c3:', 300);
    await dead.coordinator.round();
    const survivor = engine('engine-y', 'c3:', 300);
    await survivor.coordinator.round();
    expect(survivor.coordinator.owned()).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    await survivor.coordinator.round();
    expect(survivor.coordinator.owned()).toEqual([0, 1, 2, 3]);
    expect(survivor.coordinator.stats()).toMatchObject({ takeovers: 4, members: 1 });
    await survivor.coordinator.stop();
  });
});
