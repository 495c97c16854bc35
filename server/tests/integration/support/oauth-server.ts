/**
 * A real OAuth 2.0 authorization server for integration tests, built on oidc-provider (v9), on
 * 127.0.0.1. It is strict the way a production AS is: PKCE required and S256 only, exact
 * redirect URI matching, single-use authorization codes, client authentication per the client's
 * registered method, refresh tokens rotated on every use (a used or revoked one → invalid_grant,
 * and reusing a rotated one revokes the whole grant), RFC 7009 revocation, RFC 9207 `iss` in the
 * authorization response. Access tokens are opaque; `introspect` checks them in-process.
 *
 * The user-agent part is driven by `authorize`: it plays the browser (cookies, redirects) and the
 * interaction endpoints sign in one fixed test user and grant (or deny) consent.
 *
 * One file: one authorization server, its configuration and the browser part that drives it, which
 * only work together.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  Adapter,
  AdapterPayload,
  ClientMetadata,
  Configuration,
  default as Provider,
} from 'oidc-provider';

export type TestAuthGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

export interface TestAuthClient {
  clientId: string;
  clientSecret?: string;
  redirectUris: string[];
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'none';
  grantTypes?: TestAuthGrantType[];
  scope?: string;
}

export interface TestAuthServerOptions {
  clients: TestAuthClient[];
  /** Access token lifetime (default 3600 s); short TTLs for refresh tests. */
  accessTokenTtlSeconds?: number;
  port?: number;
}

export interface TestAuthServer {
  readonly issuer: string;
  readonly authorizationUrl: string;
  readonly tokenUrl: string;
  readonly revocationUrl: string;
  /** In-process check of an access token (authorization code or client credentials) this AS issued. */
  readonly introspect: (token: string) => Promise<{ active: boolean; clientId?: string; scope?: string }>;
  /** Counts of requests to the token endpoint by grant_type (successful or not). */
  readonly tokenRequests: { authorization_code: number; refresh_token: number; client_credentials: number };
  /**
   * Drives the user-agent part: GET the authorization URL, sign in the test user and grant consent
   * through the interaction endpoints, follow redirects until the client's redirect URI, and
   * return that final redirect URL (code, state, iss — or error=access_denied when deny is true)
   * WITHOUT requesting it. A request the AS refuses without redirecting (unknown client, redirect
   * URI not registered) rejects with AuthorizationRefusedError.
   */
  authorize(authorizationUrl: string, opts?: { deny?: boolean }): Promise<URL>;
  /** Revokes every grant and every token: access tokens turn inactive, the next refresh fails with invalid_grant. */
  revokeAll(): Promise<void>;
  close(): Promise<void>;
}

/** The AS answered the authorization request itself (an error page) instead of redirecting to the client. */
export class AuthorizationRefusedError extends Error {
  readonly status: number;
  readonly error: string;
  readonly errorDescription: string | undefined;
  constructor(status: number, error: string, errorDescription: string | undefined) {
    super(
      `authorization request refused (${status}): ${error}${errorDescription ? `: ${errorDescription}` : ''}`,
    );
    this.name = 'AuthorizationRefusedError';
    this.status = status;
    this.error = error;
    this.errorDescription = errorDescription;
  }
}

export const TEST_ACCOUNT_ID = 'test-user';

const INTERACTION_PATH = '/interaction/';
const DECISION_HEADER = 'x-test-consent';
const BASE_SCOPES = ['openid', 'offline_access'];

/** Models that belong to a user's grant: `revokeAll` drops them all. */
const GRANT_MODELS = new Set([
  'Grant',
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'ClientCredentials',
]);

