import { createDb, type Db, withTenant } from '@aegis/shared/db/client';
import { migrate } from '@aegis/shared/db/migrate';
import * as schema from '@aegis/shared/db/schema/index';
import { asTenantId } from '@aegis/shared/ids';
import type { TradeOutcomeInput } from '@aegis/shared/schemas/lesson';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import { type PgvectorServer, startPgvector } from '@aegis/shared/testing/pgvector';
import { sql as dsql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tx } from '../../src/db/database.ts';
import { type Embedder, HashingEmbedder } from '../../src/lessons/embedder.ts';
import {
  forgetVectorBackend,
  queryLessons,
  recordOutcome,
  type VectorBackend,
  vectorBackend,
} from '../../src/lessons/service.ts';

/**
 * Lesson recall on both storage paths of drizzle/0005_lessons_vector.sql: this machine's
 * PostgreSQL (no pgvector: the double precision[] path) and PGlite + pgvector 0.8 over the wire
 * (the vector(256) column and its HNSW index). The same outcomes are recorded on both through
 * the service, and `queryLessons` must return the same lessons in the same order with the same
 * similarities (pgvector computes in float4: within 1e-6).
 */

const TENANT = asTenantId('00000000-0000-4000-8000-0000000000a1');
const OTHER = asTenantId('00000000-0000-4000-8000-0000000000b2');
const INSTRUMENTS = ['BTC-USD', 'ETH-USD', 'SOL-USD'] as const;
const NOTES = [
  'stopped out on a fake breakout after the open',
  'chased momentum into resistance, spread widened',
  'faded the trend on thin liquidity and got run over',
  'news spike reversed within minutes',
  'held through funding, mean reversion never came',
  'sized too large for realized volatility',
  'entered late after the imbalance had already printed',
  'iceberg on the offer absorbed every buy',
  'scaled in against a strong order-flow imbalance',
  'clean breakout with volume, took profit at target',
  'weekend gap closed against the position',
  'liquidation cascade hit the stop',
];

/** 36 outcomes: losses, plus large wins (+3 %), every one with a distinct note. */
function fixtureOutcomes(): TradeOutcomeInput[] {
  const out: TradeOutcomeInput[] = [];
  for (let i = 0; i < 36; i++) {
    const instrument = INSTRUMENTS[i % 3] as string;
    const side = i % 2 === 0 ? 'buy' : 'sell';
    const win = i % 5 === 0;
    const entry = 100 + i;
    const move = win ? entry * 0.03 : -entry * (0.005 + (i % 7) * 0.002);
    const exit = side === 'buy' ? entry + move : entry - move;
    const opened = Date.parse('2026-03-02T14:00:00.000Z') + i * 3_600_000;
    out.push({
      instrument,
      side,
      quantity: String(1 + (i % 4)),
      entryPrice: entry.toFixed(2),
      exitPrice: exit.toFixed(2),
      openedAt: new Date(opened).toISOString(),
      closedAt: new Date(opened + (i % 3 === 0 ? 30 * 60_000 : 2 * 86_400_000)).toISOString(),
      notes: `#${i}: ${NOTES[i % NOTES.length]}`,
    });
  }
  return out;
}

const QUERIES: { text: string; k: number; instrument?: string }[] = [
  { text: 'BTC-USD buy fake breakout stopped out intraday loss', k: 5 },
  { text: 'ETH-USD: sell. order-flow imbalance high-vol short', k: 10 },
  { text: 'momentum into resistance spread widened', k: 8, instrument: 'SOL-USD' },
  { text: 'liquidation cascade weekend gap multi-day loss', k: 36 },
  { text: 'clean breakout take profit win long', k: 3, instrument: 'BTC-USD' },
];

/** The database as the application role for one desk (RLS applies), as the server runs it. */
type AsDesk = <T>(tenantId: string, fn: (tx: Tx) => Promise<T>) => Promise<T>;

async function recordAll(asDesk: AsDesk, embedder: Embedder, outcomes: TradeOutcomeInput[]) {
  // One transaction per outcome: created_at (the tie-break) increases as on a live desk.
  for (const o of outcomes) await asDesk(TENANT, (tx) => recordOutcome(tx, TENANT, o, embedder));
  // Another desk's lesson with the same text as the first query: never recalled for TENANT.
  await asDesk(OTHER, (tx) =>
    recordOutcome(tx, OTHER, { ...outcomes[0]!, notes: QUERIES[0]!.text }, embedder),
  );
}

async function seedTenants(owner: Sql) {
  await owner`insert into tenants (id, slug, name) values
    (${TENANT}, 'vector-a', 'Vector A'), (${OTHER}, 'vector-b', 'Vector B')`;
}

