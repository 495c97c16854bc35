import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRedisKeys } from '../../src/testing/redis-keys.ts';
import { TEST_REDIS_URL } from '../../src/testing/services.ts';

const redis = new Redis(TEST_REDIS_URL, { protocol: 2 });
const run = `redis-keys-test:${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  await redis.del(`${run}:other:kept`);
  redis.disconnect();
});

describe('deleteRedisKeys', () => {
  it('deletes every key under the pattern (more than one SCAN page) and nothing else', async () => {
    const doomed = Array.from({ length: 1_200 }, (_, i) => `${run}:mine:${i}`);
    const pipe = redis.pipeline();
    for (const k of doomed) pipe.set(k, '1');
    pipe.set(`${run}:other:kept`, '1');
    await pipe.exec();

    await deleteRedisKeys(`${run}:mine:*`);

    expect(await redis.exists(...doomed)).toBe(0);
    expect(await redis.get(`${run}:other:kept`)).toBe('1');
  });
});
