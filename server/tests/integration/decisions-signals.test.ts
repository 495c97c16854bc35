import { randomBytes } from 'node:crypto';
import { createLogger } from '@aegis/shared/logging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignalConsumer } from '../../src/signals/consumer.ts';
import { decisionStreams } from '../../src/signals/streams.ts';
import { Collector, engineSignal, eventually, streamingClient } from './decisions-support.ts';
import { type Client, failure, makeClient, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let admin: Client;
let adminJar: Parameters<typeof streamingClient>[1]['jar'];
let signalsStream: string;

beforeAll(async () => {
  t = await startTestServer({ decisions: { claimIdleMs: 200, claimEveryMs: 100 } });
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  admin = s.client;
  adminJar = s.jar;
  signalsStream = `${t.redisPrefix}:signals`;
});
afterAll(async () => {
  const bus = t?.server.deps.bus;
  for (const s of [signalsStream, `${signalsStream}:dead`]) await bus?.deleteStream(s).catch(() => {});
  await t?.close();
});

const bus = () => t.server.deps.bus;
const countRows = async (id: string) =>
  (await t.owner<{ n: number }[]>`select count(*)::int as n from signals where id = ${id}`)[0]!.n;

describe('signals from the engine stream', () => {
  it('are stored once, even when the engine wrote the row first, and acknowledged after the commit', async () => {
    const sig = engineSignal();
    // The engine's own writer inserts the row before publishing (here as an older engine did,
    // with the time truncated to ms: the server still keeps one row).
    await t.owner`insert into signals (id, ts, ts_event, symbol, direction, pattern, score, price, features, model_version)
      values (${sig.id}, ${new Date(sig.tsSignal.replace(/(\.\d{3})\d+Z$/, '$1Z'))}, ${sig.tsEvent}, ${sig.symbol}, 'long', 'breakout', 0.83, 50010.5, ${sig.features}::jsonb, 'test-model-1')`;
    await bus().xadd(signalsStream, sig);
    const fresh = engineSignal({
      symbol: 'ETH-USD',
      direction: 'short',
      pattern: 'absorption',
      score: '0.61',
    });
    await bus().xadd(signalsStream, fresh);
    await eventually(async () => (await countRows(fresh.id)) === 1);
    expect(await countRows(sig.id)).toBe(1);
    await eventually(async () => (await bus().pending(signalsStream, 'server')).count === 0);
    const got = await admin.signals.get.query({ id: fresh.id });
    expect(got.signal).toMatchObject({
      id: fresh.id,
      // µs end to end: the stream's times come back exactly, not truncated to ms.
      tsSignal: fresh.tsSignal,
      tsEvent: fresh.tsEvent,
      symbol: 'ETH-USD',
      direction: 'short',
      pattern: 'absorption',
      score: 0.61,
      price: '50010.5',
      modelVersion: 'test-model-1',
    });
    expect(got.signal.features.orderFlowImbalance).toBe(0.42);
    expect(got.signal.features.spreadZ).toBeNull();
  });

  it('list filters by instrument, pattern, direction, min score and time, newest first, with a cursor', async () => {
    const base = Date.now() - 3_600_000;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const s = engineSignal(
        { symbol: 'SOL-USD', score: String(0.5 + i * 0.05), direction: i % 2 ? 'short' : 'long' },
        new Date(base + i * 1000),
      );
      ids.push(s.id);
      await bus().xadd(signalsStream, s);
    }
    await eventually(
      async () => (await admin.signals.list.query({ instrument: 'SOL-USD', limit: 50 })).items.length === 7,
    );
    const page1 = await admin.signals.list.query({ instrument: 'SOL-USD', limit: 3 });
    expect(page1.items.map((s) => s.id)).toEqual([ids[6], ids[5], ids[4]]);
    const page2 = await admin.signals.list.query({
      instrument: 'SOL-USD',
      limit: 3,
      cursor: page1.nextCursor!,
    });
    expect(page2.items.map((s) => s.id)).toEqual([ids[3], ids[2], ids[1]]);
    const page3 = await admin.signals.list.query({
      instrument: 'SOL-USD',
      limit: 3,
      cursor: page2.nextCursor!,
    });
    expect(page3.items.map((s) => s.id)).toEqual([ids[0]]);
    expect(page3.nextCursor).toBeNull();
    const strong = await admin.signals.list.query({
      instrument: 'SOL-USD',
      minScore: 0.74,
      direction: 'long',
    });
    expect(strong.items.map((s) => s.id)).toEqual([ids[6]]);
    const window = await admin.signals.list.query({
      instrument: 'SOL-USD',
      from: new Date(base + 2000).toISOString(),
      to: new Date(base + 4000).toISOString(),
    });
    expect(window.items.map((s) => s.id)).toEqual([ids[3], ids[2]]);
    expect((await admin.signals.list.query({ pattern: 'mean_reversion' })).items).toEqual([]);
    expect((await failure(admin.signals.list.query({ cursor: 'garbage' }))).data?.httpStatus).toBe(400);
  });

  it("get shows the desk's order flow around the signal and its decisions; decide appends", async () => {
    // Five minutes ago, so the flow after the signal is not dated in the future (refused).
    const at = new Date(Date.now() - 300_000);
    const sig = engineSignal({ symbol: 'ADA-USD', tsEvent: at.toISOString() });
    await admin.orderflow.ingest.mutate({
      events: [-30_000, -1000, 1000, 120_000].map((d, i) => ({
        kind: 'trade' as const,
        instrument: 'ADA-USD',
        venue: 'V',
        tsEvent: new Date(at.getTime() + d).toISOString(),
        source: 'ada',
        sequence: i + 1,
        price: '0.5',
        size: '100',
      })),
    });
    await bus().xadd(signalsStream, sig);
    await eventually(async () => (await countRows(sig.id)) === 1);
    await admin.signals.decide.mutate({ signalId: sig.id, decision: 'note', note: 'watching the offer' });
    await admin.signals.decide.mutate({ signalId: sig.id, decision: 'accept' });
    const got = await admin.signals.get.query({ id: sig.id, windowMs: 60_000 });
    expect(got.orderflow.map((e) => e.sequence)).toEqual([1, 2, 3]);
    expect(got.decisions.map((d) => d.decision)).toEqual(['accept', 'note']);
    const missingNote = await failure(admin.signals.decide.mutate({ signalId: sig.id, decision: 'note' }));
    expect(missingNote.data?.httpStatus).toBe(400);
    const unknown = await failure(
      admin.signals.decide.mutate({ signalId: '00000000-0000-7000-8000-000000000000', decision: 'reject' }),
    );
    expect(unknown.data?.httpStatus).toBe(404);
    const { key } = await admin.keys.create.mutate({ name: 'ro', scopes: ['read'] });
    const ro = makeClient(t.url, { origin: null, bearer: key });
    expect(
      (await failure(ro.signals.decide.mutate({ signalId: sig.id, decision: 'reject' }))).data?.httpStatus,
    ).toBe(403);
  });

  it('onNew streams stored signals live over SSE and resumes from the last event id', async () => {
    const client = streamingClient(t.url, { jar: adminJar! });
    const live = new Collector<{ id: string; data: { id: string; symbol: string } }>();
    const sub = client.signals.onNew.subscribe(
      { instrument: 'XRP-USD' },
      { onData: (d) => live.push(d as never), onError: live.fail },
    );
    await new Promise((r) => setTimeout(r, 300));
    const a = engineSignal({ symbol: 'XRP-USD' });
    const noise = engineSignal({ symbol: 'DOGE-USD' });
    await bus().xadd(signalsStream, a);
    await bus().xadd(signalsStream, noise);
    await live.waitFor(1);
    expect(live.items[0]!.data.id).toBe(a.id);
    sub.unsubscribe();
    const resumeFrom = live.items[0]!.id;

    // While nobody listens, two more arrive.
    const b = engineSignal({ symbol: 'XRP-USD' }, new Date(Date.now() + 5));
    const c = engineSignal({ symbol: 'XRP-USD' }, new Date(Date.now() + 10));
    await bus().xadd(signalsStream, b);
    await bus().xadd(signalsStream, c);
    await eventually(async () => (await countRows(c.id)) === 1);

    const resumed = new Collector<{ id: string; data: { id: string } }>();
    const sub2 = client.signals.onNew.subscribe(
      { instrument: 'XRP-USD', lastEventId: resumeFrom },
      { onData: (d) => resumed.push(d as never), onError: resumed.fail },
    );
    await resumed.waitFor(2);
    // In the order they were stored: the consumer handles entries concurrently, either may be first.
    expect(resumed.items.map((e) => e.data.id).sort()).toEqual([b.id, c.id].sort());
    const d = engineSignal({ symbol: 'XRP-USD' }, new Date(Date.now() + 20));
    await bus().xadd(signalsStream, d);
    await resumed.waitFor(3);
    expect(resumed.items[2]!.data.id).toBe(d.id);
    sub2.unsubscribe();
  });
});

