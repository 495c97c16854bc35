-- Backtests as durable jobs (server/src/backtests/, engine/src/jobs/).
--
-- The `backtests` row (the desk's view) and its `jobs` row (the worker's lease) are the truth;
-- the Redis stream `<prefix>backtests` only wakes a worker. `backtests` gains what a running
-- job reports: its job, progress (BacktestProgress), the reason it failed, when it started and
-- when a cancel was asked for. from_ts/to_ts only mean something for a range of the `ticks`
-- table, so they become nullable (existing rows keep their values).
ALTER TABLE backtests ALTER COLUMN from_ts DROP NOT NULL;
--> statement-breakpoint
ALTER TABLE backtests ALTER COLUMN to_ts DROP NOT NULL;
--> statement-breakpoint
ALTER TABLE backtests ADD COLUMN IF NOT EXISTS job_id uuid;
--> statement-breakpoint
ALTER TABLE backtests ADD COLUMN IF NOT EXISTS progress jsonb;
--> statement-breakpoint
ALTER TABLE backtests ADD COLUMN IF NOT EXISTS error text;
--> statement-breakpoint
ALTER TABLE backtests ADD COLUMN IF NOT EXISTS started_at timestamptz;
--> statement-breakpoint
ALTER TABLE backtests ADD COLUMN IF NOT EXISTS cancel_requested_at timestamptz;
--> statement-breakpoint
ALTER TABLE backtests ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
--> statement-breakpoint
ALTER TABLE backtests DROP CONSTRAINT IF EXISTS backtests_status_check;
--> statement-breakpoint
ALTER TABLE backtests ADD CONSTRAINT backtests_status_check
  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')) NOT VALID;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS backtests_job_idx ON backtests (job_id);
--> statement-breakpoint

-- When the job's stream entry was last written (create, or the sweeper re-queueing a job whose
-- entry never reached the stream or was lost with Redis). NULL: never queued on the stream.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS enqueued_at timestamptz;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS jobs_kind_status_idx ON jobs (kind, status);
--> statement-breakpoint

-- Tick files uploaded for backtests, in bounded chunks (base64 over tRPC), checked against the
-- declared sha-256 when finished. The desk's own data: RLS like every tenant table. Chunks are
-- stored in PostgreSQL (the system of record) so any server can take any chunk and any worker
-- can read the file; a finished upload's chunks are read in order by the worker.
CREATE TABLE IF NOT EXISTS backtest_uploads (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name text NOT NULL,
  format text NOT NULL CHECK (format IN ('csv', 'ticks')),
  size_bytes bigint NOT NULL CHECK (size_bytes > 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  received_bytes bigint NOT NULL DEFAULT 0,
  chunks integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete')),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS backtest_uploads_tenant_idx ON backtest_uploads (tenant_id, created_at);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS backtest_upload_chunks (
  upload_id uuid NOT NULL REFERENCES backtest_uploads(id) ON DELETE CASCADE,
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  seq integer NOT NULL CHECK (seq >= 0),
  data bytea NOT NULL,
  PRIMARY KEY (upload_id, seq)
);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('backtest_uploads');
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('backtest_upload_chunks');
