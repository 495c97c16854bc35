import type { Logger } from '@aegis/shared/logging';
import type { Redis } from 'ioredis';
import { RateLimiter, type RateLimitSettings } from './limiter.ts';
import { createRateLimitRedis, waitForRedisReady } from './redis-client.ts';
import { MemoryWindowStore, RedisWindowStore } from './window-store.ts';

export interface RateLimitSetup {
  readonly limiter: RateLimiter;
  /** 'redis' shares limits across server instances; 'memory' is the single-process mode. */
  readonly store: 'redis' | 'memory';
  close(): Promise<void>;
}

/**
 * Builds the request limiter startServer puts in the context. With a Redis URL the windows live
 * in Redis (shared by every instance behind a load balancer); without one (single-process mode)
 * they live in this process.
 */
export async function createRateLimiting(options: {
  redisUrl: string | undefined;
  settings: Partial<RateLimitSettings>;
  log: Logger;
}): Promise<RateLimitSetup> {
  const log = options.log.child({ component: 'rate-limit' });
  if (!options.redisUrl) {
    log.info('rate limits kept in process memory (no REDIS_URL): not shared between instances');
    return {
      limiter: new RateLimiter({ store: new MemoryWindowStore(), settings: options.settings, log }),
      store: 'memory',
      close: async () => {},
    };
  }
  const redis: Redis = createRateLimitRedis(options.redisUrl, log);
  if (!(await waitForRedisReady(redis))) {
    log.warn(
      'rate limiter redis not reachable at start: reads proceed unlimited, mutations refused until it is',
    );
  }
  return {
    limiter: new RateLimiter({ store: new RedisWindowStore(redis), settings: options.settings, log }),
    store: 'redis',
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
