import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector, engineSignal, eventually, streamingClient } from './decisions-support.ts';
import { failure, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

/** Outcomes → lessons, and the agent's pacing and halts, through the real server. */
let t: TestServer;
let admin: Awaited<ReturnType<typeof signIn>>;
let signals: string;

beforeAll(async () => {
  t = await startTestServer({
    execution: {
      paper: { seed: 1, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '0' },
    },
  });
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values ('SOL-USD', 'COINBASE', 'crypto', '0.01', '0.01', '24x7') on conflict do nothing`;
  admin = await signIn(t.url, t.admin.email, t.admin.password);
  signals = `${t.redisPrefix}:signals`;
});
afterAll(async () => {
  await t?.server.deps.bus.deleteStream(signals).catch(() => {});
  await t?.close();
});

const outcome = (entryPrice: string, exitPrice: string, side: 'buy' | 'sell' = 'buy') => ({
  instrument: 'SOL-USD',
  side,
  quantity: '10',
  entryPrice,
  exitPrice,
  openedAt: new Date(Date.now() - 7_200_000).toISOString(),
  closedAt: new Date().toISOString(),
});

describe('trades.recordOutcome and lessons.query', () => {
  it('turns losses and large wins into lessons, not small wins; P&L from the prices in decimals', async () => {
    const loss = await admin.client.trades.recordOutcome.mutate(outcome('100.10', '99.30'));
    expect(loss.pnl).toBe('-8');
    expect(loss.lesson).toMatchObject({ kind: 'loss', pnl: '-8' });
    expect(loss.lesson!.tags).toEqual(expect.arrayContaining(['sol-usd', 'long', 'loss', 'multi-day']));
    const small = await admin.client.trades.recordOutcome.mutate(outcome('100', '100.5'));
    expect(small.lesson).toBeNull();
    const big = await admin.client.trades.recordOutcome.mutate(outcome('100', '95', 'sell'));
    expect(big.pnl).toBe('50');
    expect(big.lesson).toMatchObject({ kind: 'win', pnl: '50' });
    const rows = await t.owner<{ n: number; dims: number }[]>`
      select count(*)::int as n, max(array_length(embedding, 1))::int as dims from lessons where tenant_id = ${t.admin.deskId}`;
    expect(rows[0]).toEqual({ n: 2, dims: 256 });
    const nearest = await admin.client.lessons.query.query({ text: 'SOL-USD long loss', k: 2 });
    expect(nearest.map((l) => l.id)).toEqual([loss.lesson!.id, big.lesson!.id]);
    expect(nearest[0]!.similarity!).toBeGreaterThan(nearest[1]!.similarity!);
    const bad = await failure(
      admin.client.trades.recordOutcome.mutate({ ...outcome('1', '2'), quantity: '1e3' }),
    );
    expect(bad.data?.httpStatus).toBe(400);
  });
});

describe('agent pacing and halts', () => {
  it('stops at max proposals per hour, and proposes nothing while the desk is halted', async () => {
    await admin.client.agent.settings.set.mutate({
      instruments: ['SOL-USD'],
      maxProposalsPerHour: 1,
      riskPreset: 'balanced',
    });
    await venuePrices(t, [
      { venue: 'COINBASE', instrument: 'SOL-USD', bid: '150', ask: '150.05', bidSize: '100', askSize: '100' },
    ]);
    const first = engineSignal({ symbol: 'SOL-USD', price: '150.05' });
    const second = engineSignal({ symbol: 'SOL-USD', price: '150.05' });
    await t.server.deps.bus.xadd(signals, first);
    await eventually(async () =>
      (await admin.client.proposals.list.query({})).items.some((p) => p.signalId === first.id),
    );
    // Not a duplicate (the first is rejected), not a flip-flop (same side): the hourly cap skips it.
    await admin.client.auth.reauthenticate.mutate({ password: admin.password });
    const firstProposal = (await admin.client.proposals.list.query({})).items.find(
      (p) => p.signalId === first.id,
    )!;
    await admin.client.approvals.reject.mutate({ proposalId: firstProposal.id });
    await t.server.deps.bus.xadd(signals, second);
    const skip = await eventually(async () =>
      (await admin.client.agent.skips.query({})).items.find((s) => s.signalId === second.id),
    );
    expect(skip).toMatchObject({
      code: 'rate_limited',
      reason: '1 proposals in the last hour; the desk allows 1 per hour',
      symbol: 'SOL-USD',
    });
    expect(t.logs.some((l) => l.msg === 'agent: signal skipped' && l.signalId === second.id)).toBe(true);
    expect((await admin.client.proposals.list.query({})).items.some((p) => p.signalId === second.id)).toBe(
      false,
    );

    await admin.client.agent.settings.set.mutate({ maxProposalsPerHour: 100 });
    await admin.client.auth.reauthenticate.mutate({ password: admin.password });
    await admin.client.halt.engage.mutate({ reason: 'test halt' });
    const status = new Collector<{ data: { state: string; detail?: string } }>();
    const sub = streamingClient(t.url, { jar: admin.jar }).agent.status.subscribe(undefined, {
      onData: (d) => status.push(d as never),
      onError: status.fail,
    });
    await status.waitFor(1);
    expect(status.items[0]!.data).toMatchObject({ state: 'halted', detail: 'halt engaged' });
    const third = engineSignal({ symbol: 'SOL-USD', price: '150.05' });
    await t.server.deps.bus.xadd(signals, third);
    await eventually(async () =>
      status.items.some((s) => s.data.state === 'halted' && status.items.indexOf(s) > 0),
    );
    expect((await admin.client.proposals.list.query({})).items.some((p) => p.signalId === third.id)).toBe(
      false,
    );
    const halted = await eventually(async () =>
      (await admin.client.agent.skips.query({ code: 'halted' })).items.find((s) => s.signalId === third.id),
    );
    expect(halted.reason).toBe('halt engaged (desk)');
    sub.unsubscribe();
    await admin.client.halt.release.mutate({});
  });
});
