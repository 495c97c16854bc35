import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import type { Db } from '../db/database.ts';
import type { ServerConfig } from '../env.ts';
import { type DecisionStreams, decisionStreams } from '../signals/streams.ts';

/**
 * The decision path's long-lived parts, one per server instance: stream names, the signal
 * consumer and the decision agent. `startServer` builds it and closes it on shutdown.
 */
export interface DecisionsRuntime {
  readonly streams: DecisionStreams;
  close(): Promise<void>;
}

export interface DecisionsRuntimeOptions {
  readonly config: ServerConfig;
  readonly db: Db;
  readonly bus: Bus;
  readonly log: Logger;
  /** Stream/channel prefix (`aegis` in production). */
  readonly prefix?: string;
}

export async function startDecisions(options: DecisionsRuntimeOptions): Promise<DecisionsRuntime> {
  const streams = decisionStreams(options.prefix);
  return {
    streams,
    async close() {},
  };
}

/** The runtime a context carries, or the production stream names when none was wired. */
export function streamsOf(ctx: { decisions?: DecisionsRuntime }): DecisionStreams {
  return ctx.decisions?.streams ?? decisionStreams();
}
