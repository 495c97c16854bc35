import type { TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import type { BrokerEnvironment } from '@aegis/shared/schemas/broker';
import type { BrokerCallPolicy } from './resilience.ts';
import { type BrokerAdapter, BrokerError, BrokerErrorCode } from './types.ts';

/**
 * What a live adapter is built from: one linked connection (broker_connections row), a way to
 * get its current credentials, and the endpoints of its provider. Adapters never read the
 * database or the environment themselves: the OAuth code (server/src/auth/oauth/) owns the
 * secrets, the execution dispatcher (server/src/execution/) owns the adapter's life.
 */

/** API-key material of an `api_key` link, decrypted only in memory for the call that needs it. */
export interface ApiKeyCredentials {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly passphrase?: string;
}

export interface CredentialSource {
  /**
   * A valid access token: refreshed first when it expires within the refresh skew, with one
   * refresh in flight per connection across every process (the new refresh token is committed
   * before the new access token is used). Throws BrokerError AUTH when the provider refused the
   * grant (the connection is then `needs_relink` and its desk halted).
   */
  accessToken(): Promise<string>;
  /**
   * Forces the next `accessToken()` to refresh (the broker answered 401 to a token we thought
   * valid). Returns the new token.
   */
  refreshAccessToken(): Promise<string>;
  /** The key material of an `api_key` link (BrokerError AUTH when the link has none). */
  apiKey(): Promise<ApiKeyCredentials>;
}

/** Endpoints of one provider, from the server's provider configuration (tests point them locally). */
export interface ProviderEndpoints {
  /** Trading REST base URL for this connection's environment (e.g. Alpaca's paper API). */
  readonly apiBaseUrl: string;
  /** Streaming (WebSocket) URL for order updates, when the broker has one. */
  readonly streamUrl?: string | null;
  /** Market-data base URL, when separate. */
  readonly dataBaseUrl?: string | null;
  /**
   * Trust for a broker gateway on the operator's own machine (IBKR's Client Portal gateway
   * serves a self-signed certificate): its certificate (PEM), or accepting a self-signed one
   * on a loopback address only.
   */
  readonly tls?: { readonly ca?: string; readonly allowSelfSignedLoopback?: boolean } | null;
}

export interface ConnectionContext {
  readonly connectionId: string;
  /** The desk the connection belongs to (its broker_connections row's). */
  readonly tenantId: TenantId;
  /** `alpaca`, `coinbase`, `ibkr`, `ccxt:<exchange>`, `oauth:<slug>`. */
  readonly provider: string;
  readonly environment: BrokerEnvironment;
  /** The broker account this connection trades. */
  readonly accountRef: string;
  readonly credentials: CredentialSource;
  readonly endpoints: ProviderEndpoints;
  /** The connection's call policy (timeouts, read retries, its circuit breaker). */
  readonly policy: BrokerCallPolicy;
  readonly log: Logger;
  /** Injected clock for tests. */
  readonly clock?: () => Date;
}

/** Builds an adapter for one connection; registered per provider (or api protocol) in factory.ts. */
export type AdapterFactory = (ctx: ConnectionContext) => BrokerAdapter;

/** How a linked connection authenticates its calls: an OAuth access token or API-key material. */
export type CredentialKind = 'oauth' | 'api_key';

/**
 * Tells an OAuth link from an API-key link by asking the credential source once for key
 * material (BROKER_AUTH: the link has none, so it is OAuth). The answer is kept; any other
 * failure is not, and the next call asks again. `fixed` skips the probe (adapter option).
 */
export function credentialKindProbe(
  credentials: CredentialSource,
  fixed?: CredentialKind,
): () => Promise<CredentialKind> {
  let known: Promise<CredentialKind> | null = fixed ? Promise.resolve(fixed) : null;
  return () => {
    known ??= credentials.apiKey().then(
      () => 'api_key' as const,
      (err: unknown) => {
        if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.AUTH) return 'oauth' as const;
        known = null;
        throw err;
      },
    );
    return known;
  };
}

/** An OAuth link's access token; forced fresh when the broker refused the last one (a 401). */
export function oauthToken(credentials: CredentialSource, forceRefresh: boolean): Promise<string> {
  return forceRefresh ? credentials.refreshAccessToken() : credentials.accessToken();
}

/**
 * Sends one broker request; an OAuth link answered 401 gets one forced token refresh and one
 * resend. A second 401 is the answer: the grant itself is gone.
 */
export async function sendRefreshingOn401(
  send: (forceRefresh: boolean) => Promise<Response>,
  kind: () => Promise<CredentialKind>,
): Promise<Response> {
  let res = await send(false);
  if (res.status === 401 && (await kind()) === 'oauth') {
    await res.body?.cancel();
    res = await send(true);
  }
  return res;
}
