import { randomUUID } from 'node:crypto';
import { publishVenuePrices } from '@aegis/shared/testing/venue-prices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOGIN_POLICY, delayAfter } from '../../src/auth/login-throttle.ts';
import { engineSignal, eventually } from './decisions-support.ts';
import { testExecution } from './support/test-execution.ts';
import { waitUntil } from './support/wait.ts';
import { type Client, failure, ORIGIN, signIn, startTestServer, type TestServer } from './test-server.ts';

/**
 * Races through the real server (HTTP, PostgreSQL, Redis), each asserting what must hold however
 * the requests interleave:
 *  (a) login bursts: parallel wrong passwords and one tRPC batch of sign-ins verify no more
 *      passwords than the throttle policy allows, and the owner still signs in;
 *  (b) parallel approvals of one proposal: exactly one executes, one order, the rest CONFLICT;
 *  (c) cancel racing fill: one terminal state, fills and position agree, no double fill, the
 *      audit chain verifies.
 */
type Session = Awaited<ReturnType<typeof signIn>>;

let t: TestServer;
let admin: Session;

const VENUE = 'COINBASE';

beforeAll(async () => {
  t = await startTestServer({
    rateLimiter: null,
    // The console's forwarder is a configured proxy here, so each test client can be given its
    // own address (X-Forwarded-For), as clients behind it are in production.
    env: { TRUSTED_PROXIES: '127.0.0.1,::1' },
    execution: testExecution({
      outboxIntervalMs: 50,
      paper: { seed: 9 },
    }),
  });
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values ('BTC-USD', ${VENUE}, 'crypto', '0.01', '0.0001', '24x7')`;
  admin = await signIn(t.url, t.admin.email, t.admin.password);
  await admin.client.auth.reauthenticate.mutate({ password: admin.password });
}, 120_000);

afterAll(async () => {
  await t?.close();
});

// ------------------------------------------------------------------------------------------
// (a) login bursts
// ------------------------------------------------------------------------------------------

/** Password verifications: the hasher's counter, and the audit rows of failed sign-ins. */
async function verificationsSoFar(userId: string) {
  const [r] = await t.owner<{ n: number }[]>`
    select count(*)::int as n from audit_log
    where action = 'auth.login' and outcome = 'failed' and target_id = ${userId}`;
  return { hasher: t.server.deps.passwords.verifications, audited: r!.n };
}

/**
 * The most attempts one address may have verified against one account in a burst lasting
 * `ms`: the policy's free attempts, plus one per delay that could have expired meanwhile (the
 * delays grow 1 s, 2 s, 4 s …, so a slow burst on a loaded machine may earn one or two more).
 * Derived from the policy and the burst's own duration; it never asserts a duration.
 */
function pairBound(ms: number): number {
  const p = DEFAULT_LOGIN_POLICY.pair;
  let n = p.freeAttempts;
  let waited = 0;
  for (;;) {
    const d = delayAfter(n, p);
    if (waited + d > ms) return n;
    waited += d;
    n++;
  }
}

const loginOnce = (email: string, password: string, ip: string) =>
  fetch(`${t.url}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN, 'x-forwarded-for': ip },
    body: JSON.stringify({ email, password }),
  });

