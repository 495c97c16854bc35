-- Desk alerts (server/src/alerts/, docs/alerts.md): the notification centre and signed webhooks.
--
-- alert_settings: one row per desk (absent = the defaults): how long a proposal may wait before it
-- is announced, and the share of the daily-loss limit that warns.
CREATE TABLE IF NOT EXISTS alert_settings (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  proposal_wait_minutes integer NOT NULL DEFAULT 15 CHECK (proposal_wait_minutes BETWEEN 1 AND 1440),
  daily_loss_warn_pct integer NOT NULL DEFAULT 80 CHECK (daily_loss_warn_pct BETWEEN 1 AND 100),
  updated_by uuid,
  updated_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('alert_settings');
--> statement-breakpoint

-- One row per desk event. `source_key` names what caused it (an audit row, a fill, a proposal, a
-- day), so every server process may find the same cause and only one row is ever written.
CREATE TABLE IF NOT EXISTS alert_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('halt.engaged', 'halt.released', 'reconcile.drift',
    'proposal.waiting', 'order.filled', 'daily_loss.near', 'test')),
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  title text NOT NULL,
  body text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  source_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, source_key)
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS alert_events_tenant_id_idx ON alert_events (tenant_id, id DESC);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('alert_events');
--> statement-breakpoint

-- What each member has read.
CREATE TABLE IF NOT EXISTS alert_reads (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  event_id bigint NOT NULL REFERENCES alert_events(id) ON DELETE CASCADE,
  read_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, event_id)
);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('alert_reads');
--> statement-breakpoint

-- Webhook endpoints. The signing secret is sealed with the platform's token crypto (AES-256-GCM,
-- bound to the desk and the endpoint row): it must be recoverable to sign, so it is not hashed.
CREATE TABLE IF NOT EXISTS alert_endpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name text NOT NULL,
  url text NOT NULL,
  format text NOT NULL CHECK (format IN ('aegis', 'slack', 'discord')),
  events text[] NOT NULL,
  secret_sealed text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS alert_endpoints_tenant_idx ON alert_endpoints (tenant_id);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('alert_endpoints');
--> statement-breakpoint

-- The delivery queue: one row per (endpoint, event), written with the event in one transaction.
-- Any server process claims due rows with FOR UPDATE SKIP LOCKED and holds a short lease while
-- it sends; a process that dies mid-send leaves a lease that expires and the row is claimed again.
CREATE TABLE IF NOT EXISTS alert_deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  endpoint_id uuid NOT NULL REFERENCES alert_endpoints(id) ON DELETE CASCADE,
  event_id bigint REFERENCES alert_events(id) ON DELETE CASCADE,
  kind text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (endpoint_id, event_id)
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS alert_deliveries_due_idx ON alert_deliveries (next_attempt_at)
  WHERE status IN ('pending', 'sending');
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('alert_deliveries');
--> statement-breakpoint
-- The sender claims due deliveries of every desk, so without a desk set all rows are visible (as
-- for jobs); with a desk set, only that desk's. Rows carry the payload, never a secret.
DROP POLICY tenant_isolation ON alert_deliveries;
--> statement-breakpoint
CREATE POLICY alert_delivery_scope ON alert_deliveries FOR ALL
  USING (nullif(current_setting('app.tenant_id', true), '') IS NULL
         OR tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (nullif(current_setting('app.tenant_id', true), '') IS NULL
              OR tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint

-- Every attempt: the delivery log the console shows (the last 50 per endpoint are kept).
CREATE TABLE IF NOT EXISTS alert_delivery_attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  endpoint_id uuid NOT NULL REFERENCES alert_endpoints(id) ON DELETE CASCADE,
  delivery_id bigint NOT NULL REFERENCES alert_deliveries(id) ON DELETE CASCADE,
  kind text NOT NULL,
  attempt integer NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead')),
  status_code integer,
  latency_ms integer NOT NULL,
  error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS alert_delivery_attempts_endpoint_idx
  ON alert_delivery_attempts (endpoint_id, id DESC);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('alert_delivery_attempts');
