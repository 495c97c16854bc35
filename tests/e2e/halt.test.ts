import { randomBytes, randomUUID } from 'node:crypto';
import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { RedisBus } from '@aegis/shared/bus/redis-bus';
import { createDb } from '@aegis/shared/db/client';
import { asTenantId } from '@aegis/shared/ids';
import { createLogger } from '@aegis/shared/logging';
import { signalStreamEntrySchema } from '@aegis/shared/schemas/signal';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadEngineConfig } from '../../engine/src/config.ts';
import {
  HALT_CHANNEL,
  HaltListener,
  type HaltListenerOptions,
  type HaltTransition,
} from '../../engine/src/halt/halt-listener.ts';
import { startHttpServer } from '../../engine/src/http.ts';
import { startEngine } from '../../engine/src/index.ts';
import { FIXTURE_TICKS } from '../../engine/tests/fixtures/make-replay-fixture.ts';
import { replayFixtureEnv } from '../../engine/tests/support/replay-env.ts';
import { QuoteBook } from '../../server/src/brokers/quote-book.ts';
import { Halts } from '../../server/src/execution/halt.ts';
import { HALT_CHANNEL as SERVER_HALT_CHANNEL } from '../../server/src/execution/types.ts';

/**
 * The engine hears the halt: pub/sub (`aegis:halt`, the server's message) for speed and
 * the `halts` row in PostgreSQL as the truth. Real PostgreSQL (fresh migrated database;
 * the engine reads as the application role, like in production), real Redis on a channel of
 * this file's own (the real `aegis:halt` is shared with every other process on the machine),
 * and the in-process bus where the server's own Halts publishes on the real channel name.
 * No timing thresholds: waits are "until it happens"; latency figures live in
 * bench/halt-propagation.ts.
 */
const log = createLogger({ name: 'halt-test', level: 'silent' });
const channel = `halt-test:${Date.now().toString(36)}:${randomBytes(3).toString('hex')}:halt`;
const WAIT = { timeout: 10_000, interval: 5 };

let db: MigratedTestDatabase;
let owner: postgres.Sql;
let app: postgres.Sql;
let redisPub: RedisBus;
let redisSub: RedisBus;

beforeAll(async () => {
  db = await createMigratedTestDatabase();
  owner = postgres(db.url, { max: 2, onnotice: () => {} });
  app = postgres(db.appUrl, { max: 2, onnotice: () => {} });
  redisPub = new RedisBus(TEST_REDIS_URL, { log });
  redisSub = new RedisBus(TEST_REDIS_URL, { log });
});
afterAll(async () => {
  await redisPub?.close();
  await redisSub?.close();
  await app?.end();
  await owner?.end();
  await db?.drop();
});
beforeEach(async () => {
  await owner`delete from halts`;
});

/** Writes the global row as the owner, the way the server's upsert leaves it; returns its time. */
async function setGlobal(engaged: boolean, reason: string | null = null): Promise<Date> {
  const now = new Date();
  await owner`
    insert into halts (scope, tenant_id, engaged, reason, engaged_at, released_at, updated_at)
    values ('global', null, ${engaged}, ${reason}, ${engaged ? now : null}, ${engaged ? null : now}, ${now})
    on conflict (scope, coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid))
    do update set engaged = excluded.engaged, reason = coalesce(excluded.reason, halts.reason),
                  engaged_at = coalesce(excluded.engaged_at, halts.engaged_at),
                  released_at = coalesce(excluded.released_at, halts.released_at),
                  updated_at = excluded.updated_at`;
  return now;
}

/** The server's message (server/src/execution/halt.ts #publish). */
const message = (
  engaged: boolean,
  ts: Date,
  scope: 'global' | 'desk' = 'global',
  tenantId: string | null = null,
) => JSON.stringify({ scope, tenantId, engaged, ts: ts.toISOString() });

async function listen(
  o: Partial<HaltListenerOptions> & Pick<HaltListenerOptions, 'bus' | 'pollMs'>,
): Promise<{ listener: HaltListener; seen: HaltTransition[] }> {
  const seen: HaltTransition[] = [];
  const listener = new HaltListener({ sql: app, log, channel, onChange: (t) => seen.push(t), ...o });
  await listener.start();
  return { listener, seen };
}

