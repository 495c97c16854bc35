import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createLogger } from '@aegis/shared/logging';
import type { BacktestSpecInput } from '@aegis/shared/schemas/backtest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FIXTURE_PATH, FIXTURE_TICKS } from '../../../engine/tests/fixtures/make-replay-fixture.ts';
import type { BacktestProgressEventOutput } from '../../../server/src/routers/backtests.ts';
import { streamingClient } from '../../../server/tests/integration/decisions-support.ts';
import {
  type Client,
  failure,
  signIn,
  startTestServer,
  type TestServer,
} from '../../../server/tests/integration/test-server.ts';
import { startTestBacktestWorkers } from './test-backtest-workers.ts';

/**
 * Backtests through the API: a real server (app role, RLS) and an engine-side worker started here
 * on the same database and Redis prefix — they meet only through the job stream and the rows.
 * Create → the worker runs it → progress over the SSE subscription → succeeded with a result;
 * cancel mid-run; an uploaded tick file (sha-256 checked) as the data; desk B sees and cancels
 * nothing of desk A; a bad spec is refused naming the field; the LLM cost estimate.
 */
const log = createLogger({ name: 'backtests-api-test', level: (process.env.BT_LOG as 'debug') ?? 'silent' });
const WAIT = { timeout: 30_000, interval: 250 };

let t: TestServer;
let admin: Client;
let live: ReturnType<typeof streamingClient>;
let deskB: Client;
let workers: { stop(): Promise<void> };

beforeAll(async () => {
  t = await startTestServer();
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  admin = s.client;
  live = streamingClient(t.url, { jar: s.jar });
  workers = await startTestBacktestWorkers(t, { consumer: 'api-test', log });
  // Desk B, with its own admin.
  const b = await admin.desks.create.mutate({ name: 'Desk B' });
  await admin.auth.switchDesk.mutate({ deskId: b.id });
  const bAdmin = await admin.users.create.mutate({ email: 'b@example.com', displayName: 'B', role: 'admin' });
  await admin.auth.switchDesk.mutate({ deskId: t.admin.deskId });
  deskB = (await signIn(t.url, 'b@example.com', bAdmin.oneTimePassword!)).client;
});
afterAll(async () => {
  await workers?.stop();
  await t?.close();
});

const sim = (ticks: number, name: string): BacktestSpecInput => ({
  name,
  instruments: ['AAA', 'BBB'],
  data: { kind: 'simulation', symbols: 2, ticks },
  seed: 5,
});

/** Follows `backtests.progress` until the stream ends (after the final status). */
function follow(id: string) {
  const events: BacktestProgressEventOutput[] = [];
  const done = new Promise<BacktestProgressEventOutput[]>((resolve, reject) => {
    const sub = live.backtests.progress.subscribe(
      { id },
      {
        onData: (e) => {
          events.push(e.data);
          if (['succeeded', 'failed', 'cancelled'].includes(e.data.status)) {
            sub.unsubscribe();
            resolve(events);
          }
        },
        onError: reject,
      },
    );
  });
  return { events, done };
}

