import { randomBytes } from 'node:crypto';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { Redis } from 'ioredis';

/**
 * A test file's own corner of the real test Redis: a key prefix no other run shares (name, time,
 * random bytes), a bus on it, and `close`, which deletes every key under the prefix and closes
 * the bus (the file's afterAll).
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
      const redis = new Redis(TEST_REDIS_URL, { protocol: 2 });
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await bus.close();
    },
  };
}
