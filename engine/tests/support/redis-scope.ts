import { randomBytes } from 'node:crypto';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { Redis } from 'ioredis';

/**
 * A test file's own corner of the real test Redis: a key prefix no other run shares (name, time,
 * random bytes), a bus on it, and `close`, which deletes every key under the prefix and closes
 * the bus (the file's afterAll). `deleteRedisKeys` is that cleanup for a file with its own prefix.
 */
export interface RedisScope {
  readonly prefix: string;
  readonly bus: RedisBus;
  close(): Promise<void>;
}

export function redisScope(name: string): RedisScope {
  const prefix = `${name}:${Date.now().toString(36)}:${randomBytes(3).toString('hex')}:`;
  const bus = new RedisBus(TEST_REDIS_URL);
  return {
    prefix,
    bus,
    async close() {
      await deleteRedisKeys(`${prefix}*`);
      await bus.close();
    },
  };
}

/** Deletes every key of the test Redis that matches `pattern` (SCAN, so a large keyspace never blocks). */
export async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { protocol: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
