import { signalStreamEntrySchema } from '@aegis/shared/schemas/signal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StoredSignal, storeSignal } from '../../src/signals/service.ts';
import { decisionStreams } from '../../src/signals/streams.ts';
import { Collector, engineSignal, eventually, streamingClient } from './decisions-support.ts';
import { signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * `signals.onNew` resumes by the signal's place in the feed (`signals.stream_id`, numbered as
 * signals are stored), not by its signal time: one stored late with an earlier time is not
 * skipped. Real server, PostgreSQL and Redis; the engine's side is the stream (and its own insert).
 */
let t: TestServer;
let jar: Parameters<typeof streamingClient>[1]['jar'];

beforeAll(async () => {
  t = await startTestServer();
  jar = (await signIn(t.url, t.admin.email, t.admin.password)).jar;
});
afterAll(async () => {
  await t?.server.deps.bus.deleteStream(`${t.redisPrefix}:signals`).catch(() => {});
  await t?.close();
});

const bus = () => t.server.deps.bus;
const streams = () => decisionStreams(t.redisPrefix);
const placeOf = async (id: string) =>
  (await t.owner<{ n: string | null }[]>`select stream_id::text as n from signals where id = ${id}`)[0]?.n ??
  null;

type Event = { id: string; data: { id: string; tsSignal: string } };

describe('signals.onNew resumes by place in the feed', () => {
  it('sends a signal stored after the resume point even when its signal time is earlier', async () => {
    const client = streamingClient(t.url, { jar: jar! });
    const live = new Collector<Event>();
    const sub = client.signals.onNew.subscribe(
      { instrument: 'LATE-USD' },
      { onData: (d) => live.push(d as never), onError: live.fail },
    );
    await new Promise((r) => setTimeout(r, 300));
    const first = engineSignal({ symbol: 'LATE-USD' });
    await bus().xadd(streams().signals, first);
    await live.waitFor(1);
    expect(live.items[0]!.data.id).toBe(first.id);
    expect(live.items[0]!.id).toBe(await placeOf(first.id));
    sub.unsubscribe();

    // While nobody listens: a signal ten minutes older than `first` arrives late, one the
    // engine wrote itself before publishing (the server numbers the existing row), and one newer.
    const late = engineSignal({ symbol: 'LATE-USD' }, new Date(Date.now() - 600_000));
    const lateOwnRow = engineSignal({ symbol: 'LATE-USD' }, new Date(Date.now() - 300_000));
    await t.owner`insert into signals (id, ts, ts_event, symbol, direction, pattern, score, price, features, model_version)
      values (${lateOwnRow.id}, ${lateOwnRow.tsSignal}::text::timestamptz, ${lateOwnRow.tsEvent}::text::timestamptz,
              'LATE-USD', 'long', 'breakout', 0.83, 50010.5, ${lateOwnRow.features}::jsonb, 'test-model-1')`;
    const newer = engineSignal({ symbol: 'LATE-USD' }, new Date(Date.now() + 5));
    await bus().xadd(streams().signals, late);
    await eventually(async () => (await placeOf(late.id)) !== null);
    await bus().xadd(streams().signals, lateOwnRow);
    await eventually(async () => (await placeOf(lateOwnRow.id)) !== null);
    await bus().xadd(streams().signals, newer);
    await eventually(async () => (await placeOf(newer.id)) !== null);
    expect(late.tsSignal < first.tsSignal).toBe(true);

    const resumed = new Collector<Event>();
    const sub2 = client.signals.onNew.subscribe(
      { instrument: 'LATE-USD', lastEventId: live.items[0]!.id },
      { onData: (d) => resumed.push(d as never), onError: resumed.fail },
    );
    await resumed.waitFor(3);
    expect(resumed.items.map((e) => e.data.id)).toEqual([late.id, lateOwnRow.id, newer.id]);
    expect(resumed.items[0]!.data.tsSignal).toBe(late.tsSignal);
    const places = resumed.items.map((e) => Number(e.id));
    expect(places).toEqual([...places].sort((a, b) => a - b));
    expect(places[0]).toBeGreaterThan(Number(live.items[0]!.id));
    sub2.unsubscribe();
  });

  it('fills a gap from the database when places reach the live feed out of order', async () => {
    const client = streamingClient(t.url, { jar: jar! });
    const live = new Collector<Event>();
    const sub = client.signals.onNew.subscribe(
      { instrument: 'GAP-USD' },
      { onData: (d) => live.push(d as never), onError: live.fail },
    );
    await new Promise((r) => setTimeout(r, 300));
    // Another instance stores two signals; its publish of the first is lost or still on the way,
    // the second's arrives.
    const a = await storeSignal(
      t.server.deps.db,
      signalStreamEntrySchema.parse(engineSignal({ symbol: 'GAP-USD' })),
    );
    const b = await storeSignal(
      t.server.deps.db,
      signalStreamEntrySchema.parse(engineSignal({ symbol: 'GAP-USD' })),
    );
    expect(b.streamId).toBe(a.streamId + 1);
    const message: StoredSignal = { streamId: b.streamId, signal: b.view };
    await bus().publish(streams().signalStored, JSON.stringify(message));
    await live.waitFor(2);
    // The late publish of the first, and a redelivery of the second: both already sent.
    await bus().publish(streams().signalStored, JSON.stringify({ streamId: a.streamId, signal: a.view }));
    await bus().publish(streams().signalStored, JSON.stringify(message));
    const c = engineSignal({ symbol: 'GAP-USD' });
    await bus().xadd(streams().signals, c);
    await live.waitFor(3);
    expect(live.items.map((e) => e.data.id)).toEqual([a.view.id, b.view.id, c.id]);
    expect(live.items.map((e) => e.id)).toEqual([
      String(a.streamId),
      String(b.streamId),
      await placeOf(c.id),
    ]);
    sub.unsubscribe();
  });
});
