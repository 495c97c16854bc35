-- Time-series storage: TimescaleDB when the extension can be loaded, native range partitions
-- otherwise. Both paths expose the same tables, views/tables named bars_1s and bars_1m with the
-- same columns and types, and the same functions, so application SQL is identical:
--   select ... from bars_1m where symbol = $1 and bucket between $2 and $3
--   call aegis_refresh_bars(window_start, window_end)      -- materialize bars for a window
--   select * from aegis_partition_upkeep()                  -- daily job: partitions + retention
--   select aegis_timeseries_backend()                       -- 'timescaledb' | 'native'
--
-- Transactions: the runner (shared/src/db/migrate.ts) applies this file in ONE transaction, as
-- drizzle's migrator would. Everything here is transaction-safe on both paths: continuous
-- aggregates are created WITH NO DATA (TimescaleDB refuses WITH DATA inside a transaction block)
-- and nothing is refreshed here (the tables are empty; refresh_continuous_aggregate may not run
-- inside a transaction block). Bars are materialized afterwards by the refresh policies
-- (TimescaleDB) or by `call aegis_refresh_bars(...)`.
--
-- Forcing the native path on a server that has TimescaleDB (to test it):
--   ALTER DATABASE <db> SET aegis.timeseries_backend = 'native';  (before the first migration)

DO $$
BEGIN
  IF coalesce(current_setting('aegis.timeseries_backend', true), '') <> 'native'
     AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS timescaledb;
    EXCEPTION WHEN others THEN
      -- Installed but unusable (typically: not in shared_preload_libraries). Fall back rather
      -- than leave the platform without storage; the runner reports which path was taken.
      RAISE WARNING 'timescaledb is available but could not be created (%); using native partitions', SQLERRM;
    END;
  END IF;
END
$$;
--> statement-breakpoint

-- Which path this database took. Application code may branch on it for diagnostics only.
CREATE FUNCTION aegis_timeseries_backend() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
              THEN 'timescaledb' ELSE 'native' END
$$;
--> statement-breakpoint

-- The one list of time-series relations and their storage policy, read by both paths.
--   chunk: TimescaleDB chunk interval (native partitions are always daily)
--   retention: rows older than this are dropped (NULL = kept: signals and equity are records)
--   compress_after / segment_by: TimescaleDB compression. NULL for orderflow_events and
--   equity_snapshots: they are desk data under row-level security, and TimescaleDB refuses
--   RLS on hypertables with compression (columnstore); isolation wins over disk.
-- Change a policy with CREATE OR REPLACE in a later migration (and the matching
-- add_/remove_*_policy calls on TimescaleDB).
CREATE FUNCTION aegis_timeseries_tables()
RETURNS TABLE (table_name text, time_column text, chunk interval, retention interval,
               compress_after interval, segment_by text)
LANGUAGE sql IMMUTABLE AS $$
  VALUES
    ('ticks',            'ts',     interval '1 day',   interval '90 days',  interval '7 days',  'symbol'),
    ('orderflow_events', 'ts',     interval '1 day',   interval '180 days', NULL::interval,     NULL::text),
    ('features',         'ts',     interval '1 day',   interval '30 days',  interval '7 days',  'symbol'),
    ('signals',          'ts',     interval '7 days',  NULL::interval,      interval '30 days', 'symbol'),
    ('equity_snapshots', 'ts',     interval '30 days', NULL::interval,      NULL::interval,     NULL::text),
    ('bars_1s',          'bucket', interval '1 day',   interval '30 days',  NULL::interval,     NULL::text)
$$;
--> statement-breakpoint

