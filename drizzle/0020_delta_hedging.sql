-- The delta-neutral hedger (server/src/hedging/, docs/delta-hedging.md).
--
-- hedge_settings: one row per desk (absent = the hedger is off). `targets` is a JSON array of
-- { underlying, hedgeSymbol, band }: the group whose net delta is watched, the linear
-- instrument traded to hedge it and the band (delta units, a decimal string) it is kept within.
CREATE TABLE IF NOT EXISTS hedge_settings (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  enabled boolean NOT NULL DEFAULT false,
  targets jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(targets) = 'array'),
  updated_by uuid,
  updated_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('hedge_settings');
--> statement-breakpoint

-- What the hedger did in a pass that acted: proposed, placed, or skipped (halted, calendar
-- closed, denied by the governor, a hedge still working). A skip repeated with the same reason
-- is stored once (the runtime compares with the underlying's last row), and rows older than
-- 7 days are deleted as new ones are written, so the table stays bounded without a scheduler.
CREATE TABLE IF NOT EXISTS hedge_actions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  underlying text NOT NULL,
  hedge_symbol text NOT NULL,
  net_delta_before double precision NOT NULL,
  band numeric(38, 12) NOT NULL,
  action text NOT NULL CHECK (action IN ('none', 'proposed', 'placed', 'skipped')),
  side text CHECK (side IN ('buy', 'sell')),
  quantity numeric(38, 12),
  reason text NOT NULL,
  proposal_id uuid,
  order_id uuid,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS hedge_actions_tenant_created_idx ON hedge_actions (tenant_id, created_at);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS hedge_actions_tenant_underlying_idx
  ON hedge_actions (tenant_id, underlying, created_at);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('hedge_actions');
