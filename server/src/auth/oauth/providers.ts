import { oauthProviders } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import type { BrokerEnvironment, BrokerLinkKind, BrokerProviderView } from '@aegis/shared/schemas/broker';
import { and, eq } from 'drizzle-orm';
import { supportedCcxtExchanges } from '../../brokers/ccxt/catalogue.ts';
import type { ProviderEndpoints } from '../../brokers/connection.ts';
import type { Tx } from '../../db/database.ts';
import type { ServerConfig } from '../../env.ts';

/**
 * The providers a desk can link, and everything the OAuth code and the adapter factory need to
 * know about one: endpoints, client, scopes, how the client authenticates, the trading API.
 *
 * Built-in: Alpaca and Coinbase (OAuth 2.0 authorization code + PKCE; Coinbase also by CDP API
 * key), IBKR (a Client Portal gateway session), every CCXT venue (`ccxt:<id>`, API keys) and
 * Robinhood (listed, unsupported). Desk-configured: `oauth:<slug>` rows of `oauth_providers`.
 */
export interface ResolvedOAuthProvider {
  readonly id: string;
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string | null;
  readonly clientAuth: 'client_secret_basic' | 'client_secret_post' | 'none';
  readonly grantType: 'authorization_code' | 'client_credentials';
  readonly authorizationUrl: string | null;
  readonly tokenUrl: string;
  readonly revocationUrl: string | null;
  /** RFC 9207: when set, the callback requires `iss` equal to it. */
  readonly issuer: string | null;
  readonly scopes: readonly string[];
  readonly providerConfigId: string | null;
}

const NAMES: Record<string, string> = {
  alpaca: 'Alpaca',
  coinbase: 'Coinbase Advanced Trade',
  ibkr: 'Interactive Brokers',
  robinhood: 'Robinhood',
};

export const ROBINHOOD_NOTE =
  'Robinhood publishes no trading API for equities or options that third-party platforms may use; it is listed read-only and unsupported for trading.';

export function providerName(provider: string, custom?: { name: string } | null): string {
  if (custom) return custom.name;
  if (NAMES[provider]) return NAMES[provider]!;
  if (provider.startsWith('ccxt:')) {
    const id = provider.slice(5);
    return supportedCcxtExchanges().find((x) => x.id === id)?.name ?? id;
  }
  return provider;
}

/** The provider catalogue shown by `brokers.providers` (built-in + the desk's own). */
export async function providerCatalogue(
  config: ServerConfig,
  tx: Tx,
  tenantId: TenantId,
): Promise<BrokerProviderView[]> {
  const { alpaca, coinbase } = config.brokers;
  const keysReady = config.tokenKeys.length > 0;
  const out: BrokerProviderView[] = [
    {
      id: 'alpaca',
      name: NAMES.alpaca!,
      linkKinds: ['oauth', 'api_key'],
      environments: ['paper', 'live'],
      tradingSupported: true,
      note: alpaca.clientId
        ? null
        : 'OAuth linking needs ALPACA_CLIENT_ID and ALPACA_CLIENT_SECRET on the server.',
      configured: keysReady,
      nativeBrackets: true,
    },
    {
      id: 'coinbase',
      name: NAMES.coinbase!,
      linkKinds: ['oauth', 'api_key'],
      environments: ['live'],
      tradingSupported: true,
      note: coinbase.clientId
        ? 'Coinbase has no paper trading; API keys are CDP keys (key name and EC private key).'
        : 'OAuth linking needs COINBASE_CLIENT_ID and COINBASE_CLIENT_SECRET; CDP API keys work without.',
      configured: keysReady,
      nativeBrackets: false,
    },
    {
      id: 'ibkr',
      name: NAMES.ibkr!,
      linkKinds: ['gateway'],
      environments: ['paper', 'live'],
      tradingSupported: true,
      note: config.brokers.ibkrGatewayUrl
        ? 'Trades through the Client Portal gateway; sign in at the gateway when its session lapses.'
        : 'Needs IBKR_GATEWAY_URL (a running Client Portal gateway).',
      configured: keysReady && config.brokers.ibkrGatewayUrl !== null,
      nativeBrackets: true,
    },
    {
      id: 'robinhood',
      name: NAMES.robinhood!,
      linkKinds: [],
      environments: [],
      tradingSupported: false,
      note: ROBINHOOD_NOTE,
      configured: false,
      nativeBrackets: false,
    },
  ];
  const custom = await tx.select().from(oauthProviders).where(eq(oauthProviders.tenantId, tenantId));
  for (const p of custom)
    out.push({
      id: `oauth:${p.slug}`,
      name: p.name,
      linkKinds: [p.grantType === 'client_credentials' ? 'client_credentials' : 'oauth'],
      environments: ['paper', 'live'],
      tradingSupported: true,
      note: `Configured by the desk; trades through the ${p.apiProtocol} protocol at ${p.apiBaseUrl}.`,
      configured: keysReady,
      nativeBrackets: p.apiProtocol === 'alpaca',
    });
  for (const x of supportedCcxtExchanges())
    out.push({
      id: x.provider,
      name: x.name,
      linkKinds: ['api_key'],
      environments: x.sandbox ? ['paper', 'live'] : ['live'],
      tradingSupported: true,
      note: [
        'Spot, through CCXT.',
        x.passphrase ? 'Needs a passphrase.' : null,
        x.websocket ? null : 'Order updates are polled.',
      ]
        .filter(Boolean)
        .join(' '),
      configured: keysReady,
      nativeBrackets: false,
    });
  return out;
}

