-- Order timeline: every status change (and every change of the filled quantity) of an order, as
-- the state machine applied it, written by a trigger in the same transaction as the change, so
-- no code path (placement, dispatch, broker reports, cancels, the kill switch, reconciliation)
-- can change an order without leaving its event. Read by orders.detail (the console's drawer).
CREATE TABLE IF NOT EXISTS order_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  order_id uuid NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  ts timestamptz NOT NULL,
  from_status text,
  to_status text NOT NULL,
  filled_quantity numeric(38,12) NOT NULL,
  reject_reason text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS order_events_order_idx ON order_events (tenant_id, order_id, id);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('order_events');
--> statement-breakpoint
CREATE OR REPLACE FUNCTION aegis_order_events() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO order_events (tenant_id, order_id, ts, from_status, to_status, filled_quantity, reject_reason)
    VALUES (NEW.tenant_id, NEW.id, NEW.created_at, NULL, NEW.status, NEW.filled_quantity, NEW.reject_reason);
  ELSIF OLD.status IS DISTINCT FROM NEW.status OR OLD.filled_quantity IS DISTINCT FROM NEW.filled_quantity THEN
    INSERT INTO order_events (tenant_id, order_id, ts, from_status, to_status, filled_quantity, reject_reason)
    VALUES (NEW.tenant_id, NEW.id, greatest(NEW.updated_at, OLD.updated_at), OLD.status, NEW.status,
            NEW.filled_quantity, NEW.reject_reason);
  END IF;
  RETURN NULL;
END
$fn$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS orders_timeline ON orders;
--> statement-breakpoint
CREATE TRIGGER orders_timeline AFTER INSERT OR UPDATE OF status, filled_quantity ON orders
  FOR EACH ROW EXECUTE FUNCTION aegis_order_events();
--> statement-breakpoint
-- Orders placed before this migration: their placement and where they are now (the steps in
-- between were not recorded).
INSERT INTO order_events (tenant_id, order_id, ts, from_status, to_status, filled_quantity, reject_reason)
SELECT tenant_id, id, created_at, NULL, status, filled_quantity, reject_reason FROM orders
 WHERE NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = orders.id);
