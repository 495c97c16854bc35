import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { RedisBus } from '../../src/bus/redis-bus.ts';
import type { Bus } from '../../src/bus/types.ts';
import { isAppError } from '../../src/errors.ts';
import { TEST_REDIS_URL } from '../../src/testing/services.ts';
import { sleep } from '../../src/testing/wait.ts';

/**
 * One contract, two implementations: every behaviour the platform relies on must hold on Redis
 * and on the in-process bus alike. Stream names are unique per run; streams are deleted after.
 */
const runId = `bus-test:${Date.now().toString(36)}:${randomBytes(3).toString('hex')}`;

describe.each([
  ['redis', () => new RedisBus(TEST_REDIS_URL)],
  ['memory', () => new MemoryBus()],
] as const)('%s bus', (_name, make) => {
  let bus: Bus;
  let n = 0;
  const created: string[] = [];
  const streamName = () => {
    const s = `${runId}:${_name}:${n++}`;
    created.push(s);
    return s;
  };

  beforeEach(() => {
    bus = make();
  });
  afterEach(async () => {
    for (const s of created.splice(0)) await bus.deleteStream(s);
    await bus.close();
  });
  afterAll(async () => {
    // Nothing left behind even if a test failed mid-way.
    const cleanup = make();
    for (let i = 0; i < n; i++) await cleanup.deleteStream(`${runId}:${_name}:${i}`);
    await cleanup.close();
  });

  it('appends with increasing ids and reads ranges and lengths', async () => {
    const s = streamName();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await bus.xadd(s, { i: String(i), note: 'x' }));
    expect(new Set(ids).size).toBe(5);
    const all = await bus.range(s);
    expect(all.map((e) => e.id)).toEqual(ids);
    expect(all.map((e) => e.fields)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i: String(i), note: 'x' })));
    expect(await bus.xlen(s)).toBe(5);
    expect((await bus.range(s, ids[1], ids[3])).map((e) => e.fields.i)).toEqual(['1', '2', '3']);
    expect((await bus.range(s, '-', '+', 2)).length).toBe(2);
    expect(await bus.xlen(`${s}:missing`)).toBe(0);
  });

  it('trims approximately to MAXLEN, never below it', async () => {
    const s = streamName();
    for (let i = 0; i < 1000; i++) await bus.xadd(s, { i: String(i) }, { maxLen: 100 });
    const len = await bus.xlen(s);
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThan(300);
    const all = await bus.range(s);
    expect(all[all.length - 1]?.fields.i).toBe('999');
  });

  it('delivers each entry to one consumer of a group and tracks pending until ack', async () => {
    const s = streamName();
    await bus.ensureGroup(s, 'g');
    await bus.ensureGroup(s, 'g'); // idempotent
    for (let i = 0; i < 6; i++) await bus.xadd(s, { i: String(i) });
    const a = await bus.readGroup(s, 'g', 'a', { count: 4 });
    const b = await bus.readGroup(s, 'g', 'b', { count: 4 });
    expect(a.map((e) => e.fields.i)).toEqual(['0', '1', '2', '3']);
    expect(b.map((e) => e.fields.i)).toEqual(['4', '5']);
    expect(await bus.readGroup(s, 'g', 'a')).toEqual([]);
    let p = await bus.pending(s, 'g');
    expect(p.count).toBe(6);
    expect(p.consumers).toEqual({ a: 4, b: 2 });
    expect(
      await bus.ack(
        s,
        'g',
        a.map((e) => e.id),
      ),
    ).toBe(4);
    expect(await bus.ack(s, 'g', [a[0]?.id as string])).toBe(0); // double ack is a no-op
    p = await bus.pending(s, 'g');
    expect(p).toEqual({ count: 2, consumers: { b: 2 } });
    const [info] = await bus.groups(s);
    expect(info).toMatchObject({ name: 'g', consumers: 2, pending: 2, lag: 0 });
    expect(info?.lastDeliveredId).toBe(b[1]?.id);
  });

  it('a group created at 0 sees the whole stream; at $ only new entries', async () => {
    const s = streamName();
    await bus.xadd(s, { i: 'old' });
    await bus.ensureGroup(s, 'from-start', '0');
    await bus.ensureGroup(s, 'from-now');
    await bus.xadd(s, { i: 'new' });
    expect((await bus.readGroup(s, 'from-start', 'c')).map((e) => e.fields.i)).toEqual(['old', 'new']);
    expect((await bus.readGroup(s, 'from-now', 'c')).map((e) => e.fields.i)).toEqual(['new']);
  });

  it('after a crash a consumer drains its own pending entries first (id 0)', async () => {
    const s = streamName();
    await bus.ensureGroup(s, 'g');
    for (let i = 0; i < 5; i++) await bus.xadd(s, { i: String(i) });
    const first = await bus.readGroup(s, 'g', 'engine-1', { count: 3 });
    await bus.ack(s, 'g', [first[1]?.id as string]);
    // "restart": same consumer name, reads its history before new entries
    const pending = await bus.readGroup(s, 'g', 'engine-1', { id: '0', count: 10 });
    expect(pending.map((e) => e.fields.i)).toEqual(['0', '2']);
    expect(await bus.readGroup(s, 'g', 'other', { id: '0' })).toEqual([]);
    // paging through history with the last id seen
    const page = await bus.readGroup(s, 'g', 'engine-1', { id: pending[0]?.id as string, count: 10 });
    expect(page.map((e) => e.fields.i)).toEqual(['2']);
    const fresh = await bus.readGroup(s, 'g', 'engine-1', { count: 10 });
    expect(fresh.map((e) => e.fields.i)).toEqual(['3', '4']);
  });

  it('autoclaims idle entries of a dead consumer with delivery counts', async () => {
    const s = streamName();
    await bus.ensureGroup(s, 'g');
    for (let i = 0; i < 3; i++) await bus.xadd(s, { i: String(i) });
    const taken = await bus.readGroup(s, 'g', 'dead', { count: 3 });
    expect(taken).toHaveLength(3);
    // one history read counts as a second delivery of entry 0 only
    await bus.readGroup(s, 'g', 'dead', { id: '0', count: 1 });
    expect((await bus.autoclaim(s, 'g', 'alive', 60_000)).entries).toEqual([]);
    await sleep(30);
    const claimed = await bus.autoclaim(s, 'g', 'alive', 20, { count: 10 });
    expect(claimed.entries.map((e) => [e.fields.i, e.deliveries])).toEqual([
      ['0', 3],
      ['1', 2],
      ['2', 2],
    ]);
    expect(claimed.nextStart).toBe('0-0');
    expect(claimed.deletedIds).toEqual([]);
    expect((await bus.pending(s, 'g')).consumers).toEqual({ alive: 3 });
    // claimed entries are fresh again: not claimable until idle
    expect((await bus.autoclaim(s, 'g', 'third', 20)).entries).toEqual([]);
    // paging with COUNT
    await sleep(30);
    const page1 = await bus.autoclaim(s, 'g', 'third', 20, { count: 2 });
    expect(page1.entries.map((e) => e.fields.i)).toEqual(['0', '1']);
    expect(page1.nextStart).not.toBe('0-0');
    const page2 = await bus.autoclaim(s, 'g', 'third', 20, { count: 2, start: page1.nextStart });
    expect(page2.entries.map((e) => [e.fields.i, e.deliveries])).toEqual([['2', 3]]);
  });

  it('a blocking group read wakes on a new entry and otherwise times out empty', async () => {
    const s = streamName();
    await bus.ensureGroup(s, 'g');
    const t0 = Date.now();
    expect(await bus.readGroup(s, 'g', 'c', { blockMs: 50 })).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    const waiting = bus.readGroup(s, 'g', 'c', { blockMs: 5000 });
    await sleep(20);
    await bus.xadd(s, { hello: 'world' });
    const got = await waiting;
    expect(got.map((e) => e.fields)).toEqual([{ hello: 'world' }]);
  });

  it('plain reads tail a stream from $ or from an id', async () => {
    const s = streamName();
    const first = await bus.xadd(s, { i: '0' });
    const tail = bus.read(s, '$', { blockMs: 5000 });
    await sleep(20);
    await bus.xadd(s, { i: '1' });
    expect((await tail).map((e) => e.fields.i)).toEqual(['1']);
    expect((await bus.read(s, first)).map((e) => e.fields.i)).toEqual(['1']);
    expect((await bus.read(s, '0-0')).map((e) => e.fields.i)).toEqual(['0', '1']);
  });

  it('reading a missing group is an AppError NOT_FOUND (NOGROUP)', async () => {
    const s = streamName();
    await bus.xadd(s, { i: '0' });
    const err = await bus.readGroup(s, 'nope', 'c').catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('NOT_FOUND');
    expect(String((err as Error).message)).toContain('NOGROUP');
  });

  it('close() ends a blocked read early and empty', async () => {
    const s = streamName();
    await bus.ensureGroup(s, 'g');
    const waiting = bus.readGroup(s, 'g', 'c', { blockMs: 10_000 });
    await sleep(30);
    const t0 = Date.now();
    await bus.close();
    expect(await waiting).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(5000);
    bus = make(); // for afterEach's cleanup
  });

  it('publishes to every subscriber until it unsubscribes', async () => {
    const channel = `${runId}:${_name}:chan`;
    const got: string[] = [];
    const other: string[] = [];
    const unsub = await bus.subscribe(channel, (m) => got.push(m));
    const unsub2 = await bus.subscribe(channel, (m) => other.push(m));
    expect(await bus.publish(channel, 'one')).toBeGreaterThanOrEqual(1);
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => other.length, { timeout: 10_000 }).toBe(1);
    await unsub();
    await bus.publish(channel, 'two');
    await expect.poll(() => other.length, { timeout: 10_000 }).toBe(2);
    expect(got).toEqual(['one']);
    await unsub2();
    expect(await bus.publish(channel, 'three')).toBe(0);
  });

  it('pings', async () => {
    await expect(bus.ping()).resolves.toBeUndefined();
  });
});
