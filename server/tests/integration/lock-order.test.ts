/**
 * Every transaction that locks several of a desk's orders locks them in id order, so none of them
 * can deadlock another. Raced on real PostgreSQL over the same forty working orders of one desk:
 *  (a) a run of execution reports (acknowledgements and cancels) through `applyExecutionReports`,
 *      the reports handed over reversed or shuffled;
 *  (b) the desk's halt, whose cancel locks every working order (`cancelWorkingOrders`);
 *  (c) the dispatcher sending the orders' places and writing the broker ids of the acknowledged
 *      ones in one transaction, its place rows queued reversed or shuffled (so its acknowledgements
 *      come in that order), with the paper broker's own acknowledgements applied meanwhile.
 * In the gated rounds a transaction of the test holds every one of the orders locked while the
 * parties come, one after another, and each waits on them (seen in pg_stat_activity); then all
 * are let go at once. A party locking in id order waits at the lowest order it locks, so it can
 * only ever wait on one ahead of it; one locking in any other order waits higher up, holds orders
 * the others need once let go, and a deadlock (SQLSTATE 40P01) follows: reversing the order of
 * the halt's cancel or of the dispatcher's write fails every gated round, the report run's the
 * gated rounds where it queues ahead of the halt. The last round is not gated (the parties
 * interleave as they come). Each round asserts that no party and no report failed, with a
 * deadlock or otherwise, and that every order ended as its state machine allows: cancelled,
 * unfilled, every outbox row sent, one cancel per order the halt found working, the broker's id
 * on each order it acknowledged and the broker's book agreeing.
 */

import { MemoryBus } from '@aegis/shared/bus/index';
import { createLogger } from '@aegis/shared/logging';
import type { OrderView } from '@aegis/shared/schemas/order';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionReport } from '../../src/brokers/types.ts';
import { applyExecutionReports } from '../../src/execution/reports.ts';
import { ExecutionRuntime } from '../../src/execution/runtime.ts';
import { createExecutionFixture, type ExecutionFixture } from './execution-fixture.ts';
import { insertDeskLimits, PROTECTIVE_LIMITS } from './support/desk-limits.ts';
import { until } from './support/wait.ts';

const ORDERS = 40;
/** Orders the broker never receives (their place is not queued); the run reports them cancelled. */
const UNSENT = 10;

let fx: ExecutionFixture;
let rt: ExecutionRuntime;
const bus = new MemoryBus();
/** What the runtime logged at warn and above (a report run that failed is logged, then retried). */
const logged: string[] = [];
const log = createLogger({ name: 'lock-order', level: 'warn' }, { write: (s: string) => logged.push(s) });
const trader = () => ({ type: 'user' as const, id: fx.userId });

beforeAll(async () => {
  fx = await createExecutionFixture();
  await insertDeskLimits(fx.owner, fx.tenantId, {}, PROTECTIVE_LIMITS);
  // A runtime of its own, as the fixture builds one, with a logger the test reads.
  rt = new ExecutionRuntime({
    db: fx.app.db,
    bus,
    quotes: fx.quotes,
    log,
    options: {
      paper: { seed: 7, latencyMs: 0, latencyJitterMs: 0, feeBps: '0', minFee: '0', slippageBps: '5' },
    },
  });
  // Nothing is sent unless the test dispatches.
  await rt.dispatcher.stop();
}, 60_000);

afterAll(async () => {
  await rt?.stop().catch(() => {});
  await bus.close().catch(() => {});
  await fx?.close();
});

/** A small seeded generator, so each round's orders are shuffled the same way on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
const byId = (a: OrderView, b: OrderView) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

type Arrangement = 'reversed' | 'shuffled';
type Party = 'run' | 'halt' | 'dispatcher';
const arrange = (xs: readonly OrderView[], how: Arrangement, rand: () => number) =>
  how === 'reversed' ? [...xs].sort(byId).reverse() : shuffled(xs, rand);

/**
 * Each party's order-locking statement as it shows in pg_stat_activity (the tests' admin role sees
 * every backend's statement). The test's run names all forty orders (and the desk: 41 parameters);
 * the broker's own runs of acknowledgements name only orders it was sent. The dispatcher's write
 * is its locking select, or its update where nothing locks before it.
 */
const LOCKING: Record<Party, readonly string[]> = {
  run: [`%"client_order_id" in (%$${ORDERS + 1})%for update%`],
  halt: ['%"bracket_role" is null%for update%'],
  dispatcher: ['%o.id = any(%for update%', '%update orders o set broker_order_id%'],
};