describe('the signal consumer group', () => {
  const log = createLogger({ name: 'consumer-test', level: 'silent' });
  const streamsFor = () => decisionStreams(`${t.redisPrefix}-cg-${randomBytes(3).toString('hex')}`);

  it('drains its own pending entries after a crash before the ack', async () => {
    const streams = streamsFor();
    const sig = engineSignal({ symbol: 'CRASH-1' });
    await bus().ensureGroup(streams.signals, 'server', '0');
    await bus().xadd(streams.signals, sig);
    // The crashed process: read the entry, never stored or acknowledged it.
    const delivered = await bus().readGroup(streams.signals, 'server', 'node-a', { count: 10 });
    expect(delivered).toHaveLength(1);
    expect(await countRows(sig.id)).toBe(0);
    // The same instance restarts: it finds the entry in its own pending list.
    const restarted = new SignalConsumer({
      bus: bus(),
      db: t.server.deps.db,
      log,
      streams,
      consumer: 'node-a',
      claimEveryMs: 60_000,
    });
    await restarted.start();
    await eventually(async () => (await countRows(sig.id)) === 1);
    await eventually(async () => (await bus().pending(streams.signals, 'server')).count === 0);
    await restarted.stop();
    await bus().deleteStream(streams.signals);
  });

  it('reclaims entries stuck on a dead consumer, and dead-letters malformed and poison entries', async () => {
    const streams = streamsFor();
    await bus().ensureGroup(streams.signals, 'server', '0');
    const stuck = engineSignal({ symbol: 'CRASH-2' });
    await bus().xadd(streams.signals, stuck);
    await bus().readGroup(streams.signals, 'server', 'node-dead', { count: 10 });
    const poison = engineSignal({ symbol: 'POISON' });
    const malformed = { ...engineSignal(), score: 'very high' };
    const survivor = new SignalConsumer({
      bus: bus(),
      db: t.server.deps.db,
      log,
      streams,
      consumer: 'node-b',
      claimIdleMs: 100,
      claimEveryMs: 50,
      maxDeliveries: 3,
      blockMs: 50,
      onStored: async (s) => {
        if (s.symbol === 'POISON') throw new Error('agent keeps failing on this one');
      },
    });
    await survivor.start();
    await bus().xadd(streams.signals, poison);
    await bus().xadd(streams.signals, malformed);
    await eventually(async () => (await countRows(stuck.id)) === 1);
    const dead = await eventually(async () => {
      const d = await bus().range(streams.signalsDead);
      return d.length >= 2 ? d : null;
    }, 15_000);
    const byId = new Map(dead.map((e) => [e.fields.id, e.fields]));
    expect(byId.get(malformed.id)?.reason).toMatch(/score/);
    expect(Number(byId.get(poison.id)?.deliveries)).toBeGreaterThan(3);
    await eventually(async () => (await bus().pending(streams.signals, 'server')).count === 0);
    expect(survivor.claimed).toBeGreaterThanOrEqual(1);
    await survivor.stop();
    await bus().deleteStream(streams.signals);
    await bus().deleteStream(streams.signalsDead);
  });
});
