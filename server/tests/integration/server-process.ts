import { createLogger } from '@aegis/shared/logging';
import { loadServerConfigFromProcess } from '../../src/env.ts';
import { startServer } from '../../src/http.ts';

/**
 * A real server as its own OS process, for tests that need several (market-data-two-servers):
 * the daemon's startServer with the environment's configuration, under the Redis key prefix given
 * as the first argument (main.ts always uses `aegis`, which tests must not share). Prints one JSON
 * line `{"listening": url}` once serving; SIGTERM drains and exits.
 */
const prefix = process.argv[2];
if (!prefix) throw new Error('usage: server-process.ts <redis key prefix>');
const config = loadServerConfigFromProcess();
const log = createLogger({ name: 'server-process', level: 'warn' });
const running = await startServer({
  config,
  log,
  redisKeyPrefix: prefix,
  timeseriesUpkeep: false,
  rateLimiter: null,
});
process.stdout.write(`${JSON.stringify({ listening: running.url })}\n`);
process.on('SIGTERM', () => {
  void running.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
