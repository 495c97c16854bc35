/**
 * Halt → engine: how long until the engine's HaltListener sees a global engage/release?
 *
 *   node bench/halt-propagation.ts     (prints a table; writes bench/results/halt-propagation.json)
 *   BENCH_RUNS=20 BENCH_POLL_MS=1000 node bench/halt-propagation.ts
 *
 * The switch is flipped by the server's own Halts (commit row + audit, cancel sweep, publish)
 * against a fresh migrated database as the application role; the listener reads as the
 * application role too. Two paths:
 *   - pubsub: real Redis. The Halts' publish is redirected from `aegis:halt` to a channel of
 *     this run's own, so other processes on the machine never see the bench's halts.
 *   - poll only: the Halts' publish is dropped (Redis down / message lost), so only the
 *     `halts` poll every BENCH_POLL_MS (ENGINE_HALT_POLL_MS, default 1000) can see it.
 * Per flip: call → seen (from just before `engage()`/`release()` is called to the listener's
 * change callback) and the listener's own figure (switch time in the message / row → seen, what
 * `aegis_engine_halt_propagation_seconds` exports).
 */
import { randomBytes } from 'node:crypto';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import type { Bus } from '@aegis/shared/bus/types';
import { createDb } from '@aegis/shared/db/client';
import { asTenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { createMigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres from 'postgres';
import { HALT_CHANNEL, HaltListener, type HaltTransition } from '../engine/src/halt/halt-listener.ts';
import { QuoteBook } from '../server/src/brokers/quote-book.ts';
import { Halts } from '../server/src/execution/halt.ts';

const machine = machineInfo();
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 1000);
const log = createLogger({ name: 'bench', level: 'silent' });
const channel = `bench-halt:${Date.now().toString(36)}:${randomBytes(3).toString('hex')}`;

/** The same bus, with `aegis:halt` publishes redirected (or dropped). */
function redirect(bus: Bus, to: string | null): Bus {
  return new Proxy(bus, {
    get(target, prop) {
      if (prop === 'publish') {
        return async (c: string, m: string) =>
          c !== HALT_CHANNEL ? target.publish(c, m) : to === null ? 0 : target.publish(to, m);
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

interface Sample {
  readonly path: 'pubsub' | 'poll';
  readonly action: 'engage' | 'release';
  readonly callToSeenMs: number;
  readonly listenerPropagationMs: number | null;
  readonly seenVia: string;
}

const db = await createMigratedTestDatabase('aegis_bench');
const server = createDb(db.appUrl, { max: 4 });
const engineSql = postgres(db.appUrl, { max: 2, onnotice: () => {} });
const redisPub = new RedisBus(TEST_REDIS_URL, { log });
const redisSub = new RedisBus(TEST_REDIS_URL, { log });
const samples: Sample[] = [];
const actor = { type: 'system' as const, id: 'bench' };
const tenantId = asTenantId('00000000-0000-4000-8000-000000000001');

try {
  for (const path of ['pubsub', 'poll'] as const) {
    let waiter: ((t: HaltTransition) => void) | null = null;
    const listener = new HaltListener({
      bus: redisSub,
      sql: engineSql,
      pollMs: POLL_MS,
      log,
      channel,
      onChange: (t) => waiter?.(t),
    });
    await listener.start();
    const ks = new Halts(
      {
        db: server.db,
        bus: redirect(redisPub, path === 'pubsub' ? channel : null),
        quotes: new QuoteBook(),
        log,
      },
      () => {},
    );
    for (let i = 0; i < RUNS; i++) {
      for (const action of ['engage', 'release'] as const) {
        // Spread the flips over the poll phase (otherwise every poll-only sample lands at the same offset).
        await new Promise((r) => setTimeout(r, 20 + Math.random() * POLL_MS));
        const seen = new Promise<HaltTransition>((resolve) => {
          waiter = resolve;
        });
        const t0 = performance.now();
        if (action === 'engage') await ks.engage({ scope: 'global', tenantId, actor, reason: 'bench' });
        else await ks.release({ scope: 'global', tenantId, actor });
        const t = await seen;
        samples.push({
          path,
          action,
          callToSeenMs: performance.now() - t0,
          listenerPropagationMs: t.propagationSeconds === null ? null : t.propagationSeconds * 1000,
          seenVia: t.via,
        });
      }
    }
    await listener.stop();
  }
} finally {
  await redisPub.close();
  await redisSub.close();
  await engineSql.end();
  await server.close();
  await db.drop();
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const round = (x: number) => Math.round(x * 100) / 100;
const rows = (['pubsub', 'poll'] as const).flatMap((path) =>
  (['engage', 'release'] as const).map((action) => {
    const s = samples.filter((x) => x.path === path && x.action === action);
    const call = s.map((x) => x.callToSeenMs);
    const prop = s.flatMap((x) => (x.listenerPropagationMs === null ? [] : [x.listenerPropagationMs]));
    return {
      path: path === 'poll' ? `poll only (${POLL_MS} ms)` : 'pub/sub (Redis)',
      action,
      n: s.length,
      seenVia: [...new Set(s.map((x) => x.seenVia))].join(','),
      callToSeenP50Ms: round(pct(call, 50)),
      callToSeenP95Ms: round(pct(call, 95)),
      callToSeenMaxMs: round(Math.max(...call)),
      switchToSeenP50Ms: round(pct(prop, 50)),
      switchToSeenMaxMs: round(Math.max(...prop)),
    };
  }),
);
console.table(rows);
writeBenchResult('halt-propagation', {
  question: 'Global halt (server Halts) → engine HaltListener: pub/sub vs poll only',
  machine,
  runs: RUNS,
  pollMs: POLL_MS,
  rows,
  at: new Date().toISOString(),
});
