import type { Logger } from '@aegis/shared/logging';
import { Redis } from 'ioredis';

/**
 * The limiter's own Redis connection, tuned to fail fast: a request must never wait on a Redis
 * that is down (no offline queue, one attempt, short command timeout). ioredis keeps reconnecting
 * in the background, so limits resume by themselves when Redis is back.
 */
export function createRateLimitRedis(url: string, log?: Logger): Redis {
  const redis = new Redis(url, {
    protocol: 2,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 250, 5_000),
    connectionName: 'aegis-rate-limit',
  });
  let lastLog = 0;
  redis.on('error', (err: Error) => {
    // Reconnect attempts repeat the same error several times a second: log at most every 30 s.
    const now = Date.now();
    if (now - lastLog < 30_000) return;
    lastLog = now;
    log?.warn({ err: err.message }, 'rate limiter redis: connection error');
  });
  return redis;
}

/**
 * Resolves once the connection is ready, or after `timeoutMs` (then the limiter starts in its
 * degraded mode: reads open, mutations closed, until ioredis reconnects). Never rejects.
 */
export async function waitForRedisReady(redis: Redis, timeoutMs = 3_000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
