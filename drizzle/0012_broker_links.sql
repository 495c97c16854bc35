-- Broker linking (server/src/auth/oauth/, server/src/brokers/): OAuth 2.0 + PKCE transactions
-- bound to the session that started them, connections with encrypted secrets and their status,
-- desk-configured generic OAuth providers, and the execution dispatchers' leases.
--
-- Nothing ever wrote oauth_transactions before this migration (the link flow did not exist), so
-- its rows can be dropped to add the session binding as NOT NULL.
DELETE FROM oauth_transactions;
--> statement-breakpoint
ALTER TABLE oauth_transactions ADD COLUMN IF NOT EXISTS session_id text NOT NULL;
--> statement-breakpoint
ALTER TABLE oauth_transactions ADD COLUMN IF NOT EXISTS provider_config_id uuid;
--> statement-breakpoint
ALTER TABLE oauth_transactions ADD COLUMN IF NOT EXISTS environment text NOT NULL DEFAULT 'paper'
  CHECK (environment IN ('paper', 'live'));
--> statement-breakpoint
ALTER TABLE oauth_transactions ADD COLUMN IF NOT EXISTS relink_connection_id uuid;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS oauth_transactions_expires_idx ON oauth_transactions (expires_at);
--> statement-breakpoint

CREATE TABLE IF NOT EXISTS oauth_providers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  name text NOT NULL,
  issuer text,
  authorization_url text,
  token_url text NOT NULL,
  revocation_url text,
  scopes text[] NOT NULL DEFAULT '{}'::text[],
  client_id text NOT NULL,
  client_secret_enc text,
  client_auth text NOT NULL DEFAULT 'client_secret_basic'
    CHECK (client_auth IN ('client_secret_basic', 'client_secret_post', 'none')),
  grant_type text NOT NULL DEFAULT 'authorization_code'
    CHECK (grant_type IN ('authorization_code', 'client_credentials')),
  api_base_url text NOT NULL,
  api_protocol text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The authorization-code grant needs an authorization endpoint.
  CHECK (grant_type = 'client_credentials' OR authorization_url IS NOT NULL)
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS oauth_providers_slug_key ON oauth_providers (tenant_id, slug);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('oauth_providers');
--> statement-breakpoint

ALTER TABLE broker_connections DROP CONSTRAINT IF EXISTS broker_connections_status_check;
--> statement-breakpoint
UPDATE broker_connections SET status = 'needs_relink' WHERE status = 'expired';
--> statement-breakpoint
ALTER TABLE broker_connections ADD CONSTRAINT broker_connections_status_check
  CHECK (status IN ('active', 'needs_relink', 'reauth_required', 'revoked', 'error'));
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS provider_config_id uuid
  REFERENCES oauth_providers(id) ON DELETE RESTRICT;
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS account_ids text[] NOT NULL DEFAULT '{}'::text[];
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS label text NOT NULL DEFAULT '';
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS environment text NOT NULL DEFAULT 'paper'
  CHECK (environment IN ('paper', 'live'));
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS link_kind text NOT NULL DEFAULT 'oauth'
  CHECK (link_kind IN ('oauth', 'client_credentials', 'api_key', 'gateway'));
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS status_reason text;
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS credentials_enc text;
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS token_refreshed_at timestamptz;
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS account_snapshot jsonb;
--> statement-breakpoint
ALTER TABLE broker_connections ADD COLUMN IF NOT EXISTS revoked_at timestamptz;
--> statement-breakpoint

-- An order keeps the connection it was sent through; a connection with orders is never deleted
-- (unlink deletes its secrets and marks it revoked).
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_broker_connection_fk;
--> statement-breakpoint
ALTER TABLE orders ADD CONSTRAINT orders_broker_connection_fk FOREIGN KEY (broker_connection_id)
  REFERENCES broker_connections(id) ON DELETE RESTRICT;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS orders_connection_idx ON orders (tenant_id, broker_connection_id)
  WHERE broker_connection_id IS NOT NULL;
--> statement-breakpoint

-- One dispatcher per resource (`paper:<desk>`, `connection:<id>`); platform-wide, no tenant.
CREATE TABLE IF NOT EXISTS execution_leases (
  resource text PRIMARY KEY,
  holder text NOT NULL,
  fencing_token bigint NOT NULL DEFAULT 1,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
