-- Lesson embeddings: pgvector when the extension can be created, the double precision[] column
-- (cosine similarity computed in SQL) otherwise. `lessons.embedding` stays the source of truth on
-- both paths; with pgvector, `lessons.embedding_vec vector(256)` is a STORED generated column
-- derived from it (so every writer, and every row written before this migration, carries it
-- with no application change) and an HNSW index (vector_cosine_ops) serves the k-nearest query:
--   order by embedding_vec <=> $query limit k          -- similarity = 1 - cosine distance
--   select aegis_vector_backend()                       -- 'pgvector' | 'array'
--
-- Dimension: 256, the default embedder's (HashingEmbedder, `hash-v1-256`). Embeddings of any
-- other length (OpenAI `text-embedding-3-small` is 1536) get a NULL embedding_vec and are ranked
-- on the array path; the service picks the path per query vector length (server/src/lessons/).
-- A deployment that wants OpenAI embeddings on the index adds a migration with a column sized
-- for that model (pgvector's HNSW indexes vectors up to 2000 dimensions).
--
-- Forcing the array path on a server that has pgvector (to test it):
--   ALTER DATABASE <db> SET aegis.vector_backend = 'array';  (before this migration runs)
-- The extension installed later does not switch an existing database: re-run the DO block below
-- by hand (it is idempotent) to add the column and the index.

DO $$
BEGIN
  IF coalesce(current_setting('aegis.vector_backend', true), '') <> 'array'
     AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS vector;
      -- EXECUTE: the vector type does not exist when this block is parsed on the array path.
      EXECUTE $ddl$
        ALTER TABLE lessons ADD COLUMN IF NOT EXISTS embedding_vec vector(256)
          GENERATED ALWAYS AS (
            CASE WHEN array_length(embedding, 1) = 256 THEN embedding::vector(256) END
          ) STORED
      $ddl$;
      EXECUTE $ddl$
        CREATE INDEX IF NOT EXISTS lessons_embedding_vec_hnsw_idx
          ON lessons USING hnsw (embedding_vec vector_cosine_ops)
      $ddl$;
    EXCEPTION WHEN others THEN
      -- Available but not creatable (e.g. the owner may not create an untrusted extension):
      -- keep the array path rather than fail the deployment. The sub-block rolls back whatever
      -- it did, so the database is exactly as before.
      RAISE WARNING 'vector is available but could not be set up (%); lessons use the array path', SQLERRM;
    END;
  END IF;
END
$$;
--> statement-breakpoint

-- Which path this database took: 'pgvector' when lessons.embedding_vec exists (extension created
-- and column added), else 'array'. The lessons service reads it once per process.
CREATE OR REPLACE FUNCTION aegis_vector_backend() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT CASE WHEN EXISTS (
           SELECT 1 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = to_regclass('public.lessons') AND a.attname = 'embedding_vec'
              AND NOT a.attisdropped AND t.typname = 'vector')
         THEN 'pgvector' ELSE 'array' END
$$;
