import { RuleDecider } from '@aegis/shared/agent/rule-decider';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { asTenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import type { SignalView } from '@aegis/shared/schemas/signal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionAgent } from '../../src/agent/agent.ts';
import { engineSignal, eventually } from './decisions-support.ts';
import { type Client, failure, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * The agent's pacing through the real server (PostgreSQL, Redis, the signal stream): the proposal
 * budget spread over the hour with the best-scored signals first, no duplicate while one is
 * pending, no flip-flop within the holding time unless the stop or target was hit, and every
 * skipped signal listed with its code and reason by `agent.skips`. Each case runs on its own
 * desk, so each starts with a full bucket.
 */
let t: TestServer;
let password: string;
let email: string;
let signals: string;

beforeAll(async () => {
  t = await startTestServer();
  const symbols = ['B', 'F', 'C', 'S'].flatMap((p) => Array.from({ length: 8 }, (_, i) => `${p}${i}-USD`));
  for (const s of symbols) {
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
      values (${s}, 'COINBASE', 'crypto', '0.0001', '0.0001', '24x7') on conflict do nothing`;
  }
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  password = admin.password;
  email = t.admin.email;
  signals = `${t.redisPrefix}:signals`;
});
afterAll(async () => {
  await t?.server.deps.bus.deleteStream(signals).catch(() => {});
  await t?.close();
});

/** A desk of its own, its admin signed in on it with a recent re-auth. */
async function newDesk(name: string, settings: Parameters<Client['agent']['settings']['set']['mutate']>[0]) {
  const first = await signIn(t.url, email, password);
  await first.client.auth.reauthenticate.mutate({ password });
  const desk = await first.client.desks.create.mutate({ name });
  const s = await signIn(t.url, email, password);
  await s.client.auth.switchDesk.mutate({ deskId: desk.id });
  await s.client.auth.reauthenticate.mutate({ password });
  await s.client.agent.settings.set.mutate(settings);
  return { id: desk.id, client: s.client };
}

type Outcome =
  | { kind: 'proposal'; id: string; side: string; stopPrice: string | null; targetPrice: string | null }
  | { kind: 'skip'; code: string; reason: string };

/** Publishes a signal and waits until the desk's agent has either proposed or skipped it. */
async function send(client: Client, over: Record<string, string>, tsSignal?: Date): Promise<Outcome> {
  const sig = engineSignal(over, tsSignal);
  await t.server.deps.bus.xadd(signals, sig);
  return eventually<Outcome>(async () => {
    const p = (await client.proposals.list.query({ limit: 200 })).items.find((x) => x.signalId === sig.id);
    if (p)
      return { kind: 'proposal', id: p.id, side: p.side, stopPrice: p.stopPrice, targetPrice: p.targetPrice };
    const s = (await client.agent.skips.query({ limit: 200 })).items.find((x) => x.signalId === sig.id);
    return s ? { kind: 'skip', code: s.code, reason: s.reason } : null;
  }, 15_000);
}

describe('agent pacing', () => {
  it('a burst no longer spends the hour: 2 of 8 signals become proposals, the better one takes the last token', async () => {
    const { client } = await newDesk('Burst desk', {
      instruments: Array.from({ length: 8 }, (_, i) => `B${i}-USD`),
      riskPreset: 'balanced',
      maxProposalsPerHour: 20,
    });
    // Scores in arrival order: a mediocre first, three middling, then the best, then more strong ones.
    const scores = ['0.65', '0.70', '0.74', '0.78', '0.93', '0.99', '0.97', '0.95'];
    const outcomes: Outcome[] = [];
    for (const [i, score] of scores.entries()) {
      outcomes.push(await send(client, { symbol: `B${i}-USD`, price: '100', score }));
    }
    expect(outcomes.map((o) => (o.kind === 'proposal' ? 'proposal' : o.code))).toEqual([
      'proposal', // full bucket (2 tokens): the preset minimum 0.6 is the bar
      'below_budget_bar', // 1 token left: the bar is 0.80 (balanced 0.6 + half the way to 1)
      'below_budget_bar',
      'below_budget_bar',
      'proposal', // 0.93 clears the bar and takes the last token
      'budget_exhausted',
      'budget_exhausted',
      'budget_exhausted',
    ]);
    const reasons = outcomes.map((o) => (o.kind === 'skip' ? o.reason : ''));
    expect(reasons[1]).toMatch(
      /^score 0\.70 below the budget bar 0\.80: 1\.\d\d of 2 tokens left \(20 per hour\), the last ones are kept for better signals$/,
    );
    expect(reasons[5]).toMatch(
      /^proposal budget spent: 0\.\d\d of 2 tokens left \(20 per hour, one token every 180 s\); next token in 1\d\d s$/,
    );

    const { items, budget } = await client.agent.skips.query({});
    expect(items).toHaveLength(6);
    // Newest first, with the signal's own facts.
    expect(items[0]).toMatchObject({
      symbol: 'B7-USD',
      direction: 'long',
      score: 0.95,
      code: 'budget_exhausted',
    });
    expect(budget).toMatchObject({
      maxProposalsPerHour: 20,
      proposalsLastHour: 2,
      capacity: 2,
      minHoldingSeconds: 300,
    });
    expect(budget.tokens).toBeLessThan(1);
    expect(budget.nextTokenInSeconds).toBeGreaterThan(100);
    const onlyBar = await client.agent.skips.query({ code: 'below_budget_bar' });
    expect(onlyBar.items.map((s) => s.symbol).sort()).toEqual(['B1-USD', 'B2-USD', 'B3-USD']);
    expect((await client.agent.skips.query({ instrument: 'B5-USD' })).items).toHaveLength(1);
    const bad = await failure(client.agent.skips.query({ limit: 0 }));
    expect(bad.data?.httpStatus).toBe(400);
  });

  it('no duplicate while pending; no flip-flop within the holding time unless the stop is hit', async () => {
    const { client } = await newDesk('Flip desk', {
      instruments: ['F0-USD'],
      riskPreset: 'balanced',
      maxProposalsPerHour: 1000,
    });
    const buy = await send(client, { symbol: 'F0-USD', price: '100', score: '0.95', direction: 'long' });
    expect(buy).toMatchObject({ kind: 'proposal', side: 'buy' });
    if (buy.kind !== 'proposal') throw new Error('unreachable');
    const stop = Number(buy.stopPrice);
    const target = Number(buy.targetPrice);
    expect(stop).toBeLessThan(100);

    const again = await send(client, { symbol: 'F0-USD', price: '100.1', score: '0.97', direction: 'long' });
    expect(again).toEqual({
      kind: 'skip',
      code: 'duplicate_pending',
      reason: `a buy proposal on F0-USD is already pending (${buy.id})`,
    });
    const flipWhilePending = await send(client, { symbol: 'F0-USD', price: '99.9', direction: 'short' });
    expect(flipWhilePending).toEqual({
      kind: 'skip',
      code: 'flip_flop',
      reason: `sell F0-USD while a buy proposal on it is pending (${buy.id})`,
    });

    // The trader passes on the buy; selling seconds later is still a flip-flop.
    await client.approvals.reject.mutate({ proposalId: buy.id, reason: 'not now' });
    const flip = await send(client, { symbol: 'F0-USD', price: '99.9', direction: 'short' });
    expect(flip.kind).toBe('skip');
    expect(flip.kind === 'skip' && flip.code).toBe('flip_flop');
    expect(flip.kind === 'skip' && flip.reason).toMatch(
      new RegExp(
        `^sell F0-USD \\d+ s after the buy proposal; minimum holding time 300 s \\(stop ${stop}, target ${target} not hit at 99\\.9\\)$`,
      ),
    );
    // The price fell through the buy's stop: the opposite side is allowed at once.
    const stopped = await send(client, { symbol: 'F0-USD', price: String(stop - 0.5), direction: 'short' });
    expect(stopped).toMatchObject({ kind: 'proposal', side: 'sell' });

    // Another desk sees none of these skips (RLS).
    const other = await newDesk('Other desk', { instruments: ['F1-USD'] });
    expect((await other.client.agent.skips.query({})).items).toEqual([]);
  });

  it('the older reasons are listed too: stale, below the preset minimum, no reference data, automation off', async () => {
    // Settings refuse unknown instruments: NOREF-USD is listed, then loses its reference data.
    await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size)
      values ('NOREF-USD', 'COINBASE', 'crypto', '0.0001', '0.0001')`;
    const { client, id: deskId } = await newDesk('Reasons desk', {
      instruments: ['S0-USD', 'NOREF-USD'],
      riskPreset: 'conservative',
      maxProposalsPerHour: 1000,
    });
    await t.owner`delete from instruments where symbol = 'NOREF-USD'`;
    const stale = await send(client, { symbol: 'S0-USD' }, new Date(Date.now() - 600_000));
    expect(stale.kind === 'skip' && [stale.code, stale.reason]).toEqual([
      'stale_signal',
      expect.stringMatching(/^signal is 60\d s old; the agent acts on signals up to 300 s old$/),
    ]);
    expect(await send(client, { symbol: 'S0-USD', score: '0.65' })).toEqual({
      kind: 'skip',
      code: 'below_min_score',
      reason: 'score 0.65 below the conservative minimum 0.7',
    });
    expect(await send(client, { symbol: 'NOREF-USD' })).toEqual({
      kind: 'skip',
      code: 'untradable',
      reason: 'NOREF-USD is unknown to reference data (no lot size); no order could be placed',
    });
    // A redelivered skipped signal keeps its first outcome: not decided (nor logged) again.
    const weak = engineSignal({ symbol: 'S0-USD', score: '0.5' });
    await t.server.deps.bus.xadd(signals, weak);
    await eventually(async () =>
      (await client.agent.skips.query({})).items.some((x) => x.signalId === weak.id),
    );
    await t.server.deps.bus.xadd(signals, weak);
    await eventually(async () => (await t.owner`select 1 from signals where id = ${weak.id}`).length === 1);
    await eventually(async () => (await t.server.deps.bus.pending(signals, 'server')).count === 0);
    const skipLogs = () =>
      t.logs.filter(
        (l) => l.msg === 'agent: signal skipped' && l.signalId === weak.id && l.tenantId === deskId,
      );
    expect(skipLogs()).toHaveLength(1);

    await client.agent.settings.set.mutate({ automationEnabled: false });
    expect(await send(client, { symbol: 'S0-USD' })).toEqual({
      kind: 'skip',
      code: 'not_covered',
      reason: 'automation is off for this desk',
    });
    // Signals for instruments the desk did not choose are not its skips.
    const foreign = engineSignal({ symbol: 'S1-USD' });
    await t.server.deps.bus.xadd(signals, foreign);
    // Stored, and acknowledged only after every desk's agent has seen it.
    await eventually(
      async () => (await t.owner`select 1 from signals where id = ${foreign.id}`).length === 1,
    );
    await eventually(async () => (await t.server.deps.bus.pending(signals, 'server')).count === 0);
    expect(
      (await client.agent.skips.query({ limit: 200 })).items.some((x) => x.signalId === foreign.id),
    ).toBe(false);
  });

  it('two agents (own connection pools, as two server processes) share one budget through PostgreSQL', async () => {
    const desk = await newDesk('Shared desk', {
      instruments: Array.from({ length: 8 }, (_, i) => `C${i}-USD`),
      riskPreset: 'balanced',
      maxProposalsPerHour: 20,
    });
    const runtime = t.server.deps.decisions!;
    const second: DatabaseHandle = createDb(t.database.appUrl, { max: 4 });
    try {
      const other = new DecisionAgent({
        db: second.db,
        bus: t.server.deps.bus,
        log: createLogger({ name: 'second-agent', level: 'silent' }),
        streams: runtime.streams,
        decider: new RuleDecider(),
        embedder: runtime.embedder,
        workflow: runtime.workflow,
        autonomousEnabled: false,
      });
      const views = Array.from({ length: 8 }, (_, i) =>
        view(engineSignal({ symbol: `C${i}-USD`, price: '100', score: '0.95' })),
      );
      // Everything at once: all eight pass the early check on a full bucket and reach the
      // decider; the desk's row lock lets exactly the bucket's two through when storing.
      const ids = await Promise.all(
        views.map((v, i) => (i % 2 === 0 ? runtime.agent : other).decideForDesk(asTenantId(desk.id), v)),
      );
      expect(ids.filter((id) => id !== null)).toHaveLength(2);
      const { items, budget } = await desk.client.agent.skips.query({});
      expect(items).toHaveLength(6);
      expect(new Set(items.map((s) => s.code))).toEqual(new Set(['budget_exhausted']));
      expect(budget.proposalsLastHour).toBe(2);
    } finally {
      await second.close();
    }
  });
});

function view(s: ReturnType<typeof engineSignal>): SignalView {
  return {
    id: s.id,
    tsSignal: new Date().toISOString(),
    tsEvent: new Date().toISOString(),
    symbol: s.symbol,
    direction: s.direction as 'long' | 'short',
    pattern: 'breakout',
    score: Number(s.score),
    price: s.price,
    features: JSON.parse(s.features) as Record<string, number | null>,
    modelVersion: s.modelVersion,
  };
}
