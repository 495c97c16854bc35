-- Tick storage at the database's ceiling (docs/tick-storage.md).
--
-- The market-data columns of `ticks` (price, size, bid, ask, bid_size, ask_size) become float8.
-- They are what a venue printed, carried through the engine as doubles from intake on; numeric
-- (38,12) added nothing but cost: numeric_in parsing and variable-length storage took about half
-- of COPY's time once the index was paid for. Money (orders, fills, positions, cash, P&L) stays
-- numeric everywhere else; bars keep their numeric(38,12) columns (the bar query casts).
-- `features` is float8 already.
--
-- Indexes: unchanged. ticks_identity_idx (symbol, ts, seq) is the tick's identity and the access
-- path of every query that reads ticks (all of them give a symbol). A time-leading key inserts
-- about twice as fast but turned per-symbol reads into scans of the whole time range, and BRIN on
-- ts serves none of them; measurements and plans in docs/tick-storage.md.
--
-- Both storage paths:
--   native      ALTER TYPE on the partitioned parent rewrites every partition, indexes rebuilt.
--   TimescaleDB the continuous aggregates bars_1s/bars_1m read ticks.price/size, and PostgreSQL
--               refuses to change the type of a column a view uses; compression (columnstore)
--               refuses column type changes too. So: drop the two continuous aggregates,
--               decompress and disable compression, alter, then restore compression, its policy,
--               the aggregates, their indexes and policies exactly as 0001 made them. The
--               aggregates come back WITH NO DATA (we are inside the migration's transaction);
--               their policies re-materialize the last 10 minutes (1 s) and the last day (1 min)
--               on their next run; for older bars run once, as the owner, after migrating:
--                 CALL aegis_refresh_bars();

-- The bar query with float8 inputs: round() has no float8 variant with a scale, and sums are
-- taken in numeric so bars add up the printed values, not binary approximations of them.
CREATE OR REPLACE FUNCTION aegis_ddl_bars_select(bucket_expr text, extra_where text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format($q$
    SELECT %s AS bucket,
           symbol,
           ((array_agg(price ORDER BY ts, seq))[1])::numeric(38,12)           AS open,
           max(price)::numeric(38,12)                                         AS high,
           min(price)::numeric(38,12)                                         AS low,
           ((array_agg(price ORDER BY ts DESC, seq DESC))[1])::numeric(38,12) AS close,
           sum(size::numeric)::numeric(38,12)                                 AS volume,
           round(sum(price::numeric * size::numeric) / nullif(sum(size::numeric), 0), 12)::numeric(38,12) AS vwap,
           count(*)::bigint                                                   AS trade_count
    FROM public.ticks
    WHERE kind = 1 %s
    GROUP BY 1, 2$q$, bucket_expr, extra_where)
$$;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION aegis_ddl_bars_select(text, text) FROM PUBLIC;
--> statement-breakpoint

DO $do$
BEGIN
  IF aegis_ddl_is_timescale('public.ticks') THEN
    DROP MATERIALIZED VIEW IF EXISTS public.bars_1m;
    DROP MATERIALIZED VIEW IF EXISTS public.bars_1s;
    PERFORM remove_compression_policy('public.ticks', if_exists => true);
    PERFORM decompress_chunk(c, if_compressed => true) FROM show_chunks('public.ticks') c;
    ALTER TABLE public.ticks SET (timescaledb.compress = false);
  END IF;
END
$do$;
--> statement-breakpoint

-- One statement: one rewrite of the table for all six columns.
ALTER TABLE ticks
  ALTER COLUMN price TYPE double precision USING price::double precision,
  ALTER COLUMN size TYPE double precision USING size::double precision,
  ALTER COLUMN bid TYPE double precision USING bid::double precision,
  ALTER COLUMN ask TYPE double precision USING ask::double precision,
  ALTER COLUMN bid_size TYPE double precision USING bid_size::double precision,
  ALTER COLUMN ask_size TYPE double precision USING ask_size::double precision;
--> statement-breakpoint

DO $do$
DECLARE
  t record;
BEGIN
  IF aegis_ddl_is_timescale('public.ticks') THEN
    SELECT * INTO t FROM aegis_timeseries_tables() WHERE table_name = 'ticks';
    EXECUTE format('ALTER TABLE public.ticks SET (timescaledb.compress, timescaledb.compress_segmentby = %L, '
                   'timescaledb.compress_orderby = %L)', t.segment_by, t.time_column || ' DESC');
    PERFORM add_compression_policy('public.ticks', compress_after => t.compress_after, if_not_exists => true);

    EXECUTE 'CREATE MATERIALIZED VIEW public.bars_1s WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS '
            || aegis_ddl_bars_select($b$time_bucket(interval '1 second', ts)$b$) || ' WITH NO DATA';
    EXECUTE 'CREATE MATERIALIZED VIEW public.bars_1m WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS '
            || aegis_ddl_bars_select($b$time_bucket(interval '1 minute', ts)$b$) || ' WITH NO DATA';
    CREATE INDEX bars_1s_symbol_bucket_idx ON public.bars_1s (symbol, bucket);
    CREATE INDEX bars_1m_symbol_bucket_idx ON public.bars_1m (symbol, bucket);
    PERFORM add_continuous_aggregate_policy('public.bars_1s', start_offset => interval '10 minutes',
                                            end_offset => interval '1 second', schedule_interval => interval '5 seconds',
                                            if_not_exists => true);
    PERFORM add_continuous_aggregate_policy('public.bars_1m', start_offset => interval '1 day',
                                            end_offset => interval '1 minute', schedule_interval => interval '30 seconds',
                                            if_not_exists => true);
    PERFORM add_retention_policy('public.bars_1s', drop_after => interval '30 days', if_not_exists => true);
  END IF;
END
$do$;
