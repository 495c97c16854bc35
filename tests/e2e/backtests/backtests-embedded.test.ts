import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BacktestProgressEventOutput } from '../../../server/src/routers/backtests.ts';
import { streamingClient } from '../../../server/tests/integration/decisions-support.ts';
import { signIn, startTestServer, type TestServer } from '../../../server/tests/integration/test-server.ts';
import { startTestBacktestWorkers } from './test-backtest-workers.ts';

/**
 * The single-machine mode (`npm start`): server and backtest workers in one process on the
 * in-process bus, no Redis in between. The job stream, auto-claim, touch, progress and cancel
 * channels behave as on Redis; a backtest created through the API runs to its result.
 */
const log = createLogger({ name: 'backtests-embedded-test', level: 'silent' });
let t: TestServer;
let bus: MemoryBus;
let workers: { stop(): Promise<void> };
let live: ReturnType<typeof streamingClient>;

beforeAll(async () => {
  bus = new MemoryBus();
  t = await startTestServer({ bus });
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  live = streamingClient(t.url, { jar: s.jar });
  workers = await startTestBacktestWorkers(t, { consumer: 'embedded', log, bus });
});
afterAll(async () => {
  await workers?.stop();
  await t?.close();
  await bus?.close();
});

describe('backtests on the in-process bus', () => {
  it('create → progress → succeeded; a second one cancelled while it runs', async () => {
    const done = await live.backtests.create.mutate({
      name: 'embedded',
      instruments: ['AAA'],
      data: { kind: 'simulation', symbols: 1, ticks: 50_000 },
    });
    const events = await new Promise<BacktestProgressEventOutput[]>((resolve, reject) => {
      const seen: BacktestProgressEventOutput[] = [];
      const sub = live.backtests.progress.subscribe(
        { id: done.id },
        {
          onData: (e) => {
            seen.push(e.data);
            if (['succeeded', 'failed', 'cancelled'].includes(e.data.status)) {
              sub.unsubscribe();
              resolve(seen);
            }
          },
          onError: reject,
        },
      );
    });
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', error: null });
    expect((await live.backtests.get.query({ id: done.id })).result?.ticks).toBe(50_000);

    const long = await live.backtests.create.mutate({
      name: 'embedded long',
      instruments: ['AAA'],
      data: { kind: 'simulation', symbols: 1, ticks: 20_000_000 },
    });
    const cancelled = await new Promise<BacktestProgressEventOutput>((resolve, reject) => {
      let asked = false;
      const sub = live.backtests.progress.subscribe(
        { id: long.id },
        {
          onData: (e) => {
            if (!asked && (e.data.progress?.ticks ?? 0) > 0) {
              asked = true;
              live.backtests.cancel.mutate({ id: long.id }).catch(reject);
            }
            if (['succeeded', 'failed', 'cancelled'].includes(e.data.status)) {
              sub.unsubscribe();
              resolve(e.data);
            }
          },
          onError: reject,
        },
      );
    });
    expect(cancelled.status).toBe('cancelled');
  });
});
