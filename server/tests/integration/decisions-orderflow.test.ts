import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, failure, makeClient, signIn, startTestServer, type TestServer } from './test-server.ts';

let t: TestServer;
let admin: Client;
let script: Client;
let stream: string;

beforeAll(async () => {
  t = await startTestServer();
  admin = (await signIn(t.url, t.admin.email, t.admin.password)).client;
  const { key } = await admin.keys.create.mutate({ name: 'feeder', scopes: ['trade', 'read'] });
  script = makeClient(t.url, { origin: null, bearer: key });
  stream = `${t.redisPrefix}:orderflow`;
});
afterAll(async () => {
  await t?.server.deps.bus.deleteStream(stream).catch(() => {});
  await t?.close();
});

const trade = (sequence: number, over: Record<string, unknown> = {}) => ({
  kind: 'trade' as const,
  instrument: 'BTC-USD',
  venue: 'TESTX',
  tsEvent: new Date(Date.UTC(2026, 10, 25, 12, 0, 0) + sequence).toISOString(),
  source: 'feed-a',
  sequence,
  price: '50000.5',
  size: '0.25',
  side: 'buy' as const,
  ...over,
});

describe('orderflow.ingest', () => {
  it("stores a batch in the desk's rows only (never on the shared market stream) and dedupes a replay to the first ids", async () => {
    const before = await t.server.deps.bus.xlen(stream);
    const events = [
      trade(1),
      trade(2),
      {
        kind: 'quote' as const,
        instrument: 'BTC-USD',
        venue: 'TESTX',
        tsEvent: '2026-11-25T13:00:00.123456+01:00',
        source: 'feed-a',
        sequence: 3,
        bid: '50000',
        ask: '50001',
        bidSize: '1.5',
        askSize: '2',
      },
      {
        kind: 'depth' as const,
        instrument: 'BTC-USD',
        venue: 'TESTX',
        tsEvent: '2026-11-25T12:00:01Z',
        source: 'feed-a',
        sequence: 4,
        levels: [
          { side: 'bid' as const, price: '49999', size: '3' },
          { side: 'ask' as const, price: '50002', size: '0' },
        ],
      },
    ];
    const first = await script.orderflow.ingest.mutate({ events });
    expect(first.inserted).toBe(4);
    expect(first.results.map((r) => r.status)).toEqual(['inserted', 'inserted', 'inserted', 'inserted']);
    expect(first.gaps).toEqual([]);

    const again = await script.orderflow.ingest.mutate({ events });
    expect(again.inserted).toBe(0);
    expect(again.results.map((r) => r.id)).toEqual(first.results.map((r) => r.id));
    expect(again.results.every((r) => r.status === 'duplicate')).toBe(true);

    // Same (source, sequence), other content: the first one stands.
    const conflict = await script.orderflow.ingest.mutate({ event: trade(1, { price: '1' }) });
    expect(conflict.results[0]).toEqual({ id: first.results[0]!.id, status: 'conflict' });

    const rows = await t.owner<
      { n: number }[]
    >`select count(*)::int as n from orderflow_events where tenant_id = ${t.admin.deskId}`;
    expect(rows[0]!.n).toBe(4);
    const [q] = await t.owner<{ ts: string; bid: string }[]>`
      select to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as ts, bid::text as bid
        from orderflow_events where id = ${first.results[2]!.id}`;
    expect(q).toEqual({ ts: '2026-11-25T12:00:00.123456', bid: '50000.000000000000' });

    // Nothing reached the shared order-flow stream the engine turns into market ticks, features
    // and signals for every desk: a desk's flow stays its research data.
    expect(await t.server.deps.bus.xlen(stream)).toBe(before);
    expect((await t.server.deps.bus.range(stream)).filter((e) => 'tenantId' in e.fields)).toEqual([]);
  });

  it('rejects a batch with invalid events whole, naming the index and field of every problem', async () => {
    const before = await t.owner<{ n: number }[]>`select count(*)::int as n from orderflow_events`;
    const bad = await failure(
      script.orderflow.ingest.mutate({
        events: [
          trade(100),
          trade(101, { price: '-1' }),
          trade(102),
          { ...trade(103), size: 0.5 },
          {
            kind: 'quote',
            instrument: 'BTC-USD',
            venue: 'X',
            tsEvent: 'yesterday',
            source: 's',
            sequence: 1,
            bid: '2',
            ask: '1',
            bidSize: '1',
            askSize: '1',
          },
        ],
      }),
    );
    expect(bad.data?.httpStatus).toBe(400);
    const problems =
      (bad.data?.details as { problems: { index: number; field: string }[] } | undefined)?.problems ?? [];
    expect(problems.map((p) => [p.index, p.field])).toEqual(
      expect.arrayContaining([
        [1, 'price'],
        [3, 'size'],
        [4, 'tsEvent'],
      ]),
    );
    expect(problems.every((p) => [1, 3, 4].includes(p.index))).toBe(true);
    const after = await t.owner<{ n: number }[]>`select count(*)::int as n from orderflow_events`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('refuses event times in the future or before 2000, and every error names the field path', async () => {
    const before = await t.owner<{ n: number }[]>`select count(*)::int as n from orderflow_events`;
    const future = new Date(Date.now() + 50 * 60_000).toISOString();
    const bad = await failure(
      script.orderflow.ingest.mutate({
        events: [
          trade(200),
          trade(201, { tsEvent: future }),
          trade(202, { tsEvent: '1970-01-01T00:00:00Z' }),
          trade(203, { tenantId: 'someone-else' }),
        ],
      }),
    );
    expect(bad.data?.httpStatus).toBe(400);
    expect(bad.message).toContain('events[1].tsEvent: must not be more than 2000 ms in the future');
    expect(bad.message).toContain('events[2].tsEvent: must not be before 2000-01-01');
    expect(bad.message).toContain('events[3].tenantId');
    const single = await failure(script.orderflow.ingest.mutate({ event: trade(204, { price: 'cheap' }) }));
    expect(single.message).toContain('events[0].price');
    // Not the batch shape at all: the path is named too, never "(input): Invalid input".
    const shape = await failure(script.orderflow.ingest.mutate({ events: 'all of them' } as never));
    expect(shape.message).toMatch(/events/);
    expect(shape.message).not.toContain('(input)');
    const after = await t.owner<{ n: number }[]>`select count(*)::int as n from orderflow_events`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('reports sequence gaps per source in the response and on query; a late event closes its gap', async () => {
    const res = await script.orderflow.ingest.mutate({
      events: [
        trade(1, { source: 'feed-g' }),
        trade(2, { source: 'feed-g' }),
        trade(6, { source: 'feed-g' }),
        trade(10, { source: 'feed-g' }),
      ],
    });
    expect(res.gaps).toEqual([
      { source: 'feed-g', fromSequence: 3, toSequence: 5, missing: 3 },
      { source: 'feed-g', fromSequence: 7, toSequence: 9, missing: 3 },
    ]);
    // The next batch continues from 10: a gap against the stored history is reported too.
    const next = await script.orderflow.ingest.mutate({ event: trade(13, { source: 'feed-g' }) });
    expect(next.gaps).toEqual([{ source: 'feed-g', fromSequence: 11, toSequence: 12, missing: 2 }]);
    await script.orderflow.ingest.mutate({ events: [3, 4, 5].map((s) => trade(s, { source: 'feed-g' })) });
    const gaps = await script.orderflow.gaps.query({ source: 'feed-g' });
    expect(gaps).toEqual([
      { source: 'feed-g', fromSequence: 7, toSequence: 9, missing: 3 },
      { source: 'feed-g', fromSequence: 11, toSequence: 12, missing: 2 },
    ]);
  });

  it('accepts 5,000 events in one call (a body over the general 1 MiB limit) and refuses more', async () => {
    const events = Array.from({ length: 5000 }, (_, i) => ({
      kind: 'quote' as const,
      instrument: 'ETH-USD',
      venue: 'COINBASE',
      tsEvent: new Date(Date.UTC(2026, 10, 25, 12, 0, 0) + i).toISOString().replace('Z', '123Z'),
      source: 'coinbase-ws-level1-eth',
      sequence: 1_000_000_000 + i,
      bid: `3000.${String(i).padStart(8, '0')}`,
      ask: `3001.${String(i).padStart(8, '0')}`,
      bidSize: '12.34567891',
      askSize: '9.87654321',
    }));
    expect(JSON.stringify({ events }).length).toBeGreaterThan(1024 * 1024);
    const started = performance.now();
    const res = await script.orderflow.ingest.mutate({ events });
    const ms = performance.now() - started;
    expect(res.inserted).toBe(5000);
    expect(res.gaps).toEqual([]);
    process.stderr.write(`orderflow.ingest: 5000 quotes in ${Math.round(ms)} ms\n`);
    const tooMany = await failure(
      script.orderflow.ingest.mutate({ events: [...events, trade(5000, { source: 'bulk' })] }),
    );
    expect(tooMany.data?.httpStatus).toBe(400);
  });

  it('needs the trade scope; a read-only key is refused', async () => {
    const { key } = await admin.keys.create.mutate({ name: 'reader', scopes: ['read'] });
    const reader = makeClient(t.url, { origin: null, bearer: key });
    const denied = await failure(reader.orderflow.ingest.mutate({ event: trade(1, { source: 'r' }) }));
    expect(denied.data?.httpStatus).toBe(403);
    expect(denied.data?.details).toMatchObject({ reason: 'scope' });
    // A trader's session works too.
    const viaSession = await admin.orderflow.ingest.mutate({ event: trade(1, { source: 'session-feed' }) });
    expect(viaSession.inserted).toBe(1);
  });
});
