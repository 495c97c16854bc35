import type { Bus } from '@aegis/shared/bus/types';
import { withDeadline } from '@aegis/shared/deadline';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import type { EngineConfig } from '../config.ts';
import { OwnedConnection, ownConnection } from '../db/owned-connection.ts';
import type { InferenceThreadHandle } from '../inference/inference-thread.ts';
import { RingProgress } from '../ring/ring-progress.ts';
import type { ShardCoordinator } from '../shards/shard-coordinator.ts';
import type { WriterThreadHandle } from '../writer/writer-thread.ts';
import type { EngineMemory } from './memory.ts';

/** Readiness probes of the database and the bus (each bounded by ENGINE_DB_TIMEOUT_MS). */
const READY_PROBE_MS = 1000;

export interface EngineReadiness {
  /** Each check by name; the engine is ready when every one is true. */
  readiness(): Readonly<Record<string, boolean>>;
  stop(): void;
}

/**
 * Stage 9: what `/health/ready` reports. The database and the bus are probed on a timer (bounded
 * — a stalled server answers nothing — and never overlapping); the ring consumers are sampled on
 * the same timer (ring/ring-progress.ts).
 */
export async function startReadiness(options: {
  config: EngineConfig;
  bus: Bus;
  sql: Sql | undefined;
  log: Logger;
  memory: EngineMemory;
  writer: WriterThreadHandle | null;
  inference: InferenceThreadHandle;
  /** False once shutdown has begun. */
  accepting: () => boolean;
  /** The order-flow shard leases (sharded cluster only). */
  shards?: () => ShardCoordinator | null;
}): Promise<EngineReadiness> {
  const { config, bus, sql, log, memory, writer } = options;
  // The hot path's consumers: feature pool (tick rings), inference (candidate rings), signal
  // publisher (scored ring). The writer's own cursor has its own check (lag and connection).
  const ringProgress = new RingProgress(
    [
      ...memory.tickRings.map((ring, i) => ({ name: `tick[${i}]/features`, ring, consumer: 0 })),
      ...memory.candidateRings.map((ring, i) => ({ name: `candidate[${i}]/inference`, ring, consumer: 0 })),
      { name: 'scored/signals', ring: memory.scoredRing, consumer: 0 },
    ],
    config.readyMaxRingStallMs,
  );
  let stalledRings: string[] = [];
  const ringsFlowing = () => {
    const stalled = ringProgress.stalled();
    if (stalled.join() !== stalledRings.join()) {
      // Once per change, not per probe.
      if (stalled.length > 0) log.warn({ stalled }, 'engine: ring consumers stalled; not ready');
      else log.info({ recovered: stalledRings }, 'engine: ring consumers moving again');
    }
    stalledRings = stalled;
    return stalled.length === 0;
  };

  const health = { bus: false, db: !sql };
  // The database probe runs on a connection of its own (as the halt poll and the signal insert
  // do): a probe that met its deadline leaves that connection mid-query, or silent for good after
  // a stalled network, so it is replaced for the next probe. On the shared pool each such probe
  // kept one of its four connections, until none was left for the cursors and the shard leases.
  const url = sql ? config.databaseUrl : undefined;
  const probeDb = new OwnedConnection(
    url
      ? {
          connect: () =>
            ownConnection(url, { applicationName: 'aegis-engine-ready', dbTimeoutMs: config.dbTimeoutMs }),
        }
      : { sql },
  );
  let probing = false;
  let stopped = false;
  const probe = async () => {
    if (probing) return;
    probing = true;
    const ok = (p: Promise<unknown>) =>
      withDeadline(p, config.dbTimeoutMs, 'probe').then(
        () => true,
        () => false,
      );
    try {
      health.bus = await ok(bus.ping());
      const db = stopped ? undefined : probeDb.open();
      if (db) {
        health.db = await ok(db`select 1`);
        if (!health.db && !stopped) probeDb.replace();
      }
    } finally {
      probing = false;
    }
  };
  await probe();
  const timer = setInterval(() => {
    // Sampled on the timer, not only when /health/ready is asked: the wait is timed from here.
    ringProgress.sample();
    void probe();
  }, READY_PROBE_MS);
  timer.unref();

  const writerHealthy = () => {
    if (!writer) return true;
    const w = writer.stats();
    return w.dbConnected && w.lagSeconds * 1000 <= config.readyMaxWriterLagMs;
  };
  return {
    readiness: () => ({
      // False while a consumer has left records waiting past ENGINE_READY_MAX_RING_STALL_MS.
      rings: ringsFlowing(),
      inference: options.inference.stats().running,
      // Not ready while the writer cannot reach the database or falls behind by more than the
      // configured bound: a load balancer or supervisor must not trust an engine that stores nothing.
      writer: writerHealthy(),
      db: health.db,
      bus: health.bus,
      accepting: options.accepting(),
      // Sharded order flow: false after a lease round that could not reach the database (the
      // shards this engine holds lapse within the TTL). Owning no shard is ready: more engines
      // than shards, or waiting for a handover. Which shards are owned: /metrics.
      ...(options.shards?.() ? { shards: (options.shards() as ShardCoordinator).stats().healthy } : {}),
    }),
    stop: () => {
      stopped = true;
      clearInterval(timer);
      void probeDb.end(0);
    },
  };
}