describe('(a) parallel login bursts', () => {
  it('60 parallel wrong passwords verify no more than the policy allows; the owner still signs in', async () => {
    const before = await verificationsSoFar(admin.user.id);
    const started = performance.now();
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => loginOnce(t.admin.email, `wrong-password-${i}`, '203.0.113.10')),
    );
    const ms = performance.now() - started;
    const statuses = responses.map((r) => r.status);
    const after = await verificationsSoFar(admin.user.id);
    const bound = pairBound(ms);
    process.stdout.write(
      `\nlogin burst: 60 parallel → verified ${after.hasher - before.hasher} (audited ${after.audited - before.audited}), ` +
        `bound ${bound}; statuses ${JSON.stringify(countBy(statuses))}\n`,
    );
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(after.audited - before.audited).toBeLessThanOrEqual(bound);
    expect(after.hasher - before.hasher).toBeLessThanOrEqual(bound);
    expect(statuses.filter((s) => s === 401).length).toBe(after.audited - before.audited);

    // The policy (README "Sign-in throttling"): the attacker's address pays, the owner elsewhere
    // does not — one sign-in with the right password from another address succeeds at once.
    const owner = await loginOnce(t.admin.email, admin.password, '198.51.100.20');
    expect(owner.status).toBe(200);
  });

  it('one tRPC batch of 60 sign-ins verifies no more than the policy allows (batches are capped, sign-in never batched)', async () => {
    const victim = await admin.client.users.create.mutate({
      email: 'victim@example.com',
      displayName: 'Victim',
      role: 'trader',
    });
    const victimId = victim.member.userId;
    const before = await verificationsSoFar(victimId);
    const started = performance.now();
    const n = 60;
    const input = Object.fromEntries(
      Array.from({ length: n }, (_, i) => [
        String(i),
        { email: 'victim@example.com', password: `wrong-${i}-xyz` },
      ]),
    );
    const res = await fetch(`${t.url}/trpc/${Array(n).fill('auth.login').join(',')}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN, 'x-forwarded-for': '203.0.113.11' },
      body: JSON.stringify(input),
    });
    const ms = performance.now() - started;
    const body = await res.text();
    const after = await verificationsSoFar(victimId);
    const bound = pairBound(ms);
    process.stdout.write(
      `\nlogin batch: ${n} in one request → HTTP ${res.status}, verified ${after.hasher - before.hasher} ` +
        `(audited ${after.audited - before.audited}), bound ${bound}: ${body.slice(0, 200)}\n`,
    );
    expect(res.status).toBeLessThan(500);
    expect(after.audited - before.audited).toBeLessThanOrEqual(bound);
    expect(after.hasher - before.hasher).toBeLessThanOrEqual(bound);
    // The victim still signs in with the one-time password, from their own address.
    expect((await loginOnce('victim@example.com', victim.oneTimePassword!, '198.51.100.21')).status).toBe(
      200,
    );
  });
});

/** Polls `read` until `ok` (bounded: a bug fails instead of hanging); the error shows the last value. */

/** The server's warnings and errors since `from` (shown when an assertion fails). */
const serverProblems = (from: number) =>
  t.logs
    .slice(from)
    .filter((l) => Number(l.level) >= 40 || (l.msg !== 'call ok' && l.level === 30 && 'code' in l))
    .map((l) => JSON.stringify(l).slice(0, 400));

function countBy(xs: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

// ------------------------------------------------------------------------------------------
// Market data: the one price source (venue prices on the bus, as the engine publishes them).
// ------------------------------------------------------------------------------------------

let priceClock = Date.now();

/** Publishes a venue quote and waits until the server's book holds it. */
async function publishQuote(bid: string, ask: string, size = '100') {
  // Strictly increasing event times: the book keeps only the newest.
  priceClock = Math.max(priceClock + 1, Date.now());
  const ts = new Date(priceClock);
  await publishVenuePrices(t.server.deps.bus, `${t.redisPrefix}:`, [
    { venue: VENUE, instrument: 'BTC-USD', bid, ask, bidSize: size, askSize: size, ts },
  ]);
  return ts;
}

async function quoteArrived(ts: Date) {
  const ex = t.server.deps.execution!;
  await eventually(async () => (ex.quotes.get('BTC-USD')?.tsQuote?.getTime() ?? 0) >= ts.getTime());
}

// ------------------------------------------------------------------------------------------
// (b) parallel approvals of one proposal
// ------------------------------------------------------------------------------------------

describe('(b) parallel approvals of one proposal', () => {
  it('10 concurrent approvals by admins with a fresh re-entry: exactly one executes, one order, the rest CONFLICT', {
    timeout: 90_000,
  }, async () => {
    await quoteArrived(await publishQuote('50000', '50010'));
    await admin.client.agent.settings.set.mutate({
      instruments: ['BTC-USD'],
      riskPreset: 'conservative',
      maxProposalsPerHour: 50,
    });
    // Two more admins; ten sessions over the three, each with a fresh password re-entry.
    const admins: { email: string; password: string }[] = [
      { email: t.admin.email, password: admin.password },
    ];
    for (const name of ['second', 'third']) {
      const email = `${name}-admin@example.com`;
      const created = await admin.client.users.create.mutate({ email, displayName: name, role: 'admin' });
      const s = await signIn(t.url, email, created.oneTimePassword!);
      admins.push({ email, password: s.password });
    }
    const sessions: Client[] = [];
    for (let i = 0; i < 10; i++) {
      const who = admins[i % admins.length]!;
      const s = await signIn(t.url, who.email, who.password);
      await s.client.auth.reauthenticate.mutate({ password: who.password });
      sessions.push(s.client);
    }

    const signal = engineSignal({ symbol: 'BTC-USD', price: '50010' });
    await t.server.deps.bus.xadd(`${t.redisPrefix}:signals`, signal);
    const proposal = await eventually(async () => {
      const list = await admin.client.proposals.list.query({ limit: 50 });
      return list.items.find((p) => p.signalId === signal.id) ?? null;
    }, 20_000);
    expect(proposal.status).toBe('pending');

    // A fresh venue quote: the sign-ins above take longer than the reference-age limit.
    await quoteArrived(await publishQuote('50000', '50010'));
    const logFrom = t.logs.length;
    const results = await Promise.allSettled(
      sessions.map((c) => c.approvals.approve.mutate({ proposalId: proposal.id, reason: 'race' })),
    );
    const executed = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const codes = refused.map(
      (r) => (r.reason as { data?: { code?: string } }).data?.code ?? String(r.reason),
    );
    process.stdout.write(
      `\napprovals: ${executed.length} executed, refused ${JSON.stringify(codes)}\n${serverProblems(logFrom).join('\n')}\n`,
    );
    expect(executed).toHaveLength(1);
    expect(codes).toEqual(Array(9).fill('CONFLICT'));

    // One entry (its bracket legs link to it).
    const orders = await t.owner<{ id: string }[]>`
      select id from orders where proposal_id = ${proposal.id} and parent_order_id is null`;
    expect(orders).toHaveLength(1);
    const [p] = await t.owner<{ status: string; order_id: string }[]>`
      select status, order_id from proposals where id = ${proposal.id}`;
    expect(p).toMatchObject({ status: 'executed', order_id: orders[0]!.id });
    const [approvals] = await t.owner<{ n: number }[]>`
      select count(*)::int as n from audit_log
      where action like 'proposal%approve%' and target_id = ${proposal.id} and outcome = 'ok'`;
    expect(approvals!.n).toBeLessThanOrEqual(1);
  });
});

// ------------------------------------------------------------------------------------------
// (c) cancel racing fill
// ------------------------------------------------------------------------------------------

const ROUNDS = 9;

describe('(c) cancel racing fill', () => {
  it(`${ROUNDS} rounds: each order ends filled or cancelled, fills and position agree, no double fill, audit chain verifies`, async () => {
    const client = admin.client;
    await client.auth.reauthenticate.mutate({ password: admin.password });
    const outcomes: string[] = [];
    let bought = 0;
    // The position before the rounds (test (b)'s approved proposal may have bought already: its
    // order's reports are applied first).
    await t.server.deps.execution!.dispatcher.dispatchTenant(t.admin.deskId);
    await t.server.deps.execution!.brokers.drain();
    const before = Number(
      (await client.positions.list.query()).find((p) => p.symbol === 'BTC-USD')?.quantity ?? 0,
    );
    // That proposal's protective stop sells when the rounds move the price below it: counted apart.
    const legsSold = async () =>
      Number(
        (
          await t.owner<{ q: string }[]>`select coalesce(sum(f.quantity), 0)::text as q
            from fills f join orders o on o.id = f.order_id where o.parent_order_id is not null`
        )[0]!.q,
      );
    const legsSoldBefore = await legsSold();
    for (let round = 0; round < ROUNDS; round++) {
      await quoteArrived(await publishQuote('50000', '50010'));
      const placed = await client.orders.place.mutate({
        idempotencyKey: randomUUID(),
        order: {
          symbol: 'BTC-USD',
          side: 'buy',
          orderType: 'limit',
          timeInForce: 'gtc',
          // A different order each round: the duplicate-order rule refuses repeats within its window.
          quantity: (0.01 + round / 1000).toFixed(3),
          limitPrice: String(49_900 - round),
        },
      });
      // Resting at the paper broker before the race starts.
      await waitUntil(
        () => client.orders.get.query({ id: placed.id }),
        (o) => o.order.status === 'new',
        'the order to rest at the broker',
      );

      // Half the rounds send the cancel first, half the price move first; both at once.
      const cancel = () =>
        client.orders.cancel.mutate({ orderId: placed.id }).then(
          (r) => `cancel:${r.status}`,
          (e) => `cancel:${(e as { data?: { code?: string } }).data?.code ?? e}:${(e as Error).message}`,
        );
      const move = () => publishQuote('49800', '49850').then(() => 'moved');
      // Three orderings, so both outcomes happen: both at once; the move as soon as the cancel is
      // queued (the outbox dispatcher and the price race to the broker); and the cancel's
      // dispatch started by hand at the same moment as the move.
      const ex = t.server.deps.execution!;
      const answers =
        round % 3 === 0
          ? await Promise.all([cancel(), move()])
          : await cancel().then(async (c) =>
              round % 3 === 1
                ? [c, await move()]
                : [
                    c,
                    ...(await Promise.all([
                      ex.dispatcher.dispatchTenant(t.admin.deskId).then(() => 'dispatched'),
                      move(),
                    ])),
                  ],
            );
      expect(answers.filter((a) => a.startsWith('cancel:')).every((a) => !/INTERNAL/.test(a))).toBe(true);

      const done = await waitUntil(
        () => client.orders.get.query({ id: placed.id }),
        (o) => o.order.status === 'filled' || o.order.status === 'cancelled',
        'a terminal state',
      );
      // Let every in-flight report land, then read again: the terminal state must not change.
      await ex.dispatcher.dispatchTenant(t.admin.deskId);
      await ex.brokers.drain();
      const final = await client.orders.get.query({ id: placed.id });
      expect(final.order.status).toBe(done.order.status);
      outcomes.push(final.order.status);
      process.stdout.write(`round ${round}: ${answers.join(' ')} → ${final.order.status}\n`);

      const filledQty = final.fills.reduce((s, f) => s + Number(f.quantity), 0);
      expect(new Set(final.fills.map((f) => f.executionId)).size).toBe(final.fills.length);
      expect(filledQty).toBeCloseTo(Number(final.order.filledQuantity), 10);
      if (final.order.status === 'filled') expect(final.order.filledQuantity).toBe(final.order.quantity);
      else expect(Number(final.order.filledQuantity)).toBeLessThan(Number(final.order.quantity));
      bought += filledQty;
      const [stored] = await t.owner<
        { n: number }[]
      >`select count(*)::int as n from fills where order_id = ${placed.id}`;
      expect(stored!.n).toBe(final.fills.length);
    }
    process.stdout.write(`\ncancel vs fill: ${JSON.stringify(countBy(outcomes as never))}\n`);

    const positions = await client.positions.list.query();
    const btc = positions.find((p) => p.symbol === 'BTC-USD');
    const soldByLegs = (await legsSold()) - legsSoldBefore;
    expect(Number(btc?.quantity ?? 0) - before + soldByLegs).toBeCloseTo(bought, 10);
    const verified = await client.audit.verify.query();
    expect(verified.ok).toBe(true);
    // A filled order cannot be cancelled afterwards: refused, not a 500.
    const filled = (await client.orders.list.query({ status: 'terminal', limit: 50 })).find(
      (o) => o.status === 'filled',
    );
    if (filled)
      expect(
        (await failure(client.orders.cancel.mutate({ orderId: filled.id }))).data?.httpStatus,
      ).toBeLessThan(500);
  });
});
