-- Row-level security: a desk's rows are invisible to every other desk, enforced by PostgreSQL.
--
-- The request transaction says which desk it acts for with
--   select set_config('app.tenant_id', '<uuid>', true)      -- = SET LOCAL, ends with the tx
-- (shared/src/db/client.ts withTenant). Unset or '' means "no desk": tenant-owned tables then
-- show no rows and accept no writes. ENABLE + FORCE: FORCE makes the table owner subject to the
-- policies too, so SECURITY DEFINER code cannot leak rows by accident; the application role is
-- not superuser, not BYPASSRLS and owns nothing (checked by the runner), so it cannot escape them.
--
-- Not under RLS (no tenant_id): users, sessions, tenants, instruments and market data (ticks,
-- features, signals, bars). Tables added later with a tenant_id column must call
--   select aegis_ddl_enable_tenant_rls('<table>');
-- in their migration; shared/tests/integration/rls.test.ts fails for any table that does not.

CREATE FUNCTION aegis_ddl_enable_tenant_rls(tbl text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
  EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON public.%I', tbl);
  -- USING filters what is read, updated and deleted; WITH CHECK refuses writing a row (insert,
  -- or update moving it) for another desk. current_setting(..., true) is NULL when never set.
  EXECUTE format($p$CREATE POLICY tenant_isolation ON public.%I FOR ALL
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, tbl);
END
$fn$;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION aegis_ddl_enable_tenant_rls(text) FROM PUBLIC;
--> statement-breakpoint

SELECT aegis_ddl_enable_tenant_rls(t)
  FROM unnest(ARRAY[
    'memberships', 'api_keys', 'oauth_transactions', 'broker_connections', 'agent_settings',
    'orderflow_events', 'signal_decisions', 'equity_snapshots',
    'proposals', 'approvals', 'orders', 'fills', 'positions', 'risk_limits', 'kill_switches',
    'idempotency_keys', 'outbox', 'trade_outcomes', 'lessons', 'backtests',
    'audit_log', 'jobs'
  ]) AS t;
--> statement-breakpoint

-- Tables whose tenant_id may be NULL get their own policies instead of tenant_isolation.

-- kill_switches: the global row (tenant_id NULL) is read by every desk (each order checks it);
-- a desk row only by its desk. A desk may write only its own row; the global row is written
-- without a desk set (platform context: the platform-admin procedures, which the server
-- authorizes before opening that transaction).
DROP POLICY tenant_isolation ON kill_switches;
--> statement-breakpoint
CREATE POLICY kill_switch_read ON kill_switches FOR SELECT
  USING (tenant_id IS NULL OR tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint
CREATE POLICY kill_switch_write ON kill_switches FOR ALL
  USING (CASE WHEN nullif(current_setting('app.tenant_id', true), '') IS NULL THEN tenant_id IS NULL
              ELSE tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid END)
  WITH CHECK (CASE WHEN nullif(current_setting('app.tenant_id', true), '') IS NULL THEN tenant_id IS NULL
                   ELSE tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid END);
--> statement-breakpoint

-- audit_log: desk events (tenant_id set) belong to their desk; platform events (tenant_id
-- NULL: failed login of an unknown user, desk creation) form their own chain, read and
-- appended only without a desk set, so a desk never sees platform events and platform code
-- never sees a desk's trail. UPDATE/DELETE are not granted to the app role at all (append-only).
DROP POLICY tenant_isolation ON audit_log;
--> statement-breakpoint
CREATE POLICY audit_scope ON audit_log FOR ALL
  USING (CASE WHEN nullif(current_setting('app.tenant_id', true), '') IS NULL THEN tenant_id IS NULL
              ELSE tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid END)
  WITH CHECK (CASE WHEN nullif(current_setting('app.tenant_id', true), '') IS NULL THEN tenant_id IS NULL
                   ELSE tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid END);
--> statement-breakpoint

-- jobs: the dispatcher claims work for every desk, so without a desk set all jobs are visible
-- and any may be enqueued; with a desk set, only that desk's jobs (never platform jobs). Job
-- rows carry kinds and parameters, not money or secrets; the handler sets the job's desk before
-- touching desk data.
DROP POLICY tenant_isolation ON jobs;
--> statement-breakpoint
CREATE POLICY job_scope ON jobs FOR ALL
  USING (nullif(current_setting('app.tenant_id', true), '') IS NULL
         OR tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
  WITH CHECK (nullif(current_setting('app.tenant_id', true), '') IS NULL
              OR tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
--> statement-breakpoint

-- Pre-tenant lookups for sign-in, before any desk is known. SECURITY DEFINER (runs as the
-- owner, with a fixed search_path so a caller cannot shadow tables), each returning exactly
-- what the caller needs. FORCE RLS binds the owner too, so these two tables get a SELECT-only
-- policy for roles that hold the owner's privileges: that is these functions (and migrations),
-- never the application role, which is not a member of the owner.
DO $$
BEGIN
  EXECUTE format('CREATE POLICY owner_auth_lookup ON memberships FOR SELECT USING (pg_has_role(%s::oid, ''USAGE''))',
                 (SELECT oid FROM pg_roles WHERE rolname = current_user));
  EXECUTE format('CREATE POLICY owner_auth_lookup ON api_keys FOR SELECT USING (pg_has_role(%s::oid, ''USAGE''))',
                 (SELECT oid FROM pg_roles WHERE rolname = current_user));
END
$$;
--> statement-breakpoint

-- The desks a user belongs to and the role on each: sign-in lists them to choose the active desk.
CREATE FUNCTION aegis_auth_memberships(user_id uuid)
RETURNS TABLE (tenant_id uuid, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT m.tenant_id, m.role FROM public.memberships m WHERE m.user_id = $1 ORDER BY m.created_at
$$;
--> statement-breakpoint

-- An API key by its public prefix (`aegis_<prefix>_<secret>`): the caller verifies the secret
-- against secret_hash, checks revoked_at / expires_at, then acts as the key's desk.
CREATE FUNCTION aegis_auth_api_key(prefix text)
RETURNS SETOF public.api_keys
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT k.* FROM public.api_keys k WHERE k.prefix = $1
$$;
--> statement-breakpoint

REVOKE EXECUTE ON FUNCTION aegis_auth_memberships(uuid) FROM PUBLIC;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION aegis_auth_api_key(text) FROM PUBLIC;