describe('engine halt listener', () => {
  it('uses the channel the server publishes on', () => {
    expect(HALT_CHANNEL).toBe(SERVER_HALT_CHANNEL);
  });

  it('pub/sub flips the state at once (the poll idle), and back on release', async () => {
    const { listener, seen } = await listen({ bus: redisSub, pollMs: 600_000 });
    try {
      expect(listener.state()).toEqual({ global: false, since: null, reason: null });
      expect(listener.status().subscribed).toBe(true);

      const engagedAt = await setGlobal(true, 'flash crash');
      await redisPub.publish(channel, message(true, engagedAt));
      await vi.waitFor(() => expect(listener.isHalted()).toBe(true), WAIT);
      expect(seen[0]).toMatchObject({ global: true, via: 'pubsub', since: engagedAt.toISOString() });
      expect(seen[0]?.propagationSeconds).toBeGreaterThanOrEqual(0);
      // The confirming read fills in the reason from the row.
      await vi.waitFor(() => expect(listener.state().reason).toBe('flash crash'), WAIT);

      const releasedAt = await setGlobal(false);
      await redisPub.publish(channel, message(false, releasedAt));
      await vi.waitFor(() => expect(listener.isHalted()).toBe(false), WAIT);
      expect(seen.map((t) => [t.global, t.via])).toEqual([
        [true, 'pubsub'],
        [false, 'pubsub'],
      ]);
      expect(listener.state()).toEqual({ global: false, since: releasedAt.toISOString(), reason: null });
      expect(listener.metrics()).toMatchObject({ messages: 2, transitions: { pubsub: 2, poll: 0 } });
    } finally {
      await listener.stop();
    }
  });

  it('with pub/sub silent the database poll flips it, ignoring desk rows it cannot see', async () => {
    const tenantId = randomUUID();
    await owner`insert into tenants (id, slug, name) values (${tenantId}, ${`halt-${tenantId.slice(0, 8)}`}, 'halt test')`;
    await owner`insert into halts (scope, tenant_id, engaged, reason, engaged_at)
                values ('desk', ${tenantId}, true, 'desk only', now())`;
    const { listener, seen } = await listen({ bus: redisSub, pollMs: 50 });
    try {
      // A desk halt is the server's to enforce per order; the engine (no desk set) never sees it.
      const polls = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const before = listener.status().checkedAt;
          await vi.waitFor(() => expect(listener.status().checkedAt).not.toBe(before), WAIT);
        }
      };
      await polls(2);
      expect(listener.isHalted()).toBe(false);

      const engagedAt = await setGlobal(true, 'db only');
      await vi.waitFor(() => expect(listener.isHalted()).toBe(true), WAIT);
      expect(seen[0]).toMatchObject({
        global: true,
        via: 'poll',
        reason: 'db only',
        since: engagedAt.toISOString(),
      });
      expect(seen[0]?.propagationSeconds).toBeGreaterThanOrEqual(0);

      await setGlobal(false);
      await vi.waitFor(() => expect(listener.isHalted()).toBe(false), WAIT);
      expect(seen.map((t) => [t.global, t.via])).toEqual([
        [true, 'poll'],
        [false, 'poll'],
      ]);
      expect(listener.metrics().messages).toBe(0);
    } finally {
      await listener.stop();
    }
  });

  it('PostgreSQL is the truth: a message the row does not back is undone by the next read', async () => {
    const { listener, seen } = await listen({ bus: redisSub, pollMs: 600_000 });
    try {
      await redisPub.publish(channel, message(true, new Date()));
      await vi.waitFor(() => expect(seen).toHaveLength(2), WAIT);
      expect(seen.map((t) => [t.global, t.via])).toEqual([
        [true, 'pubsub'],
        [false, 'poll'],
      ]);
      expect(listener.isHalted()).toBe(false);
      // Desk messages and garbage are ignored.
      await redisPub.publish(channel, message(true, new Date(), 'desk', randomUUID()));
      await redisPub.publish(channel, 'not json');
      await redisPub.publish(channel, message(false, new Date())); // a later marker
      await vi.waitFor(() => expect(listener.metrics().messages).toBe(2), WAIT);
      expect(seen).toHaveLength(2);
    } finally {
      await listener.stop();
    }
  });

  it("the server's Halts (engage/release global, app role) reaches the engine over the bus", async () => {
    const bus = new MemoryBus();
    const server = createDb(db.appUrl, { max: 2 });
    const ks = new Halts({ db: server.db, bus, quotes: new QuoteBook(), log }, () => {});
    const { listener, seen } = await listen({ bus, pollMs: 600_000, channel: SERVER_HALT_CHANNEL });
    const actor = { type: 'system' as const, id: 'halt-test' };
    const tenantId = asTenantId(randomUUID());
    try {
      await ks.engage({ scope: 'global', tenantId, actor, reason: 'server engage' });
      await vi.waitFor(() => expect(listener.isHalted()).toBe(true), WAIT);
      expect(seen[0]).toMatchObject({ global: true, via: 'pubsub' });
      await vi.waitFor(() => expect(listener.state().reason).toBe('server engage'), WAIT);

      await ks.release({ scope: 'global', tenantId, actor });
      await vi.waitFor(() => expect(listener.isHalted()).toBe(false), WAIT);
      expect(seen.map((t) => [t.global, t.via])).toEqual([
        [true, 'pubsub'],
        [false, 'pubsub'],
      ]);
    } finally {
      await listener.stop();
      await server.close();
      await bus.close();
    }
  });
});

