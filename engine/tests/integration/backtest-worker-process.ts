/**
 * A backtest worker in its own process, for the crash test (tests/e2e/backtest-worker.test.ts): started,
 * then killed with SIGKILL mid-job, the way a crashed engine dies (no shutdown, no release).
 * Settings from the environment the test passes; one JSON line `{"ready":true}` on stdout once
 * it reads the stream.
 */
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { connectSql } from '@aegis/shared/db/client';
import { createLogger } from '@aegis/shared/logging';
import { startBacktestJobs } from '../../src/jobs/backtest-jobs.ts';

const env = process.env;
const log = createLogger({ name: 'backtest-worker-process', level: 'silent' });
const sql = connectSql(env.BT_DATABASE_URL!, { max: 3 });
const bus = new RedisBus(env.BT_REDIS_URL!, { log });
await startBacktestJobs({
  sql,
  bus,
  log,
  prefix: env.BT_PREFIX!,
  consumer: env.BT_CONSUMER!,
  workers: 1,
  leaseMs: Number(env.BT_LEASE_MS),
  blockMs: 100,
  progressEveryMs: 50,
  sweepEveryMs: 60_000,
  thread: { databaseUrl: env.BT_DATABASE_URL!, modelJsonPath: env.BT_MODEL_PATH!, logLevel: 'silent' },
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
