import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  inet,
  integer,
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

export const ROLES = ['admin', 'trader', 'viewer'] as const;

/** Role of a user on one desk. */
export const memberships = pgTable(
  'memberships',
  {
    tenantId: tenantId().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
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
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The desk the session is acting on; null until one is chosen. */
    activeTenantId: uuid('active_tenant_id').references(() => tenants.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    lastSeenAt: tstz('last_seen_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
    absoluteExpiresAt: tstz('absolute_expires_at').notNull(),
    /** Last time the user re-entered the password (approvals, limits, kill switch need it recent). */
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
    tenantId: tenantId().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
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

/** OAuth 2.0 authorization-code + PKCE transactions in flight (state and verifier, encrypted). */
export const oauthTransactions = pgTable(
  'oauth_transactions',
  {
    id: pkId(),
    tenantId: tenantId().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    stateHash: text('state_hash').notNull().unique(),
    codeVerifierEnc: text('code_verifier_enc').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at').notNull(),
    consumedAt: tstz('consumed_at'),
  },
  (t) => [index('oauth_transactions_tenant_idx').on(t.tenantId)],
);

/** A desk's linked broker account; tokens encrypted at rest (AES-GCM, key from config). */
export const brokerConnections = pgTable(
  'broker_connections',
  {
    id: pkId(),
    tenantId: tenantId().references(() => tenants.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    accountRef: text('account_ref').notNull(),
    status: text('status', { enum: ['active', 'expired', 'revoked', 'error'] })
      .notNull()
      .default('active'),
    accessTokenEnc: text('access_token_enc'),
    refreshTokenEnc: text('refresh_token_enc'),
    tokenExpiresAt: tstz('token_expires_at'),
    scopes: text('scopes').array(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastSyncAt: tstz('last_sync_at'),
  },
  (t) => [uniqueIndex('broker_connections_account_key').on(t.tenantId, t.provider, t.accountRef)],
);

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