/** The link kinds a provider accepts (refuses a provider this server does not know). */
export function linkKindsOf(provider: string): readonly BrokerLinkKind[] {
  if (provider === 'alpaca' || provider === 'coinbase') return ['oauth', 'api_key'];
  if (provider === 'ibkr') return ['gateway'];
  if (provider.startsWith('ccxt:')) {
    const id = provider.slice(5);
    return supportedCcxtExchanges().some((x) => x.id === id) ? ['api_key'] : [];
  }
  if (provider.startsWith('oauth:')) return ['oauth', 'client_credentials'];
  return [];
}

/** The OAuth side of a provider, or null when it has none configured on this server / desk. */
export async function resolveOAuthProvider(
  config: ServerConfig,
  tx: Tx,
  tenantId: TenantId,
  provider: string,
  decryptClientSecret: (sealed: string, providerConfigId: string) => string,
): Promise<ResolvedOAuthProvider | null> {
  if (provider === 'alpaca' || provider === 'coinbase') {
    const s = config.brokers[provider];
    if (!s.clientId) return null;
    return {
      id: provider,
      name: NAMES[provider]!,
      clientId: s.clientId,
      clientSecret: s.clientSecret,
      clientAuth: s.clientSecret ? 'client_secret_basic' : 'none',
      grantType: 'authorization_code',
      authorizationUrl: s.authorizationUrl,
      tokenUrl: s.tokenUrl,
      revocationUrl: s.revocationUrl,
      issuer: s.issuer,
      scopes: s.scopes,
      providerConfigId: null,
    };
  }
  if (provider.startsWith('oauth:')) {
    const [p] = await tx
      .select()
      .from(oauthProviders)
      .where(and(eq(oauthProviders.tenantId, tenantId), eq(oauthProviders.slug, provider.slice(6))));
    if (!p) return null;
    return {
      id: provider,
      name: p.name,
      clientId: p.clientId,
      clientSecret: p.clientSecretEnc ? decryptClientSecret(p.clientSecretEnc, p.id) : null,
      clientAuth: p.clientAuth,
      grantType: p.grantType,
      authorizationUrl: p.authorizationUrl,
      tokenUrl: p.tokenUrl,
      revocationUrl: p.revocationUrl,
      issuer: p.issuer,
      scopes: p.scopes,
      providerConfigId: p.id,
    };
  }
  return null;
}

/** The exact redirect URI registered for a provider (RFC 9700 §2.1: exact string matching). */
export const redirectUriFor = (config: ServerConfig, provider: string): string =>
  `${config.publicOrigin}/oauth/callback/${encodeURIComponent(provider)}`;

/** The trading endpoints of a connection (the adapter factory's resolver). */
export async function endpointsFor(
  config: ServerConfig,
  tx: Tx,
  row: { tenantId: TenantId; provider: string; environment: BrokerEnvironment },
): Promise<ProviderEndpoints> {
  const b = config.brokers;
  if (row.provider === 'alpaca' || row.provider === 'coinbase') return b[row.provider].api[row.environment];
  if (row.provider === 'ibkr')
    return { apiBaseUrl: b.ibkrGatewayUrl ?? '', streamUrl: null, tls: b.ibkrGatewayTls };
  if (row.provider.startsWith('ccxt:')) return { apiBaseUrl: b.ccxtApiBaseUrl ?? '', streamUrl: null };
  if (row.provider.startsWith('oauth:')) {
    const [p] = await tx
      .select({ apiBaseUrl: oauthProviders.apiBaseUrl })
      .from(oauthProviders)
      .where(and(eq(oauthProviders.tenantId, row.tenantId), eq(oauthProviders.slug, row.provider.slice(6))));
    return { apiBaseUrl: p?.apiBaseUrl ?? '', streamUrl: null };
  }
  return { apiBaseUrl: '', streamUrl: null };
}
