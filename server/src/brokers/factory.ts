import type { TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import type { BrokerEnvironment } from '@aegis/shared/schemas/broker';
import { createAlpacaAdapter } from './alpaca/index.ts';
import { createCcxtAdapter } from './ccxt/index.ts';
import { createCoinbaseAdapter } from './coinbase/index.ts';
import type { AdapterFactory, ConnectionContext, CredentialSource, ProviderEndpoints } from './connection.ts';
import { createIbkrAdapter } from './ibkr/index.ts';
import type { BrokerCallPolicy } from './resilience.ts';
import type { BrokerAdapter } from './types.ts';
import { BrokerError, BrokerErrorCode } from './types.ts';

/**
 * Builds the live adapter of one linked connection (broker_connections row). The paper account
 * is not built here (execution/broker-registry.ts restores it from PostgreSQL); every other
 * provider is looked up by its key in a registry of AdapterFactory functions:
 *   `alpaca`, `coinbase`, `ibkr`           → the provider id itself
 *   `ccxt:<exchange>`                      → `ccxt` (one adapter for every CCXT venue)
 *   `oauth:<slug>` (desk-configured OAuth) → the provider's `api_protocol` (e.g. `alpaca`)
 * The default registry is filled where the server is wired (the live adapters register there);
 * tests add their own through ExecutionOptions.adapterFactories.
 */

/** What the factory needs of a connection row (a subset of broker_connections). */
export interface ConnectionRow {
  readonly id: string;
  readonly tenantId: TenantId;
  readonly provider: string;
  readonly environment: BrokerEnvironment;
  readonly accountRef: string;
  readonly status: string;
  /** For `oauth:<slug>`: the api_protocol of its oauth_providers row. */
  readonly apiProtocol: string | null;
}

/**
 * Where credentials and endpoints come from (server/src/auth/oauth/: `credentialSourceFor`,
 * `endpointsFor`). Injected so the execution service never reads secrets itself.
 */
export interface ConnectionResolvers {
  credentialsFor(row: ConnectionRow): CredentialSource | Promise<CredentialSource>;
  endpointsFor(row: ConnectionRow): ProviderEndpoints | Promise<ProviderEndpoints>;
}

/** The default resolvers: refuse, naming what is missing (the server wires the real ones). */
export const UNCONFIGURED_RESOLVERS: ConnectionResolvers = {
  credentialsFor(row) {
    throw new BrokerError(
      BrokerErrorCode.INVALID_REQUEST,
      `no credential source configured for ${row.provider} connections`,
      { operation: 'connect', broker: row.provider, retryable: false },
    );
  },
  endpointsFor(row) {
    throw new BrokerError(
      BrokerErrorCode.INVALID_REQUEST,
      `no endpoints configured for ${row.provider} connections`,
      { operation: 'connect', broker: row.provider, retryable: false },
    );
  },
};

/**
 * The live adapters every server process knows (docs/brokers/<name>.md). An `oauth:<slug>`
 * broker configured by a desk trades through one of these protocols (its `api_protocol`).
 */
const defaultFactories = new Map<string, AdapterFactory>([
  ['alpaca', createAlpacaAdapter],
  ['coinbase', createCoinbaseAdapter],
  ['ibkr', createIbkrAdapter],
  ['ccxt', createCcxtAdapter],
]);

/** The protocol names a desk-configured OAuth broker may declare. */
export const adapterProtocols = (): string[] => [...defaultFactories.keys()];

export function registerAdapterFactory(key: string, factory: AdapterFactory): void {
  defaultFactories.set(key, factory);
}

/** The registry key of a connection: provider id, `ccxt`, or an OAuth provider's protocol. */
export function adapterKeyOf(row: Pick<ConnectionRow, 'provider' | 'apiProtocol'>): string {
  if (row.provider.startsWith('ccxt:')) return 'ccxt';
  if (row.provider.startsWith('oauth:')) {
    if (!row.apiProtocol)
      throw new BrokerError(BrokerErrorCode.INVALID_REQUEST, `${row.provider} has no api protocol`, {
        operation: 'connect',
        broker: row.provider,
        retryable: false,
      });
    return row.apiProtocol;
  }
  return row.provider;
}

export interface BuildAdapterInput {
  readonly row: ConnectionRow;
  readonly policy: BrokerCallPolicy;
  readonly log: Logger;
  readonly clock?: () => Date;
  readonly factories?: Readonly<Record<string, AdapterFactory>>;
  readonly resolvers?: ConnectionResolvers;
}

/** Builds the connection's adapter (not connected yet: the caller calls `connect()`). */
export async function buildAdapter(input: BuildAdapterInput): Promise<BrokerAdapter> {
  const { row } = input;
  const key = adapterKeyOf(row);
  const factory = input.factories?.[key] ?? defaultFactories.get(key);
  if (!factory)
    throw new BrokerError(BrokerErrorCode.INVALID_REQUEST, `no adapter for ${row.provider} (${key})`, {
      operation: 'connect',
      broker: row.provider,
      retryable: false,
    });
  const resolvers = input.resolvers ?? UNCONFIGURED_RESOLVERS;
  const [credentials, endpoints] = await Promise.all([
    resolvers.credentialsFor(row),
    resolvers.endpointsFor(row),
  ]);
  const ctx: ConnectionContext = {
    connectionId: row.id,
    tenantId: row.tenantId,
    provider: row.provider,
    environment: row.environment,
    accountRef: row.accountRef,
    credentials,
    endpoints,
    policy: input.policy,
    log: input.log.child({ connectionId: row.id, provider: row.provider }),
    ...(input.clock && { clock: input.clock }),
  };
  return factory(ctx);
}
