import { signalStreamEntrySchema } from '@aegis/shared/schemas/signal';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/ring/layout.ts';
import { FIXTURE_TICKS } from '../fixtures/make-replay-fixture.ts';
import { daemonTestBed } from '../support/daemon-test-bed.ts';
import { replayFixtureEnv } from '../support/replay-env.ts';
import { until } from '../support/wait.ts';

/**
 * The daemon as systemd runs it: `node engine/src/main.ts` (Node 24 from node_modules), a fresh
 * migrated database, real Redis with a unique stream prefix per test.
 */
const WAIT_MS = 45_000;

const bed = daemonTestBed('engine-test');
const { prefix, bus } = bed;

const count = async (table: string) =>
  Number((await bed.sql.unsafe(`select count(*)::int as n from ${table}`))[0]?.n ?? 0);
const distinctTicks = async () =>
  Number((await bed.sql`select count(distinct (symbol, seq))::int as d from ticks`)[0]?.d ?? 0);

/** The replay feed over the fixture file at `speed` (0: as fast as it reads), two shards. */
const replayEnv = (speed: string, extra: Record<string, string> = {}) =>
  replayFixtureEnv({
    DATABASE_URL: bed.db.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    ENGINE_STREAM_PREFIX: prefix,
    ENGINE_REPLAY_SPEED: speed,
    ENGINE_WRITER_FLUSH_MS: '50',
    LOG_LEVEL: 'info', // the test reads the daemon's log lines
    ...extra,
  });

describe('engine daemon', () => {
  it('runs the synthetic feed: signals reach aegis:signals and the signals table; SIGTERM drains and flushes', async () => {
    const d = bed.spawn({
      DATABASE_URL: bed.db.appUrl,
      REDIS_URL: TEST_REDIS_URL,
      ENGINE_STREAM_PREFIX: prefix,
      ENGINE_FEED: 'synthetic',
      ENGINE_SYMBOLS: '100',
      ENGINE_SHARDS: '2',
      ENGINE_WORKERS: '1',
      ENGINE_TICK_RATE: '20000',
      ENGINE_SIGNAL_MIN_SCORE: '0.5',
    });
    const port = await d.port;
    await until(
      'signals in the stream and the table',
      async () => (await bus.xlen(`${prefix}signals`)) > 0 && (await count('signals')) > 0,
      WAIT_MS,
    );
    const [entry] = await bus.range(`${prefix}signals`, '-', '+', 1);
    expect(Object.keys(entry?.fields ?? {}).sort()).toEqual(
      [
        'direction',
        'features',
        'halted',
        'id',
        'modelVersion',
        'pattern',
        'price',
        'score',
        'symbol',
        'tsEvent',
        'tsSignal',
      ].sort(),
    );
    expect(Object.keys(JSON.parse(entry?.fields.features ?? '{}'))).toEqual([...FEATURE_NAMES]);
    expect(entry?.fields.halted).toBe('false'); // no halt engaged
    // the server's intake schema accepts what the engine writes
    expect(signalStreamEntrySchema.safeParse(entry?.fields).error).toBeUndefined();
    const [row] = await bed.sql`select symbol, pattern,
        to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ts,
        to_char(ts_event at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ts_event
      from signals where id = ${entry?.fields.id as string}`;
    // Stored to the µs, as the stream carries them (not truncated to ms).
    expect(row).toEqual({
      symbol: entry?.fields.symbol,
      pattern: entry?.fields.pattern,
      ts: entry?.fields.tsSignal,
      ts_event: entry?.fields.tsEvent,
    });

    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const name of [
      'aegis_engine_ticks_in_total{feed="synthetic"}',
      'aegis_engine_ring_occupancy',
      'aegis_engine_inference_batch_size_bucket',
      'aegis_engine_inference_latency_seconds_bucket',
      'aegis_engine_writer_lag_seconds',
      'aegis_engine_signals_out_total',
      'aegis_engine_worker_restarts_total',
      'aegis_engine_signal_persist_timeouts_total 0',
      'aegis_engine_halt_poll_timeouts_total 0',
    ]) {
      expect(metrics).toContain(name);
    }

    d.child.kill('SIGTERM');
    expect(await d.exited).toEqual({ code: 0, signal: null });
    const exit = d.lines.find((l) => l.msg === 'engine: exit') as Record<string, number> | undefined;
    expect(exit).toBeDefined();
    expect(exit?.ticksLost).toBe(0);
    expect(exit?.ticksPersisted).toBe(exit?.ticksIn);
    // every accepted tick is in the table, once
    expect(await count('ticks')).toBe(exit?.ticksIn);
    expect(await distinctTicks()).toBe(exit?.ticksIn);
    expect(await count('signals')).toBe(await bus.xlen(`${prefix}signals`));
  });

  it('resumes from its durable cursor after kill -9: every tick of a replay persisted exactly once', async () => {
    await bed.sql`truncate ticks, features, signals, engine_cursors`;
    // the fixture spans ~50 s of event time: ~3 s at 16x
    const env = replayEnv('16');
    const first = bed.spawn(env);
    await first.port;
    await until('some ticks persisted', async () => (await count('ticks')) > 1500, WAIT_MS);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const atCrash = await count('ticks');
    expect(atCrash).toBeLessThan(FIXTURE_TICKS);
    const [cursor] = await bed.sql`select position from engine_cursors`;
    expect(cursor?.position).toMatch(/^bin:\d+$/);

    const second = bed.spawn(env);
    await second.port;
    const resumed = second.lines.find((l) => l.msg === 'engine: feed resumes from its durable position');
    expect(resumed).toMatchObject({ feed: 'replay' });
    await until('the whole file persisted', async () => (await count('ticks')) >= FIXTURE_TICKS, WAIT_MS);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(await count('ticks')).toBe(FIXTURE_TICKS);
    expect(await distinctTicks()).toBe(FIXTURE_TICKS);
    const [final] = await bed.sql`select position from engine_cursors`;
    expect(final?.position).toBe(`bin:${FIXTURE_TICKS}`);
  });

  it('a finished replay: exits on EOF, says so on a rerun, --from-start replays and the tick key refuses the copies', async () => {
    await bed.sql`truncate ticks, features, signals, engine_cursors`;
    const env = replayEnv('0', { ENGINE_EXIT_ON_EOF: 'true' });
    const first = bed.spawn(env);
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.lines.some((l) => String(l.msg).includes('reached the end of its file'))).toBe(true);
    expect(await count('ticks')).toBe(FIXTURE_TICKS);

    // A rerun resumes at the end: nothing to do, and it says so instead of silently idling.
    const rerun = bed.spawn(env);
    expect(await rerun.exited).toEqual({ code: 0, signal: null });
    const warning = rerun.lines.find((l) => String(l.msg).includes('already replayed to its end'));
    expect(warning).toMatchObject({ level: 'warn', position: `bin:${FIXTURE_TICKS}` });

    // --from-start replays the whole file; the table already holds every tick and keeps one copy.
    const again = bed.spawn(env, ['--from-start']);
    expect(await again.exited).toEqual({ code: 0, signal: null });
    const exit = again.lines.find((l) => l.msg === 'engine: exit') as Record<string, number> | undefined;
    expect(exit?.ticksIn).toBe(FIXTURE_TICKS);
    expect(await count('ticks')).toBe(FIXTURE_TICKS);
  });
});
