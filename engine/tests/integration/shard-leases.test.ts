import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { sleep } from '@aegis/shared/testing/wait';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardLeaseStore, shardCursorName, shardPosition } from '../../src/shards/shard-lease-store.ts';
import { saveCursors } from '../../src/writer/cursor-store.ts';

/**
 * The shard lease table and the cursor fence (drizzle/0022_engine_shard_leases.sql) against a
 * real PostgreSQL, as the engine's application role.
 */
let db: MigratedTestDatabase;
let app: Sql;
let owner: Sql;
const CLUSTER = 't:orderflow';
const stream = (k: number) => `${CLUSTER}:${k}`;

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  app = postgres(db.appUrl, { max: 4, onnotice: () => {} });
  owner = postgres(db.url, { max: 1, onnotice: () => {} });
  // A canary table written in the same transaction as a cursor: refused cursor, refused rows.
  await owner`create table fence_canary (id text primary key)`;
  await owner.unsafe(`grant select, insert on fence_canary to ${db.appRole}`);
});
afterAll(async () => {
  await app?.end();
  await owner?.end();
  await db?.drop();
});

const take = (store: ShardLeaseStore, shard: number, holder: string, engine: string) =>
  store.acquire({ cluster: CLUSTER, stream: stream(shard), shard, holder, engine });

/** What the writer does: ticks (here a canary row) and the cursor in one transaction. */
const commit = (shard: number, position: string, row: string) =>
  app.begin(async (tx) => {
    await tx`insert into fence_canary (id) values (${row})`;
    await saveCursors(tx, { [shardCursorName(stream(shard))]: position });
  });
const canary = async (row: string) => (await app`select 1 from fence_canary where id = ${row}`).length === 1;
const cursorOf = async (shard: number) =>
  (
    await app<
      { position: string }[]
    >`select position from engine_cursors where name = ${shardCursorName(stream(shard))}`
  )[0]?.position ?? null;

describe('engine shard leases', () => {
  it('acquire: one holder at a time; renew keeps it; release hands it over with the next token', async () => {
    const store = new ShardLeaseStore(app, 60_000);
    const a = await take(store, 0, 'a:1', 'engine-a');
    expect(a).toMatchObject({ token: 1, cursor: null, previousEngine: null });
    expect(await take(store, 0, 'b:1', 'engine-b')).toBeNull();
    expect([...(await store.renew('a:1', [{ stream: stream(0), token: 1 }]))]).toEqual([stream(0)]);
    // Someone else's renewal of the same row finds nothing.
    expect((await store.renew('b:1', [{ stream: stream(0), token: 1 }])).size).toBe(0);
    expect(await store.release('a:1', stream(0), 1)).toBe(true);
    const b = await take(store, 0, 'b:1', 'engine-b');
    expect(b).toMatchObject({ token: 2, previousEngine: 'engine-a' });
    // The old holder's renewal now reports the lease lost.
    expect((await store.renew('a:1', [{ stream: stream(0), token: 1 }])).size).toBe(0);
    const rows = await store.leases(CLUSTER);
    expect(rows.find((r) => r.shard === 0)).toMatchObject({ holder: 'b:1', token: 2, live: true });
  });

  it('expire: a lease not renewed within its TTL is taken by another engine, token + 1', async () => {
    const store = new ShardLeaseStore(app, 300);
    const a = await take(store, 1, 'a:1', 'engine-a');
    expect(a?.token).toBe(1);
    expect(await take(store, 1, 'b:1', 'engine-b')).toBeNull();
    await sleep(400);
    const b = await take(store, 1, 'b:1', 'engine-b');
    expect(b).toMatchObject({ token: 2, previousEngine: 'engine-a' });
    expect((await store.renew('a:1', [{ stream: stream(1), token: 1 }])).size).toBe(0);
  });

  it('a restarted engine (same name, new process) takes its own live lease at once, fencing the old process', async () => {
    const store = new ShardLeaseStore(app, 60_000);
    expect((await take(store, 2, 'a:1', 'engine-a'))?.token).toBe(1);
    expect(await take(store, 2, 'b:1', 'engine-b')).toBeNull();
    const again = await take(store, 2, 'a:2', 'engine-a');
    expect(again?.token).toBe(2);
    expect((await store.renew('a:1', [{ stream: stream(2), token: 1 }])).size).toBe(0);
  });

  it('fencing: a stale token cannot move the cursor, and its whole transaction is refused', async () => {
    const store = new ShardLeaseStore(app, 300);
    const a = await take(store, 3, 'a:1', 'engine-a');
    const ta = a?.token as number;
    await commit(3, shardPosition(ta, '1-0'), 'a-first');
    expect(await cursorOf(3)).toBe(shardPosition(ta, '1-0'));
    // A pauses past its TTL; B takes over and resumes from A's committed cursor.
    await sleep(400);
    const b = await take(store, 3, 'b:1', 'engine-b');
    expect(b).toMatchObject({ token: ta + 1, cursor: shardPosition(ta, '1-0') });
    // A wakes and tries to commit what it read meanwhile: refused, rows and cursor alike.
    await expect(commit(3, shardPosition(ta, '2-0'), 'a-stale')).rejects.toThrow(/stale fencing token/);
    expect(await canary('a-stale')).toBe(false);
    expect(await cursorOf(3)).toBe(shardPosition(ta, '1-0'));
    // Re-upserting the unchanged position moves nothing and is let through.
    await commit(3, shardPosition(ta, '1-0'), 'a-noop');
    // A forged position without a token is refused too.
    await expect(commit(3, '2-0', 'forged')).rejects.toThrow(/stale fencing token/);
    // The owner's commit passes.
    await commit(3, shardPosition(ta + 1, '2-0'), 'b-first');
    expect(await cursorOf(3)).toBe(shardPosition(ta + 1, '2-0'));
    expect(await canary('b-first')).toBe(true);
  });

  it('a takeover waits for an in-flight commit of the old owner and resumes from it', async () => {
    const store = new ShardLeaseStore(app, 200);
    const a = await take(store, 4, 'a:1', 'engine-a');
    const ta = a?.token as number;
    await sleep(300); // expired, but nobody took it yet: A's commit is still valid
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const inside = new Promise<void>((r) => {
      locked = r;
    });
    const aCommit = app.begin(async (tx) => {
      await saveCursors(tx, { [shardCursorName(stream(4))]: shardPosition(ta, '5-0') });
      locked();
      await gate; // A's transaction holds the lease row FOR SHARE
    });
    await inside;
    const bTake = take(store, 4, 'b:1', 'engine-b');
    await sleep(150);
    release();
    await aCommit;
    const b = await bTake;
    expect(b).toMatchObject({ token: ta + 1, cursor: shardPosition(ta, '5-0') });
  });

  it('members: a heartbeat lists the live engines of a cluster; leave removes one', async () => {
    const store = new ShardLeaseStore(app, 60_000);
    await store.heartbeat('m:orderflow', 'x:1', 'engine-x');
    const both = await store.heartbeat('m:orderflow', 'y:1', 'engine-y');
    expect(both.map((m) => m.engine)).toEqual(['engine-x', 'engine-y']);
    await store.leave('x:1');
    expect((await store.heartbeat('m:orderflow', 'y:1', 'engine-y')).map((m) => m.engine)).toEqual([
      'engine-y',
    ]);
  });
});
