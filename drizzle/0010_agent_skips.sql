-- The decision agent's pacing and its skipped signals (shared/src/agent/proposal-gate.ts).
--
-- agent_settings gains the minimum holding time (no opposite-side proposal on an instrument
-- sooner, unless its stop or target was hit) and the proposal token bucket's state. The bucket
-- lives in the desk's row so every server process reads and updates the same one, under the
-- row lock the agent takes when it stores a proposal; NULL means a full bucket.
ALTER TABLE agent_settings ADD COLUMN IF NOT EXISTS min_holding_seconds integer NOT NULL DEFAULT 300;
--> statement-breakpoint
ALTER TABLE agent_settings DROP CONSTRAINT IF EXISTS agent_settings_min_holding_seconds_check;
--> statement-breakpoint
ALTER TABLE agent_settings ADD CONSTRAINT agent_settings_min_holding_seconds_check
  CHECK (min_holding_seconds BETWEEN 0 AND 86400);
--> statement-breakpoint
ALTER TABLE agent_settings ADD COLUMN IF NOT EXISTS proposal_tokens double precision;
--> statement-breakpoint
ALTER TABLE agent_settings ADD COLUMN IF NOT EXISTS proposal_tokens_at timestamptz;
--> statement-breakpoint

-- Every signal the agent let go without a proposal, with its code and a reason naming the
-- numbers (one row per desk and signal: a redelivered signal does not record twice). Kept 7
-- days: the agent deletes the desk's older rows as it records new ones (index below), so the
-- table stays bounded without a scheduler and without TimescaleDB.
CREATE TABLE IF NOT EXISTS agent_skips (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  signal_id uuid NOT NULL,
  symbol text NOT NULL,
  direction text NOT NULL CHECK (direction IN ('long', 'short')),
  score double precision NOT NULL,
  code text NOT NULL,
  reason text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS agent_skips_signal_key ON agent_skips (tenant_id, signal_id);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS agent_skips_tenant_created_idx ON agent_skips (tenant_id, created_at);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('agent_skips');
--> statement-breakpoint
-- The agent reads each instrument's pending and last proposal per signal.
CREATE INDEX IF NOT EXISTS proposals_tenant_symbol_idx ON proposals (tenant_id, symbol, created_at);
