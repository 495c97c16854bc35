import { asTenantId } from '@aegis/shared/ids';
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
    tenantId: asTenantId('00000000-0000-4000-8000-000000000002'),
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

/** Reconnects and polls in milliseconds, so the adapters' recovery paths run within a test. */
export const FAST_RECOVERY = { reconnectInitialMs: 20, reconnectMaxMs: 100, pollIntervalMs: 50 } as const;

/** What one test may change in its adapter's harness. */
export interface HarnessOptions<AdapterOptions> {
  credentials?: TestCredentials;
  policy?: Partial<BrokerCallOptions>;
  /** Adapter options over FAST_RECOVERY. */
  adapter?: AdapterOptions;
  /** false: the link has no stream URL (REST only). */
  stream?: boolean;
  accountRef?: string;
}

/** An adapter under test, what it reports, its credential source and its call policy. */
export interface AdapterHarness<A> {
  adapter: A;
  reports: ExecutionReport[];
  credentials: TestCredentials;
  policy: BrokerCallPolicy;
}

/** The link a test file's adapters use by default: which venue, account and API key. */
export interface TestLink {
  provider: string;
  environment: BrokerEnvironment;
  accountRef: string;
  key: { apiKey: string; apiSecret: string };
  /** The local fake venue. */
  venue: { url: string; streamUrl: string };
}

/**
 * A test file's `harness(opts)`: an adapter built by `make` on `link()` (read per call, as the
 * fake venue restarts per test) unless `opts` names other credentials or account; `make` gets the
 * context and the adapter options over FAST_RECOVERY. Each adapter goes into `track` for closing.
 */
export function adapterHarnessFor<
  A extends { onExecutionReport(l: (r: ExecutionReport) => void): () => void },
  O,
>(
  link: () => TestLink,
  make: (ctx: ConnectionContext, options: typeof FAST_RECOVERY & Partial<O>) => A,
  track: A[],
): (opts?: HarnessOptions<O>) => AdapterHarness<A> {
  return (opts = {}) => {
    const l = link();
    const credentials = opts.credentials ?? new TestCredentials({ key: l.key });
    const ctx = adapterContext({
      provider: l.provider,
      environment: l.environment,
      accountRef: opts.accountRef ?? l.accountRef,
      credentials,
      endpoints: { apiBaseUrl: l.venue.url, streamUrl: opts.stream === false ? null : l.venue.streamUrl },
      ...(opts.policy && { policy: opts.policy }),
    });
    const adapter = make(ctx, { ...FAST_RECOVERY, ...opts.adapter } as typeof FAST_RECOVERY & Partial<O>);
    track.push(adapter);
    return { adapter, reports: reportsOf(adapter), credentials, policy: ctx.policy };
  };
}
