import { isDeadlineExceeded, withDeadline } from '@aegis/shared/deadline';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import {
  ArcticFetchError,
  CodeChallengeMethod,
  OAuth2Client,
  OAuth2RequestError,
  type OAuth2Tokens,
} from 'arctic';
import type { ResolvedOAuthProvider } from './providers.ts';

/**
 * Calls to a provider's token and revocation endpoints. Arctic's OAuth2Client does the
 * authorization-code (PKCE S256), refresh and RFC 7009 revocation requests for clients that
 * authenticate with HTTP Basic or not at all; `client_secret_post` and the client-credentials
 * grant (which Arctic does not offer) are the same requests written here. Every call is bounded
 * by a timeout: a token endpoint that hangs must not hold a connection row lock.
 */

export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken: string | null;
  readonly expiresAt: Date | null;
  readonly scopes: readonly string[] | null;
}

/**
 * A failed grant: an OAuth error response (RFC 6749 §5.2: `invalid_grant`, `invalid_client` …) or
 * our own `timeout`, `unreachable`, `unexpected_response`. An AppError, not a class: the OAuth
 * error word is a detail (`oauthError`) that `oauthErrorOf` reads back, and the AppError code
 * follows from it (a provider that timed out or is unreachable is TIMEOUT / UNAVAILABLE, a
 * refused grant PRECONDITION_FAILED: the link must be redone), so the server's one mapping
 * answers for it wherever it surfaces.
 */
const OAUTH_GRANT = 'oauth_grant';
const CODE_BY_OAUTH_ERROR: Readonly<Record<string, ErrorCode>> = {
  timeout: ErrorCode.TIMEOUT,
  unreachable: ErrorCode.UNAVAILABLE,
  unexpected_response: ErrorCode.UNAVAILABLE,
};

export const oauthGrantError = (oauthError: string, message: string): AppError =>
  new AppError(CODE_BY_OAUTH_ERROR[oauthError] ?? ErrorCode.PRECONDITION_FAILED, message, {
    reason: OAUTH_GRANT,
    oauthError,
  });

/** The OAuth error word of a failed grant (`invalid_grant`, `timeout` …); undefined for any other error. */
export function oauthErrorOf(e: unknown): string | undefined {
  if (!(e instanceof AppError) || e.details?.reason !== OAUTH_GRANT) return undefined;
  const word = e.details.oauthError;
  return typeof word === 'string' ? word : undefined;
}

const TIMEOUT_MS = 10_000;

async function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await withDeadline(p, TIMEOUT_MS, what);
  } catch (err) {
    if (isDeadlineExceeded(err)) throw oauthGrantError('timeout', `${what} timed out`);
    if (oauthErrorOf(err) !== undefined) throw err;
    if (err instanceof OAuth2RequestError)
      throw oauthGrantError(
        err.code,
        `${what}: ${err.code}${err.description ? ` (${err.description})` : ''}`,
      );
    if (err instanceof ArcticFetchError)
      throw oauthGrantError('unreachable', `${what}: provider unreachable`);
    throw oauthGrantError('unexpected_response', `${what}: unexpected response from the provider`);
  }
}

const arcticClient = (p: ResolvedOAuthProvider, redirectUri: string | null) =>
  new OAuth2Client(p.clientId, p.clientAuth === 'none' ? null : p.clientSecret, redirectUri);

const usesArctic = (p: ResolvedOAuthProvider) => p.clientAuth !== 'client_secret_post';

function fromArctic(t: OAuth2Tokens): TokenSet {
  const data = t.data as Record<string, unknown>;
  return {
    accessToken: t.accessToken(),
    refreshToken: t.hasRefreshToken() ? t.refreshToken() : null,
    expiresAt: typeof data.expires_in === 'number' ? t.accessTokenExpiresAt() : null,
    scopes: t.hasScopes() ? t.scopes() : null,
  };
}

