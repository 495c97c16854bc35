import { hostname } from 'node:os';
import type { Decider } from '@aegis/shared/agent/decider';
import { OpenAIDecider } from '@aegis/shared/agent/openai-decider';
import { RuleDecider } from '@aegis/shared/agent/rule-decider';
import type { Bus } from '@aegis/shared/bus/types';
import { tenants } from '@aegis/shared/db';
import { asTenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import OpenAI from 'openai';
import type { Db } from '../db/database.ts';
import type { ServerConfig } from '../env.ts';
import { type Embedder, HashingEmbedder, OpenAIEmbedder } from '../lessons/embedder.ts';
import { type OrderExecutor, ProposalWorkflow } from '../proposals/workflow.ts';
import { SignalConsumer } from '../signals/consumer.ts';
import { type DecisionStreams, decisionStreams } from '../signals/streams.ts';
import { DecisionAgent } from './agent.ts';

/**
 * The decision path's long-lived parts, one per server instance: stream names, the signal
 * consumer, the decision agent, the proposal workflow and the lesson embedder. `startServer`
 * builds it and closes it on shutdown. Nothing here keeps state another instance would need:
 * proposals and lessons live in PostgreSQL, live updates travel over the bus.
 */
export interface DecisionsRuntime {
  readonly streams: DecisionStreams;
  readonly consumer: SignalConsumer | null;
  readonly agent: DecisionAgent;
  readonly workflow: ProposalWorkflow;
  readonly embedder: Embedder;
  readonly autonomousEnabled: boolean;
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
  /** Model request timeout and SDK retries. */
  readonly openaiTimeoutMs?: number;
  readonly openaiMaxRetries?: number;
  /** How often pending proposals past expiry are marked expired. */
  readonly expirySweepMs?: number;
  readonly maxSignalAgeMs?: number;
}

export interface DecisionsRuntimeOptions {
  readonly config: ServerConfig;
  readonly db: Db;
  readonly bus: Bus;
  readonly log: Logger;
  /** Stream/channel prefix (`aegis` in production). */
  readonly prefix?: string;
  readonly tuning?: DecisionsTuning;
  /** The execution service, when this process runs one (read at use: it may start later). */
  readonly execution?: () => OrderExecutor | undefined;
}

export function createDecider(config: ServerConfig, log: Logger, tuning: DecisionsTuning = {}): Decider {
  if (!config.openai.apiKey) return new RuleDecider();
  return new OpenAIDecider({
    apiKey: config.openai.apiKey,
    baseUrl: config.openai.baseUrl,
    model: config.openai.model,
    ...(tuning.openaiTimeoutMs !== undefined ? { timeoutMs: tuning.openaiTimeoutMs } : {}),
    ...(tuning.openaiMaxRetries !== undefined ? { maxRetries: tuning.openaiMaxRetries } : {}),
    log,
  });
}

export function createEmbedder(config: ServerConfig): Embedder {
  // Many OpenAI-compatible servers serve chat only: embeddings are opt-in by model name.
  if (!config.openai.apiKey || !config.openai.embeddingModel) return new HashingEmbedder();
  const client = new OpenAI({
    apiKey: config.openai.apiKey,
    ...(config.openai.baseUrl ? { baseURL: config.openai.baseUrl } : {}),
    timeout: 10_000,
    maxRetries: 1,
  });
  return new OpenAIEmbedder(client, config.openai.embeddingModel);
}

export async function startDecisions(options: DecisionsRuntimeOptions): Promise<DecisionsRuntime> {
  const { db, bus, config, tuning = {} } = options;
  const log = options.log.child({ component: 'decisions' });
  const streams = decisionStreams(options.prefix);
  const decider = createDecider(config, log, tuning);
  const embedder = createEmbedder(config);
  const workflow = new ProposalWorkflow({
    db,
    bus,
    log,
    streams,
    execution: options.execution ?? (() => undefined),
  });
  const agent = new DecisionAgent({
    db,
    bus,
    log,
    streams,
    decider,
    embedder,
    workflow,
    autonomousEnabled: config.autonomousEnabled,
    ...(tuning.maxSignalAgeMs !== undefined ? { maxSignalAgeMs: tuning.maxSignalAgeMs } : {}),
  });
  log.info(
    { decider: decider.kind, embedder: embedder.name, autonomousEnabled: config.autonomousEnabled },
    'decision agent ready',
  );

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
      // Every delivery, not only the first: a crash after the store and before the agent must
      // still get its proposal (the agent skips signals it already proposed on).
      onStored: (signal) => agent.onSignal(signal),
    });
    await consumer.start();
  }

  const desks = async () => (await db.select({ id: tenants.id }).from(tenants)).map((d) => asTenantId(d.id));
  // Crash between approval and placement: finish it (same idempotency key, one order at most).
  const resume = setTimeout(() => {
    void desks()
      .then((ids) => workflow.resumeApproved(ids))
      .catch((err) => log.warn({ err }, 'resuming approved proposals failed'));
  }, 1000);
  resume.unref();
  const sweep = setInterval(() => {
    void desks()
      .then(async (ids) => {
        for (const id of ids) await workflow.expire(id);
      })
      .catch((err) => log.warn({ err }, 'proposal expiry sweep failed'));
  }, tuning.expirySweepMs ?? 5000);
  sweep.unref();

  return {
    streams,
    consumer,
    agent,
    workflow,
    embedder,
    autonomousEnabled: config.autonomousEnabled,
    async close() {
      clearTimeout(resume);
      clearInterval(sweep);
      await consumer?.stop();
    },
  };
}

/** The runtime a context carries, or the production stream names when none was wired. */
export function streamsOf(ctx: { decisions?: DecisionsRuntime }): DecisionStreams {
  return ctx.decisions?.streams ?? decisionStreams();
}
