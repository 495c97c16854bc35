import { createLogger } from '@aegis/shared/logging';
import { startServer } from '../../../src/http.ts';
import { announceReady, childServerConfig } from './child-server.ts';
import { brokerDoubleFactory, brokerDoubleResolvers } from './dispatcher-broker-double.ts';

/**
 * A whole server process for the dispatcher tests (`node dispatcher-server.ts`), as a deployment
 * runs several: the database, Redis prefix, broker double and lease timings come from the
 * environment; it prints `{"ready":true,"url":…}` once it listens. The tests kill it with
 * SIGKILL mid-flow to show another process takes its dispatch leases over.
 */
const env = process.env;
const config = childServerConfig();
const log = createLogger({ name: `dispatcher-${env.HOLDER_ID ?? 'x'}`, level: 'warn' });
const server = await startServer({
  config,
  log,
  redisKeyPrefix: env.REDIS_PREFIX ?? 'aegis-test',
  rateLimiter: null,
  timeseriesUpkeep: false,
  execution: {
    holderId: env.HOLDER_ID ?? 'child',
    leaseTtlMs: Number(env.LEASE_TTL_MS ?? '3000'),
    leaseRenewMs: Number(env.LEASE_RENEW_MS ?? '500'),
    outboxIntervalMs: 200,
    equityIntervalMs: 3_600_000,
    reconcileIntervalMs: 3_600_000,
    brokerTimeoutMs: 2_000,
    adapterFactories: { 'test-http': brokerDoubleFactory },
    connections: brokerDoubleResolvers(env.BROKER_URL ?? ''),
  },
});
announceReady(server);
