// One file over 400 lines: the broker-link flow (startLink, completeLink, settleAccount) shares one
// OAuth transaction row, its secret bindings and its refusal codes, read best as one sequence.
import { createHash, randomUUID } from 'node:crypto';
import { brokerConnections, oauthTransactions } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { AppError } from '@aegis/shared/errors';
import { asTenantId, type TenantId, type UserId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import type { BrokerEnvironment, StartLinkInput, StartLinkOutput } from '@aegis/shared/schemas/broker';
import { generateCodeVerifier, generateState } from 'arctic';
import { and, eq, isNull, lt, ne, sql } from 'drizzle-orm';
import { audit } from '../../audit/service.ts';
import type { Db, Tx } from '../../db/database.ts';
import type { ServerConfig } from '../../env.ts';
import type { ExecutionRuntime } from '../../execution/runtime.ts';
import { validateSessionToken } from '../session.ts';
import {
  linkKindsOf,
  type ResolvedOAuthProvider,
  redirectUriFor,
  resolveOAuthProvider,
} from './providers.ts';
import { type SecretBinding, type TokenCrypto, tokenCryptoReason } from './token-crypto.ts';
import {
  authorizationUrl,
  clientCredentialsToken,
  exchangeCode,
  oauthErrorOf,
  type TokenSet,
} from './token-endpoint.ts';

/**
 * The OAuth 2.0 authorization-code + PKCE link flow (RFC 6749, RFC 7636, RFC 9700):
 * 1. `startLink` (a person whose session re-entered its password within the reauth window)
 *    stores a transaction: SHA-256 of the state, the PKCE verifier encrypted, the session it is
 *    bound to, 10 minutes to live; returns the authorization URL (S256 only).
 * 2. The provider sends the browser to GET /oauth/callback/<provider>. `completeLink` refuses a
 *    missing, unknown, expired, reused or foreign state, a provider mismatch and an `iss`
 *    mismatch (RFC 9207) before any token request; consumes the transaction (single use, even
 *    against a concurrent replay); exchanges the code with the verifier; stores the tokens
 *    encrypted; reads the broker account; audits.
 */
export interface OAuthDeps {
  readonly db: Db;
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly crypto: TokenCrypto;
  readonly execution?: ExecutionRuntime;
  /** Told when a connection was marked `needs_relink` (the console is notified through the bus). */
  readonly onNeedsRelink?: (tenantId: TenantId, connectionId: string) => void;
}

export const TRANSACTION_TTL_MS = 10 * 60_000;
/**
 * Spent or expired transactions are kept this long (so a late or replayed callback is told
 * `expired_state` / `reused_state` rather than `unknown_state`), then deleted when the desk next
 * starts a link.
 */
export const TRANSACTION_RETENTION_MS = 24 * 3_600_000;

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

export const bindingOf = (tenantId: TenantId, rowId: string, purpose: string): SecretBinding => ({
  tenantId,
  rowId,
  purpose,
});

/** Encrypts, turning a missing key into a clear, non-internal refusal. */
export function sealOrRefuse(crypto: TokenCrypto, plaintext: string, binding: SecretBinding): string {
  try {
    return crypto.encrypt(plaintext, binding);
  } catch (err) {
    if (tokenCryptoReason(err) === 'NO_KEY')
      throw new AppError('PRECONDITION_FAILED', (err as Error).message, { field: 'TOKEN_ENCRYPTION_KEY' });
    throw err;
  }
}

export const clientSecretOpener =
  (crypto: TokenCrypto, tenantId: TenantId) =>
  (sealed: string, providerConfigId: string): string =>
    crypto.decrypt(sealed, bindingOf(tenantId, providerConfigId, 'client_secret'));

/** resolveOAuthProvider for the desk, a desk-configured client secret opened with the desk's binding. */
export function oauthProviderOf(
  deps: Pick<OAuthDeps, 'config' | 'crypto'>,
  tx: Tx,
  tenantId: TenantId,
  provider: string,
): Promise<ResolvedOAuthProvider | null> {
  return resolveOAuthProvider(deps.config, tx, tenantId, provider, clientSecretOpener(deps.crypto, tenantId));
}

export async function startLink(
  deps: OAuthDeps,
  tx: Tx,
  who: { tenantId: TenantId; userId: UserId; sessionId: string },
  input: StartLinkInput,
  now = new Date(),
): Promise<StartLinkOutput> {
  // The connection being re-linked first: another desk's is simply not found.
  if (input.connectionId) {
    const [c] = await tx
      .select({ provider: brokerConnections.provider })
      .from(brokerConnections)
      .where(and(eq(brokerConnections.tenantId, who.tenantId), eq(brokerConnections.id, input.connectionId)));
    if (!c || c.provider !== input.provider)
      throw new AppError('NOT_FOUND', 'connectionId: no such connection of this provider on the desk', {
        field: 'connectionId',
      });
  }
  if (!linkKindsOf(input.provider).includes('oauth'))
    throw new AppError('BAD_INPUT', `provider: ${input.provider} is not linked over OAuth`, {
      field: 'provider',
    });
  if (!deps.crypto.configured)
    throw new AppError(
      'PRECONDITION_FAILED',
      'Broker linking needs TOKEN_ENCRYPTION_KEY (base64 of 32 random bytes) on the server',
      { field: 'TOKEN_ENCRYPTION_KEY' },
    );
  const provider = await oauthProviderOf(deps, tx, who.tenantId, input.provider);
  if (!provider)
    throw new AppError('PRECONDITION_FAILED', `provider: ${input.provider} has no OAuth client configured`, {
      field: 'provider',
    });
  if (provider.grantType === 'client_credentials')
    return linkClientCredentials(deps, who, input, provider, now);
  if (input.provider === 'coinbase' && input.environment === 'paper')
    throw new AppError('BAD_INPUT', 'environment: Coinbase has no paper trading', { field: 'environment' });
  // Arctic: 32 random bytes each, base64url (RFC 7636 §4.1 verifier; state unguessable).
  const state = generateState();
  const verifier = generateCodeVerifier();
  const id = randomUUID();
  const redirectUri = redirectUriFor(deps.config, input.provider);
  const expiresAt = new Date(now.getTime() + TRANSACTION_TTL_MS);
  await tx
    .delete(oauthTransactions)
    .where(
      and(
        eq(oauthTransactions.tenantId, who.tenantId),
        lt(oauthTransactions.expiresAt, new Date(now.getTime() - TRANSACTION_RETENTION_MS)),
      ),
    );
  await tx.insert(oauthTransactions).values({
    id,
    tenantId: who.tenantId,
    userId: who.userId,
    sessionId: who.sessionId,
    provider: input.provider,
    providerConfigId: provider.providerConfigId,
    environment: input.environment,
    stateHash: sha256Hex(state),
    codeVerifierEnc: sealOrRefuse(deps.crypto, verifier, bindingOf(who.tenantId, id, 'code_verifier')),
    redirectUri,
    relinkConnectionId: input.connectionId ?? null,
    createdAt: now,
    expiresAt,
  });
  // Alpaca chooses the paper or live account with `env` on its authorize URL.
  const extra: Record<string, string> = input.provider === 'alpaca' ? { env: input.environment } : {};
  return {
    authorizationUrl: authorizationUrl(provider, redirectUri, state, verifier, extra).toString(),
    expiresAt: expiresAt.toISOString(),
  };
}

/**
 * A desk-configured provider with the client-credentials grant has no user step: the token is
 * requested at once, the connection stored and its account read, and the "authorization URL"
 * is the console page a completed callback would have sent the browser to
 * (`/brokers?linked=<id>` or `?link_error=<code>`), so the console handles both grants alike.
 * Runs in its own transactions (the account is read through the execution runtime, which sees
 * only committed rows); the caller's transaction has only read.
 */
async function linkClientCredentials(
  deps: OAuthDeps,
  who: { tenantId: TenantId; userId: UserId },
  input: StartLinkInput,
  provider: ResolvedOAuthProvider,
  now: Date,
): Promise<StartLinkOutput> {
  let tokens: TokenSet;
  try {
    tokens = await clientCredentialsToken(provider);
  } catch (err) {
    const code = oauthErrorOf(err) ?? 'unexpected';
    deps.log.warn(
      { tenantId: who.tenantId, provider: provider.id, oauthError: code },
      'client-credentials grant failed',
    );
    throw new AppError(
      'PRECONDITION_FAILED',
      `provider: ${provider.id} refused the client credentials (${code})`,
      {
        field: 'provider',
      },
    );
  }
  const connectionId = await storeTokens(deps, {
    tenantId: who.tenantId,
    userId: who.userId,
    provider,
    environment: input.environment,
    relinkConnectionId: input.connectionId ?? null,
    tokens,
    now,
    linkKind: 'client_credentials',
  });
  const out = await settleAccount(deps, who.tenantId, who.userId, connectionId, now);
  const query = out.ok
    ? `linked=${encodeURIComponent(out.connectionId)}`
    : `link_error=${out.code}${out.connectionId ? `&connection=${encodeURIComponent(out.connectionId)}` : ''}`;
  return { authorizationUrl: `${deps.config.publicOrigin}/brokers?${query}`, expiresAt: now.toISOString() };
}

/** Why a callback was refused: the code the console shows (`/brokers?link_error=<code>`). */
export type LinkErrorCode =
  | 'no_session'
  | 'missing_state'
  | 'unknown_state'
  | 'foreign_state'
  | 'expired_state'
  | 'reused_state'
  | 'provider_mismatch'
  | 'issuer_mismatch'
  | 'missing_code'
  | 'access_denied'
  | 'provider_error'
  | 'token_exchange_failed'
  | 'account_unreadable';

export type CallbackOutcome =
  | { readonly ok: true; readonly connectionId: string }
  | { readonly ok: false; readonly code: LinkErrorCode; readonly connectionId?: string };

export interface CallbackQuery {
  readonly state: string | null;
  readonly code: string | null;
  readonly error: string | null;
  readonly iss: string | null;
}

const refuse = (code: LinkErrorCode, connectionId?: string): CallbackOutcome =>
  connectionId ? { ok: false, code, connectionId } : { ok: false, code };

export async function completeLink(
  deps: OAuthDeps,
  sessionToken: string | null,
  providerInPath: string,
  q: CallbackQuery,
  now = new Date(),
): Promise<CallbackOutcome> {
  if (!q.state) return refuse('missing_state');
  const validated = sessionToken ? await validateSessionToken(deps.db, deps.config, sessionToken, now) : null;
  if (!validated?.session.activeTenantId) return refuse('no_session');
  const { session, user } = validated;
  // The desk the validated session has active (sessions.active_tenant_id, a desk of the user).
  const tenantId = asTenantId(session.activeTenantId!);
  const stateHash = sha256Hex(q.state);

  // Checks and consumption in one transaction; the row is consumed even when refused for a
  // provider error, so a state is good for exactly one callback.
  const checked = await withTenant(deps.db, tenantId, async (tx) => {
    const [t] = await tx.select().from(oauthTransactions).where(eq(oauthTransactions.stateHash, stateHash));
    if (!t) return { refusal: 'unknown_state' as const };
    if (t.sessionId !== session.id || t.userId !== user.id) return { refusal: 'foreign_state' as const };
    if (t.consumedAt) return { refusal: 'reused_state' as const };
    if (t.expiresAt.getTime() <= now.getTime()) return { refusal: 'expired_state' as const };
    if (t.provider !== providerInPath) return { refusal: 'provider_mismatch' as const };
    const consumed = await tx
      .update(oauthTransactions)
      .set({ consumedAt: now })
      .where(and(eq(oauthTransactions.id, t.id), isNull(oauthTransactions.consumedAt)))
      .returning({ id: oauthTransactions.id });
    if (consumed.length === 0) return { refusal: 'reused_state' as const };
    const provider = await oauthProviderOf(deps, tx, tenantId, t.provider);
    return { t, provider };
  });
  if ('refusal' in checked) {
    deps.log.warn({ tenantId, provider: providerInPath, refusal: checked.refusal }, 'oauth callback refused');
    return refuse(checked.refusal!);
  }
  const { t, provider } = checked;
  if (!provider) return refuse('provider_mismatch');
  // RFC 9207: a provider that identifies itself must be the one we sent the user to (mix-up);
  // checked on error responses too, before their error is believed.
  if (provider.issuer !== null && q.iss !== null && q.iss !== provider.issuer)
    return refuse('issuer_mismatch');
  if (q.error) {
    deps.log.info(
      { tenantId, provider: t.provider, error: q.error.slice(0, 64) },
      'oauth provider refused the link',
    );
    return refuse(q.error === 'access_denied' ? 'access_denied' : 'provider_error');
  }
  // A configured issuer must be named on a successful response (RFC 9207 §2.4).
  if (provider.issuer !== null && q.iss === null) return refuse('issuer_mismatch');
  if (!q.code) return refuse('missing_code');

  const verifier = deps.crypto.decrypt(t.codeVerifierEnc, bindingOf(tenantId, t.id, 'code_verifier'));
  let tokens: TokenSet;
  try {
    tokens = await exchangeCode(provider, t.redirectUri, q.code, verifier);
  } catch (err) {
    const code = oauthErrorOf(err) ?? 'unexpected';
    deps.log.warn({ tenantId, provider: t.provider, oauthError: code }, 'oauth code exchange failed');
    return refuse('token_exchange_failed');
  }
  const connectionId = await storeTokens(deps, {
    tenantId,
    userId: user.id,
    provider,
    environment: t.environment,
    relinkConnectionId: t.relinkConnectionId,
    tokens,
    now,
  });
  return settleAccount(deps, tenantId, user.id, connectionId, now);
}

/** Writes a new (or re-linked) connection with its tokens sealed to it; audits. */
async function storeTokens(
  deps: OAuthDeps,
  a: {
    tenantId: TenantId;
    userId: UserId;
    provider: ResolvedOAuthProvider;
    environment: BrokerEnvironment;
    relinkConnectionId: string | null;
    tokens: TokenSet;
    now: Date;
    linkKind?: 'oauth' | 'client_credentials';
  },
): Promise<string> {
  const id = a.relinkConnectionId ?? randomUUID();
  const linkKind = a.linkKind ?? 'oauth';
  const sealed = {
    accessTokenEnc: deps.crypto.encrypt(a.tokens.accessToken, bindingOf(a.tenantId, id, 'access_token')),
    refreshTokenEnc: a.tokens.refreshToken
      ? deps.crypto.encrypt(a.tokens.refreshToken, bindingOf(a.tenantId, id, 'refresh_token'))
      : null,
    tokenExpiresAt: a.tokens.expiresAt,
    tokenRefreshedAt: a.now,
    scopes: [...(a.tokens.scopes ?? a.provider.scopes)],
  };
  await withTenant(deps.db, a.tenantId, async (tx) => {
    if (a.relinkConnectionId) {
      await tx
        .update(brokerConnections)
        // Relinking over OAuth a connection that was reached by keys makes it an OAuth link;
        // the keys it held are dropped. Replaced tokens are not revoked: see docs/brokers.md.
        .set({
          ...sealed,
          linkKind,
          credentialsEnc: null,
          status: 'active',
          statusReason: null,
          revokedAt: null,
          updatedAt: a.now,
        })
        .where(eq(brokerConnections.id, id));
    } else {
      await tx.insert(brokerConnections).values({
        id,
        tenantId: a.tenantId,
        provider: a.provider.id,
        providerConfigId: a.provider.providerConfigId,
        // Replaced by the broker's account id as soon as the account is read.
        accountRef: `pending:${id}`,
        label: a.provider.name,
        environment: a.environment,
        linkKind,
        status: 'active',
        ...sealed,
        createdBy: a.userId,
        createdAt: a.now,
      });
    }
    await audit.record(tx, {
      action: a.relinkConnectionId ? 'brokers.relink' : 'brokers.link',
      actor: { type: 'user', id: a.userId },
      targetType: 'broker_connection',
      targetId: id,
      payload: { provider: a.provider.id, environment: a.environment, scopes: sealed.scopes },
      details: `${a.provider.id} ${a.environment}`,
    });
  });
  return id;
}

/**
 * Reads the broker account of a freshly linked connection and records its id and balances. The
 * same broker account linked twice becomes one connection (the newer secrets move onto the
 * existing row, re-sealed to it). A connection whose account cannot be read is kept in `error`.
 */
export async function settleAccount(
  deps: OAuthDeps,
  tenantId: TenantId,
  userId: UserId,
  connectionId: string,
  now = new Date(),
): Promise<CallbackOutcome> {
  if (!deps.execution) return { ok: true, connectionId };
  let account: Awaited<ReturnType<ExecutionRuntime['brokerAccount']>>;
  try {
    account = await deps.execution.brokerAccount(tenantId, connectionId);
  } catch (err) {
    const reason = `the broker account could not be read: ${err instanceof Error ? err.message.slice(0, 200) : 'error'}`;
    await withTenant(deps.db, tenantId, (tx) =>
      tx
        .update(brokerConnections)
        .set({ status: 'error', statusReason: reason, updatedAt: now })
        .where(eq(brokerConnections.id, connectionId)),
    );
    deps.log.warn({ tenantId, connectionId, err }, 'linked broker account unreadable');
    return refuse('account_unreadable', connectionId);
  }
  const snapshot = { ...account, syncedAt: now.toISOString() };
  const finalId = await withTenant(deps.db, tenantId, async (tx) => {
    const [row] = await tx.select().from(brokerConnections).where(eq(brokerConnections.id, connectionId));
    if (!row) return connectionId;
    const [existing] = await tx
      .select()
      .from(brokerConnections)
      .where(
        and(
          eq(brokerConnections.provider, row.provider),
          eq(brokerConnections.accountRef, account.accountId),
          ne(brokerConnections.id, connectionId),
        ),
      );
    if (!existing) {
      await tx
        .update(brokerConnections)
        .set({
          accountRef: account.accountId,
          accountIds: sql`array[${account.accountId}]::text[]`,
          accountSnapshot: snapshot,
          lastSyncAt: now,
          status: 'active',
          statusReason: null,
          updatedAt: now,
        })
        .where(eq(brokerConnections.id, connectionId));
      return connectionId;
    }
    const move = (sealed: string | null, purpose: string) =>
      sealed === null
        ? null
        : deps.crypto.encrypt(
            deps.crypto.decrypt(sealed, bindingOf(tenantId, connectionId, purpose)),
            bindingOf(tenantId, existing.id, purpose),
          );
    await tx
      .update(brokerConnections)
      .set({
        accessTokenEnc: move(row.accessTokenEnc, 'access_token'),
        refreshTokenEnc: move(row.refreshTokenEnc, 'refresh_token'),
        credentialsEnc: move(row.credentialsEnc, 'credentials'),
        // The newer link decides how the account is reached (OAuth replaced by keys or back).
        linkKind: row.linkKind,
        tokenExpiresAt: row.tokenExpiresAt,
        tokenRefreshedAt: row.tokenRefreshedAt,
        scopes: row.scopes,
        accountSnapshot: snapshot,
        lastSyncAt: now,
        status: 'active',
        statusReason: null,
        revokedAt: null,
        updatedAt: now,
      })
      .where(eq(brokerConnections.id, existing.id));
    await tx.delete(brokerConnections).where(eq(brokerConnections.id, connectionId));
    await audit.record(tx, {
      action: 'brokers.relink',
      actor: { type: 'user', id: userId },
      targetType: 'broker_connection',
      targetId: existing.id,
      payload: { provider: row.provider, mergedFrom: connectionId },
      details: `${row.provider} account linked again`,
    });
    return existing.id;
  });
  return { ok: true, connectionId: finalId };
}
