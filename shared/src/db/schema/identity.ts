import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  inet,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, pkId, tenantId, tstz, updatedAt } from './columns.ts';

/** Desks. A tenant is a desk: its data is invisible to every other desk. */
export const tenants = pgTable('tenants', {
  id: pkId(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  baseCurrency: text('base_currency').notNull().default('USD'),
  /** IANA zone in which the desk's trading day (daily loss, session start) is counted. */
  timezone: text('timezone').notNull().default('UTC'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** People. Users are platform-wide; what they may do on a desk comes from memberships. */
export const users = pgTable(
  'users',
  {
    id: pkId(),
    email: text('email').notNull(),
    displayName: text('display_name').notNull(),
    passwordHash: text('password_hash').notNull(),
    isPlatformAdmin: boolean('is_platform_admin').notNull().default(false),
    mustChangePassword: boolean('must_change_password').notNull().default(false),
    passwordChangedAt: tstz('password_changed_at').notNull().defaultNow(),
    disabledAt: tstz('disabled_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`)],
);

/** The owning desk (`tenantId()`), its rows deleted with the desk. */
export const deskTenantId = () => tenantId().references(() => tenants.id, { onDelete: 'cascade' });
/** The owning user, their rows deleted with them. */
export const ownerUserId = () =>
  uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' });

export const ROLES = ['admin', 'trader', 'viewer'] as const;

/** Role of a user on one desk. */
export const memberships = pgTable(
  'memberships',
  {
    tenantId: deskTenantId(),
    userId: ownerUserId(),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId] }),
    index('memberships_user_idx').on(t.userId),
    check('memberships_role_check', sql`${t.role} in ('admin','trader','viewer')`),
  ],
);

/**
 * Sessions (Lucia's design): the id is the SHA-256 of the token, hex; the token itself is never
 * stored. Sliding expiry (expires_at) bounded by an absolute lifetime (absolute_expires_at).
 */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: ownerUserId(),
    /** The desk the session is acting on; null until one is chosen. */
    activeTenantId: uuid('active_tenant_id').references(() => tenants.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    lastSeenAt: tstz('last_seen_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
    absoluteExpiresAt: tstz('absolute_expires_at').notNull(),
    /** Last time the user re-entered the password (approvals, limits, halt need it recent). */
    reauthenticatedAt: tstz('reauthenticated_at'),
    ip: inet('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_idx').on(t.expiresAt)],
);

export const API_KEY_SCOPES = ['read', 'trade', 'admin'] as const;

/** API keys for scripts: `aegis_<prefix>_<secret>`; only a hash of the secret is stored. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: pkId(),
    tenantId: deskTenantId(),
    userId: ownerUserId(),
    name: text('name').notNull(),
    /** Public, unique lookup part shown in listings. */
    prefix: text('prefix').notNull().unique(),
    secretHash: text('secret_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at'),
    revokedAt: tstz('revoked_at'),
    lastUsedAt: tstz('last_used_at'),
  },
  (t) => [index('api_keys_tenant_idx').on(t.tenantId, t.userId)],
);

export const BROKER_ENVIRONMENTS = ['paper', 'live'] as const;
export const BROKER_LINK_KINDS = ['oauth', 'client_credentials', 'api_key', 'gateway'] as const;
export const BROKER_CONNECTION_STATUSES = [
  /** Linked and usable. */
  'active',
  /** The provider refused the refresh token (`invalid_grant`): trading halted until relinked. */
  'needs_relink',
  /** A gateway session lapsed (IBKR Client Portal): the user re-authenticates at the gateway. */
  'reauth_required',
  /** Unlinked: tokens deleted (revoked at the provider where it can). Kept for its orders. */
  'revoked',
  /** Failing (circuit open, account closed); `status_reason` says why. */
  'error',
] as const;

/**
 * OAuth 2.0 authorization-code + PKCE transactions in flight (server/src/auth/oauth/). The state
 * is stored only as its SHA-256; the code verifier encrypted (token-crypto, AAD = desk and
 * transaction id). Bound to the session that started it, single use (`consumed_at`), 10 minutes.
 */
export const oauthTransactions = pgTable(
  'oauth_transactions',
  {
    id: pkId(),
    tenantId: deskTenantId(),
    userId: ownerUserId(),
    /** The session that started the link; the callback must come back on the same one. */
    sessionId: text('session_id').notNull(),
    provider: text('provider').notNull(),
    /** A desk-configured generic provider (oauth_providers), when `provider` is `oauth:<slug>`. */
    providerConfigId: uuid('provider_config_id'),
    environment: text('environment', { enum: BROKER_ENVIRONMENTS }).notNull().default('paper'),
    stateHash: text('state_hash').notNull().unique(),
    codeVerifierEnc: text('code_verifier_enc').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    /** Connection being re-linked (relink keeps the connection id and its orders). */
    relinkConnectionId: uuid('relink_connection_id'),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at').notNull(),
    consumedAt: tstz('consumed_at'),
  },
  (t) => [index('oauth_transactions_tenant_idx').on(t.tenantId)],
);

/**
 * A desk's linked broker account. Secrets (access and refresh tokens, API keys) are encrypted
 * with AES-256-GCM (shared/src/crypto/token-crypto.ts: key id stored with the ciphertext,
 * desk and connection id as associated data). A connection is never deleted while orders point
 * at it: unlinking deletes the secrets and marks it `revoked`.
 */
export const brokerConnections = pgTable(
  'broker_connections',
  {
    id: pkId(),
    tenantId: deskTenantId(),
    /** `alpaca`, `coinbase`, `ibkr`, `ccxt:<exchange>` or `oauth:<slug>` (shared/src/schemas/broker.ts). */
    provider: text('provider').notNull(),
    providerConfigId: uuid('provider_config_id'),
    /** The broker's account id this connection trades (its first account when it has several). */
    accountRef: text('account_ref').notNull(),
    /** Every account id the grant reaches. */
    accountIds: text('account_ids').array().notNull().default(sql`'{}'::text[]`),
    label: text('label').notNull().default(''),
    environment: text('environment', { enum: BROKER_ENVIRONMENTS }).notNull().default('paper'),
    linkKind: text('link_kind', { enum: BROKER_LINK_KINDS }).notNull().default('oauth'),
    status: text('status', { enum: BROKER_CONNECTION_STATUSES }).notNull().default('active'),
    statusReason: text('status_reason'),
    accessTokenEnc: text('access_token_enc'),
    refreshTokenEnc: text('refresh_token_enc'),
    /** API-key links: the key material as encrypted JSON. */
    credentialsEnc: text('credentials_enc'),
    tokenExpiresAt: tstz('token_expires_at'),
    tokenRefreshedAt: tstz('token_refreshed_at'),
    scopes: text('scopes').array(),
    /** Last balances read from the broker (BrokerAccountView), for listings without a broker call. */
    accountSnapshot: jsonb('account_snapshot'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastSyncAt: tstz('last_sync_at'),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [uniqueIndex('broker_connections_account_key').on(t.tenantId, t.provider, t.accountRef)],
);

/**
 * A desk's generic OAuth 2.0 broker, configured entirely by settings (no code): endpoints,
 * scopes, client authentication, grant, and which adapter protocol its trading API speaks.
 */
export const oauthProviders = pgTable(
  'oauth_providers',
  {
    id: pkId(),
    tenantId: deskTenantId(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    issuer: text('issuer'),
    authorizationUrl: text('authorization_url'),
    tokenUrl: text('token_url').notNull(),
    revocationUrl: text('revocation_url'),
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    clientId: text('client_id').notNull(),
    clientSecretEnc: text('client_secret_enc'),
    clientAuth: text('client_auth', {
      enum: ['client_secret_basic', 'client_secret_post', 'none'],
    })
      .notNull()
      .default('client_secret_basic'),
    grantType: text('grant_type', { enum: ['authorization_code', 'client_credentials'] })
      .notNull()
      .default('authorization_code'),
    /** The trading API's base URL and the adapter protocol it speaks (server/src/brokers/factory.ts). */
    apiBaseUrl: text('api_base_url').notNull(),
    apiProtocol: text('api_protocol').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('oauth_providers_slug_key').on(t.tenantId, t.slug)],
);

/**
 * Leases of the execution dispatchers (server/src/execution/): one holder per resource
 * (`paper:<desk>` or `connection:<id>`) at a time, taken over when `expires_at` passes. The
 * fencing token grows on every takeover, so a stale holder's writes can be refused. Platform-wide
 * (no tenant): every server process competes for the same rows.
 */
export const executionLeases = pgTable('execution_leases', {
  resource: text('resource').primaryKey(),
  holder: text('holder').notNull(),
  fencingToken: bigint('fencing_token', { mode: 'number' }).notNull().default(1),
  acquiredAt: tstz('acquired_at').notNull().defaultNow(),
  expiresAt: tstz('expires_at').notNull(),
});

/**
 * Tamper-evident audit trail: append-only (the app role may only INSERT and SELECT), each row
 * chained to the previous row of its tenant by `prev_hash` → `hash`. Platform-level events
 * (failed login of an unknown user, desk creation) use tenant_id null and form their own chain.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: uuid('tenant_id'),
    /** Position in the tenant's chain, from 1. */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    ts: tstz('ts').notNull().defaultNow(),
    actorType: text('actor_type', { enum: ['user', 'api_key', 'agent', 'system'] }).notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    outcome: text('outcome', { enum: ['ok', 'denied', 'failed'] })
      .notNull()
      .default('ok'),
    requestId: text('request_id'),
    ip: inet('ip'),
    /** SHA-256 of the canonical payload (never the payload's secrets). */
    payloadDigest: text('payload_digest').notNull(),
    /** Non-secret summary of what changed, for people reading the log. */
    details: text('details'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    uniqueIndex('audit_log_chain_key').on(
      sql`coalesce(${t.tenantId}, '00000000-0000-0000-0000-000000000000'::uuid)`,
      t.seq,
    ),
    index('audit_log_tenant_ts_idx').on(t.tenantId, t.ts),
  ],
);

/** Per-desk decision-agent parameters; also the home of the desk's trading mode. */
export const agentSettings = pgTable('agent_settings', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  mode: text('mode', { enum: ['confirmation', 'autonomous'] })
    .notNull()
    .default('confirmation'),
  instruments: text('instruments').array().notNull().default(sql`'{}'::text[]`),
  maxProposalsPerHour: integer('max_proposals_per_hour').notNull().default(20),
  riskPreset: text('risk_preset', { enum: ['conservative', 'balanced', 'aggressive'] })
    .notNull()
    .default('conservative'),
  proposalTtlSeconds: integer('proposal_ttl_seconds').notNull().default(300),
  /** No opposite-side proposal on an instrument sooner, unless its stop or target was hit (0010). */
  minHoldingSeconds: integer('min_holding_seconds').notNull().default(300),
  /** The proposal token bucket (shared/src/agent/proposal-gate.ts); null = full. */
  proposalTokens: doublePrecision('proposal_tokens'),
  proposalTokensAt: tstz('proposal_tokens_at'),
  /** Cleared by the loss-streak circuit breaker or a reconciliation mismatch; a human re-enables. */
  automationEnabled: boolean('automation_enabled').notNull().default(true),
  automationDisabledReason: text('automation_disabled_reason'),
  updatedBy: uuid('updated_by'),
  updatedAt: updatedAt(),
});