export async function startTestAuthServer(opts: TestAuthServerOptions): Promise<TestAuthServer> {
  const ProviderClass = await importProviderQuietly();
  const store = new MemoryStore();
  const tokenRequests = { authorization_code: 0, refresh_token: 0, client_credentials: 0 };
  let provider: Provider | undefined;

  const server = createServer((req, res) => {
    if (!provider) {
      res.statusCode = 503;
      res.end();
      return;
    }
    if (req.url?.startsWith(INTERACTION_PATH)) {
      handleInteraction(provider, req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: 'server_error', error_description: String(error) }));
      });
      return;
    }
    providerCallback(req, res);
  });
  let providerCallback: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const accessTtl = opts.accessTokenTtlSeconds ?? 3600;
  const customScopes = opts.clients.flatMap((client) => client.scope?.split(' ') ?? []);
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'jwk',
  });

  const configuration: Configuration = {
    adapter: (name: string) => store.adapter(name),
    clients: opts.clients.map(clientMetadata),
    findAccount: (_ctx, id) =>
      id === TEST_ACCOUNT_ID ? { accountId: id, claims: () => ({ sub: id }) } : undefined,
    jwks: { keys: [{ ...signingKey, kid: 'test-signing-key', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    responseTypes: ['code'],
    // Custom (non-OIDC) scopes are registered as provider scopes so the grant carries them and
    // the opaque access token lists them; openid is never needed.
    scopes: [...new Set([...BASE_SCOPES, ...customScopes])],
    pkce: { required: () => true },
    // Refresh tokens for every client allowed the refresh_token grant, offline_access or not;
    // rotated on every use; tokens outlive the user-agent session.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    expiresWithSession: () => false,
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        // A client revokes only its own tokens (others' are left alone, answered 200 per RFC 7009).
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
    },
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: accessTtl,
      AuthorizationCode: 60,
      RefreshToken: 24 * 60 * 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 24 * 60 * 60,
    },
    clientBasedCORS: () => false,
    // Errors shown to the user agent (not redirected to the client) come back as JSON.
    renderError: (ctx, out) => {
      ctx.type = 'application/json';
      ctx.body = out;
    },
  };

  const created = new ProviderClass(issuer, configuration);
  created.silent = true; // the Provider is the Koa app: no stderr logging of errors
  enforceRegisteredSecretTransport(ProviderClass, created);
  created.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token') return;
    // RFC 6749 §5.2 names this unauthorized_client; oidc-provider answers invalid_request.
    const body = ctx.body as { error?: string; error_description?: string } | undefined;
    if (
      body?.error === 'invalid_request' &&
      body.error_description === 'requested grant type is not allowed for this client'
    ) {
      ctx.body = { ...body, error: 'unauthorized_client' };
    }
    const grantType = grantTypeOf(ctx.oidc);
    if (grantType !== undefined && grantType in tokenRequests) {
      tokenRequests[grantType as keyof typeof tokenRequests]++;
    }
  });
  providerCallback = created.callback();
  provider = created;

  const introspect = async (token: string) => {
    const accessToken = await created.AccessToken.find(token);
    if (accessToken?.grantId && !(await created.Grant.find(accessToken.grantId))) {
      return { active: false };
    }
    const found = accessToken ?? (await created.ClientCredentials.find(token));
    if (!found || found.isExpired) return { active: false };
    return {
      active: true,
      clientId: found.clientId,
      ...(found.scope ? { scope: found.scope } : {}),
    };
  };

  return {
    issuer,
    authorizationUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    revocationUrl: `${issuer}/token/revocation`,
    introspect,
    tokenRequests,
    authorize: (authorizationUrl, authorizeOpts) =>
      driveUserAgent(issuer, authorizationUrl, authorizeOpts?.deny === true),
    revokeAll: async () => {
      store.dropModels(GRANT_MODELS);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * oidc-provider accepts client_secret_basic and client_secret_post interchangeably; a real AS may
 * not, and our clients must use the method they registered: a secret sent the other way is
 * refused (invalid_client).
 */
function enforceRegisteredSecretTransport(ProviderClass: typeof Provider, provider: Provider): void {
  const prototype = provider.Client.prototype as unknown as {
    clientAuthMethod: string;
    compareClientSecret(actual: string): Promise<boolean>;
  };
  const compare = prototype.compareClientSecret;
  prototype.compareClientSecret = function (this: typeof prototype, actual: string) {
    const viaBasic = ProviderClass.ctx?.headers.authorization !== undefined;
    if (viaBasic !== (this.clientAuthMethod === 'client_secret_basic')) {
      return Promise.resolve(false);
    }
    return compare.call(this, actual);
  };
}

function clientMetadata(client: TestAuthClient): ClientMetadata {
  const grantTypes = client.grantTypes ?? ['authorization_code', 'refresh_token'];
  const method = client.tokenEndpointAuthMethod ?? (client.clientSecret ? 'client_secret_basic' : 'none');
  return {
    client_id: client.clientId,
    ...(client.clientSecret !== undefined && method !== 'none' ? { client_secret: client.clientSecret } : {}),
    redirect_uris: client.redirectUris,
    token_endpoint_auth_method: method,
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    ...(client.scope ? { scope: client.scope } : {}),
  };
}

function grantTypeOf(oidc: { params?: Record<string, unknown> }): string | undefined {
  try {
    const value = oidc.params?.grant_type;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The interaction endpoint: the fixed test user signs in, then consents to everything the client
 * asked for — or denies when the user agent sends the deny decision.
 */
async function handleInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (req.headers[DECISION_HEADER] === 'deny') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the test user denied the request' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: TEST_ACCOUNT_ID } });
    return;
  }
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({
          accountId: session?.accountId ?? TEST_ACCOUNT_ID,
          clientId: String(params.client_id),
        });
    if (!grant) throw new Error(`grant ${details.grantId} not found`);
    const missing = prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } });
    return;
  }
  throw new Error(`unexpected interaction prompt ${prompt.name}`);
}

