-- Multi-leg (combo) orders (docs/combo-orders.md). A combo is one order of the desk — quantity in
-- combo units, a signed net limit per unit (positive a debit, negative a credit), its own status
-- moving with its legs (all-or-none) — and its legs are ordinary orders rows linked by combo_id
-- with their ratio, each following the order state machine. Tenant-owned under RLS like orders.
CREATE TABLE IF NOT EXISTS "combos" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "tenant_id" uuid NOT NULL,
  "client_order_id" text NOT NULL,
  "strategy" text NOT NULL CHECK ("strategy" IN ('vertical', 'straddle', 'strangle', 'custom')),
  "quantity" numeric(38, 12) NOT NULL,
  "order_type" text NOT NULL CHECK ("order_type" IN ('market', 'limit')),
  "net_limit_price" numeric(38, 12),
  "time_in_force" text DEFAULT 'day' NOT NULL CHECK ("time_in_force" IN ('day', 'gtc', 'ioc', 'fok')),
  "status" text DEFAULT 'pending_new' NOT NULL CHECK ("status" IN ('pending_new', 'new', 'partially_filled',
    'filled', 'pending_cancel', 'cancelled', 'rejected', 'expired', 'denied', 'unknown')),
  "filled_quantity" numeric(38, 12) DEFAULT '0' NOT NULL,
  "avg_net_price" numeric(38, 12),
  "max_loss" numeric(38, 12),
  "denial" jsonb,
  "broker_connection_id" uuid,
  "proposal_id" uuid,
  "origin" text NOT NULL CHECK ("origin" IN ('human', 'api', 'agent')),
  "created_by" text,
  "version" integer DEFAULT 0 NOT NULL,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL,
  "updated_at" timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "combos_quantity_check" CHECK ("quantity" > 0),
  CONSTRAINT "combos_limit_check" CHECK (("order_type" = 'limit') = ("net_limit_price" IS NOT NULL))
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "combos_client_order_id_key" ON "combos" ("tenant_id", "client_order_id");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "combos_tenant_created_idx" ON "combos" ("tenant_id", "created_at");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "combos_tenant_status_idx" ON "combos" ("tenant_id", "status");
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('combos');
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN IF NOT EXISTS "combo_id" uuid;
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN IF NOT EXISTS "leg_ratio" integer;
--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_combo_leg_check"
  CHECK (("combo_id" IS NULL) = ("leg_ratio" IS NULL) AND ("leg_ratio" IS NULL OR "leg_ratio" BETWEEN 1 AND 10));
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "orders_combo_idx" ON "orders" ("tenant_id", "combo_id") WHERE "combo_id" IS NOT NULL;
