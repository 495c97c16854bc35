import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backtestStreams } from '@aegis/shared/bus/backtest-jobs';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { connectSql } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { type BacktestSpecInput, backtestSpecSchema } from '@aegis/shared/schemas/backtest';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BacktestJobsHandle, startBacktestJobs } from '../../engine/src/jobs/backtest-jobs.ts';
import { writeConstantModelFile } from '../../engine/tests/integration/backtest-scorer.ts';
import { FakeOpenAI, validAnswer } from '../../server/tests/integration/fake-openai.ts';

/**
 * The engine's backtest workers against real PostgreSQL (the app role, RLS in force) and real
 * Redis (a stream of this file's own), each run in its own thread as in production: a worker SIGKILLed mid-job (its own process) and the job
 * resumed by another; a job that used up its attempts failing with its reason; the sweeper
 * queueing a job whose entry never reached the stream; a stopping worker giving its job back.
 * Backtest and job rows are written as the owner, the way the server's create writes them
 * (its own tests go through the API). Waits are "until it happens", never timing thresholds.
 */
const log = createLogger({
  name: 'backtest-worker-test',
  level: (process.env.BT_LOG as 'info' | undefined) ?? 'silent',
});
const prefix = `bt-test-${randomBytes(4).toString('hex')}:`;
const streams = backtestStreams(prefix);
const LEASE_MS = 1000;
const WAIT = { timeout: 30_000, interval: 50 };

let db: MigratedTestDatabase;
let owner: Sql;
let app: Sql;
let bus: RedisBus;
let tenantId: string;
let dir: string;
let modelPath: string;
const running: BacktestJobsHandle[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'aegis-bt-worker-'));
  modelPath = await writeConstantModelFile(dir);
  owner = postgres(db.url, { max: 2, onnotice: () => {} });
  app = connectSql(db.appUrl, { max: 6 });
  bus = new RedisBus(TEST_REDIS_URL, { log });
  const [t] = await owner<{ id: string }[]>`
    insert into tenants (slug, name) values ('bt-desk', 'Backtest desk') returning id`;
  tenantId = t!.id;
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const h of running) await h.stop();
  await bus?.deleteStream(streams.jobs).catch(() => {});
  await bus?.close();
  await app?.end();
  await owner?.end();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startWorkers(consumer: string, extra: { sweepEveryMs?: number } = {}) {
  return startBacktestJobs({
    sql: app,
    bus,
    log,
    prefix,
    consumer,
    workers: 1,
    leaseMs: LEASE_MS,
    blockMs: 100,
    progressEveryMs: 50,
    sweepEveryMs: extra.sweepEveryMs ?? 100,
    sweepGraceMs: 200,
    thread: { databaseUrl: db.appUrl, modelJsonPath: modelPath, logLevel: 'silent' },
  }).then((h) => {
    running.push(h);
    return h;
  });
}

/** Rows as the server's create writes them; `enqueue: false` leaves the entry out. */
async function insertBacktest(
  input: BacktestSpecInput,
  opts: {
    enqueue?: boolean;
    job?: Partial<{ status: string; attempts: number; lockedUntilPast: boolean }>;
  } = {},
) {
  const spec = backtestSpecSchema.parse(input);
  const backtestId = randomUUID();
  const jobId = randomUUID();
  const enqueue = opts.enqueue ?? true;
  await owner`
    insert into jobs (id, tenant_id, kind, payload, status, attempts, max_attempts, locked_by, locked_until,
                      enqueued_at, created_at)
    values (${jobId}, ${tenantId}, 'backtest', ${owner.json({ backtestId })}, ${opts.job?.status ?? 'queued'},
            ${opts.job?.attempts ?? 0}, 3, ${opts.job?.lockedUntilPast ? 'a-dead-worker' : null},
            ${opts.job?.lockedUntilPast ? new Date(Date.now() - 60_000) : null},
            ${enqueue ? new Date() : null}, now() - interval '1 minute')`;
  await owner`
    insert into backtests (id, tenant_id, name, params, status, job_id)
    values (${backtestId}, ${tenantId}, ${spec.name}, ${owner.json(spec as never)},
            ${opts.job?.status ?? 'queued'}, ${jobId})`;
  if (enqueue) await bus.xadd(streams.jobs, { jobId, backtestId, tenantId });
  return { backtestId, jobId, spec };
}