/** Whether the party's locking statement is waiting for a lock. */
async function isWaiting(p: Party): Promise<boolean> {
  const [r] = await fx.owner<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'
      and query like any(${LOCKING[p] as string[]})`;
  return r!.n > 0;
}

/** The PostgreSQL error in `err`'s causes, as SQLSTATE and message (else the error itself). */
function described(err: unknown): string {
  for (let e: unknown = err, d = 0; e && typeof e === 'object' && d < 6; d++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `${code} ${String(message)}`;
    e = (e as { cause?: unknown }).cause;
  }
  return String(err);
}

/** A deadlock anywhere in the error or its causes. */
function isDeadlock(err: unknown): boolean {
  for (let e: unknown = err, d = 0; e && typeof e === 'object' && d < 6; d++) {
    if ((e as { code?: unknown }).code === '40P01') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

interface Round {
  readonly seed: number;
  /**
   * Gated: the order in which the parties come to wait on the held orders; null: not gated,
   * started together. The run and the halt lock the same first order, so they pass it in the
   * order they queued on it.
   */
  readonly queue: readonly Party[] | null;
  readonly reports: Arrangement;
  readonly places: Arrangement;
}

async function raceRound(round: Round) {
  const rand = random(round.seed);
  fx.quote('BTC-USD', '50000', '50010');
  const placed = await Promise.all(
    Array.from({ length: ORDERS }, (_, i) =>
      fx.placeOrder(
        { orderType: 'limit', limitPrice: String(30000 + i), quantity: '0.01', timeInForce: 'gtc' },
        { runtime: rt },
      ),
    ),
  );
  const unsent = new Set<string>(
    shuffled(placed, rand)
      .slice(0, UNSENT)
      .map((o) => o.id),
  );
  const sent = placed.filter((o) => !unsent.has(o.id));
  // The places are queued again in the round's order (the dispatcher claims rows in id order, so
  // its acknowledgements follow it); the unsent orders' places are not queued at all.
  const queued = arrange(sent, round.places, rand).map((o) => o.id);
  await fx.owner.begin(async (tx) => {
    await tx`delete from outbox where topic = 'broker.place' and aggregate_id in ${tx(placed.map((o) => o.id))}`;
    for (const id of queued)
      await tx`insert into outbox (tenant_id, topic, aggregate_id, payload)
               select tenant_id, 'broker.place', id::text,
                      jsonb_build_object('orderId', id, 'clientOrderId', client_order_id)
               from orders where id = ${id}`;
  });

  // (a) the run: an acknowledgement for every order, and the unsent ones cancelled after it.
  let n = 0;
  const report = (o: OrderView, kind: 'accepted' | 'cancelled') =>
    ({
      kind,
      executionId: `L${round.seed}-${++n}`,
      clientOrderId: o.clientOrderId,
      symbol: 'BTC-USD',
      side: 'buy',
      tsEvent: fx.now(),
      cumQty: '0',
      leavesQty: kind === 'accepted' ? '0.01' : '0',
      avgPx: null,
    }) as ExecutionReport;
  const runOrder = arrange(placed, round.reports, rand);
  const reports = [
    ...runOrder.map((o) => report(o, 'accepted')),
    ...runOrder.filter((o) => unsent.has(o.id)).map((o) => report(o, 'cancelled')),
  ];

  let release: (() => void) | null = null;
  let holding: Promise<unknown> = Promise.resolve();
  if (round.queue) {
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const released = new Promise<void>((r) => {
      release = r;
    });
    holding = fx.owner.begin(async (tx) => {
      await tx`select id from orders where id in ${tx(placed.map((o) => o.id))} order by id for update`;
      locked();
      await released;
    });
    await isLocked;
  }
  const logsBefore = logged.length;
  const start: Record<Party, () => Promise<unknown>> = {
    run: () => applyExecutionReports({ db: fx.app.db, log }, fx.tenantId, reports, fx.now()),
    halt: () =>
      rt.halts.engage({ scope: 'desk', tenantId: fx.tenantId, actor: trader(), reason: 'lock order' }),
    dispatcher: () => rt.dispatcher.dispatchTenant(fx.tenantId),
  };
  const order = round.queue ?? (['run', 'halt', 'dispatcher'] as const);
  const settled = new Map<Party, Promise<PromiseSettledResult<unknown>>>();
  let stuck: unknown = null;
  try {
    for (const p of order) {
      settled.set(
        p,
        Promise.allSettled([start[p]()]).then(([r]) => r!),
      );
      // Gated: the next party starts once this one's locking statement waits on the held orders.
      if (round.queue) await until(`the ${p} waiting on the held orders`, () => isWaiting(p), 10_000);
    }
  } catch (err) {
    stuck = err;
  } finally {
    (release as (() => void) | null)?.();
    await holding;
  }
  // Whatever was started ends before the round does.
  await Promise.all(settled.values());
  if (stuck) throw stuck;
  const [run, halt, dispatch] = await Promise.all([
    settled.get('run')!,
    settled.get('halt')!,
    settled.get('dispatcher')!,
  ]);
  const failures = [run, halt, dispatch].flatMap((s) => (s.status === 'rejected' ? [s.reason] : []));
  expect(failures.filter(isDeadlock).map(described)).toEqual([]);
  expect(failures.map(described)).toEqual([]);
  if (run.status !== 'fulfilled' || halt.status !== 'fulfilled') throw new Error('unreachable');
  const results = run.value as Awaited<ReturnType<typeof applyExecutionReports>>;
  expect(results.every((r) => r.outcome === 'applied' || r.outcome === 'stale')).toBe(true);
  const engaged = halt.value as Awaited<ReturnType<ExecutionRuntime['halts']['engage']>>;
  // Gated, the parties passed in the order they queued: the halt found the unsent orders working
  // exactly when it came before the run that cancelled them.
  const haltFirst = round.queue ? round.queue.indexOf('halt') < round.queue.indexOf('run') : null;

  // The halt's cancels go out and the broker answers them; nothing is left to send.
  await fx.settle(rt);
  // No transaction of the runtime failed either: a failed run of the broker's reports is logged
  // (then applied one at a time), as is a failed dispatch.
  const roundLogs = logged.slice(logsBefore);
  expect(roundLogs.filter((l) => /40P01|deadlock/i.test(l))).toEqual([]);
  expect(roundLogs.filter((l) => /"level":"(error|fatal)"|failed/.test(l))).toEqual([]);

  const rows = await fx.owner<
    { id: string; status: string; filled: string; broker_order_id: string | null; version: number }[]
  >`select id, status, filled_quantity::text as filled, broker_order_id, version from orders
    where id in ${fx.owner(placed.map((o) => o.id))}`;
  const outbox = await fx.owner<{ aggregate_id: string; topic: string; dispatched: boolean }[]>`
    select aggregate_id, topic, dispatched_at is not null as dispatched from outbox
    where aggregate_id in ${fx.owner(placed.map((o) => o.id))}`;
  expect(rows).toHaveLength(ORDERS);
  for (const r of rows) {
    expect(r.status, r.id).toBe('cancelled');
    expect(Number(r.filled)).toBe(0);
  }
  expect(outbox.every((x) => x.dispatched)).toBe(true);
  const cancels = outbox.filter((x) => x.topic === 'broker.cancel').map((x) => x.aggregate_id);
  expect(new Set(cancels).size).toBe(cancels.length); // one cancel per order at most
  expect(cancels.length).toBe(engaged.cancelsQueued);
  // The halt found every sent order still working (nothing else ends them), and the unsent ones
  // working when it came before the run.
  for (const o of sent) expect(cancels).toContain(o.id);
  if (haltFirst === null) expect([sent.length, ORDERS]).toContain(engaged.cancelsQueued);
  else expect(engaged.cancelsQueued).toBe(haltFirst ? ORDERS : sent.length);

  const session = await rt.brokers.trySession(fx.tenantId, null);
  for (const r of rows) {
    const o = placed.find((p) => p.id === r.id)!;
    const atBroker = await session!.adapter.getOrderByClientId(o.clientOrderId);
    if (unsent.has(r.id)) {
      // Never sent: no broker id, unknown to the broker; accepted then cancelled, or cancel
      // requested then cancelled (the acknowledgement stale): two transitions either way.
      expect(r.broker_order_id).toBeNull();
      expect(atBroker).toBeNull();
      expect(r.version).toBe(2);
    } else {
      // Sent: cancel requested and cancelled, after an acknowledgement when it came before the
      // halt. Gated, the halt's cancel waited for the places: the broker has each order,
      // cancelled, and its id is written (by the dispatcher or the broker's acknowledgement).
      // Free-running, the halt may come first: then the dispatcher ends the order unsent.
      if (haltFirst === false) expect(r.version).toBe(3);
      else expect([2, 3]).toContain(r.version);
      if (atBroker) {
        expect(atBroker.status).toBe('cancelled');
        expect(r.broker_order_id).toBe(atBroker.brokerOrderId);
      } else {
        expect(round.queue).toBeNull();
        expect(r.broker_order_id).toBeNull();
      }
    }
  }
}

/** After a round, passed or not: the halt released, and nothing of it left working for the next. */
async function endRound() {
  await rt.halts.release({ scope: 'desk', tenantId: fx.tenantId, actor: trader() });
  await fx.owner`update outbox set dispatched_at = now() where dispatched_at is null`;
  await fx.owner`update orders set status = 'cancelled'
    where status in ('pending_new', 'new', 'partially_filled', 'pending_cancel', 'unknown')`;
}

describe('orders are locked in id order by every transaction that locks several', () => {
  const rounds: Round[] = [
    { seed: 1, queue: ['run', 'halt', 'dispatcher'], reports: 'reversed', places: 'reversed' },
    { seed: 2, queue: ['halt', 'dispatcher', 'run'], reports: 'shuffled', places: 'reversed' },
    { seed: 3, queue: ['dispatcher', 'run', 'halt'], reports: 'reversed', places: 'shuffled' },
    { seed: 4, queue: ['halt', 'run', 'dispatcher'], reports: 'shuffled', places: 'shuffled' },
    { seed: 5, queue: null, reports: 'reversed', places: 'shuffled' },
  ];
  for (const r of rounds)
    it(`a report run, the halt's cancel and the dispatcher's broker-id write (${r.queue ? `queued ${r.queue.join(', ')}, let go together` : 'started together'}; reports ${r.reports}, places ${r.places}): no deadlock, every order ends cancelled`, async () => {
      try {
        await raceRound(r);
      } finally {
        await endRound();
      }
    }, 20_000);
});
