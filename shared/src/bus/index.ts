import type { Logger } from '../logging.ts';
import { MemoryBus } from './memory-bus.ts';
import { RedisBus } from './redis-bus.ts';
import type { Bus } from './types.ts';

export { MemoryBus } from './memory-bus.ts';
export { RedisBus } from './redis-bus.ts';
export type * from './types.ts';

/**
 * The bus for this process: Redis when a URL is configured (separate server and engine
 * processes), the in-process bus otherwise (embedded single-process mode). Logged once, so an
 * operator can tell from the log which one a process runs on.
 */
export function createBus(options: { redisUrl?: string | undefined; log: Logger }): Bus {
  if (options.redisUrl) {
    const u = new URL(options.redisUrl);
    // Host and port only: the URL may carry a password.
    options.log.info({ bus: 'redis', host: u.hostname, port: u.port || '6379' }, 'bus: using Redis');
    return new RedisBus(options.redisUrl, { log: options.log });
  }
  options.log.info({ bus: 'memory' }, 'bus: using the in-process bus (no REDIS_URL)');
  return new MemoryBus();
}