-- The bar query, written once. Only the bucket expression differs between the paths:
-- time_bucket() (required in a continuous aggregate) versus date_bin() with time_bucket's
-- default origin; for 1 s and 1 min widths both give the same UTC-aligned buckets.
-- open/close break ties on ts by the feed sequence, so both paths pick the same trade.
-- Every output is cast to the column type drizzle declares: numeric(38,12), bigint, timestamptz.
CREATE FUNCTION aegis_ddl_bars_select(bucket_expr text, extra_where text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format($q$
    SELECT %s AS bucket,
           symbol,
           ((array_agg(price ORDER BY ts, seq))[1])::numeric(38,12)           AS open,
           max(price)::numeric(38,12)                                         AS high,
           min(price)::numeric(38,12)                                         AS low,
           ((array_agg(price ORDER BY ts DESC, seq DESC))[1])::numeric(38,12) AS close,
           sum(size)::numeric(38,12)                                          AS volume,
           round(sum(price * size) / nullif(sum(size), 0), 12)::numeric(38,12) AS vwap,
           count(*)::bigint                                                   AS trade_count
    FROM public.ticks
    WHERE kind = 1 %s
    GROUP BY 1, 2$q$, bucket_expr, extra_where)
$$;
--> statement-breakpoint

-- Native path: turn an (empty or not) table into a range-partitioned table on `col`, keeping
-- its name, columns, defaults, CHECKs, constraint and index names (so later drizzle-generated
-- migrations still find them), with a DEFAULT partition so an insert never fails for want of
-- a partition. Owner-only (migrations call it); not for the application.
CREATE FUNCTION aegis_ddl_partition_by_range(tbl text, col text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
DECLARE
  rel regclass := format('public.%I', tbl)::regclass;
  heap text := tbl || '__heap';
  constraint_ddl text[];
  index_ddl text[];
  stmt text;
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = rel) = 'p' THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = rel) THEN
    RAISE EXCEPTION 'cannot partition %: it is referenced by a foreign key', tbl;
  END IF;
  -- Captured before the rename, so the definitions already name the final table.
  SELECT coalesce(array_agg(format('ALTER TABLE public.%I ADD CONSTRAINT %I %s', tbl, conname,
                                   pg_get_constraintdef(oid)) ORDER BY contype, conname), '{}')
    INTO constraint_ddl
    FROM pg_constraint WHERE conrelid = rel AND contype IN ('p', 'u', 'f', 'x');
  SELECT coalesce(array_agg(pg_get_indexdef(i.indexrelid) ORDER BY i.indexrelid), '{}')
    INTO index_ddl
    FROM pg_index i
   WHERE i.indrelid = rel
     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = rel);

  EXECUTE format('ALTER TABLE public.%I RENAME TO %I', tbl, heap);
  EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                 'INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS) '
                 'PARTITION BY RANGE (%I)', tbl, heap, col);
  EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I DEFAULT', tbl || '_default', tbl);
  EXECUTE format('INSERT INTO public.%I SELECT * FROM public.%I', tbl, heap);
  EXECUTE format('DROP TABLE public.%I', heap);
  FOREACH stmt IN ARRAY constraint_ddl LOOP EXECUTE stmt; END LOOP;
  FOREACH stmt IN ARRAY index_ddl LOOP EXECUTE stmt; END LOOP;
END
$fn$;
--> statement-breakpoint

-- Is `rel` managed by TimescaleDB (hypertable or continuous aggregate)? False on the native path.
CREATE FUNCTION aegis_ddl_is_timescale(rel regclass) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $fn$
DECLARE
  found boolean;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
    RETURN false;
  END IF;
  EXECUTE $q$
    SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables h
                    WHERE format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass = $1)
        OR EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates a
                    WHERE format('%I.%I', a.view_schema, a.view_name)::regclass = $1)$q$
    INTO found USING rel;
  RETURN found;
END
$fn$;
--> statement-breakpoint

-- Creates the daily partitions covering [from_ts, to_ts) that do not exist yet; returns how
-- many it created. Idempotent. SECURITY DEFINER so the application's upkeep job (app role,
-- which may not create tables) can run it; it only ever touches range-partitioned tables of
-- schema public. On TimescaleDB chunks are created on insert: returns 0.
CREATE FUNCTION aegis_ensure_partitions(tbl regclass, from_ts timestamptz, to_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET "TimeZone" = 'UTC' AS $fn$
DECLARE
  relname text;
  keycol text;
  default_part regclass;
  day timestamptz;
  day_end timestamptz;
  part text;
  created integer := 0;
  has_rows boolean;
BEGIN
  IF aegis_ddl_is_timescale(tbl) THEN
    RETURN 0;
  END IF;
  SELECT c.relname, a.attname INTO relname, keycol
    FROM pg_class c
    JOIN pg_partitioned_table p ON p.partrelid = c.oid AND p.partstrat = 'r' AND p.partnatts = 1
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
   WHERE c.oid = tbl AND c.relnamespace = 'public'::regnamespace;
  IF relname IS NULL THEN
    RAISE EXCEPTION '% is not a range-partitioned table of schema public', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  -- Bounded: a runaway caller must not create thousands of tables in one call.
  IF from_ts IS NULL OR to_ts IS NULL OR to_ts < from_ts OR to_ts - from_ts > interval '400 days' THEN
    RAISE EXCEPTION 'bad partition window [%, %)', from_ts, to_ts USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- One upkeep at a time per table: two callers would race on CREATE TABLE.
  PERFORM pg_advisory_xact_lock(tbl::oid::bigint);
  default_part := to_regclass(format('public.%I', relname || '_default'));
  day := date_trunc('day', from_ts);  -- UTC days (function-level TimeZone)
  WHILE day < to_ts LOOP
    day_end := day + interval '1 day';
    part := relname || '_p' || to_char(day, 'YYYYMMDD');
    IF to_regclass(format('public.%I', part)) IS NULL THEN
      has_rows := false;
      IF default_part IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= $1 AND %I < $2)', default_part, keycol, keycol)
          INTO has_rows USING day, day_end;
      END IF;
      IF has_rows THEN
        -- Rows for this day landed in DEFAULT before the partition existed; attaching would
        -- fail while they are there, so move them into the new table first.
        EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, relname);
        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) '
                       'INSERT INTO public.%I SELECT * FROM moved', default_part, keycol, keycol, part)
          USING day, day_end;
        EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
                       relname, part, day, day_end);
      ELSE
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                       part, relname, day, day_end);
      END IF;
      created := created + 1;
    END IF;
    day := day_end;
  END LOOP;
  RETURN created;
