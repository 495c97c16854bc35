/**
 * The decision path end to end through the real server (PostgreSQL, Redis, HTTP, SSE):
 * order flow in → signal on the stream → agent proposal (rules; and the model, against a local
 * OpenAI-compatible server) → approval → paper order → fill → position → outcome → lesson →
 * the lesson recalled in the next proposal. Plus the refusals and desk isolation.
 *
 * One file: one server, desk and engine-signal fixture carry the decision path from signal to
 * lesson; the refusals and desk isolation use the same setup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector, engineSignal, eventually, streamingClient } from './decisions-support.ts';
import { FakeOpenAI, validAnswer } from './fake-openai.ts';
import { type Client, failure, makeClient, signIn, startTestServer, type TestServer } from './test-server.ts';
import { venuePrices } from './venue-price-fixture.ts';

type Session = Awaited<ReturnType<typeof signIn>>;

const PAPER = {
  paper: { seed: 3, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '0' },
};

async function setupDesk(t: TestServer) {
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7'), ('ETH-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7')
    on conflict do nothing`;
  const s = await signIn(t.url, t.admin.email, t.admin.password);
  await s.client.auth.reauthenticate.mutate({ password: s.password });
  const { key } = await s.client.keys.create.mutate({ name: 'feed', scopes: ['trade', 'read'] });
  return { s, feed: makeClient(t.url, { origin: null, bearer: key }) };
}

/** A fresh venue quote and trade for the instrument (the paper broker fills against the quote). */
async function marketData(t: TestServer, instrument = 'BTC-USD', bid = '50000', ask = '50005') {
  await venuePrices(t, [
    { venue: 'COINBASE', instrument, bid, ask, bidSize: '5', askSize: '5', last: ask, lastSize: '0.3' },
  ]);
}

async function proposalFor(client: Client, signalId: string, timeoutMs = 15_000) {
  return eventually(async () => {
    const list = await client.proposals.list.query({ limit: 200 });
    return list.items.find((p) => p.signalId === signalId) ?? null;
  }, timeoutMs);
}

