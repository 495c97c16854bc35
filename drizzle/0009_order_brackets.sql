-- Bracket orders: an entry's protective stop and target are orders of their own, linked to the
-- entry (parent_order_id), with their role and their one-cancels-other group. All three columns
-- are nullable: every existing order is a plain order, untouched. A leg has all three or none.
ALTER TABLE "orders" ADD COLUMN IF NOT EXISTS "parent_order_id" uuid;
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN IF NOT EXISTS "bracket_role" text;
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN IF NOT EXISTS "oco_group" text;
--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_bracket_role_check"
  CHECK ("bracket_role" IS NULL OR "bracket_role" IN ('stop', 'target'));
--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_bracket_leg_check"
  CHECK (("parent_order_id" IS NULL) = ("bracket_role" IS NULL) AND ("bracket_role" IS NULL) = ("oco_group" IS NULL));
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "orders_parent_idx" ON "orders" ("tenant_id", "parent_order_id")
  WHERE "parent_order_id" IS NOT NULL;
