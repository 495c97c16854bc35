import { createLogger } from '@aegis/shared/logging';
import { startServer } from '../../src/http.ts';
import { announceReady, childServerConfig } from './support/child-server.ts';

/**
 * A real server as its own OS process, for tests that need several (auth-cache,
 * market-data-two-servers), spawned with support/child-server.ts: the daemon's startServer on
 * the environment's DATABASE_URL and REDIS_URL, under the Redis key prefix REDIS_PREFIX (main.ts
 * always uses `aegis`, which tests must not share). Prints the ready line once serving; SIGTERM
 * drains and exits.
 */
const prefix = process.env.REDIS_PREFIX;
if (!prefix) throw new Error('server-process.ts needs REDIS_PREFIX');
const running = await startServer({
  config: childServerConfig(),
  log: createLogger({ name: 'server-process', level: 'warn' }),
  redisKeyPrefix: prefix,
  timeseriesUpkeep: false,
  rateLimiter: null,
});
announceReady(running);
