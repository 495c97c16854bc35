import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './services.ts';

/**
 * Deletes every key of the test Redis (TEST_REDIS_URL, or `url`) that matches `pattern`: a test
 * file's cleanup of its own unique prefix. SCAN, so a large keyspace never blocks the server, and
 * never FLUSHALL: other test files share this Redis. The one copy for the engine's, the server's
 * and the end-to-end tests.
 */
export async function deleteRedisKeys(pattern: string, url: string = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { protocol: 2 });
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
