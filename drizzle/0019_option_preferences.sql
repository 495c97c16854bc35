-- The option recommender's saved settings (server/src/options/, docs/option-recommendations.md).
--
-- option_preferences: one row per person and desk: the capital recommendations are sized
-- against and the last risk preset. Tenant-owned (RLS by desk); the service filters by user_id
-- as well, so a person sees only their own row. capital is a decimal like every amount
-- (NULL: never saved).
CREATE TABLE IF NOT EXISTS option_preferences (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  capital numeric(38, 12) CHECK (capital IS NULL OR capital > 0),
  preset text NOT NULL DEFAULT 'balanced' CHECK (preset IN ('conservative', 'balanced', 'aggressive')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('option_preferences');
