-- Engines scale out by order-flow shard (docs/engine-shards.md, engine/src/shards/). Shard k's
-- events live on the stream `<prefix>orderflow:<k>`; exactly one engine reads a shard at a time,
-- the holder of its lease here. Engine-internal state, not desk data: no tenant_id, no RLS.
--
-- A table rather than advisory locks: an advisory lock lives as long as the session that took it,
-- so a paused engine (or a half-open TCP connection) keeps it for as long as PostgreSQL thinks the
-- session is alive — minutes — and it carries no number a commit could be checked against. Here a
-- lease expires on PostgreSQL's clock (expires_at), and fencing_token goes up by one every time
-- the shard changes hands: every cursor commit names the token it was read under and is refused
-- once the token moved on (the trigger below).
CREATE TABLE IF NOT EXISTS "engine_shard_leases" (
  -- The shard's stream, `<prefix>orderflow:<k>`: one row per shard, ever (released rows stay so
  -- the token keeps counting).
  "stream" text PRIMARY KEY,
  -- `<prefix>orderflow`: the shards of one cluster.
  "cluster" text NOT NULL,
  "shard" integer NOT NULL CHECK ("shard" >= 0),
  -- The engine process holding it (`<ENGINE_CONSUMER>:<pid>:<random>`), and its engine name.
  "holder" text NOT NULL,
  "engine" text NOT NULL,
  "fencing_token" bigint NOT NULL CHECK ("fencing_token" >= 1),
  "acquired_at" timestamptz NOT NULL DEFAULT now(),
  "expires_at" timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS "engine_shard_leases_cluster_idx" ON "engine_shard_leases" ("cluster", "shard");

-- The live engines of a cluster (a heartbeat row each): a joining engine owns no shard yet, and
-- the others must see it to hand it its share.
CREATE TABLE IF NOT EXISTS "engine_shard_members" (
  "holder" text PRIMARY KEY,
  "cluster" text NOT NULL,
  "engine" text NOT NULL,
  "joined_at" timestamptz NOT NULL DEFAULT now(),
  "expires_at" timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS "engine_shard_members_cluster_idx" ON "engine_shard_members" ("cluster", "expires_at");

-- Fencing. A shard's cursor is the engine_cursors row `feed:orderflow:<stream>`, position
-- `<fencing token>/<last stream id>`; the writer upserts it in the same transaction as the ticks
-- it covers. A position that changes must carry the lease's current token, read under FOR SHARE
-- so a takeover (which updates the lease row) waits for the commit or the commit sees the new
-- token: a stale owner — paused, then woken after its lease moved on — cannot persist its ticks
-- or move the cursor; its whole transaction fails. Re-upserting an unchanged position is let
-- through: it moves nothing (a checkpoint taken just before a clean handover). Cursor rows with
-- no lease row (the unsharded stream, other feeds) are not fenced.
CREATE OR REPLACE FUNCTION "engine_cursor_fence"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  lease_token bigint;
  stored text;
BEGIN
  IF NEW.name NOT LIKE 'feed:orderflow:%' THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    stored := OLD.position;
  ELSE
    SELECT c.position INTO stored FROM engine_cursors c WHERE c.name = NEW.name;
  END IF;
  IF stored IS NOT DISTINCT FROM NEW.position THEN
    RETURN NEW;
  END IF;
  SELECT l.fencing_token INTO lease_token
    FROM engine_shard_leases l WHERE l.stream = substr(NEW.name, 16) FOR SHARE;
  IF NOT FOUND THEN
    RETURN NEW;
  END IF;
  IF NEW.position !~ '^[0-9]{1,18}/' OR split_part(NEW.position, '/', 1)::bigint <> lease_token THEN
    RAISE EXCEPTION 'engine shard %: stale fencing token in cursor %, lease token is %',
      substr(NEW.name, 16), NEW.position, lease_token
      USING ERRCODE = 'AS409';
  END IF;
  RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS "engine_cursors_fence" ON "engine_cursors";
CREATE TRIGGER "engine_cursors_fence" BEFORE INSERT OR UPDATE ON "engine_cursors"
  FOR EACH ROW EXECUTE FUNCTION "engine_cursor_fence"();
