-- signals.stream_id: a signal's place in the live feed (signals.onNew) and that feed's event id.
-- The server takes it from signals_stream_id_seq when it stores the signal from the engine's
-- stream, under a lock that makes the numbers' order the commit order (server/src/signals/
-- service.ts). A subscriber resuming after N gets every signal numbered after N, one stored late
-- with an earlier signal time included; resuming by signal time could not see that one.
-- Rows stored before this migration, and rows the engine wrote that the server has not taken
-- from the stream yet, keep NULL.
-- Both storage paths: a nullable column without a default is added to a TimescaleDB hypertable
-- with compressed chunks as to a native partitioned table, and a non-unique index is allowed on
-- either (on TimescaleDB it covers the uncompressed chunks, where new signals are).
CREATE SEQUENCE IF NOT EXISTS signals_stream_id_seq AS bigint;
--> statement-breakpoint
ALTER TABLE signals ADD COLUMN IF NOT EXISTS stream_id bigint;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS signals_stream_id_idx ON signals (stream_id) WHERE stream_id IS NOT NULL;
