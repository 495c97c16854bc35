import { OrderflowStreamProducer, orderflowStream } from '@aegis/shared/shards/orderflow-shards';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { describe, expect, it } from 'vitest';
import { daemonTestBed } from '../../engine/tests/support/daemon-test-bed.ts';
import type { EngineDaemon } from '../../engine/tests/support/engine-daemon.ts';
import { until } from '../../engine/tests/support/wait.ts';

/**
 * Three engine daemons (`node engine/src/main.ts`, as systemd runs them) share six order-flow
 * shards through leases in a real PostgreSQL, reading real Redis streams. A producer writes a
 * known sequence of events across every shard; one engine is killed with SIGKILL mid-stream.
 * Its shards must move to the survivors within 10 s, and every event must be scored exactly once:
 * one row in `ticks` per event (none missing), and no engine ever met an event twice (the ticks
 * table's key would refuse a second copy; the engines count such refusals, and they must be 0).
 * Then the killed engine comes back and takes its share again. Last, an engine paused (SIGSTOP)
 * past its lease loses its shards and, woken, exits without committing anything more.
 */
const SHARDS = 6;
const SYMBOLS = Array.from({ length: 24 }, (_, i) => `SH${String(i).padStart(2, '0')}`);

const bed = daemonTestBed('shards-test');
const { prefix, bus } = bed;

type Engine = EngineDaemon & { name: string };

/** An engine named `name` reading the order-flow shards, with short leases. */
function spawnEngine(name: string): Engine {
  const d = bed.spawn({
    DATABASE_URL: bed.db.appUrl,
    REDIS_URL: TEST_REDIS_URL,
    ENGINE_FEED: 'orderflow',
    ENGINE_STREAM_PREFIX: prefix,
    ENGINE_CONSUMER: name,
    ENGINE_ORDERFLOW_SHARDS: String(SHARDS),
    ENGINE_SHARD_LEASE_TTL_MS: '3000',
    ENGINE_SHARD_RENEW_MS: '500',
    ENGINE_SHARDS: '1',
    ENGINE_WORKERS: '1',
    ENGINE_SYMBOLS: '64',
    ENGINE_RING_CAPACITY: '8192',
    ENGINE_BACKTEST_WORKERS: '0',
  });
  return { ...d, name };
}

