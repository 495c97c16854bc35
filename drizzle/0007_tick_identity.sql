-- A tick's identity: (symbol, ts, seq). The unique index replaces the (symbol, ts) btree (same
-- prefix, so the same queries use it, and one index costs the same at ingest as before) and refuses
-- the same tick twice: a file replayed again, two engines on one feed. It includes the partition
-- column (ts), as unique indexes on native partitions and hypertables must.
-- Duplicates written before this key existed are removed first (the oldest copy stays).
DELETE FROM ticks t
USING (
  SELECT tableoid, ctid,
         row_number() OVER (PARTITION BY symbol, ts, seq ORDER BY ts_ingest, tableoid, ctid) AS n
  FROM ticks
) d
WHERE t.tableoid = d.tableoid AND t.ctid = d.ctid AND d.n > 1;
--> statement-breakpoint
DROP INDEX IF EXISTS ticks_symbol_ts_idx;
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS ticks_identity_idx ON ticks (symbol, ts, seq);
