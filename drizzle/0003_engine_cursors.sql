-- Durable positions of the engine's inputs (engine/src/writer/cursor-store.ts). The engine's
-- writer upserts a feed's position in the SAME transaction as the ticks it covers, so after a
-- crash (kill -9) a restart resumes exactly after the last persisted tick: nothing lost, nothing
-- written twice. name: `feed:synthetic`, `feed:replay:<file>`, `feed:orderflow:<stream>:<consumer>`.
-- Engine-internal state, not desk data: no tenant_id and no RLS.
CREATE TABLE IF NOT EXISTS "engine_cursors" (
  "name" text PRIMARY KEY,
  "position" text NOT NULL,
  "updated_at" timestamptz NOT NULL DEFAULT now()
);
