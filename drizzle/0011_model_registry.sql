-- The model registry: every signal model the engine has scored with, its training data and metrics,
-- and the evaluation harness's results (shared/src/schemas/signal-quality.ts). Market-wide like
-- `signals` (no tenant): every desk sees the same models.
CREATE TABLE IF NOT EXISTS signal_models (
  version text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  training_data_hash text NOT NULL,
  params jsonb NOT NULL DEFAULT '{}'::jsonb,
  metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
  evaluation jsonb,
  active boolean NOT NULL DEFAULT false
);
--> statement-breakpoint
-- At most one active model.
CREATE UNIQUE INDEX IF NOT EXISTS signal_models_one_active ON signal_models (active) WHERE active;
