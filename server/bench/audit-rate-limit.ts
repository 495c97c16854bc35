/**
 * What the audit chain and the rate limiter cost per request, each beside a naive baseline:
 *   audit: record() (advisory lock + head read + chained insert) vs a plain INSERT of the same row;
 *          sequential (latency) and 50 concurrent writers on one desk (the chain serializes them);
 *          verify() speed.
 *   rate limit: the sliding-window Lua script vs a fixed-window INCR+PEXPIRE.
 * Real PostgreSQL and Redis (TEST_DATABASE_URL / TEST_REDIS_URL); writes bench/results/audit-rate-limit.json.
 */
import { randomUUID } from 'node:crypto';
import { createDb, withTenant } from '@aegis/shared/db/client';
import { asTenantId } from '@aegis/shared/ids';
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { createMigratedTestDatabase } from '@aegis/shared/testing/database';
import { TEST_REDIS_URL } from '@aegis/shared/testing/services';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { audit } from '../src/audit/service.ts';
import { createRateLimitRedis, waitForRedisReady } from '../src/rate-limit/redis-client.ts';
import { RedisWindowStore } from '../src/rate-limit/window-store.ts';

const machine = machineInfo();
const N = Number(process.argv[2] ?? 2000);
const rows: { case: string; ops: number; ms: number; perOpUs: number; opsPerSec: number }[] = [];
function report(name: string, ops: number, ms: number) {
  rows.push({
    case: name,
    ops,
    ms: Math.round(ms),
    perOpUs: Math.round((ms * 1000) / ops),
    opsPerSec: Math.round((ops / ms) * 1000),
  });
}

const database = await createMigratedTestDatabase('aegis_test_bench');
const owner = postgres(database.url, { max: 1, onnotice: () => {} });
const app = createDb(database.appUrl, { max: 20 });
const redis = createRateLimitRedis(TEST_REDIS_URL);
try {
  const tenant = asTenantId(randomUUID());
  await owner`insert into tenants (id, slug, name) values (${tenant}, 'bench', 'Bench')`;
  const actor = { type: 'user' as const, id: randomUUID() };
  const payload = { symbol: 'BTC-USD', side: 'buy', qty: '0.5', limitPrice: '64000.00' };

  let t = performance.now();
  for (let i = 0; i < N; i++) {
    await withTenant(app.db, tenant, (tx) =>
      tx.execute(sql`insert into audit_log (tenant_id, seq, actor_type, actor_id, action, payload_digest, prev_hash, hash)
                     values (${tenant}, ${-1 - i}, 'user', ${actor.id}, 'orders.place', 'x', 'x', 'x')`),
    );
  }
  report('baseline: plain INSERT in a tenant tx (sequential)', N, performance.now() - t);
  await owner`delete from audit_log where tenant_id = ${tenant}`;

  t = performance.now();
  for (let i = 0; i < N; i++) {
    await withTenant(app.db, tenant, (tx) =>
      audit.record(tx, { action: 'orders.place', actor, targetType: 'order', targetId: String(i), payload }),
    );
  }
  report('audit.record in a tenant tx (sequential)', N, performance.now() - t);

  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < N) {
        next++;
        await withTenant(app.db, tenant, (tx) =>
          audit.record(tx, { action: 'orders.place', actor, payload }),
        );
      }
    }),
  );
  report('audit.record, 50 concurrent writers, one desk', N, performance.now() - t);

  t = performance.now();
  const v = await withTenant(app.db, tenant, (tx) => audit.verify(tx, { tenantId: tenant }));
  if (!v.ok) throw new Error('chain broken');
  report('audit.verify (rows walked)', v.rows, performance.now() - t);

  if (!(await waitForRedisReady(redis))) throw new Error('redis not ready');
  const store = new RedisWindowStore(redis);
  const prefix = `aegis-bench:${randomUUID()}`;
  t = performance.now();
  for (let i = 0; i < N; i++)
    await redis.multi().incr(`${prefix}:fixed`).pexpire(`${prefix}:fixed`, 60_000).exec();
  report('baseline: fixed window INCR+PEXPIRE (sequential)', N, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < N; i++) await store.hit(`${prefix}:slide`, 1_000_000, 60_000);
  report('sliding window Lua (sequential)', N, performance.now() - t);
  t = performance.now();
  await Promise.all(Array.from({ length: N }, () => store.hit(`${prefix}:slide2`, 1_000_000, 60_000)));
  report('sliding window Lua (all concurrent, pipelined)', N, performance.now() - t);
  await redis.del(`${prefix}:fixed`, `${prefix}:slide`, `${prefix}:slide2`);
} finally {
  await app.close();
  await owner.end();
  redis.disconnect();
  await database.drop();
}

console.table(rows);
writeBenchResult('audit-rate-limit', {
  question: 'audit chain and rate limiter cost per request, each beside a naive baseline',
  machine,
  n: N,
  rows,
  at: new Date().toISOString(),
});