describe('decisions end to end (rule decider)', () => {
  let t: TestServer;
  let admin: Session;
  let feed: Client;
  let signals: string;

  beforeAll(async () => {
    t = await startTestServer({ execution: PAPER, decisions: { expirySweepMs: 200 } });
    ({ s: admin, feed } = await setupDesk(t));
    signals = `${t.redisPrefix}:signals`;
  });
  afterAll(async () => {
    await t?.server.deps.bus.deleteStream(signals).catch(() => {});
    await t?.server.deps.bus.deleteStream(`${t.redisPrefix}:orderflow`).catch(() => {});
    await t?.close();
  });

  it('signal → proposal → approval → paper fill → position → loss → lesson recalled in the next proposal', async () => {
    const client = admin.client;
    await client.agent.settings.set.mutate({
      instruments: ['BTC-USD'],
      riskPreset: 'conservative',
      // Room for this describe's five quick proposals (the token bucket of 1000/h holds 10).
      maxProposalsPerHour: 1000,
    });
    const live = streamingClient(t.url, { jar: admin.jar });
    const changes = new Collector<{ id: string; data: { id: string; status: string } }>();
    const statuses = new Collector<{ data: { state: string } }>();
    const subA = live.proposals.onChange.subscribe(undefined, {
      onData: (d) => changes.push(d as never),
      onError: changes.fail,
    });
    const subB = live.agent.status.subscribe(undefined, {
      onData: (d) => statuses.push(d as never),
      onError: statuses.fail,
    });
    await statuses.waitFor(1);
    expect(statuses.items[0]!.data.state).toBe('idle');

    await marketData(t);
    const sig = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await t.server.deps.bus.xadd(signals, sig);
    const proposal = await proposalFor(client, sig.id);
    expect(proposal).toMatchObject({
      status: 'pending',
      decider: 'rules',
      instrument: 'BTC-USD',
      side: 'buy',
      orderType: 'limit',
      limitPrice: '50010.5',
      quantity: '0.0999',
    });
    expect(proposal.riskVerdict?.allowed).toBe(true);
    expect(proposal.riskVerdict?.rules.length).toBeGreaterThan(3);
    expect(proposal.latencyMs).not.toBeNull();
    expect(Date.parse(proposal.expiresAt) - Date.parse(proposal.createdAt)).toBe(300_000);
    const detail = await client.proposals.get.query({ id: proposal.id });
    expect(detail.currentVerdict?.allowed).toBe(true);
    await changes.waitFor(1);
    expect(changes.items.some((c) => c.data.id === proposal.id && c.data.status === 'pending')).toBe(true);
    await eventually(async () => statuses.items.some((s) => s.data.state === 'thinking'));
    await eventually(async () => statuses.items.at(-1)?.data.state === 'waiting_for_approval');

    // A redelivered signal does not propose twice.
    await t.server.deps.bus.xadd(signals, sig);
    await new Promise((r) => setTimeout(r, 500));
    expect((await client.proposals.list.query({})).items.filter((p) => p.signalId === sig.id)).toHaveLength(
      1,
    );

    const approved = await client.approvals.approve.mutate({
      proposalId: proposal.id,
      reason: 'breakout confirmed on tape',
    });
    expect(approved.order).not.toBeNull();
    expect(approved.proposal).toMatchObject({ status: 'executed', orderId: approved.order!.id });
    expect(approved.order).toMatchObject({
      proposalId: proposal.id,
      symbol: 'BTC-USD',
      side: 'buy',
      quantity: '0.0999',
    });
    // Approving again: refused, no second order.
    expect(
      (await failure(client.approvals.approve.mutate({ proposalId: proposal.id }))).data?.httpStatus,
    ).toBe(409);

    const filled = await eventually(async () => {
      const o = await client.orders.get.query({ id: approved.order!.id });
      return o.order.status === 'filled' ? o : null;
    });
    expect(filled.fills.length).toBeGreaterThan(0);
    const position = await eventually(async () =>
      (await client.positions.list.query()).find((p) => p.symbol === 'BTC-USD'),
    );
    expect(position.quantity).toBe('0.0999');
    await eventually(async () =>
      changes.items.some((c) => c.data.id === proposal.id && c.data.status === 'executed'),
    );

    // The trade is closed at a loss and reported: it becomes a lesson.
    const entry = filled.order.avgFillPrice!;
    const outcome = await client.trades.recordOutcome.mutate({
      proposalId: proposal.id,
      signalId: sig.id,
      instrument: 'BTC-USD',
      side: 'buy',
      quantity: '0.0999',
      entryPrice: entry,
      exitPrice: '49500',
      openedAt: new Date(Date.now() - 600_000).toISOString(),
      closedAt: new Date().toISOString(),
      notes: 'breakout failed at the prior high',
    });
    expect(Number(outcome.pnl)).toBeLessThan(0);
    expect(outcome.lesson).toMatchObject({ kind: 'loss', instrument: 'BTC-USD' });
    expect(outcome.lesson!.tags).toEqual(expect.arrayContaining(['btc-usd', 'long', 'loss', 'breakout']));
    const recalled = await client.lessons.query.query({ text: 'BTC-USD breakout long failed', k: 3 });
    expect(recalled[0]!.id).toBe(outcome.lesson!.id);
    expect(recalled[0]!.similarity).toBeGreaterThan(0.2);

    // The next similar signal: the lesson is recalled, named, and cuts the size.
    await marketData(t);
    const sig2 = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await t.server.deps.bus.xadd(signals, sig2);
    const next = await proposalFor(client, sig2.id);
    expect(next.lessonIds).toContain(outcome.lesson!.id);
    expect(next.rationale.lessonsApplied.map((l) => l.lessonId)).toContain(outcome.lesson!.id);
    expect(Number(next.quantity)).toBeLessThan(Number(proposal.quantity));

    // The trader asks about it; the answer streams (rule-based: no model configured).
    const answer = new Collector<{ text: string; done: boolean }>();
    const chat = live.agent.chat.subscribe(
      { proposalId: next.id, question: 'Why is the size smaller, which lesson?' },
      { onData: (d) => answer.push(d as never), onError: answer.fail },
    );
    await eventually(async () => answer.items.some((c) => c.done));
    chat.unsubscribe();
    const text = answer.items.map((c) => c.text).join('');
    expect(answer.items.length).toBeGreaterThan(5);
    expect(text).toContain(outcome.lesson!.id);
    expect(text).toMatch(/risk score/);

    // Rejected with a reason; expired ones can no longer be approved.
    const rejected = await client.approvals.reject.mutate({
      proposalId: next.id,
      reason: 'desk is flat into the close',
    });
    expect(rejected.status).toBe('rejected');
    const sig3 = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await marketData(t);
    await t.server.deps.bus.xadd(signals, sig3);
    const third = await proposalFor(client, sig3.id);
    await t.owner`update proposals set expires_at = now() - interval '1 second' where id = ${third.id}`;
    const late = await failure(client.approvals.approve.mutate({ proposalId: third.id }));
    expect(late.data?.httpStatus).toBe(412);
    expect(late.data?.details).toMatchObject({ reason: 'proposal_expired' });
    expect((await client.proposals.get.query({ id: third.id })).proposal.status).toBe('expired');
    const orders = await client.orders.list.query();
    expect(orders.filter((o) => o.proposalId === third.id)).toHaveLength(0);
    subA.unsubscribe();
    subB.unsubscribe();
  });

  it('approvals need a session with a recent re-auth, never an API key', async () => {
    const sig = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await marketData(t);
    await t.server.deps.bus.xadd(signals, sig);
    const p = await proposalFor(admin.client, sig.id);
    const byKey = await failure(feed.approvals.approve.mutate({ proposalId: p.id }));
    expect(byKey.data?.details).toMatchObject({ reason: 'human_only' });
    const rejectByKey = await failure(feed.approvals.reject.mutate({ proposalId: p.id }));
    expect(rejectByKey.data?.details).toMatchObject({ reason: 'human_only' });
    const fresh = await signIn(t.url, t.admin.email, admin.password);
    const noReauth = await failure(fresh.client.approvals.approve.mutate({ proposalId: p.id }));
    expect(noReauth.data?.details).toMatchObject({ reason: 'reauth_required' });
    await admin.client.approvals.reject.mutate({ proposalId: p.id });
  });

  it('refuses autonomous mode while the server does not allow it, and audits the refusal', async () => {
    const refused = await failure(admin.client.agent.settings.set.mutate({ mode: 'autonomous' }));
    expect(refused.data?.httpStatus).toBe(403);
    expect(refused.data?.details).toMatchObject({ reason: 'autonomous_disabled' });
    expect((await admin.client.agent.settings.get.query()).mode).toBe('confirmation');
    const rows = await t.owner<{ outcome: string; details: string }[]>`
      select outcome, details from audit_log where action = 'agent.setMode' and tenant_id = ${t.admin.deskId}`;
    expect(rows).toEqual([{ outcome: 'denied', details: expect.stringContaining('autonomous_disabled') }]);
  });

  it('keeps every stream and read to its desk', async () => {
    // A second desk of the same person, with its own session on it.
    const deskB = await admin.client.desks.create.mutate({ name: 'Desk B' });
    const b = await signIn(t.url, t.admin.email, admin.password);
    await b.client.auth.switchDesk.mutate({ deskId: deskB.id });
    await b.client.agent.settings.set.mutate({ instruments: ['ETH-USD'] });
    const liveB = streamingClient(t.url, { jar: b.jar });
    const liveA = streamingClient(t.url, { jar: admin.jar });
    const propsB = new Collector<{ data: { id: string } }>();
    const statusB = new Collector<{ data: { state: string } }>();
    const signalsB = new Collector<{ data: { id: string; symbol: string } }>();
    const signalsA = new Collector<{ data: { id: string; symbol: string } }>();
    const subs = [
      liveB.proposals.onChange.subscribe(undefined, {
        onData: (d) => propsB.push(d as never),
        onError: propsB.fail,
      }),
      liveB.agent.status.subscribe(undefined, {
        onData: (d) => statusB.push(d as never),
        onError: statusB.fail,
      }),
      liveB.signals.onNew.subscribe({}, { onData: (d) => signalsB.push(d as never), onError: signalsB.fail }),
      liveA.signals.onNew.subscribe({}, { onData: (d) => signalsA.push(d as never), onError: signalsA.fail }),
    ];
    await statusB.waitFor(1);
    await new Promise((r) => setTimeout(r, 200));

    await marketData(t);
    // Desk A's own order flow (research data, never prices), seen around its signal.
    await feed.orderflow.ingest.mutate({
      event: {
        kind: 'trade',
        instrument: 'BTC-USD',
        venue: 'COINBASE',
        tsEvent: new Date().toISOString(),
        source: 'desk-a-research',
        sequence: 1,
        price: '50005',
        size: '0.3',
        side: 'buy',
      },
    });
    const sig = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await t.server.deps.bus.xadd(signals, sig);
    const pA = await proposalFor(admin.client, sig.id);
    await signalsA.waitFor(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(signalsA.items.map((s) => s.data.id)).toContain(sig.id);
    // Desk B watches ETH-USD only, has no agent proposal, and sees none of desk A's events.
    expect(signalsB.items).toEqual([]);
    expect(propsB.items).toEqual([]);
    expect(statusB.items.map((s) => s.data.state)).toEqual(['idle']);
    expect((await b.client.proposals.list.query({})).items).toEqual([]);
    expect((await failure(b.client.proposals.get.query({ id: pA.id }))).data?.httpStatus).toBe(404);
    expect((await failure(b.client.approvals.reject.mutate({ proposalId: pA.id }))).data?.httpStatus).toBe(
      404,
    );
    // Order flow is per desk: B sees none of A's sources or events.
    expect(await b.client.orderflow.gaps.query({})).toEqual([]);
    expect((await b.client.signals.get.query({ id: sig.id })).orderflow).toEqual([]);
    expect((await admin.client.signals.get.query({ id: sig.id })).orderflow.length).toBeGreaterThan(0);
    expect(await b.client.lessons.query.query({ text: 'BTC-USD breakout long' })).toEqual([]);
    // B's own ETH-USD signal reaches B (and A, whose agent does not cover ETH, proposes nothing).
    const eth = engineSignal({ symbol: 'ETH-USD', price: '3000' });
    await t.server.deps.bus.xadd(signals, eth);
    await signalsB.waitFor(1);
    expect(signalsB.items[0]!.data.id).toBe(eth.id);
    await admin.client.approvals.reject.mutate({ proposalId: pA.id });
    for (const s of subs) s.unsubscribe();
  });
});

describe('decisions end to end (model decider on a local OpenAI-compatible server, autonomy allowed)', () => {
  const fake = new FakeOpenAI();
  let t: TestServer;
  let admin: Session;
  let signals: string;

  beforeAll(async () => {
    await fake.start();
    t = await startTestServer({
      execution: PAPER,
      decisions: { openaiTimeoutMs: 3000, openaiMaxRetries: 0 },
      env: {
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: fake.url,
        OPENAI_MODEL: 'local-test-model',
        AUTONOMOUS_ENABLED: 'true',
      },
    });
    ({ s: admin } = await setupDesk(t));
    signals = `${t.redisPrefix}:signals`;
    await admin.client.agent.settings.set.mutate({ instruments: ['BTC-USD'], maxProposalsPerHour: 1000 });
  });
  afterAll(async () => {
    await t?.server.deps.bus.deleteStream(signals).catch(() => {});
    await t?.close();
    await fake.close();
  });

  it('stores the model proposal with tokens and latency; discards malformed output; executes at once in autonomous mode', async () => {
    fake.script({
      kind: 'content',
      content: validAnswer({ quantity: '0.02' }),
      promptTokens: 812,
      completionTokens: 233,
    });
    await marketData(t);
    const sig = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await t.server.deps.bus.xadd(signals, sig);
    const p = await proposalFor(admin.client, sig.id);
    expect(p).toMatchObject({
      decider: 'openai',
      model: 'local-test-model',
      promptTokens: 812,
      completionTokens: 233,
      quantity: '0.02',
      status: 'pending',
    });
    expect(fake.requests.at(-1)!.response_format?.json_schema?.strict).toBe(true);

    // Passed on, so the next buy is not a duplicate of a pending one.
    await admin.client.approvals.reject.mutate({ proposalId: p.id });

    // Malformed, then schema-violating: discarded, never a proposal, the reason logged and listed.
    fake.script(
      { kind: 'content', content: 'not json at all' },
      { kind: 'content', content: validAnswer({ side: 'hold' }) },
    );
    const bad = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await t.server.deps.bus.xadd(signals, bad);
    await eventually(async () =>
      t.logs.some((l) => l.msg === 'agent: model answer discarded; no proposal' && l.signalId === bad.id),
    );
    expect((await admin.client.proposals.list.query({})).items.some((x) => x.signalId === bad.id)).toBe(
      false,
    );
    await eventually(async () => (await t.server.deps.bus.pending(signals, 'server')).count === 0);
    const declined = (await admin.client.agent.skips.query({})).items.find((x) => x.signalId === bad.id);
    expect(declined).toMatchObject({ code: 'decider_declined', reason: expect.stringMatching(/^model: /) });

    // Autonomous (allowed here): a passing proposal executes without a human.
    await admin.client.agent.settings.set.mutate({ mode: 'autonomous' });
    fake.script({ kind: 'content', content: validAnswer({ quantity: '0.01' }) });
    await marketData(t);
    const auto = engineSignal({ symbol: 'BTC-USD', price: '50010.5' });
    await t.server.deps.bus.xadd(signals, auto);
    const executed = await eventually(async () => {
      const x = (await admin.client.proposals.list.query({})).items.find((i) => i.signalId === auto.id);
      return x && x.status !== 'pending' && x.status !== 'approved' ? x : null;
    });
    expect(executed.status).toBe('executed');
    const order = await admin.client.orders.get.query({ id: executed.orderId! });
    expect(order.order).toMatchObject({ origin: 'agent', quantity: '0.01' });
    const audit = await t.owner<{ action: string; details: string | null }[]>`
      select action, details from audit_log where target_id = ${executed.id} order by seq`;
    expect(audit.map((a) => a.action)).toEqual(['proposals.create', 'proposals.autoApprove']);
    // The quantity as a person writes it, not the column's padded scale.
    expect(audit[0]?.details).toMatch(/^buy 0\.01 BTC-USD \(/);

    // Chat goes to the model, streamed chunk by chunk, grounded in the proposal's facts.
    const live = streamingClient(t.url, { jar: admin.jar });
    const answer = new Collector<{ text: string; done: boolean }>();
    const chat = live.agent.chat.subscribe(
      { proposalId: p.id, question: 'Where is the stop?' },
      { onData: (d) => answer.push(d as never), onError: answer.fail },
    );
    await eventually(async () => answer.items.some((c) => c.done));
    chat.unsubscribe();
    expect(answer.items.filter((c) => !c.done).map((c) => c.text)).toEqual(fake.streamChunks);
    const asked = fake.requests.at(-1)!;
    expect(asked.stream).toBe(true);
    expect(asked.messages.at(-1)!.content).toContain(`Proposal ${p.id}`);
  });
});
