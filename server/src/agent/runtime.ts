import { hostname } from 'node:os';
import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import type { SignalView } from '@aegis/shared/schemas/signal';
import type { Db } from '../db/database.ts';
import type { ServerConfig } from '../env.ts';
import { SignalConsumer } from '../signals/consumer.ts';
import { type DecisionStreams, decisionStreams } from '../signals/streams.ts';

/**
 * The decision path's long-lived parts, one per server instance: stream names, the signal
 * consumer and the decision agent. `startServer` builds it and closes it on shutdown.
 */
export interface DecisionsRuntime {
  readonly streams: DecisionStreams;
  readonly consumer: SignalConsumer | null;
  close(): Promise<void>;
}

/** Knobs for tests and operators. */
export interface DecisionsTuning {
  /** false: no signal consumer in this instance (another instance or a tool consumes). */
  readonly consumeSignals?: boolean;
  /** Consumer name in group `server`; default `server-<hostname>` (stable across restarts). */
  readonly consumerName?: string;
  readonly claimIdleMs?: number;
  readonly claimEveryMs?: number;
  readonly maxDeliveries?: number;
}

export interface DecisionsRuntimeOptions {
  readonly config: ServerConfig;
  readonly db: Db;
  readonly bus: Bus;
  readonly log: Logger;
  /** Stream/channel prefix (`aegis` in production). */
  readonly prefix?: string;
  readonly tuning?: DecisionsTuning;
}

export async function startDecisions(options: DecisionsRuntimeOptions): Promise<DecisionsRuntime> {
  const { db, bus, tuning = {} } = options;
  const log = options.log.child({ component: 'decisions' });
  const streams = decisionStreams(options.prefix);
  let consumer: SignalConsumer | null = null;
  if (tuning.consumeSignals !== false) {
    consumer = new SignalConsumer({
      bus,
      db,
      log,
      streams,
      consumer: tuning.consumerName ?? `server-${hostname()}`,
      ...(tuning.claimIdleMs !== undefined ? { claimIdleMs: tuning.claimIdleMs } : {}),
      ...(tuning.claimEveryMs !== undefined ? { claimEveryMs: tuning.claimEveryMs } : {}),
      ...(tuning.maxDeliveries !== undefined ? { maxDeliveries: tuning.maxDeliveries } : {}),
      onStored: async (_signal: SignalView, _firstTime: boolean) => {},
    });
    await consumer.start();
  }
  return {
    streams,
    consumer,
    async close() {
      await consumer?.stop();
    },
  };
}

/** The runtime a context carries, or the production stream names when none was wired. */
export function streamsOf(ctx: { decisions?: DecisionsRuntime }): DecisionStreams {
  return ctx.decisions?.streams ?? decisionStreams();
}
