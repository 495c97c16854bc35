import { randomBytes } from 'node:crypto';
import { createLogger } from '@aegis/shared/logging';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { RedisBus } from '../../src/bus/redis-bus.ts';
import type { Bus } from '../../src/bus/types.ts';
import { TEST_REDIS_URL } from '../../src/testing/services.ts';

/**
 * `touch` (XCLAIM … JUSTID) on both buses: a consumer still working on an entry resets its idle
 * time, so auto-claim leaves it alone while it takes an untouched one delivered at the same
 * time; no delivery is counted; ids not pending are ignored.
 */
const log = createLogger({ name: 'bus-touch-test', level: 'silent' });
const buses: [string, () => Bus][] = [
  ['memory', () => new MemoryBus()],
  ['redis', () => new RedisBus(TEST_REDIS_URL, { log })],
];
const open: Bus[] = [];
afterAll(async () => {
  for (const b of open) await b.close();
});

describe.each(buses)('%s bus: touch', (_name, make) => {
  it('keeps a touched entry from auto-claim, counts no delivery, ignores ids not pending', async () => {
    const bus = make();
    open.push(bus);
    const stream = `bus-touch-${randomBytes(4).toString('hex')}`;
    await bus.ensureGroup(stream, 'g', '0');
    const kept = await bus.xadd(stream, { n: '1' });
    const left = await bus.xadd(stream, { n: '2' });
    expect((await bus.readGroup(stream, 'g', 'a', { count: 10 })).map((e) => e.id)).toEqual([kept, left]);
    // Both idle past the threshold; only `kept` is touched.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await bus.touch(stream, 'g', 'a', [kept, '999999999999-0'])).toEqual([kept]);
    const claimed = await bus.autoclaim(stream, 'g', 'b', 1000);
    expect(claimed.entries.map((e) => [e.id, e.deliveries])).toEqual([[left, 2]]);
    expect((await bus.pending(stream, 'g')).consumers).toEqual({ a: 1, b: 1 });
    // The touched entry was delivered once: claimed later, its count is 2, not 3.
    await new Promise((r) => setTimeout(r, 1100));
    const later = await bus.autoclaim(stream, 'g', 'b', 1000);
    expect(later.entries.map((e) => [e.id, e.deliveries])).toEqual([
      [kept, 2],
      [left, 3],
    ]);
    await bus.deleteStream(stream);
  });
});
