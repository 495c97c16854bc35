import { RedisBus } from '@aegis/shared/bus/redis-bus';
import type { Bus } from '@aegis/shared/bus/types';
import { connectSql } from '@aegis/shared/db/client';
import type { Logger } from '@aegis/shared/logging';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { startBacktestJobs } from '../../../engine/src/jobs/backtest-jobs.ts';
import { constantScorer } from '../../../engine/tests/integration/backtest-scorer.ts';
import type { TestServer } from '../../../server/tests/integration/test-server.ts';

/**
 * The engine's backtest jobs beside a test server, as the engine daemon (or `npm start`) runs them:
 * one worker on the server's database and Redis prefix (or on the in-process bus given), with the
 * constant scorer and short lease and progress intervals so a test sees claims and progress soon.
 */
export async function startTestBacktestWorkers(
  t: TestServer,
  options: { consumer: string; log: Logger; bus?: Bus },
): Promise<{ stop(): Promise<void> }> {
  const sql = connectSql(t.database.appUrl, { max: 4 });
  const ownBus = options.bus ? undefined : new RedisBus(TEST_REDIS_URL, { log: options.log });
  const bus = options.bus ?? ownBus!;
  const close = async () => {
    await ownBus?.close();
    await sql.end();
  };
  try {
    const jobs = await startBacktestJobs({
      sql,
      bus,
      log: options.log,
      prefix: `${t.redisPrefix}:`,
      consumer: options.consumer,
      workers: 1,
      leaseMs: 5_000,
      blockMs: 100,
      progressEveryMs: 50,
      scorer: async () => constantScorer,
    });
    return {
      async stop() {
        await jobs.stop();
        await close();
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