/** A token request written out (client_secret_post, client credentials). */
async function postForm(
  p: ResolvedOAuthProvider,
  url: string,
  params: Record<string, string>,
): Promise<unknown> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (p.clientAuth === 'client_secret_basic' && p.clientSecret) {
    headers.authorization = `Basic ${Buffer.from(
      `${encodeURIComponent(p.clientId)}:${encodeURIComponent(p.clientSecret)}`,
    ).toString('base64')}`;
  } else {
    body.set('client_id', p.clientId);
    if (p.clientAuth === 'client_secret_post' && p.clientSecret) body.set('client_secret', p.clientSecret);
  }
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch {
    throw oauthGrantError('unreachable', 'provider unreachable');
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  const obj = (json ?? {}) as Record<string, unknown>;
  if (!res.ok) {
    const code = typeof obj.error === 'string' ? obj.error : `http_${res.status}`;
    throw oauthGrantError(code, `token endpoint: ${code}`);
  }
  return obj;
}

function fromJson(json: unknown): TokenSet {
  const o = json as Record<string, unknown>;
  if (typeof o.access_token !== 'string' || o.access_token === '')
    throw oauthGrantError('unexpected_response', 'token endpoint: no access_token');
  return {
    accessToken: o.access_token,
    refreshToken: typeof o.refresh_token === 'string' ? o.refresh_token : null,
    expiresAt: typeof o.expires_in === 'number' ? new Date(Date.now() + o.expires_in * 1000) : null,
    scopes: typeof o.scope === 'string' ? o.scope.split(' ').filter(Boolean) : null,
  };
}

/** The authorization URL (PKCE S256 only). */
export function authorizationUrl(
  p: ResolvedOAuthProvider,
  redirectUri: string,
  state: string,
  codeVerifier: string,
  extra: Record<string, string> = {},
): URL {
  if (!p.authorizationUrl) throw oauthGrantError('invalid_request', 'provider has no authorization endpoint');
  const url = arcticClient(p, redirectUri).createAuthorizationURLWithPKCE(
    p.authorizationUrl,
    state,
    CodeChallengeMethod.S256,
    codeVerifier,
    [...p.scopes],
  );
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return url;
}

export async function exchangeCode(
  p: ResolvedOAuthProvider,
  redirectUri: string,
  code: string,
  codeVerifier: string,
): Promise<TokenSet> {
  if (usesArctic(p))
    return fromArctic(
      await bounded(
        arcticClient(p, redirectUri).validateAuthorizationCode(p.tokenUrl, code, codeVerifier),
        'code exchange',
      ),
    );
  return fromJson(
    await postForm(p, p.tokenUrl, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: codeVerifier,
    }),
  );
}

export async function refreshTokens(p: ResolvedOAuthProvider, refreshToken: string): Promise<TokenSet> {
  if (usesArctic(p))
    return fromArctic(
      await bounded(arcticClient(p, null).refreshAccessToken(p.tokenUrl, refreshToken, []), 'refresh'),
    );
  return fromJson(
    await postForm(p, p.tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken }),
  );
}

export async function clientCredentialsToken(p: ResolvedOAuthProvider): Promise<TokenSet> {
  const params: Record<string, string> = { grant_type: 'client_credentials' };
  if (p.scopes.length > 0) params.scope = p.scopes.join(' ');
  return fromJson(await postForm(p, p.tokenUrl, params));
}

/** RFC 7009 revocation; false when the provider has no revocation endpoint. */
export async function revokeToken(
  p: ResolvedOAuthProvider,
  token: string,
  hint: 'access_token' | 'refresh_token',
): Promise<boolean> {
  if (!p.revocationUrl) return false;
  if (usesArctic(p)) {
    await bounded(arcticClient(p, null).revokeToken(p.revocationUrl, token), 'revocation');
    return true;
  }
  await postForm(p, p.revocationUrl, { token, token_type_hint: hint });
  return true;
}