describe('backtests API with an engine worker', () => {
  it('create → the worker runs it → live progress → succeeded with its result; listed', async () => {
    const created = await admin.backtests.create.mutate(sim(150_000, 'first run'));
    expect(created).toMatchObject({ name: 'first run', status: 'queued', progress: null, error: null });
    const { done } = follow(created.id);
    const events = await done;
    const running = events.filter((e) => e.status === 'running' && (e.progress?.ticks ?? 0) > 0);
    expect(running.length).toBeGreaterThan(0);
    // Progress only moves forward.
    const ticks = running.map((e) => e.progress!.ticks);
    expect([...ticks].sort((a, b) => a - b)).toEqual(ticks);
    expect(events.at(-1)!.status).toBe('succeeded');

    const got = await admin.backtests.get.query({ id: created.id });
    expect(got.status).toBe('succeeded');
    expect(got.result?.ticks).toBe(150_000);
    expect(got.result?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(got.result?.equity.length).toBeGreaterThan(0);
    expect(got.progress?.ticks).toBe(150_000);
    expect(got.finishedAt).not.toBeNull();
    const list = await admin.backtests.list.query({});
    expect(list.items.map((b) => b.id)).toContain(created.id);
  });

  it('cancel mid-run → cancelled, no result', async () => {
    const created = await admin.backtests.create.mutate(sim(20_000_000, 'long run'));
    await vi.waitFor(async () => {
      const b = await admin.backtests.get.query({ id: created.id });
      expect(b.progress?.ticks ?? 0).toBeGreaterThan(0);
    }, WAIT);
    const asked = await admin.backtests.cancel.mutate({ id: created.id });
    expect(['running', 'cancelled']).toContain(asked.status);
    await vi.waitFor(async () => {
      expect((await admin.backtests.get.query({ id: created.id })).status).toBe('cancelled');
    }, WAIT);
    const b = await admin.backtests.get.query({ id: created.id });
    expect(b.result).toBeNull();
    expect(b.progress!.ticks).toBeLessThan(20_000_000);
    // Cancelling again is harmless; a finished one cannot be cancelled.
    expect((await admin.backtests.cancel.mutate({ id: created.id })).status).toBe('cancelled');
  });

  it('an uploaded tick file (chunked, sha-256 checked) backs a backtest', async () => {
    const bytes = await readFile(FIXTURE_PATH);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const start = await admin.backtests.uploadStart.mutate({
      name: 'replay-small.ticks',
      format: 'ticks',
      sizeBytes: bytes.length,
      sha256,
    });
    let seq = 0;
    for (let at = 0; at < bytes.length; at += start.maxChunkBytes, seq++) {
      const data = bytes.subarray(at, at + start.maxChunkBytes).toString('base64');
      await admin.backtests.uploadChunk.mutate({ uploadId: start.id, seq, data });
      // A retried chunk (lost answer) is accepted once; a gap is refused naming the field.
      if (seq === 0) await admin.backtests.uploadChunk.mutate({ uploadId: start.id, seq, data });
    }
    const gap = await failure(
      admin.backtests.uploadChunk.mutate({ uploadId: start.id, seq: seq + 3, data: 'AAAA' }),
    );
    expect(gap.data?.fields?.[0]?.path).toMatch(/seq|data/);
    const finished = await admin.backtests.uploadFinish.mutate({ uploadId: start.id });
    expect(finished).toMatchObject({ status: 'complete', sizeBytes: bytes.length, sha256 });

    const created = await admin.backtests.create.mutate({
      name: 'from file',
      instruments: ['SYN0000', 'SYN0001', 'SYN0002'],
      data: { kind: 'upload', uploadId: start.id },
    });
    await vi.waitFor(async () => {
      expect((await admin.backtests.get.query({ id: created.id })).status).toBe('succeeded');
    }, WAIT);
    const got = await admin.backtests.get.query({ id: created.id });
    expect(got.result!.ticks).toBeGreaterThan(0);
    expect(got.result!.ticks).toBeLessThanOrEqual(FIXTURE_TICKS);
    expect((await admin.backtests.uploads.query({})).items.map((u) => u.id)).toContain(start.id);
    // Not deleted while a queued backtest still needs it (a row of its own, no job: nobody runs it).
    const [pending] = await t.owner<{ id: string }[]>`
      insert into backtests (tenant_id, name, params, status)
      values (${t.admin.deskId}, 'waiting', ${t.owner.json({ data: { kind: 'upload', uploadId: start.id } })}, 'queued')
      returning id`;
    // Its stored spec is not a whole spec: the desk's list still answers, without it.
    const listed = await admin.backtests.list.query({});
    expect(listed.items.map((b) => b.id)).toContain(created.id);
    expect(listed.items.map((b) => b.id)).not.toContain(pending!.id);
    const inUse = await failure(admin.backtests.uploadDelete.mutate({ uploadId: start.id }));
    expect(inUse.data?.fields?.[0]?.path).toBe('uploadId');
    await t.owner`update backtests set status = 'cancelled' where id = ${pending!.id}`;
    expect(await admin.backtests.uploadDelete.mutate({ uploadId: start.id })).toEqual({
      id: start.id,
      deleted: true,
    });
    expect((await admin.backtests.uploads.query({})).items.map((u) => u.id)).not.toContain(start.id);
  });

  it('an upload whose bytes do not match the declared sha-256 is refused, naming sha256', async () => {
    const start = await admin.backtests.uploadStart.mutate({
      name: 'bad.csv',
      format: 'csv',
      sizeBytes: 3,
      sha256: 'a'.repeat(64),
    });
    await admin.backtests.uploadChunk.mutate({
      uploadId: start.id,
      seq: 0,
      data: Buffer.from('abc').toString('base64'),
    });
    const err = await failure(admin.backtests.uploadFinish.mutate({ uploadId: start.id }));
    expect(err.data?.fields?.[0]?.path).toBe('sha256');
    // Not finished, so it cannot back a backtest.
    const refused = await failure(
      admin.backtests.create.mutate({
        name: 'x',
        instruments: ['AAA'],
        data: { kind: 'upload', uploadId: start.id },
      }),
    );
    expect(refused.data?.fields?.[0]?.path).toBe('data.uploadId');
    // Left unfinished for over a day, it is deleted (with its chunks) when the desk starts another.
    await t.owner`update backtest_uploads set created_at = now() - interval '2 days' where id = ${start.id}`;
    await admin.backtests.uploadStart.mutate({
      name: 'next.csv',
      format: 'csv',
      sizeBytes: 3,
      sha256: 'b'.repeat(64),
    });
    expect(await t.owner`select 1 from backtest_upload_chunks where upload_id = ${start.id}`).toHaveLength(0);
    expect((await failure(admin.backtests.uploadFinish.mutate({ uploadId: start.id }))).data?.code).toBe(
      'NOT_FOUND',
    );
  });

  it("desk B neither sees nor cancels desk A's backtest", async () => {
    const created = await admin.backtests.create.mutate(sim(5_000, 'desk A only'));
    expect((await failure(deskB.backtests.get.query({ id: created.id }))).data?.code).toBe('NOT_FOUND');
    expect((await failure(deskB.backtests.cancel.mutate({ id: created.id }))).data?.code).toBe('NOT_FOUND');
    expect((await deskB.backtests.list.query({})).items).toEqual([]);
    await vi.waitFor(async () => {
      expect((await admin.backtests.get.query({ id: created.id })).status).toBe('succeeded');
    }, WAIT);
  });

  it('a bad spec is refused naming the field', async () => {
    const bad = await failure(
      admin.backtests.create.mutate({
        ...sim(5_000, 'bad'),
        data: { kind: 'simulation', symbols: 2, ticks: 5 },
      }),
    );
    expect(bad.data?.code).toBe('BAD_REQUEST');
    expect(bad.data?.fields?.map((f) => f.path)).toContain('data.ticks');
    const noInstruments = await failure(
      admin.backtests.create.mutate({ ...sim(5_000, 'bad'), instruments: [] }),
    );
    expect(noInstruments.data?.fields?.map((f) => f.path)).toContain('instruments');
    const backwards = await failure(
      admin.backtests.create.mutate({
        name: 'backwards',
        instruments: ['AAA'],
        data: { kind: 'ticks_table', from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      }),
    );
    expect(backwards.data?.fields?.map((f) => f.path)).toContain('data.to');
    // Refused, not silently ignored: the workers never write ticks.
    const persist = await failure(
      admin.backtests.create.mutate({ ...sim(5_000, 'persist'), persistTicks: true }),
    );
    expect(persist.data?.fields?.map((f) => f.path)).toContain('persistTicks');
  });

  it('estimate: nothing for the rules; for openai, the budget over the simulated span', async () => {
    const rules = await admin.backtests.estimate.query(sim(5_000, 'est'));
    expect(rules).toMatchObject({ decider: 'rules', usd: 0, maxCalls: 0 });
    const llm = await admin.backtests.estimate.query({
      name: 'est',
      instruments: ['AAA'],
      data: { kind: 'ticks_table', from: '2026-01-01T00:00:00Z', to: '2026-01-01T10:00:00Z' },
      agent: { decider: 'openai', maxProposalsPerHour: 12 },
    });
    expect(llm.maxCalls).toBe(120);
    expect(llm.usd!).toBeGreaterThan(0);
    expect(llm.usd!).toBeCloseTo(llm.usdPerSimulatedHour * 10, 3);
  });

  it('models: the registry as a desk reads it', async () => {
    await t.owner`
      insert into signal_models (version, training_data_hash, metrics, active)
      values ('m-test-1', ${'f'.repeat(64)}, '{"auc": 0.7}'::jsonb, true)`;
    const models = await admin.models.list.query({});
    expect(models.items[0]).toMatchObject({ version: 'm-test-1', active: true, evaluation: null });
    expect((await failure(admin.models.get.query({ version: 'nope' }))).data?.code).toBe('NOT_FOUND');
  });
});
