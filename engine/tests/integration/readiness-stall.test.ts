import { MemoryBus } from '@aegis/shared/bus/memory-bus';
import { createLogger } from '@aegis/shared/logging';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadEngineConfig } from '../../src/config.ts';
import { startEngine } from '../../src/index.ts';
import { startStallProxy } from '../support/stall-proxy.ts';
import { until } from '../support/wait.ts';

/**
 * `/health/ready`'s database check through a network that goes silent again and again (a stalled
 * host: every connection open at each moment stops answering, new ones get through). A probe
 * that met its deadline left its connection stuck in the engine's shared pool of four; after four
 * of them the pool had nothing left, and the check stayed false after the network healed (and
 * the cursors and shard leases on that pool waited for good). The probe now has a connection of
 * its own, replaced after a failed probe: ready again as soon as a new connection gets through.
 */
const log = createLogger({ name: 'readiness-stall-test', level: 'silent' });
// Every database call of the engine has this deadline, the writer's startup check included: at
// 300 ms a clean-clone CI run's busy machine once failed that check before the test began.
const DEADLINE_MS = 1000;

let db: MigratedTestDatabase;
beforeAll(async () => {
  db = await createMigratedTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('engine readiness on a stalling network', () => {
  it('reports db not ready during the stalls and ready again once new connections get through', async () => {
    const target = new URL(db.appUrl);
    const proxy = await startStallProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(db.appUrl);
    viaProxy.port = String(proxy.port);
    const config = loadEngineConfig({
      ENGINE_FEED: 'synthetic',
      ENGINE_SYMBOLS: '4',
      ENGINE_SHARDS: '1',
      ENGINE_WORKERS: '1',
      ENGINE_TICK_RATE: '100',
      ENGINE_EXECUTION_PROVIDER: 'cpu',
      ENGINE_DB_TIMEOUT_MS: String(DEADLINE_MS),
      DATABASE_URL: viaProxy.toString(),
      LOG_LEVEL: 'silent',
    });
    const engine = await startEngine({ config, bus: new MemoryBus(), log });
    try {
      await until('db ready', () => engine.readiness().db === true, 10_000);
      // Six rounds: every connection open now goes silent, again and again, longer than four
      // probes with their deadlines — more than the shared pool holds.
      for (let i = 0; i < 6; i++) {
        proxy.stallOpen();
        await until(
          `round ${i}: db not ready`,
          () => engine.readiness().db === false,
          3 * DEADLINE_MS + 3_000,
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
      // The network heals for new connections: the next probe on a fresh one passes.
      await until('db ready again', () => engine.readiness().db === true, 3 * DEADLINE_MS + 5_000);
    } finally {
      await proxy.close();
      await engine.stop();
    }
    // ~27 s on an idle machine: six stalls, each seen by a probe that waits out its deadline.
  }, 120_000);
});
