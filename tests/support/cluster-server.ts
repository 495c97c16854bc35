import { createLogger } from '@aegis/shared/logging';
import { startServer } from '../../server/src/http.ts';
import { announceReady, childServerConfig } from '../../server/tests/integration/support/child-server.ts';

/**
 * One server process of a test cluster (`node cluster-server.ts`), wired as a deployment runs
 * each replica: its own rate limiter and login throttle (Redis, shared by the replicas), signal
 * consumer (its own consumer name in the shared group), decision agent and execution runtime
 * (dispatch leases in PostgreSQL). The database, Redis prefix, limits and lease timings come from
 * the environment; it prints `{"ready":true,"url":…,"pid":…}` once it listens. Tests kill it with
 * SIGKILL to show the other replicas carry on.
 */
const env = process.env;
const name = env.REPLICA ?? 'x';
const config = childServerConfig({
  RATE_LIMIT_WINDOW_SECONDS: env.RATE_LIMIT_WINDOW_SECONDS ?? '60',
  RATE_LIMIT_READS: env.RATE_LIMIT_READS ?? '600',
  RATE_LIMIT_MUTATIONS: env.RATE_LIMIT_MUTATIONS ?? '120',
});
const log = createLogger({ name: `replica-${name}`, level: 'warn' });
const server = await startServer({
  config,
  log,
  redisKeyPrefix: env.REDIS_PREFIX ?? 'aegis-test',
  timeseriesUpkeep: false,
  hedging: false,
  alerts: false,
  decisions: {
    consumerName: `server-${name}`,
    // A dead replica's undelivered signals are claimed by a live one within a second.
    claimIdleMs: 1_000,
    claimEveryMs: 250,
    expirySweepMs: 500,
  },
  execution: {
    holderId: name,
    leaseTtlMs: Number(env.LEASE_TTL_MS ?? '3000'),
    leaseRenewMs: Number(env.LEASE_RENEW_MS ?? '500'),
    outboxIntervalMs: 200,
    equityIntervalMs: Number(env.EQUITY_INTERVAL_MS ?? '3600000'),
    reconcileIntervalMs: 3_600_000,
    venueRefreshMs: 250,
  },
});
announceReady(server);
