import { randomBytes } from 'node:crypto';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { deleteRedisKeys } from '@aegis/shared/testing/redis-keys';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';

/**
 * A test file's own corner of the real test Redis: a key prefix no other run shares (name, time,
 * random bytes), a bus on it, and `close`, which deletes every key under the prefix and closes
 * the bus (the file's afterAll). A file with its own prefix cleans up with `deleteRedisKeys`
 * (@aegis/shared/testing/redis-keys).
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
