import {
  CodeChallengeMethod,
  generateCodeVerifier,
  generateState,
  OAuth2Client,
  OAuth2RequestError,
} from 'arctic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthorizationRefusedError,
  startTestAuthServer,
  type TestAuthServer,
} from './support/oauth-server.ts';

/**
 * The local OAuth 2.0 authorization server (support/oauth-server.ts, oidc-provider) is strict the
 * way our client code needs it to be: checked here with a plain Arctic client over real HTTP.
 */

const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback/test';
const SCOPES = ['account:write', 'trading'];

let as: TestAuthServer;
const confidential = new OAuth2Client('aegis-web', 'web-secret', REDIRECT_URI);
const publicClient = new OAuth2Client('aegis-public', null, REDIRECT_URI);

beforeAll(async () => {
  as = await startTestAuthServer({
    clients: [
      {
        clientId: 'aegis-web',
        clientSecret: 'web-secret',
        redirectUris: [REDIRECT_URI],
        scope: 'account:write trading',
      },
      {
        clientId: 'aegis-public',
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: 'none',
        scope: 'account:write trading',
      },
      {
        clientId: 'aegis-narrow',
        redirectUris: [REDIRECT_URI],
        tokenEndpointAuthMethod: 'none',
        scope: 'trading',
      },
      {
        clientId: 'aegis-machine',
        clientSecret: 'machine-secret',
        redirectUris: [],
        tokenEndpointAuthMethod: 'client_secret_post',
        grantTypes: ['client_credentials'],
        scope: 'trading',
      },
    ],
  });
});

afterAll(async () => {
  await as?.close();
});

/** An S256 PKCE authorization at `server` (default: this file's), for `scopes` (default SCOPES). */
async function authorizeWithPkce(
  client: OAuth2Client,
  opts?: { deny?: boolean; server?: TestAuthServer; scopes?: string[] },
) {
  const server = opts?.server ?? as;
  const state = generateState();
  const verifier = generateCodeVerifier();
  const url = client.createAuthorizationURLWithPKCE(
    server.authorizationUrl,
    state,
    CodeChallengeMethod.S256,
    verifier,
    opts?.scopes ?? SCOPES,
  );
  const redirect = await server.authorize(url.toString(), opts);
  return { redirect, state, verifier };
}

