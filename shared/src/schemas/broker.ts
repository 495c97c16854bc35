import { z } from 'zod';
import { safeText } from './text.ts';

/**
 * Broker linking and linked accounts at the edges (tRPC inputs/outputs, console, CLI). The
 * server's OAuth code is server/src/auth/oauth/, the adapters server/src/brokers/.
 *
 * Provider ids: the built-in brokers by name, a crypto venue through CCXT as `ccxt:<exchange>`
 * (CCXT's exchange id), a desk-configured generic OAuth 2.0 broker as `oauth:<slug>`.
 */
export const BUILT_IN_PROVIDERS = ['alpaca', 'coinbase', 'ibkr', 'robinhood'] as const;
export type BuiltInProvider = (typeof BUILT_IN_PROVIDERS)[number];

export const brokerProviderId = z
  .string()
  .trim()
  .regex(
    /^(?:alpaca|coinbase|ibkr|robinhood|ccxt:[a-z0-9]{2,32}|oauth:[a-z0-9][a-z0-9-]{0,39})$/,
    'must be alpaca, coinbase, ibkr, robinhood, ccxt:<exchange> or oauth:<slug>',
  );
export type BrokerProviderId = z.infer<typeof brokerProviderId>;

export const brokerEnvironment = z.enum(['paper', 'live']);
export type BrokerEnvironment = z.infer<typeof brokerEnvironment>;

/** How a connection authenticates to its broker. */
export const brokerLinkKind = z.enum(['oauth', 'client_credentials', 'api_key', 'gateway']);
export type BrokerLinkKind = z.infer<typeof brokerLinkKind>;

export const brokerConnectionStatus = z.enum([
  'active',
  'needs_relink',
  'reauth_required',
  'revoked',
  'error',
]);
export type BrokerConnectionStatus = z.infer<typeof brokerConnectionStatus>;

/** One entry of the provider catalogue (`brokers.providers`). */
export const brokerProviderView = z.object({
  id: z.string(),
  name: z.string(),
  linkKinds: z.array(brokerLinkKind),
  environments: z.array(brokerEnvironment),
  /** False for a provider listed for information only (Robinhood: no trading API). */
  tradingSupported: z.boolean(),
  /** Why trading is unsupported, or what linking needs (shown in the console). */
  note: z.string().nullable(),
  /** Whether this server is configured to link it (OAuth client id set, gateway URL set …). */
  configured: z.boolean(),
  nativeBrackets: z.boolean(),
});
export type BrokerProviderView = z.infer<typeof brokerProviderView>;

const decimal = z.string();

/** Balances of one broker account, as last read from the broker. */
export const brokerAccountView = z.object({
  accountId: z.string(),
  currency: z.string(),
  cash: decimal,
  buyingPower: decimal,
  equity: decimal,
  /** The broker's own account status (`ACTIVE`, `ACCOUNT_UPDATED` …), verbatim. */
  brokerStatus: z.string().nullable(),
  syncedAt: z.iso.datetime(),
});
export type BrokerAccountView = z.infer<typeof brokerAccountView>;

/** A linked connection as the console and CLI see it. Never carries a token or key. */
export const brokerConnectionView = z.object({
  id: z.uuid(),
  provider: z.string(),
  providerName: z.string(),
  label: z.string(),
  environment: brokerEnvironment,
  linkKind: brokerLinkKind,
  status: brokerConnectionStatus,
  statusReason: z.string().nullable(),
  accountRef: z.string(),
  accountIds: z.array(z.string()),
  scopes: z.array(z.string()),
  tokenExpiresAt: z.iso.datetime().nullable(),
  lastSyncAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  account: brokerAccountView.nullable(),
  /** Whether orders can be routed through it now (active, trading supported). */
  tradable: z.boolean(),
});
export type BrokerConnectionView = z.infer<typeof brokerConnectionView>;

export const startLinkInput = z.strictObject({
  provider: brokerProviderId,
  environment: brokerEnvironment.default('paper'),
  /** Re-link an existing connection (after `needs_relink`): same id, its orders stay with it. */
  connectionId: z.uuid().nullish(),
});
export type StartLinkInput = z.infer<typeof startLinkInput>;

export const startLinkOutput = z.object({
  /** Open this in a browser; the provider redirects back to the server's callback. */
  authorizationUrl: z.url(),
  expiresAt: z.iso.datetime(),
});
export type StartLinkOutput = z.infer<typeof startLinkOutput>;

/** API-key linking (Coinbase CDP keys, CCXT venues, Alpaca keys). Secrets are write-only. */
export const linkApiKeyInput = z.strictObject({
  provider: brokerProviderId,
  environment: brokerEnvironment.default('paper'),
  label: safeText(80).optional(),
  apiKey: safeText(512),
  /** A secret or a PEM private key (Coinbase CDP): several lines, kept as sent. */
  apiSecret: safeText(8192, { multiline: true, trim: false }),
  /** Some venues (OKX, KuCoin, Coinbase Exchange) also need a passphrase. */
  passphrase: safeText(512, { trim: false }).optional(),
});
export type LinkApiKeyInput = z.infer<typeof linkApiKeyInput>;

/** A gateway session (IBKR Client Portal / TWS): the gateway holds the login, we hold its URL. */
export const linkGatewayInput = z.strictObject({
  provider: z.literal('ibkr'),
  environment: brokerEnvironment.default('paper'),
  label: safeText(80).optional(),
  accountId: safeText(32).optional(),
});
export type LinkGatewayInput = z.infer<typeof linkGatewayInput>;

export const connectionIdInput = z.strictObject({ connectionId: z.uuid() });

/** A desk's generic OAuth 2.0 broker, configured without code (admins). */
export const oauthProviderInput = z.strictObject({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes'),
  name: safeText(80),
  issuer: z.url().nullish(),
  authorizationUrl: z.url().nullish(),
  tokenUrl: z.url(),
  revocationUrl: z.url().nullish(),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'scope-token characters'))
    .max(32)
    .default([]),
  clientId: safeText(256),
  /** Write-only; stored encrypted. */
  clientSecret: safeText(4096, { trim: false }).nullish(),
  clientAuth: z.enum(['client_secret_basic', 'client_secret_post', 'none']).default('client_secret_basic'),
  grantType: z.enum(['authorization_code', 'client_credentials']).default('authorization_code'),
  apiBaseUrl: z.url(),
  /** Which adapter protocol the broker's trading API speaks (e.g. `alpaca`). */
  apiProtocol: z.enum(['alpaca', 'coinbase', 'ibkr', 'ccxt']),
});
export type OauthProviderInput = z.infer<typeof oauthProviderInput>;

/**
 * A broker failure as it reaches the client: in the tRPC error's `data.details` (and in an
 * order's reject reason, abbreviated). `retryable`: the same call may succeed later.
 */
export const brokerErrorDetails = z.object({
  type: z.literal('broker_error'),
  operation: z.string(),
  broker: z.string(),
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  context: z.record(z.string(), z.unknown()),
});
export type BrokerErrorDetails = z.infer<typeof brokerErrorDetails>;