describe('engine under a global halt', () => {
  const runEngine = async (prefix: string) => {
    const config = loadEngineConfig(
      replayFixtureEnv({
        DATABASE_URL: db.appUrl,
        ENGINE_SIGNAL_MIN_SCORE: '0',
        ENGINE_STREAM_PREFIX: prefix,
        ENGINE_HALT_POLL_MS: '50',
      }),
    );
    const bus = new MemoryBus();
    const engine = await startEngine({ config, bus, log });
    await engine.feedsDone;
    return { engine, bus };
  };

  it('keeps ingesting and persisting, marks every signal halted=true, and shows it in /health and /metrics', async () => {
    await setGlobal(true, 'engine test');
    const { engine, bus } = await runEngine('halted:');
    const http = await startHttpServer({ engine, host: '127.0.0.1', port: 0, log });
    try {
      expect(engine.halt()).toMatchObject({ global: true, reason: 'engine test', via: 'poll' });
      const health = (await (await fetch(`http://127.0.0.1:${http.port}/health`)).json()) as {
        status: string;
        halt: { global: boolean; reason: string };
      };
      expect(health).toMatchObject({ status: 'ok', halt: { global: true, reason: 'engine test' } });
      const metrics = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
      expect(metrics).toContain('aegis_engine_halted{scope="global"} 1');

      const report = await engine.stop();
      expect(report).toMatchObject({ ticksIn: FIXTURE_TICKS, ticksPersisted: FIXTURE_TICKS, ticksLost: 0 });
      expect(report.signalsOut).toBeGreaterThan(0);
      const entries = await bus.range('halted:signals');
      expect(entries).toHaveLength(report.signalsOut);
      for (const e of entries) {
        expect(e.fields.halted).toBe('true');
        // The server's consumer still parses it (the field is additive).
        expect(signalStreamEntrySchema.safeParse(e.fields).success).toBe(true);
      }
      expect(engine.metricsText()).toContain(`aegis_engine_signals_halted_total ${report.signalsOut}`);
    } finally {
      await http.close();
      await engine.stop();
      await bus.close();
    }
  });

  it('after release the signals carry halted=false', async () => {
    await setGlobal(false);
    await owner`delete from engine_cursors`; // replay the fixture again from the start
    const { engine, bus } = await runEngine('released:');
    try {
      expect(engine.halt()).toMatchObject({ global: false });
      expect(engine.metricsText()).toContain('aegis_engine_halted{scope="global"} 0');
      const report = await engine.stop();
      const entries = await bus.range('released:signals');
      expect(entries.length).toBeGreaterThan(0);
      expect(entries).toHaveLength(report.signalsOut);
      expect(entries.every((e) => e.fields.halted === 'false')).toBe(true);
    } finally {
      await engine.stop();
      await bus.close();
    }
  });
});