function codeOf(redirect: URL): string {
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code in ${redirect.toString()}`);
  return code;
}

async function oauthErrorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OAuth2RequestError) return error.code;
    throw error;
  }
  throw new Error('expected an OAuth 2.0 error response');
}

function scopeSet(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter(Boolean).sort();
}

describe('local OAuth 2.0 authorization server (oidc-provider)', () => {
  it('exchanges a PKCE authorization code for an opaque access token and a refresh token', async () => {
    const before = as.tokenRequests.authorization_code;
    const { redirect, state, verifier } = await authorizeWithPkce(confidential);

    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT_URI);
    expect(redirect.searchParams.get('state')).toBe(state);
    expect(redirect.searchParams.get('iss')).toBe(as.issuer);

    const tokens = await confidential.validateAuthorizationCode(as.tokenUrl, codeOf(redirect), verifier);
    expect(tokens.tokenType().toLowerCase()).toBe('bearer');
    expect(tokens.accessToken().split('.')).toHaveLength(1); // opaque, not a JWT
    expect(tokens.hasRefreshToken()).toBe(true);
    expect(scopeSet(tokens.scopes().join(' '))).toEqual([...SCOPES].sort());

    const introspection = await as.introspect(tokens.accessToken());
    expect(introspection.active).toBe(true);
    expect(introspection.clientId).toBe('aegis-web');
    expect(scopeSet(introspection.scope)).toEqual([...SCOPES].sort());
    expect(as.tokenRequests.authorization_code).toBe(before + 1);
  });

  it('puts the RFC 9207 iss parameter in the authorization response', async () => {
    const { redirect } = await authorizeWithPkce(publicClient);
    expect(redirect.searchParams.get('iss')).toBe(as.issuer);
    expect(redirect.searchParams.get('code')).toBeTruthy();
  });

  it('lets a public client (auth method none) exchange its code with PKCE alone', async () => {
    const { redirect, verifier } = await authorizeWithPkce(publicClient);
    const tokens = await publicClient.validateAuthorizationCode(as.tokenUrl, codeOf(redirect), verifier);
    expect((await as.introspect(tokens.accessToken())).clientId).toBe('aegis-public');
  });

  it('refuses a wrong code verifier with invalid_grant', async () => {
    const { redirect } = await authorizeWithPkce(confidential);
    const error = await oauthErrorOf(
      confidential.validateAuthorizationCode(as.tokenUrl, codeOf(redirect), generateCodeVerifier()),
    );
    expect(error).toBe('invalid_grant');
  });

  it('refuses a replayed authorization code with invalid_grant', async () => {
    const { redirect, verifier } = await authorizeWithPkce(confidential);
    const code = codeOf(redirect);
    const tokens = await confidential.validateAuthorizationCode(as.tokenUrl, code, verifier);
    const error = await oauthErrorOf(confidential.validateAuthorizationCode(as.tokenUrl, code, verifier));
    expect(error).toBe('invalid_grant');
    // Replaying a code revokes what it was exchanged for.
    expect((await as.introspect(tokens.accessToken())).active).toBe(false);
  });

  it('refuses a wrong client secret with invalid_client', async () => {
    const { redirect, verifier } = await authorizeWithPkce(confidential);
    const impostor = new OAuth2Client('aegis-web', 'not-the-secret', REDIRECT_URI);
    const error = await oauthErrorOf(
      impostor.validateAuthorizationCode(as.tokenUrl, codeOf(redirect), verifier),
    );
    expect(error).toBe('invalid_client');
  });

  it('refuses an unregistered redirect URI at the authorization step, without redirecting', async () => {
    const stranger = new OAuth2Client('aegis-web', 'web-secret', `${REDIRECT_URI}/elsewhere`);
    const url = stranger.createAuthorizationURLWithPKCE(
      as.authorizationUrl,
      generateState(),
      CodeChallengeMethod.S256,
      generateCodeVerifier(),
      SCOPES,
    );
    const refused = await as.authorize(url.toString()).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AuthorizationRefusedError);
    expect((refused as AuthorizationRefusedError).error).toBe('invalid_redirect_uri');
  });

  it('refuses plain PKCE and a request without PKCE', async () => {
    const verifier = generateCodeVerifier();
    const plain = confidential.createAuthorizationURLWithPKCE(
      as.authorizationUrl,
      generateState(),
      CodeChallengeMethod.Plain,
      verifier,
      SCOPES,
    );
    const plainRedirect = await as.authorize(plain.toString());
    expect(plainRedirect.searchParams.get('error')).toBe('invalid_request');
    expect(plainRedirect.searchParams.get('code')).toBeNull();

    const none = confidential.createAuthorizationURL(as.authorizationUrl, generateState(), SCOPES);
    const noneRedirect = await as.authorize(none.toString());
    expect(noneRedirect.searchParams.get('error')).toBe('invalid_request');
    expect(noneRedirect.searchParams.get('code')).toBeNull();
  });

  it('refuses a scope the client is not registered for with invalid_scope', async () => {
    const narrow = new OAuth2Client('aegis-narrow', null, REDIRECT_URI);
    const { redirect } = await authorizeWithPkce(narrow);
    expect(redirect.searchParams.get('error')).toBe('invalid_scope');
    expect(redirect.searchParams.get('code')).toBeNull();
  });

  it('rotates the refresh token on use and refuses the old one with invalid_grant', async () => {
    const { redirect, verifier } = await authorizeWithPkce(confidential);
    const first = await confidential.validateAuthorizationCode(as.tokenUrl, codeOf(redirect), verifier);
    const before = as.tokenRequests.refresh_token;

    const second = await confidential.refreshAccessToken(as.tokenUrl, first.refreshToken(), []);
    expect(second.refreshToken()).not.toBe(first.refreshToken());
    expect(second.accessToken()).not.toBe(first.accessToken());
    expect((await as.introspect(second.accessToken())).active).toBe(true);

    const error = await oauthErrorOf(confidential.refreshAccessToken(as.tokenUrl, first.refreshToken(), []));
    expect(error).toBe('invalid_grant');
    expect(as.tokenRequests.refresh_token).toBe(before + 2);
    // Reuse of a rotated refresh token revokes the whole grant (oidc-provider's reuse detection).
    expect((await as.introspect(second.accessToken())).active).toBe(false);
    const reuse = await oauthErrorOf(confidential.refreshAccessToken(as.tokenUrl, second.refreshToken(), []));
    expect(reuse).toBe('invalid_grant');
  });

  it('revocation (RFC 7009) makes the access token inactive and the refresh token unusable', async () => {
    const { redirect, verifier } = await authorizeWithPkce(confidential);
    const tokens = await confidential.validateAuthorizationCode(as.tokenUrl, codeOf(redirect), verifier);
    expect((await as.introspect(tokens.accessToken())).active).toBe(true);

    await confidential.revokeToken(as.revocationUrl, tokens.accessToken());
    expect((await as.introspect(tokens.accessToken())).active).toBe(false);

    await confidential.revokeToken(as.revocationUrl, tokens.refreshToken());
    const error = await oauthErrorOf(confidential.refreshAccessToken(as.tokenUrl, tokens.refreshToken(), []));
    expect(error).toBe('invalid_grant');
  });

  it('revokeAll invalidates every issued token', async () => {
    const { redirect, verifier } = await authorizeWithPkce(confidential);
    const tokens = await confidential.validateAuthorizationCode(as.tokenUrl, codeOf(redirect), verifier);
    await as.revokeAll();
    expect((await as.introspect(tokens.accessToken())).active).toBe(false);
    const error = await oauthErrorOf(confidential.refreshAccessToken(as.tokenUrl, tokens.refreshToken(), []));
    expect(error).toBe('invalid_grant');
  });

  it('a denied consent redirects with error=access_denied and the state', async () => {
    const { redirect, state } = await authorizeWithPkce(confidential, { deny: true });
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT_URI);
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    expect(redirect.searchParams.get('state')).toBe(state);
    expect(redirect.searchParams.get('iss')).toBe(as.issuer);
    expect(redirect.searchParams.get('code')).toBeNull();
  });

  it('issues client_credentials tokens to a client allowed the grant, authenticated per its method', async () => {
    const before = as.tokenRequests.client_credentials;
    const post = await fetch(as.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'aegis-machine',
        client_secret: 'machine-secret',
        scope: 'trading',
      }),
    });
    expect(post.status).toBe(200);
    const body = (await post.json()) as { access_token: string; scope?: string };
    expect(await as.introspect(body.access_token)).toEqual({
      active: true,
      clientId: 'aegis-machine',
      scope: 'trading',
    });

    // aegis-machine is registered for client_secret_post: HTTP Basic is refused.
    const basic = await fetch(as.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('aegis-machine:machine-secret').toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'trading' }),
    });
    expect(basic.status).toBe(401);
    expect(((await basic.json()) as { error: string }).error).toBe('invalid_client');

    // A client not allowed the grant is refused.
    const web = await fetch(as.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('aegis-web:web-secret').toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(web.status).toBe(400);
    expect(((await web.json()) as { error: string }).error).toBe('unauthorized_client');
    expect(as.tokenRequests.client_credentials).toBe(before + 3);
  });

  it('refuses a secret sent in the body by a client registered for client_secret_basic', async () => {
    const { redirect, verifier } = await authorizeWithPkce(confidential);
    const response = await fetch(as.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: codeOf(redirect),
        code_verifier: verifier,
        redirect_uri: REDIRECT_URI,
        client_id: 'aegis-web',
        client_secret: 'web-secret',
      }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('issues access tokens with the configured lifetime, from a second server with its own state', async () => {
    const short = await startTestAuthServer({
      clients: [
        {
          clientId: 'aegis-public',
          redirectUris: [REDIRECT_URI],
          tokenEndpointAuthMethod: 'none',
          scope: 'trading',
        },
      ],
      accessTokenTtlSeconds: 5,
    });
    try {
      expect(short.issuer).not.toBe(as.issuer);
      const { redirect, verifier } = await authorizeWithPkce(publicClient, {
        server: short,
        scopes: ['trading'],
      });
      expect(redirect.searchParams.get('iss')).toBe(short.issuer);
      const tokens = await publicClient.validateAuthorizationCode(short.tokenUrl, codeOf(redirect), verifier);
      expect(tokens.accessTokenExpiresInSeconds()).toBe(5);
      expect((await short.introspect(tokens.accessToken())).active).toBe(true);
      // Tokens of one server mean nothing to another.
      expect((await as.introspect(tokens.accessToken())).active).toBe(false);
      expect(short.tokenRequests).toEqual({ authorization_code: 1, refresh_token: 0, client_credentials: 0 });
    } finally {
      await short.close();
    }
  });

  it('introspect says inactive for a token this server never issued', async () => {
    expect(await as.introspect('not-a-token-from-here')).toEqual({ active: false });
  });
});