describe('lessons recall: pgvector (PGlite) and double precision[] (PostgreSQL) agree', () => {
  let native: MigratedTestDatabase;
  let nativeDb: { db: Db; close(): Promise<void> };
  let vectorServer: PgvectorServer;
  let vectorSql: Sql;
  let asNative: AsDesk;
  let asVector: AsDesk;
  const embedder = new HashingEmbedder();
  const outcomes = fixtureOutcomes();

  /** Runs `fn` against one database, with the per-process backend cache reset for it. */
  async function on<T>(asDesk: AsDesk, fn: (tx: Tx) => Promise<T>): Promise<T> {
    forgetVectorBackend();
    try {
      return await asDesk(TENANT, fn);
    } finally {
      forgetVectorBackend();
    }
  }

  beforeAll(async () => {
    native = await createMigratedTestDatabase();
    const owner = postgres(native.url, { max: 1, onnotice: () => {} });
    try {
      await seedTenants(owner);
    } finally {
      await owner.end();
    }
    nativeDb = createDb(native.appUrl, { max: 2 });
    asNative = (tenantId, fn) => withTenant(nativeDb.db, tenantId, fn);

    vectorServer = await startPgvector();
    const result = await migrate({ ownerUrl: vectorServer.url, appRole: { name: 'aegis_app' } });
    expect(result.applied).toEqual(native.applied);
    expect((await migrate({ ownerUrl: vectorServer.url, appRole: { name: 'aegis_app' } })).applied).toEqual(
      [],
    );
    // One connection at a time: ours opens after the runner's closed.
    vectorSql = postgres(vectorServer.url, { max: 1, onnotice: () => {} });
    await seedTenants(vectorSql);
    const vectorDb = drizzle({ client: vectorSql, schema });
    // PGlite has one login (postgres): SET LOCAL ROLE gives the application role and its RLS.
    asVector = (tenantId, fn) =>
      vectorDb.transaction(async (tx) => {
        await tx.execute(dsql`set local role aegis_app`);
        await tx.execute(dsql`select set_config('app.tenant_id', ${tenantId}, true)`);
        return fn(tx);
      });

    await recordAll(asNative, embedder, outcomes);
    await recordAll(asVector, embedder, outcomes);
  }, 120_000);

  afterAll(async () => {
    forgetVectorBackend();
    await vectorSql?.end();
    await vectorServer?.close();
    await nativeDb?.close();
    await native?.drop();
  });

  it('each database reports its path, and the service detects it', async () => {
    const backendOf = (asDesk: AsDesk) => on(asDesk, (tx) => vectorBackend(tx));
    expect(await backendOf(asNative)).toBe<VectorBackend>('array');
    expect(await backendOf(asVector)).toBe<VectorBackend>('pgvector');
    // Cached per process: the first database's answer stays until forgotten.
    forgetVectorBackend();
    await asVector(TENANT, (tx) => vectorBackend(tx));
    await asNative(TENANT, async (tx) => {
      expect(await vectorBackend(tx)).toBe('pgvector');
    });
    forgetVectorBackend();
  });

  it('pgvector: vector(256) generated from the array, HNSW cosine index; PostgreSQL unchanged', async () => {
    const column = await vectorSql`
      select format_type(atttypid, atttypmod) as type, attgenerated from pg_attribute
       where attrelid = 'lessons'::regclass and attname = 'embedding_vec'`;
    expect(column).toEqual([{ type: 'vector(256)', attgenerated: 's' }]);
    const index =
      await vectorSql`select indexdef from pg_indexes where indexname = 'lessons_embedding_vec_hnsw_idx'`;
    expect(index[0]?.indexdef).toMatch(/USING hnsw \(embedding_vec vector_cosine_ops\)/);
    const [filled] = await vectorSql`
      select count(*)::int as n, count(embedding_vec)::int as v from lessons`;
    expect(filled).toEqual({ n: outcomes.length + 1, v: outcomes.length + 1 });
    // The stored vector is the array, to float4 precision.
    const [drift] = await vectorSql`
      select max(abs(e.x - v.x)) as d
        from lessons l, unnest(l.embedding) with ordinality e(x, i),
             unnest(l.embedding_vec::real[]) with ordinality v(x, i)
       where e.i = v.i`;
    expect(Number(drift?.d)).toBeLessThan(1e-7);

    const owner = postgres(native.url, { max: 1, onnotice: () => {} });
    try {
      const cols =
        await owner`select 1 from pg_attribute where attrelid = 'lessons'::regclass and attname = 'embedding_vec'`;
      expect(cols).toHaveLength(0);
      expect(await owner`select 1 from pg_extension where extname = 'vector'`).toHaveLength(0);
    } finally {
      await owner.end();
    }
  });

  /** Planner settings that make the pgvector path read the HNSW index (the fixture is tiny). */
  const forceIndex = async (tx: Tx) => {
    await tx.execute(dsql`set local enable_seqscan = off`);
    await tx.execute(dsql`set local enable_sort = off`);
  };

  it("the service's query shape (desk filter, tie-break) can be served by the HNSW index", async () => {
    const q = `[${(await embedder.embed(QUERIES[0]!.text)).join(',')}]`;
    const plan = await asVector(TENANT, async (tx) => {
      await forceIndex(tx);
      return (await tx.execute(dsql`
        explain select id from lessons where tenant_id = ${TENANT} and embedder = ${embedder.name}
         order by embedding_vec <=> ${q}::vector, created_at desc limit 5`)) as unknown as Record<
        string,
        string
      >[];
    });
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index Scan using lessons_embedding_vec_hnsw_idx/);
    expect(text).toMatch(/Incremental Sort/); // created_at only breaks ties within equal distances
  });

  it('lessons.query returns the same lessons, in the same order, with the same similarities', async () => {
    let compared = 0;
    for (const { text, k, instrument } of QUERIES) {
      const onNative = await on(asNative, (tx) => queryLessons(tx, TENANT, embedder, text, k, instrument));
      const onVector = await on(asVector, (tx) => queryLessons(tx, TENANT, embedder, text, k, instrument));
      // Through the HNSW index (iterative scan: the desk/instrument filters still yield k rows).
      const viaIndex = await on(asVector, async (tx) => {
        await forceIndex(tx);
        return queryLessons(tx, TENANT, embedder, text, k, instrument);
      });
      expect(viaIndex).toEqual(onVector);
      const expected = Math.min(k, instrument ? outcomes.length / 3 : outcomes.length);
      expect(onNative).toHaveLength(expected);
      // Ids are each database's own: the notes (distinct per outcome) name the lesson.
      expect(onVector.map((l) => l.summary)).toEqual(onNative.map((l) => l.summary));
      for (const [i, l] of onVector.entries()) {
        const n = onNative[i]!;
        expect({ ...l, id: n.id, outcomeId: n.outcomeId, createdAt: n.createdAt, similarity: 0 }).toEqual({
          ...n,
          similarity: 0,
        });
        expect(Math.abs((l.similarity ?? Number.NaN) - (n.similarity ?? Number.NaN))).toBeLessThan(1e-6);
        // Each recalled lesson names its outcome (a uuid on both paths).
        for (const id of [l.outcomeId, n.outcomeId]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f-]{27}$/);
        if (instrument) expect(l.instrument).toBe(instrument);
        compared++;
      }
      // Strictly ranked (no ties in this fixture), most similar first.
      for (let i = 1; i < onNative.length; i++) {
        expect(onNative[i]!.similarity!).toBeLessThan(onNative[i - 1]!.similarity!);
      }
    }
    expect(compared).toBe(5 + 10 + 8 + 36 + 3);
    // The other desk's identical text is never recalled.
    const top = await on(asVector, (tx) => queryLessons(tx, TENANT, embedder, QUERIES[0]!.text, 36));
    expect(top.every((l) => !l.summary.includes(QUERIES[0]!.text))).toBe(true);
  });

  it('another embedder dimension stays on the array path, on the pgvector database too', async () => {
    const wide = new HashingEmbedder(300);
    const some = outcomes.slice(0, 6);
    for (const o of some) await asVector(TENANT, (tx) => recordOutcome(tx, TENANT, o, wide));
    for (const o of some) await asNative(TENANT, (tx) => recordOutcome(tx, TENANT, o, wide));
    const [unindexed] = await vectorSql`
      select count(*)::int as n from lessons where embedder = ${wide.name} and embedding_vec is null`;
    expect(unindexed?.n).toBe(6);
    const text = QUERIES[1]!.text;
    const onVector = await on(asVector, (tx) => queryLessons(tx, TENANT, wide, text, 4));
    const onNative = await on(asNative, (tx) => queryLessons(tx, TENANT, wide, text, 4));
    expect(onVector).toHaveLength(4);
    expect(onVector.map((l) => [l.summary, l.similarity])).toEqual(
      onNative.map((l) => [l.summary, l.similarity]),
    );
    // A query with no words (a zero vector: no cosine distance) ranks newest first, similarity 0.
    const blank = await on(asVector, (tx) => queryLessons(tx, TENANT, embedder, '!!!', 3));
    expect(blank.map((l) => l.similarity)).toEqual([0, 0, 0]);
  });
});

describe('aegis.vector_backend = array', () => {
  it('keeps a database with pgvector available on the array path', async () => {
    const server = await startPgvector();
    try {
      const setup = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        // On PostgreSQL: ALTER DATABASE ... SET (read by each new backend). PGlite runs a single
        // backend for every connection, so a session-level SET is what the runner will see.
        await setup`set aegis.vector_backend = 'array'`;
      } finally {
        await setup.end();
      }
      const result = await migrate({ ownerUrl: server.url, appRole: { name: 'aegis_app' } });
      expect(result.applied).toContain('0005_lessons_vector');
      const s = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        const [row] = await s`
          select aegis_vector_backend() as backend,
                 exists (select 1 from pg_extension where extname = 'vector') as extension,
                 exists (select 1 from pg_attribute where attrelid = 'lessons'::regclass
                                                      and attname = 'embedding_vec') as column`;
        expect(row).toEqual({ backend: 'array', extension: false, column: false });
      } finally {
        await s.end();
      }
    } finally {
      await server.close();
    }
  }, 60_000);
});