END
$fn$;
--> statement-breakpoint

-- Retention: drops every partition (TimescaleDB: chunk) whose upper bound is at or before
-- before_ts, and deletes older rows from the DEFAULT partition; returns the partitions dropped.
-- It runs with the owner's rights across every desk, so it never goes further than the table's
-- retention in aegis_timeseries_tables(): tables kept as records (signals, equity) and cuts
-- newer than now() - retention are refused. The owner can still drop by hand.
CREATE FUNCTION aegis_drop_partitions_before(tbl regclass, before_ts timestamptz)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET "TimeZone" = 'UTC' AS $fn$
DECLARE
  relname text;
  keycol text;
  part record;
  dropped integer := 0;
  default_part regclass;
  keep interval;
BEGIN
  IF before_ts IS NULL THEN
    RAISE EXCEPTION 'before_ts is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT t.retention INTO keep FROM aegis_timeseries_tables() t
   WHERE format('public.%I', t.table_name)::regclass = tbl;
  IF keep IS NULL THEN
    RAISE EXCEPTION '% has no retention policy: its rows are kept', tbl USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF before_ts > now() - keep THEN
    RAISE EXCEPTION 'retention of % is %: cannot drop rows newer than %', tbl, keep, now() - keep
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF aegis_ddl_is_timescale(tbl) THEN
    EXECUTE 'SELECT count(*)::int FROM drop_chunks($1, older_than => $2)' INTO dropped USING tbl, before_ts;
    RETURN dropped;
  END IF;
  SELECT c.relname, a.attname INTO relname, keycol
    FROM pg_class c
    JOIN pg_partitioned_table p ON p.partrelid = c.oid AND p.partstrat = 'r' AND p.partnatts = 1
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
   WHERE c.oid = tbl AND c.relnamespace = 'public'::regnamespace;
  IF relname IS NULL THEN
    RAISE EXCEPTION '% is not a range-partitioned table of schema public', tbl USING ERRCODE = 'wrong_object_type';
  END IF;
  PERFORM pg_advisory_xact_lock(tbl::oid::bigint);
  FOR part IN
    SELECT c.oid::regclass AS rel,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = tbl AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
  LOOP
    IF part.upper_bound IS NOT NULL AND part.upper_bound <= before_ts THEN
      EXECUTE format('DROP TABLE %s', part.rel);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  default_part := to_regclass(format('public.%I', relname || '_default'));
  IF default_part IS NOT NULL THEN
    EXECUTE format('DELETE FROM %s WHERE %I < $1', default_part, keycol) USING before_ts;
  END IF;
  RETURN dropped;
END
$fn$;
--> statement-breakpoint

