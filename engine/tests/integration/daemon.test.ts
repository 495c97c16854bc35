import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { signalStreamEntrySchema } from '@aegis/shared/schemas/signal';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/ring/layout.ts';
import { FIXTURE_PATH, FIXTURE_TICKS } from '../fixtures/make-replay-fixture.ts';

/**
 * The daemon as systemd runs it: `node engine/src/main.ts` (Node 24 from node_modules), a fresh
 * migrated database, real Redis with a unique stream prefix per test.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const MAIN = `${ROOT}engine/src/main.ts`;

interface Daemon {
  child: ChildProcess;
  port: Promise<number>;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnDaemon(env: Record<string, string>, args: readonly string[] = []): Daemon {
  const child = spawn(NODE, [MAIN, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ENGINE_PORT: '0',
      ENGINE_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let resolvePort!: (p: number) => void;
  const port = new Promise<number>((r) => {
    resolvePort = r;
  });
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf('\n');
    while (i !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        lines.push(j);
        if (typeof j.msg === 'string' && j.msg.startsWith('engine http: listening'))
          resolvePort(j.port as number);
      } catch {
        // not a log line
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null && stderr) process.stderr.write(stderr);
      resolve({ code, signal });
    });
  });
  return { child, port, lines, exited };
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const count = async (sql: Sql, table: string) =>
  Number((await sql.unsafe(`select count(*)::int as n from ${table}`))[0]?.n ?? 0);

let db: MigratedTestDatabase;
let sql: Sql;
const prefix = `engine-test:${Date.now().toString(36)}:${randomBytes(3).toString('hex')}:`;
const bus = new RedisBus(TEST_REDIS_URL);
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await bus.deleteStream(`${prefix}signals`);
  await bus.close();
  await sql?.end();
  await db?.drop();
});

describe('engine daemon', () => {
  it('runs the synthetic feed: signals reach aegis:signals and the signals table; SIGTERM drains and flushes', async () => {
    const d = spawnDaemon({
      DATABASE_URL: db.appUrl,
      REDIS_URL: TEST_REDIS_URL,
      ENGINE_STREAM_PREFIX: prefix,
      ENGINE_FEED: 'synthetic',
      ENGINE_SYMBOLS: '100',
      ENGINE_SHARDS: '2',
      ENGINE_WORKERS: '1',
      ENGINE_TICK_RATE: '20000',
      ENGINE_SIGNAL_MIN_SCORE: '0.5',
    });
    children.push(d.child);
    const port = await d.port;
    await until('signals in the stream and the table', async () => {
      return (await bus.xlen(`${prefix}signals`)) > 0 && (await count(sql, 'signals')) > 0;
    });
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
    const [row] = await sql`select symbol, pattern,
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
    expect(await count(sql, 'ticks')).toBe(exit?.ticksIn);
    const [{ d: distinct }] =
      (await sql`select count(distinct (symbol, seq))::int as d from ticks`) as unknown as [{ d: number }];
    expect(distinct).toBe(exit?.ticksIn);
    expect(await count(sql, 'signals')).toBe(await bus.xlen(`${prefix}signals`));
  });

  it('resumes from its durable cursor after kill -9: every tick of a replay persisted exactly once', async () => {
    await sql`truncate ticks, features, signals, engine_cursors`;
    const env = {
      DATABASE_URL: db.appUrl,
      REDIS_URL: TEST_REDIS_URL,
      ENGINE_STREAM_PREFIX: prefix,
      ENGINE_FEED: 'replay',
      ENGINE_REPLAY_FILE: FIXTURE_PATH,
      // the fixture spans ~50 s of event time: ~3 s at 16x
      ENGINE_REPLAY_SPEED: '16',
      ENGINE_SYMBOLS: '12',
      ENGINE_SHARDS: '2',
      ENGINE_WORKERS: '1',
      ENGINE_WRITER_FLUSH_MS: '50',
    };
    const first = spawnDaemon(env);
    children.push(first.child);
    await first.port;
    await until('some ticks persisted', async () => (await count(sql, 'ticks')) > 1500);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const atCrash = await count(sql, 'ticks');
    expect(atCrash).toBeLessThan(FIXTURE_TICKS);
    const [cursor] = await sql`select position from engine_cursors`;
    expect(cursor?.position).toMatch(/^bin:\d+$/);

    const second = spawnDaemon(env);
    children.push(second.child);
    await second.port;
    const resumed = second.lines.find((l) => l.msg === 'engine: feed resumes from its durable position');
    expect(resumed).toMatchObject({ feed: 'replay' });
    await until('the whole file persisted', async () => (await count(sql, 'ticks')) >= FIXTURE_TICKS);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(await count(sql, 'ticks')).toBe(FIXTURE_TICKS);
    const [{ d: distinct }] =
      (await sql`select count(distinct (symbol, seq))::int as d from ticks`) as unknown as [{ d: number }];
    expect(distinct).toBe(FIXTURE_TICKS);
    const [final] = await sql`select position from engine_cursors`;
    expect(final?.position).toBe(`bin:${FIXTURE_TICKS}`);
  });

  it('a finished replay: exits on EOF, says so on a rerun, --from-start replays and the tick key refuses the copies', async () => {
    await sql`truncate ticks, features, signals, engine_cursors`;
    const env = {
      DATABASE_URL: db.appUrl,
      REDIS_URL: TEST_REDIS_URL,
      ENGINE_STREAM_PREFIX: prefix,
      ENGINE_FEED: 'replay',
      ENGINE_REPLAY_FILE: FIXTURE_PATH,
      ENGINE_REPLAY_SPEED: '0',
      ENGINE_SYMBOLS: '12',
      ENGINE_SHARDS: '2',
      ENGINE_WORKERS: '1',
      ENGINE_WRITER_FLUSH_MS: '50',
      ENGINE_EXIT_ON_EOF: 'true',
    };
    const first = spawnDaemon(env);
    children.push(first.child);
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.lines.some((l) => String(l.msg).includes('reached the end of its file'))).toBe(true);
    expect(await count(sql, 'ticks')).toBe(FIXTURE_TICKS);

    // A rerun resumes at the end: nothing to do, and it says so instead of silently idling.
    const rerun = spawnDaemon(env);
    children.push(rerun.child);
    expect(await rerun.exited).toEqual({ code: 0, signal: null });
    const warning = rerun.lines.find((l) => String(l.msg).includes('already replayed to its end'));
    expect(warning).toMatchObject({ level: 'warn', position: `bin:${FIXTURE_TICKS}` });

    // --from-start replays the whole file; the table already holds every tick and keeps one copy.
    const again = spawnDaemon(env, ['--from-start']);
    children.push(again.child);
    expect(await again.exited).toEqual({ code: 0, signal: null });
    const exit = again.lines.find((l) => l.msg === 'engine: exit') as Record<string, number> | undefined;
    expect(exit?.ticksIn).toBe(FIXTURE_TICKS);
    expect(await count(sql, 'ticks')).toBe(FIXTURE_TICKS);
  });
});
