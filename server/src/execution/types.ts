import type { Bus } from '@aegis/shared/bus/index';
import type { TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from '@aegis/shared/market/event-time';
import type { AdapterFactory } from '../brokers/connection.ts';

/** For code outside execution/ that registers adapters (tests, wiring): the types only. */
export type { AdapterFactory, ConnectionContext } from '../brokers/connection.ts';
export type { ConnectionResolvers } from '../brokers/factory.ts';

import type { ConnectionResolvers } from '../brokers/factory.ts';
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
  /**
   * Dispatcher leases (execution_leases): a holder that has not renewed for `leaseTtlMs` is
   * replaced; holders renew every `leaseRenewMs` (well under the TTL).
   */
  readonly leaseTtlMs: number;
  readonly leaseRenewMs: number;
  /** The per-connection circuit breaker (brokers/resilience.ts) and call timeout. */
  readonly breaker: {
    readonly breakAfter: number;
    readonly halfOpenAfterMs: number;
    readonly timeoutMs: number;
  };
  /**
   * Live adapters by provider key (`alpaca`, `coinbase`, `ibkr`, `ccxt`, or an `oauth:<slug>`
   * provider's api protocol), merged over the default registry (brokers/factory.ts).
   */
  readonly adapterFactories?: Readonly<Record<string, AdapterFactory>>;
  /** Credentials and endpoints of a linked connection (default: not configured, refuses). */
  readonly connections?: ConnectionResolvers;
  /** A name for this process's dispatcher in execution_leases (default host:pid:random). */
  readonly holderId?: string;
  /**
   * How `orders.place` writes: `batched` (default) queues a desk's concurrent orders and commits
   * them together, one desk transaction per batch (placement-batch.ts); `per-order` is one
   * transaction per order (the reference path the order-path benchmark compares against).
   */
  readonly orderPlacement?: 'batched' | 'per-order';
  /** Most orders one batched desk transaction takes (default 64). */
  readonly orderBatchMax?: number;
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
  leaseTtlMs: 10_000,
  leaseRenewMs: 2_000,
  breaker: Object.freeze({ breakAfter: 5, halfOpenAfterMs: 30_000, timeoutMs: 5_000 }),
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
export const orderUpdatesChannel = (tenantId: TenantId) => `aegis:orders:${tenantId}`;
/** A nudge for the holder of a desk's dispatch lease: `{ tenantId }` has outbox rows waiting. */
export const DISPATCH_CHANNEL = 'aegis:dispatch';
export const positionUpdatesChannel = (tenantId: TenantId) => `aegis:positions:${tenantId}`;