-- The daily upkeep job (both paths; the app calls it as the app role): partitions for
-- yesterday .. today + days_ahead, then retention per aegis_timeseries_tables(). On TimescaleDB
-- chunks appear on insert and the retention policies drop them, so it reports zeros there.
CREATE FUNCTION aegis_partition_upkeep(days_ahead integer DEFAULT 7)
RETURNS TABLE (table_name text, created integer, dropped integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET "TimeZone" = 'UTC' AS $fn$
DECLARE
  t record;
BEGIN
  IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
    RAISE EXCEPTION 'days_ahead must be within 0..366' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR t IN SELECT * FROM aegis_timeseries_tables() LOOP
    table_name := t.table_name;
    IF aegis_ddl_is_timescale(format('public.%I', t.table_name)::regclass) THEN
      created := 0;
      dropped := 0;
    ELSE
      created := aegis_ensure_partitions(format('public.%I', t.table_name)::regclass,
                                         now() - interval '1 day', now() + make_interval(days => days_ahead + 1));
      dropped := CASE WHEN t.retention IS NULL THEN 0
                      ELSE aegis_drop_partitions_before(format('public.%I', t.table_name)::regclass,
                                                        now() - t.retention) END;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;
--> statement-breakpoint

DO $do$
DECLARE
  t record;
BEGIN
  IF aegis_timeseries_backend() = 'timescaledb' THEN
    -- Hypertables. The tables are empty here; migrate_data covers a database that is not.
    -- No default ts index: every table already has its own (key, ts) index.
    FOR t IN SELECT * FROM aegis_timeseries_tables() WHERE table_name NOT LIKE 'bars\_%' LOOP
      PERFORM create_hypertable(format('public.%I', t.table_name)::regclass,
                                by_range(t.time_column, t.chunk),
                                create_default_indexes => false, if_not_exists => true, migrate_data => true);
      IF t.compress_after IS NOT NULL THEN
        EXECUTE format('ALTER TABLE public.%I SET (timescaledb.compress, timescaledb.compress_segmentby = %L, '
                       'timescaledb.compress_orderby = %L)', t.table_name, t.segment_by, t.time_column || ' DESC');
        PERFORM add_compression_policy(format('public.%I', t.table_name)::regclass,
                                       compress_after => t.compress_after, if_not_exists => true);
      END IF;
      IF t.retention IS NOT NULL THEN
        PERFORM add_retention_policy(format('public.%I', t.table_name)::regclass,
                                     drop_after => t.retention, if_not_exists => true);
      END IF;
    END LOOP;

    -- Continuous aggregates, WITH NO DATA (we are inside the migration's transaction).
    -- materialized_only: bars are what was refreshed, as on the native path, so both paths
    -- return the same rows for the same refresh calls.
    EXECUTE 'CREATE MATERIALIZED VIEW public.bars_1s WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS '
            || aegis_ddl_bars_select($b$time_bucket(interval '1 second', ts)$b$) || ' WITH NO DATA';
    EXECUTE 'CREATE MATERIALIZED VIEW public.bars_1m WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS '
            || aegis_ddl_bars_select($b$time_bucket(interval '1 minute', ts)$b$) || ' WITH NO DATA';
    -- (symbol, bucket) lookups; continuous aggregates take no UNIQUE index (the native
    -- rollups have it as their primary key).
    CREATE INDEX bars_1s_symbol_bucket_idx ON public.bars_1s (symbol, bucket);
    CREATE INDEX bars_1m_symbol_bucket_idx ON public.bars_1m (symbol, bucket);
    -- Refresh policies run in TimescaleDB's background workers as the owner. The windows
    -- stay clear of retention (ticks dropped after 90 days must not empty old bars).
    PERFORM add_continuous_aggregate_policy('public.bars_1s', start_offset => interval '10 minutes',
                                            end_offset => interval '1 second', schedule_interval => interval '5 seconds',
                                            if_not_exists => true);
    PERFORM add_continuous_aggregate_policy('public.bars_1m', start_offset => interval '1 day',
                                            end_offset => interval '1 minute', schedule_interval => interval '30 seconds',
                                            if_not_exists => true);
    PERFORM add_retention_policy('public.bars_1s', drop_after => interval '30 days', if_not_exists => true);

    -- Not SECURITY DEFINER on purpose: refresh_continuous_aggregate must run in a non-atomic
    -- CALL, and PostgreSQL makes SECURITY DEFINER procedures atomic. TimescaleDB lets only the
    -- owner refresh; the policies above keep bars current, so for other roles this is a no-op.
    EXECUTE $p$
      CREATE PROCEDURE public.aegis_refresh_bars(window_start timestamptz DEFAULT NULL,
                                                 window_end timestamptz DEFAULT NULL)
      LANGUAGE plpgsql AS $body$
      BEGIN
        IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'public.bars_1m'::regclass), 'USAGE') THEN
          RAISE NOTICE 'bars are refreshed by TimescaleDB policies; forcing a refresh needs the owner role';
          RETURN;
        END IF;
        CALL refresh_continuous_aggregate('public.bars_1s', window_start, window_end);
        CALL refresh_continuous_aggregate('public.bars_1m', window_start, window_end);
      END
      $body$
    $p$;
  ELSE
    FOR t IN SELECT * FROM aegis_timeseries_tables() WHERE table_name NOT LIKE 'bars\_%' LOOP
      PERFORM aegis_ddl_partition_by_range(t.table_name, t.time_column);
    END LOOP;

    -- Rollup tables with the continuous aggregates' names, columns and types. Not
    -- materialized views: REFRESH MATERIALIZED VIEW recomputes every bar from every retained
    -- tick on each call, where a rollup refreshes one window, as refresh_continuous_aggregate does.
    CREATE TABLE public.bars_1s (
      bucket timestamptz NOT NULL, symbol text NOT NULL,
      open numeric(38,12), high numeric(38,12), low numeric(38,12), close numeric(38,12),
      volume numeric(38,12), vwap numeric(38,12), trade_count bigint,
      CONSTRAINT bars_1s_symbol_bucket_key PRIMARY KEY (symbol, bucket)
    ) PARTITION BY RANGE (bucket);
    CREATE TABLE public.bars_1s_default PARTITION OF public.bars_1s DEFAULT;
    CREATE TABLE public.bars_1m (
      bucket timestamptz NOT NULL, symbol text NOT NULL,
      open numeric(38,12), high numeric(38,12), low numeric(38,12), close numeric(38,12),
      volume numeric(38,12), vwap numeric(38,12), trade_count bigint,
      CONSTRAINT bars_1m_symbol_bucket_key PRIMARY KEY (symbol, bucket)
    );

    -- Replaces the window [window_start, window_end) of each rollup, whole buckets only (a
    -- bucket partly outside the window is left alone), like refresh_continuous_aggregate.
    -- NULL bounds mean unbounded: call aegis_refresh_bars() rebuilds from the retained ticks.
    -- SECURITY DEFINER: the app role reads bars but may not write them.
    CREATE FUNCTION public.aegis_ddl_refresh_rollup(rollup text, width interval,
                                                    window_start timestamptz, window_end timestamptz)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
    DECLARE
      origin constant timestamptz := '2000-01-03 00:00:00+00';  -- time_bucket's default origin
      lo timestamptz := '-infinity';
      hi timestamptz := 'infinity';
    BEGIN
      IF window_start IS NOT NULL THEN
        lo := date_bin(width, window_start, origin);
        IF lo < window_start THEN lo := lo + width; END IF;
      END IF;
      IF window_end IS NOT NULL THEN
        hi := date_bin(width, window_end, origin);
      END IF;
      IF lo >= hi THEN RETURN; END IF;
      EXECUTE format('DELETE FROM public.%I WHERE bucket >= $1 AND bucket < $2', rollup) USING lo, hi;
      EXECUTE format('INSERT INTO public.%I (bucket, symbol, open, high, low, close, volume, vwap, trade_count) %s',
                     rollup, aegis_ddl_bars_select(format('date_bin(%L::interval, ts, %L::timestamptz)', width, origin),
                                                   'AND ts >= $1 AND ts < $2'))
        USING lo, hi;
    END
    $fn$;

    CREATE PROCEDURE public.aegis_refresh_bars(window_start timestamptz DEFAULT NULL,
                                               window_end timestamptz DEFAULT NULL)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $body$
    BEGIN
      -- Two refreshes of the same window would interleave delete/insert; run one at a time.
      PERFORM pg_advisory_xact_lock(hashtext('aegis_refresh_bars'));
      PERFORM aegis_ddl_refresh_rollup('bars_1s', interval '1 second', window_start, window_end);
      PERFORM aegis_ddl_refresh_rollup('bars_1m', interval '1 minute', window_start, window_end);
    END
    $body$;

    PERFORM aegis_ensure_partitions(format('public.%I', tables.table_name)::regclass,
                                    now() - interval '1 day', now() + interval '8 days')
      FROM aegis_timeseries_tables() AS tables;
  END IF;
END
$do$;
--> statement-breakpoint

-- Functions default to EXECUTE for PUBLIC. The SECURITY DEFINER ones run as the owner, so
-- only the application role may call them (granted by the runner after each migration), and
-- the aegis_ddl_* helpers are for migrations alone.
REVOKE EXECUTE ON FUNCTION aegis_ddl_bars_select(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION aegis_ddl_partition_by_range(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION aegis_ddl_is_timescale(regclass) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION aegis_ensure_partitions(regclass, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION aegis_drop_partitions_before(regclass, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION aegis_partition_upkeep(integer) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE aegis_refresh_bars(timestamptz, timestamptz) FROM PUBLIC;
DO $$
BEGIN
  IF to_regprocedure('aegis_ddl_refresh_rollup(text, interval, timestamptz, timestamptz)') IS NOT NULL THEN
    REVOKE EXECUTE ON FUNCTION aegis_ddl_refresh_rollup(text, interval, timestamptz, timestamptz) FROM PUBLIC;
  END IF;
END
$$;