/** Live leases: shard → engine name. */
async function owners(): Promise<Map<number, string>> {
  const rows = await bed.sql<{ shard: number; engine: string }[]>`
    select shard, engine from engine_shard_leases
     where cluster = ${`${prefix}orderflow`} and expires_at > now()`;
  return new Map(rows.map((r) => [r.shard, r.engine]));
}
const countBy = (m: Map<number, string>) => {
  const c: Record<string, number> = {};
  for (const e of m.values()) c[e] = (c[e] ?? 0) + 1;
  return c;
};

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** The producer: `perSymbol` trades for every symbol, seq from `from`, spread over all shards. */
const producer = () => new OrderflowStreamProducer({ bus, prefix, shards: SHARDS });
let produced = 0;
async function produce(
  from: number,
  perSymbol: number,
  onBatch?: (n: number) => Promise<void>,
): Promise<void> {
  const p = producer();
  for (let seq = from; seq < from + perSymbol; seq++) {
    const ts = new Date().toISOString();
    await Promise.all(
      SYMBOLS.map((symbol, i) =>
        p.append({
          ts,
          symbol,
          kind: 'trade',
          seq: String(seq),
          side: seq % 2 === 0 ? 'buy' : 'sell',
          price: (100 + i + (seq % 17) / 100).toFixed(2),
          size: '1',
        }),
      ),
    );
    produced += SYMBOLS.length;
    await onBatch?.(seq - from + 1);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every event so far persisted exactly once: (symbol, seq) present once, nothing else. */
async function scoredExactlyOnce(): Promise<{ rows: number; distinct: number }> {
  const [r] = await bed.sql<{ rows: number; distinct: number }[]>`
    select count(*)::int as rows, count(distinct (symbol, seq))::int as distinct
      from ticks where symbol like 'SH%'`;
  return r as { rows: number; distinct: number };
}

describe('engines scale out by order-flow shard', () => {
  it('three engines share the shards; a SIGKILLed one fails over within 10 s; every event scored once; a rejoining engine takes shards back', {
    timeout: 120_000,
  }, async () => {
    const t0 = Date.now();
    const phases: Record<string, number> = {};
    const phase = (name: string) => {
      phases[name] = Date.now() - t0;
      process.stdout.write(`engine shards: ${name} at ${phases[name]} ms\n`);
    };
    const names = ['engine-a', 'engine-b', 'engine-c'];
    const engines = new Map(names.map((n) => [n, spawnEngine(n)]));
    const ports = new Map<string, number>();
    for (const [n, e] of engines) ports.set(n, await e.port);
    phase('started');

    // Balanced: 2 shards each.
    await until('6 shards spread 2/2/2', async () => {
      const c = countBy(await owners());
      return names.every((n) => c[n] === 2);
    });
    phase('balanced');
    const before = await owners();
    const victimShards = [...before].filter(([, e]) => e === 'engine-b').map(([s]) => s);
    expect(victimShards).toHaveLength(2);

    // Produce; kill engine-b a third of the way in.
    let killedAt = 0;
    let victimDuplicates = 0;
    const victim = engines.get('engine-b') as Engine;
    await produce(0, 120, async (n) => {
      if (n === 40) {
        victimDuplicates = await metric(
          ports.get('engine-b') as number,
          'aegis_engine_ticks_duplicate_total',
        );
        victim.child.kill('SIGKILL');
        killedAt = Date.now();
      }
    });
    expect((await victim.exited).signal).toBe('SIGKILL');
    phase('produced');

    // Failover: every shard owned by a survivor within 10 s of the kill.
    await until(
      "engine-b's shards owned by the survivors",
      async () => {
        const o = await owners();
        return o.size === SHARDS && [...o.values()].every((e) => e !== 'engine-b');
      },
      15_000,
    );
    const failoverMs = Date.now() - killedAt;
    phase('failed over');
    process.stdout.write(`engine shards: failover took ${failoverMs} ms after SIGKILL\n`);
    expect(failoverMs).toBeLessThan(10_000);
    const survivors = countBy(await owners());
    expect(survivors['engine-a']).toBe(3);
    expect(survivors['engine-c']).toBe(3);

    // Exactly once: every event in `ticks` once, and no survivor met one twice.
    await until('every event persisted', async () => (await scoredExactlyOnce()).rows >= produced);
    expect(await scoredExactlyOnce()).toEqual({ rows: produced, distinct: produced });
    for (const n of ['engine-a', 'engine-c'])
      expect(await metric(ports.get(n) as number, 'aegis_engine_ticks_duplicate_total')).toBe(0);
    expect(victimDuplicates).toBe(0);
    // Each shard's committed cursor is its stream's last entry, under a survivor's token.
    for (let k = 0; k < SHARDS; k++) {
      const stream = orderflowStream(prefix, SHARDS, k);
      const [last] = await bus.range(stream, '-', '+').then((e) => e.slice(-1));
      await until(`shard ${k} cursor at its last entry`, async () => {
        const [c] = await bed.sql<{ position: string }[]>`
          select position from engine_cursors where name = ${`feed:orderflow:${stream}`}`;
        return c?.position.endsWith(`/${last?.id}`);
      });
    }

    phase('verified');
    // Rejoin: engine-b comes back; the others hand shards over cleanly until 2/2/2.
    const back = spawnEngine('engine-b');
    engines.set('engine-b', back);
    ports.set('engine-b', await back.port);
    await until(
      'rebalanced to 2/2/2 after the rejoin',
      async () => {
        const c = countBy(await owners());
        return names.every((n) => c[n] === 2);
      },
      20_000,
    );
    phase('rebalanced');
    const readyBody = (await (
      await fetch(`http://127.0.0.1:${ports.get('engine-b')}/health/ready`)
    ).json()) as {
      checks: Record<string, boolean>;
    };
    expect(readyBody.checks.shards).toBe(true);
    expect(await metric(ports.get('engine-b') as number, 'aegis_engine_shards_owned')).toBe(2);

    // More events after the handovers: still exactly once.
    await produce(120, 40);
    await until(
      'every event persisted after the rebalance',
      async () => (await scoredExactlyOnce()).rows >= produced,
    );
    expect(await scoredExactlyOnce()).toEqual({ rows: produced, distinct: produced });
    for (const n of names)
      expect(await metric(ports.get(n) as number, 'aegis_engine_ticks_duplicate_total')).toBe(0);
    const handovers = await Promise.all(
      ['engine-a', 'engine-c'].map((n) =>
        metric(ports.get(n) as number, 'aegis_engine_shard_handovers_total'),
      ),
    );
    expect(handovers.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);

    // A stale owner: engine-c is paused (SIGSTOP) past its TTL, its shards move to the others,
    // then it wakes. It must neither read nor commit under its old tokens: it finds its leases
    // lost and exits 1 (crash-only), and every event is still scored exactly once.
    const paused = engines.get('engine-c') as Engine;
    await produce(160, 10);
    paused.child.kill('SIGSTOP');
    await produce(170, 20);
    await until(
      "paused engine-c's shards owned by the others",
      async () => {
        const c = countBy(await owners());
        return c['engine-a'] === 3 && c['engine-b'] === 3;
      },
      15_000,
    );
    phase('paused owner replaced');
    paused.child.kill('SIGCONT');
    expect((await paused.exited).code).toBe(1);
    expect(paused.lines.some((l) => l.msg === 'engine: a shard lease was lost')).toBe(true);
    // Whether its writer tried to commit under the old token first depends on what it had read
    // when paused; when it did, the cursor fence refused the whole flush.
    const refused = paused.lines.filter((l) => String(l.err ?? '').includes('stale fencing token')).length;
    process.stdout.write(`engine shards: woken stale owner's refused flushes logged: ${refused}\n`);
    await until(
      'every event persisted after the pause',
      async () => (await scoredExactlyOnce()).rows >= produced,
    );
    expect(await scoredExactlyOnce()).toEqual({ rows: produced, distinct: produced });
    for (const n of ['engine-a', 'engine-b'])
      expect(await metric(ports.get(n) as number, 'aegis_engine_ticks_duplicate_total')).toBe(0);

    // SIGTERM: each engine drains, flushes and releases its leases.
    const running = [engines.get('engine-a'), engines.get('engine-b')] as Engine[];
    for (const e of running) e.child.kill('SIGTERM');
    for (const e of running) expect((await e.exited).code).toBe(0);
    expect((await owners()).size).toBe(0);
    phase('stopped');
    process.stdout.write(`engine shards: ms since start ${JSON.stringify(phases)}\n`);
  });
});
