import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { RedisBus } from '../../src/bus/redis-bus.ts';
import { isAppError } from '../../src/errors.ts';
import { TEST_REDIS_URL } from '../../src/testing/services.ts';

/**
 * When Redis restarts without persistence, streams and consumer groups are
 * gone and XREADGROUP answers NOGROUP forever. A group this bus ensured is recreated (from 0) on
 * the next group read, once; a group it never ensured still reports NOGROUP. Simulated on the
 * shared Redis by deleting this test's own stream key (never FLUSHDB).
 */
const runId = `bus-group-recovery:${Date.now().toString(36)}:${randomBytes(3).toString('hex')}`;

describe.each([
  ['redis', () => new RedisBus(TEST_REDIS_URL)],
  ['memory', () => new MemoryBus()],
] as const)('%s bus', (name, make) => {
  it('recreates an ensured group after its stream vanished and delivers what came after', async () => {
    const bus = make();
    const stream = `${runId}:${name}`;
    try {
      await bus.ensureGroup(stream, 'g', '0');
      await bus.xadd(stream, { n: '1' });
      expect((await bus.readGroup(stream, 'g', 'c1')).map((e) => e.fields.n)).toEqual(['1']);

      await bus.deleteStream(stream); // Redis restarted empty
      await bus.xadd(stream, { n: '2' }); // producers carry on: the stream exists, the group not
      await bus.xadd(stream, { n: '3' });
      const got = await bus.readGroup(stream, 'g', 'c1', { count: 10 });
      expect(got.map((e) => e.fields.n)).toEqual(['2', '3']);
      expect(bus.groupsRecreated).toBe(1);
      await bus.ack(
        stream,
        'g',
        got.map((e) => e.id),
      );
      expect((await bus.pending(stream, 'g')).count).toBe(0);

      // Lost again while a consumer's claim sweep runs first: autoclaim recreates it too.
      await bus.deleteStream(stream);
      const claimed = await bus.autoclaim(stream, 'g', 'c1', 0);
      expect(claimed.entries).toEqual([]);
      expect(bus.groupsRecreated).toBe(2);

      // A group never ensured on this bus is not invented.
      const err = await bus.readGroup(stream, 'other', 'c1').catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('NOT_FOUND');
    } finally {
      await bus.deleteStream(stream);
      await bus.close();
    }
  });
});
