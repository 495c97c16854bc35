import { createLogger } from '@aegis/shared/logging';
import type { BrokerEnvironment } from '@aegis/shared/schemas/broker';
import type {
  ConnectionContext,
  CredentialSource,
  ProviderEndpoints,
} from '../../../src/brokers/connection.ts';
import { type BrokerCallOptions, BrokerCallPolicy } from '../../../src/brokers/resilience.ts';
import { BrokerError, type ExecutionReport } from '../../../src/brokers/types.ts';

/**
 * What the live adapters' tests (alpaca, coinbase, ccxt, ibkr against their local fakes) build
 * alike: a connection context with a fast call policy, a credential source that counts token
 * reads and refreshes, the reports an adapter delivers, waiting for a condition, and catching the
 * BrokerError a call throws.
 */

const silent = createLogger({ name: 'adapter-test', level: 'silent' });

/** A link's credentials: API-key material, or an OAuth token that rotates on refresh through `next`. */
export class TestCredentials implements CredentialSource {
  accessCalls = 0;
  refreshCalls = 0;
  readonly #key: { apiKey: string; apiSecret: string } | null;
  #token: string | null;
  readonly #next: string[];

  constructor(
    o: { key?: { apiKey: string; apiSecret: string }; token?: string; next?: readonly string[] } = {},
  ) {
    this.#key = o.key ?? null;
    this.#token = o.token ?? null;
    this.#next = [...(o.next ?? [])];
  }

  async accessToken(): Promise<string> {
    this.accessCalls++;
    if (this.#token === null) throw new BrokerError('BROKER_AUTH', 'no token');
    return this.#token;
  }

  async refreshAccessToken(): Promise<string> {
    this.refreshCalls++;
    this.#token = this.#next.shift() ?? this.#token;
    if (this.#token === null) throw new BrokerError('BROKER_AUTH', 'no token');
    return this.#token;
  }

  async apiKey() {
    if (!this.#key) throw new BrokerError('BROKER_AUTH', 'this link has no API key');
    return this.#key;
  }
}

/** One connection's context, with a call policy that retries fast (`policy` overrides it). */
export function adapterContext(o: {
  provider: string;
  environment: BrokerEnvironment;
  accountRef: string;
  credentials: CredentialSource;
  endpoints: ProviderEndpoints;
  policy?: Partial<BrokerCallOptions>;
}): ConnectionContext {
  const policy = new BrokerCallPolicy({
    broker: o.provider,
    timeoutMs: 2_000,
    retryInitialDelayMs: 10,
    ...o.policy,
  });
  return {
    connectionId: '00000000-0000-4000-8000-000000000001',
    tenantId: '00000000-0000-4000-8000-000000000002',
    provider: o.provider,
    environment: o.environment,
    accountRef: o.accountRef,
    credentials: o.credentials,
    endpoints: o.endpoints,
    policy,
    log: silent,
  };
}

/** Waits for a condition the system reaches on its own (bounded by the test timeout). */
export async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

/** The BrokerError a call throws (any other outcome fails the test). */
export async function brokerError(p: Promise<unknown>): Promise<BrokerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BrokerError) return err;
    throw err;
  }
  throw new Error('expected a BrokerError');
}

/** Every report the adapter delivers from now on, in delivery order. */
export function reportsOf(adapter: {
  onExecutionReport(listener: (r: ExecutionReport) => void): () => void;
}): ExecutionReport[] {
  const reports: ExecutionReport[] = [];
  adapter.onExecutionReport((r) => reports.push(r));
  return reports;
}
