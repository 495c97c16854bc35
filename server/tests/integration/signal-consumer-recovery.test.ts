import type { RedisBus } from '@aegis/shared/bus/redis-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineSignal, eventually } from './decisions-support.ts';
import { type Client, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/**
 * After Redis restarted empty the server's signal consumer retried NOGROUP
 * every second forever and no signal became a proposal again. A Redis that restarted without
 * persistence has lost the stream and its consumer group; on the shared Redis that is simulated
 * by deleting this test's own stream key (never FLUSHDB): the stream, the group and the pending
 * list are gone, exactly as after such a restart.
 */
let t: TestServer;
let client: Client;
let signals: string;

beforeAll(async () => {
  t = await startTestServer({ decisions: { claimIdleMs: 500, claimEveryMs: 200 } });
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7'), ('ETH-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7'),
      ('SOL-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7') on conflict do nothing`;
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  client = s.client;
  await client.agent.settings.set.mutate({
    instruments: ['BTC-USD', 'ETH-USD', 'SOL-USD'],
    riskPreset: 'conservative',
    maxProposalsPerHour: 50,
  });
  signals = `${t.redisPrefix}:signals`;
});
afterAll(async () => {
  await t?.server.deps.bus.deleteStream(signals).catch(() => {});
  await t?.close();
});

async function proposalFor(signalId: string) {
  return eventually(async () => {
    const list = await client.proposals.list.query({ limit: 200 });
    return list.items.find((p) => p.signalId === signalId) ?? null;
  }, 20_000);
}

/** The BTC-USD venue price the engine would publish (the agent's proposals need one). */
const btcPrice = () =>
  venuePrices(t, [
    { venue: 'COINBASE', instrument: 'BTC-USD', bid: '50000', ask: '50005', last: '50005', lastSize: '0.3' },
  ]);

describe('signal consumer after Redis lost its streams', () => {
  it('recreates its consumer group on NOGROUP and turns later signals into proposals', async () => {
    const bus = t.server.deps.bus as RedisBus;
    await btcPrice();
    const before = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await bus.xadd(signals, before);
    await proposalFor(before.id);

    // Redis restarted empty: the stream, the `server` group and its pending list are gone.
    await bus.deleteStream(signals);
    expect(await bus.groups(signals)).toEqual([]);
    const recreatedBefore = bus.groupsRecreated;

    // The engine keeps publishing (XADD recreates the stream, without any group).
    await btcPrice();
    // Other instruments: a second buy of BTC-USD while the first is pending would be a duplicate.
    const after = ['ETH-USD', 'SOL-USD'].map((symbol) => engineSignal({ symbol, price: '50011' }));
    for (const s of after) await bus.xadd(signals, s);
    for (const s of after) expect((await proposalFor(s.id)).signalId).toBe(s.id);

    // Recreated once, and everything read since is acknowledged.
    expect(bus.groupsRecreated).toBe(recreatedBefore + 1);
    const [group] = await bus.groups(signals);
    expect(group).toMatchObject({ name: 'server' });
    await eventually(async () => (await bus.pending(signals, 'server')).count === 0);
  });
});