/** Plays the browser: cookies, redirects within the AS, stops at the first redirect out of it. */
async function driveUserAgent(issuer: string, start: string, deny: boolean): Promise<URL> {
  const cookies = new Map<string, string>();
  const issuerOrigin = new URL(issuer).origin;
  let url = new URL(start);
  for (let hop = 0; hop < 10; hop++) {
    const headers: Record<string, string> = {};
    if (cookies.size > 0) {
      headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    if (deny && url.pathname.startsWith(INTERACTION_PATH)) headers[DECISION_HEADER] = 'deny';
    const response = await fetch(url, { redirect: 'manual', headers });
    storeCookies(cookies, response.headers.getSetCookie());
    const body = await response.text();
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url);
      const withinAs =
        next.origin === issuerOrigin &&
        (next.pathname.startsWith('/auth') || next.pathname.startsWith(INTERACTION_PATH));
      if (!withinAs) return next;
      url = next;
      continue;
    }
    let parsed: { error?: string; error_description?: string } = {};
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      // not JSON: keep the status only
    }
    throw new AuthorizationRefusedError(
      response.status,
      parsed.error ?? 'unexpected_response',
      parsed.error_description,
    );
  }
  throw new Error('authorization did not reach the redirect URI within 10 redirects');
}

function storeCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((attribute) => {
      const [key = '', val = ''] = attribute.split('=').map((part) => part.trim());
      if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
      if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
      return false;
    });
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

/**
 * oidc-provider prints "Unsupported runtime" once, when imported, under Node < 22 LTS: that one
 * line is dropped so tests stay quiet; every other console.warn passes through.
 */
async function importProviderQuietly(): Promise<typeof Provider> {
  // biome-ignore lint/suspicious/noConsole: swapped for the duration of one import, then restored
  const warn = console.warn;
  const filtered = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING')) return;
    warn(...args);
  };
  console.warn = filtered;
  try {
    return (await import('oidc-provider')).default;
  } finally {
    console.warn = warn;
  }
}

interface StoredEntry {
  payload: AdapterPayload;
  expiresAt: number | undefined;
}

/** Per-server in-memory storage for oidc-provider models (the built-in one is process-global). */
class MemoryStore {
  readonly #entries = new Map<string, StoredEntry>();

  adapter(model: string): Adapter {
    const key = (id: string) => `${model}:${id}`;
    const get = (id: string): AdapterPayload | undefined => this.#get(key(id));
    const findBy = (field: 'uid' | 'userCode', value: string): AdapterPayload | undefined => {
      for (const [entryKey, entry] of this.#entries) {
        if (entryKey.startsWith(`${model}:`) && entry.payload[field] === value) {
          return this.#get(entryKey);
        }
      }
      return undefined;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        this.#entries.set(key(id), {
          payload: structuredClone(payload),
          expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined,
        });
      },
      find: async (id) => get(id),
      findByUid: async (uid) => findBy('uid', uid),
      findByUserCode: async (userCode) => findBy('userCode', userCode),
      consume: async (id) => {
        const entry = this.#entries.get(key(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        this.#entries.delete(key(id));
      },
      revokeByGrantId: async (grantId) => {
        for (const [entryKey, entry] of this.#entries) {
          if (entry.payload.grantId === grantId) this.#entries.delete(entryKey);
        }
      },
    };
  }

  dropModels(models: ReadonlySet<string>): void {
    for (const entryKey of [...this.#entries.keys()]) {
      if (models.has(entryKey.slice(0, entryKey.indexOf(':')))) this.#entries.delete(entryKey);
    }
  }

  #get(entryKey: string): AdapterPayload | undefined {
    const entry = this.#entries.get(entryKey);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#entries.delete(entryKey);
      return undefined;
    }
    return structuredClone(entry.payload);
  }
}
