-- Execution dispatch (issue 11): one dispatcher per broker resource, holding a lease in
-- execution_leases (0012). Outbox rows are routed by their order's broker_connection_id (no
-- column of their own: the claim joins orders). This migration adds what the dispatcher writes
-- besides: a desk's reducing-only state while a linked connection's circuit breaker is open.
--
-- One row per (desk, source): `connection:<id>` while that connection's breaker is open. Any row
-- makes the governor treat the desk as halted (only risk-reducing orders pass) without
-- cancelling its working orders; the row is deleted when the breaker closes (or when a new
-- dispatcher session of the connection starts with a closed breaker). Both are audited.
CREATE TABLE IF NOT EXISTS desk_reducing_only (
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  source text NOT NULL,
  reason text NOT NULL,
  since timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, source)
);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('desk_reducing_only');
--> statement-breakpoint
-- The takeover and claim queries join outbox rows to their orders by id.
CREATE INDEX IF NOT EXISTS outbox_pending_tenant_idx ON outbox (tenant_id, id) WHERE dispatched_at IS NULL;
