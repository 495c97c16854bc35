import type { Bus } from '@aegis/shared/bus/index';
import type { Logger } from '@aegis/shared/logging';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from '@aegis/shared/market/event-time';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Db } from '../db/database.ts';

/** Who acted: the audit actor and the idempotency principal. */
export interface Actor {
  readonly type: 'user' | 'api_key' | 'agent' | 'system';
  readonly id: string;
}

export const principalKey = (a: Actor): string => `${a.type}:${a.id}`;

/** Request metadata carried into audit rows. */
export interface RequestMeta {
  readonly requestId?: string | null;
  readonly ip?: string | null;
}

export interface ExecutionOptions {
  /** Paper account capital per desk (also the base of the equity curve). */
  readonly startingCapital: string;
  /** Broker call bound before an order is marked `unknown` and looked up by client order id. */
  readonly brokerTimeoutMs: number;
  /** Outbox sweep interval (the fast path is a nudge right after commit). */
  readonly outboxIntervalMs: number;
  /** Equity snapshot interval per desk with positions. */
  readonly equityIntervalMs: number;
  /** Reconciliation interval. */
  readonly reconcileIntervalMs: number;
  /**
   * Bus key prefix of the venue price source (`<prefix>prices:<venue>`), the engine's
   * ENGINE_STREAM_PREFIX: the only source of execution prices (execution/quote-feed.ts).
   */
  readonly pricePrefix: string;
  /** Venue prices dated more than this many ms ahead of this server's clock are refused. */
  readonly maxFutureSkewMs: number;
  /** How often the instrument → venue map is re-read (ms). */
  readonly venueRefreshMs: number;
  /** Paper broker parameters. */
  readonly paper: {
    readonly seed: number;
    readonly latencyMs: number;
    readonly latencyJitterMs: number;
    readonly feeBps: string;
    readonly minFee: string;
    readonly slippageBps: string;
  };
}

export const DEFAULT_EXECUTION_OPTIONS: ExecutionOptions = Object.freeze({
  startingCapital: '1000000',
  brokerTimeoutMs: 5_000,
  outboxIntervalMs: 1_000,
  equityIntervalMs: 60_000,
  reconcileIntervalMs: 5 * 60_000,
  pricePrefix: 'aegis:',
  maxFutureSkewMs: DEFAULT_MAX_FUTURE_SKEW_MS,
  venueRefreshMs: 5_000,
  paper: Object.freeze({
    seed: 1,
    latencyMs: 0,
    latencyJitterMs: 0,
    feeBps: '1',
    minFee: '0',
    slippageBps: '5',
  }),
});

export interface ExecutionDeps {
  /** Drizzle on the application role: every desk query runs in `withTenant`. */
  readonly db: Db;
  readonly bus: Bus;
  readonly quotes: QuoteBook;
  readonly log: Logger;
  readonly clock?: () => Date;
  readonly options?: Partial<ExecutionOptions>;
}

/** Bus channels: halt propagation (every process) and per-desk live updates (subscriptions). */
export const HALT_CHANNEL = 'aegis:halt';
export const orderUpdatesChannel = (tenantId: string) => `aegis:orders:${tenantId}`;
export const positionUpdatesChannel = (tenantId: string) => `aegis:positions:${tenantId}`;