const backtestRow = async (id: string) =>
  (
    await owner<
      {
        status: string;
        error: string | null;
        result: { ticks: number; digest: string } | null;
        progress: { ticks: number } | null;
      }[]
    >`select status, error, result, progress from backtests where id = ${id}`
  )[0]!;
const jobRow = async (id: string) =>
  (
    await owner<{ status: string; attempts: number; locked_by: string | null; last_error: string | null }[]>`
      select status, attempts, locked_by, last_error from jobs where id = ${id}`
  )[0]!;

const sim = (ticks: number, name = 'sim'): BacktestSpecInput => ({
  name,
  instruments: ['AAA', 'BBB'],
  data: { kind: 'simulation', symbols: 2, ticks },
  seed: 11,
});

describe('backtest workers', () => {
  it('a worker killed mid-job: another claims its pending entry once the lease expires, runs it from the start, succeeds', async () => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('../../engine/tests/integration/backtest-worker-process.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          BT_DATABASE_URL: db.appUrl,
          BT_REDIS_URL: TEST_REDIS_URL,
          BT_PREFIX: prefix,
          BT_CONSUMER: 'doomed',
          BT_LEASE_MS: String(LEASE_MS),
          BT_MODEL_PATH: modelPath,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('"ready":true')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`worker process exited (${code})`)));
    });
    // Long enough (seconds, not the ~0.1 s a small run takes) for the checks below to see it running.
    const { backtestId, jobId, spec } = await insertBacktest(sim(5_000_000, 'crash'));
    // Mid-run in the doomed process: it holds the lease and has reported progress.
    try {
      await vi.waitFor(async () => {
        const [job, bt] = [await jobRow(jobId), await backtestRow(backtestId)];
        expect(job.locked_by).toBe('doomed-backtest-0');
        expect(bt.progress?.ticks ?? 0).toBeGreaterThan(0);
      }, WAIT);
    } finally {
      // Whatever happened, the doomed process must not live on to take later tests' jobs.
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    expect((await backtestRow(backtestId)).status).toBe('running');

    await startWorkers('rescuer', { sweepEveryMs: 60_000 });
    await vi.waitFor(async () => expect((await backtestRow(backtestId)).status).toBe('succeeded'), WAIT);
    const bt = await backtestRow(backtestId);
    const job = await jobRow(jobId);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2, locked_by: null });
    // Restarted from scratch: the whole data set, not the remainder.
    expect(bt.result?.ticks).toBe(spec.data.kind === 'simulation' ? spec.data.ticks : -1);
    expect(bt.result?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(bt.error).toBeNull();
    // Its pending entry was the one claimed and acked: nothing left pending in the group.
    await vi.waitFor(
      async () => expect((await bus.pending(streams.jobs, streams.group)).count).toBe(0),
      WAIT,
    );
    for (const h of running.splice(0)) await h.stop();
  });

  it('a job past its attempts fails with the reason instead of running again', async () => {
    await startWorkers('patient');
    // Its worker died on the third attempt (lease expired, never finished).
    const { backtestId, jobId } = await insertBacktest(sim(5_000, 'doomed'), {
      job: { status: 'running', attempts: 3, lockedUntilPast: true },
    });
    await owner`update jobs set last_error = 'worker stopped' where id = ${jobId}`;
    await vi.waitFor(async () => expect((await backtestRow(backtestId)).status).toBe('failed'), WAIT);
    expect((await backtestRow(backtestId)).error).toMatch(/gave up after 3 attempts.*worker stopped/);
    expect(await jobRow(jobId)).toMatchObject({ status: 'failed', attempts: 4 });
  });

  it('the sweeper queues a job whose entry never reached the stream', async () => {
    const { backtestId, jobId } = await insertBacktest(sim(5_000, 'unqueued'), { enqueue: false });
    await vi.waitFor(async () => expect((await backtestRow(backtestId)).status).toBe('succeeded'), WAIT);
    expect((await jobRow(jobId)).attempts).toBe(1);
  });

  it('a stopping worker gives its job back (not an attempt) and the next worker finishes it', async () => {
    for (const h of running.splice(0)) await h.stop();
    const first = await startWorkers('leaving', { sweepEveryMs: 60_000 });
    const { backtestId, jobId } = await insertBacktest(sim(5_000_000, 'handover'));
    await vi.waitFor(
      async () => expect((await backtestRow(backtestId)).progress?.ticks ?? 0).toBeGreaterThan(0),
      WAIT,
    );
    await first.stop();
    running.splice(running.indexOf(first), 1);
    expect(await jobRow(jobId)).toMatchObject({ status: 'queued', attempts: 0, locked_by: null });
    expect((await backtestRow(backtestId)).status).toBe('queued');
    await startWorkers('arriving');
    await vi.waitFor(async () => expect((await backtestRow(backtestId)).status).toBe('succeeded'), {
      ...WAIT,
      timeout: 60_000,
    });
    expect((await jobRow(jobId)).attempts).toBe(1);
  }, 90_000);

  it('a range of the ticks table: the thread reads it through its own connection, only the range and the instruments asked', async () => {
    for (const h of running.splice(0)) await h.stop();
    await startWorkers('ranges');
    // 3,000 trades with quotes, 10 ms apart, alternating AAA / BBB / CCC; CCC is not asked for.
    await owner`
      insert into ticks (ts, ts_ingest, symbol, seq, kind, price, size, bid, ask, bid_size, ask_size, aggressor)
      select '2026-01-05T14:30:00Z'::timestamptz + i * interval '10 milliseconds', now(),
             (array['AAA', 'BBB', 'CCC'])[i % 3 + 1], i, 1,
             100 + 0.01 * (i % 50), 1, 99.99 + 0.01 * (i % 50), 100.01 + 0.01 * (i % 50), 5, 5,
             case when i % 2 = 0 then 1 else -1 end
      from generate_series(0, 2999) as i`;
    const { backtestId } = await insertBacktest({
      name: 'range',
      instruments: ['AAA', 'BBB'],
      // The first 20 s: ticks 0..1999.
      data: { kind: 'ticks_table', from: '2026-01-05T14:30:00Z', to: '2026-01-05T14:30:20Z' },
    });
    await vi.waitFor(async () => expect((await backtestRow(backtestId)).status).toBe('succeeded'), WAIT);
    const expected = Array.from({ length: 2000 }, (_, i) => i % 3).filter((k) => k < 2).length;
    expect((await backtestRow(backtestId)).result?.ticks).toBe(expected);
  });

  it("agent.decider 'openai': without a configured model the run fails saying so; with one (a local OpenAI-compatible server) the model is asked", async () => {
    for (const h of running.splice(0)) await h.stop();
    await startWorkers('no-llm');
    const llmSpec = { ...sim(20_000, 'llm'), agent: { decider: 'openai' as const } };
    const refused = await insertBacktest(llmSpec);
    await vi.waitFor(async () => expect((await backtestRow(refused.backtestId)).status).toBe('failed'), WAIT);
    expect((await backtestRow(refused.backtestId)).error).toMatch(/agent\.decider/);
    for (const h of running.splice(0)) await h.stop();

    const fake = new FakeOpenAI();
    await fake.start();
    try {
      fake.script({ kind: 'content', content: validAnswer({ quantity: '1' }, 100, 'AAA') });
      const h = await startBacktestJobs({
        sql: app,
        bus,
        log,
        prefix,
        consumer: 'llm',
        workers: 1,
        leaseMs: LEASE_MS,
        blockMs: 100,
        progressEveryMs: 50,
        thread: {
          databaseUrl: db.appUrl,
          modelJsonPath: modelPath,
          logLevel: 'silent',
          openai: { apiKey: 'sk-test', baseUrl: fake.url, model: 'fake-model' },
        },
      });
      running.push(h);
      const asked = await insertBacktest(llmSpec);
      await vi.waitFor(
        async () => expect((await backtestRow(asked.backtestId)).status).toBe('succeeded'),
        WAIT,
      );
      expect(fake.requests.length).toBeGreaterThan(0);
      expect(fake.requests[0]!.model).toBe('fake-model');
    } finally {
      await fake.close();
    }
  });
});
