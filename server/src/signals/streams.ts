import type { TenantId } from '@aegis/shared/ids';

/**
 * Names of the bus streams and channels the decision path uses. Production uses the `aegis`
 * prefix (`aegis:orderflow`, `aegis:signals` — the engine's defaults); tests give each server its
 * own prefix so parallel runs never share a stream.
 */
export interface DecisionStreams {
  /** The prefix every name below starts with, separator included (`aegis:`). */
  readonly prefix: string;
  /** The engine's operator-owned order-flow stream (market data); desk ingest never goes here. */
  readonly orderflow: string;
  /** Scored signals published by the engine, consumed by the server's group. */
  readonly signals: string;
  /** Signal entries that failed too often (poison), parked for an operator. */
  readonly signalsDead: string;
  /** Pub/sub: a signal was stored (payload: StoredSignal, the view and its place in the feed). */
  readonly signalStored: string;
  /** Pub/sub per desk: a proposal was created or changed. */
  proposalChanged(tenantId: TenantId): string;
  /** Pub/sub per desk: the agent's state changed. */
  agentStatus(tenantId: TenantId): string;
}

export function decisionStreams(prefix = 'aegis'): DecisionStreams {
  return Object.freeze({
    prefix: `${prefix}:`,
    orderflow: `${prefix}:orderflow`,
    signals: `${prefix}:signals`,
    signalsDead: `${prefix}:signals:dead`,
    signalStored: `${prefix}:signals:stored`,
    proposalChanged: (tenantId: TenantId) => `${prefix}:proposals:${tenantId}`,
    agentStatus: (tenantId: TenantId) => `${prefix}:agent:${tenantId}`,
  });
}
