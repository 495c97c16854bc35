import { randomUUID } from 'node:crypto';
import { AppError } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import type { IngestResult, SequenceGap } from '@aegis/shared/schemas/orderflow';
import { type SQL, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import { type CanonicalEvent, validateBatch } from './event-codec.ts';

/**
 * Order-flow ingestion: validate the whole batch (nothing is written when any event is bad),
 * deduplicate, store in `orderflow_events` (the system of record), and report sequence gaps per
 * source.
 *
 * Deduplication: an event is identified by (source, sequence). The same payload twice is a
 * `duplicate` and returns the first row's id; the same (source, sequence) with other content is
 * a `conflict` (the first one stands, the newcomer is not stored). The table's unique index on
 * the content hash is the backstop. Concurrent batches of one source are serialized by a
 * transaction-level advisory lock per (desk, source), so two requests cannot both insert.
 *
 * Ingested flow is the desk's research data and stays in the desk's RLS-scoped rows, read back
 * only by that desk (`orderflow.gaps`, the flow around a signal in `signals.get`). It is not
 * published on the bus: the engine's order-flow stream feeds the shared market pipeline (ticks,
 * features, and signals without a tenant that every desk's agent proposes from), so one desk's
 * flow there would create signals and proposals on other desks (docs/architecture.md, "Tenancy"; the engine also refuses
 * any entry that carries a tenantId). Nor does it reach execution prices — reference price,
 * collar, spread, marks and paper fills come only from the venue price source
 * (execution/quote-feed.ts).
 */

/** Rows per INSERT statement: 17 parameters each stays under PostgreSQL's 65,535 limit. */
const INSERT_CHUNK = 1000;

export interface IngestDeps {
  /** Event times more than this many ms in the future are refused (default 2000). */
  readonly maxFutureSkewMs?: number;
}

export async function ingestOrderflow(
  tx: Tx,
  deps: IngestDeps,
  tenantId: TenantId,
  raw: readonly unknown[],
): Promise<IngestResult> {
  const validated = validateBatch(raw, Date.now(), { maxFutureSkewMs: deps.maxFutureSkewMs });
  if (!validated.ok) {
    // The message names the fields (`events[3].tsEvent: …`); details list every problem.
    const named = validated.problems
      .slice(0, 5)
      .map((p) => `${p.path}: ${p.message}`)
      .join('; ');
    const more = validated.problems.length > 5 ? ` (and ${validated.problems.length - 5} more)` : '';
    throw new AppError('BAD_INPUT', `Invalid input: ${named}${more}; nothing was stored`, {
      reason: 'invalid_events',
      problems: validated.problems.slice(0, 1000),
      truncated: validated.problems.length > 1000,
    });
  }
  const events = validated.events;

  const sources = [...new Set(events.map((e) => e.event.source))].sort();
  // Sorted, so two batches touching the same sources take the locks in the same order.
  for (const source of sources) {
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`orderflow:${tenantId}:${source}`}, 0))`,
    );
  }

  // First occurrences already stored, by (source, sequence).
  const existing = new Map<string, { id: string; hash: string }>();
  for (const source of sources) {
    const seqs = [...new Set(events.filter((e) => e.event.source === source).map((e) => e.event.sequence))];
    for (let i = 0; i < seqs.length; i += 5000) {
      const chunk = seqs.slice(i, i + 5000);
      const rows = (await tx.execute(sql`
        select distinct on (seq) id::text as id, seq, content_hash
          from orderflow_events
         where tenant_id = ${tenantId} and source = ${source}
           and seq in (${sql.join(
             chunk.map((s) => sql`${s}`),
             sql`, `,
           )})
         order by seq, ts_ingest, id`)) as unknown as {
        id: string;
        seq: string | number;
        content_hash: string;
      }[];
      for (const r of rows) existing.set(key(source, Number(r.seq)), { id: r.id, hash: r.content_hash });
    }
  }

  const results: IngestResult['results'] = [];
  const fresh: { id: string; c: CanonicalEvent }[] = [];
  for (const c of events) {
    const k = key(c.event.source, c.event.sequence);
    const first = existing.get(k);
    if (first) {
      results.push({ id: first.id, status: first.hash === c.contentHash ? 'duplicate' : 'conflict' });
      continue;
    }
    const id = randomUUID();
    existing.set(k, { id, hash: c.contentHash });
    fresh.push({ id, c });
    results.push({ id, status: 'inserted' });
  }

  for (let i = 0; i < fresh.length; i += INSERT_CHUNK) {
    await insertRows(tx, tenantId, fresh.slice(i, i + INSERT_CHUNK));
  }

  const gaps =
    fresh.length > 0
      ? await gapsTouchedBy(
          tx,
          tenantId,
          fresh.map((f) => f.c),
        )
      : [];

  return {
    results,
    inserted: fresh.length,
    duplicates: results.length - fresh.length,
    gaps,
  };
}

const key = (source: string, seq: number) => `${source}\u0000${seq}`;

async function insertRows(
  tx: Tx,
  tenantId: TenantId,
  rows: { id: string; c: CanonicalEvent }[],
): Promise<void> {
  const values: SQL[] = rows.map(({ id, c }) => {
    const e = c.event;
    const trade = e.kind === 'trade' ? e : null;
    const quote = e.kind === 'quote' ? e : null;
    const levels = e.kind === 'depth' ? JSON.stringify(e.levels) : null;
    return sql`(${id}::uuid, ${tenantId}::uuid, ${c.tsEvent}::timestamptz, ${e.source}, ${e.sequence}::bigint,
      ${e.venue}, ${e.instrument}, ${e.kind}, ${trade?.side ?? null}, ${trade?.price ?? null}::numeric,
      ${trade?.size ?? null}::numeric, ${quote?.bid ?? null}::numeric, ${quote?.ask ?? null}::numeric,
      ${quote?.bidSize ?? null}::numeric, ${quote?.askSize ?? null}::numeric, ${levels}::jsonb, ${c.contentHash})`;
  });
  await tx.execute(sql`
    insert into orderflow_events
      (id, tenant_id, ts, source, seq, venue, symbol, kind, side, price, size, bid, ask, bid_size, ask_size, levels, content_hash)
    values ${sql.join(values, sql`, `)}
    on conflict do nothing`);
}

/**
 * Gaps in each touched source's sequence around the new events: from the last stored sequence
 * below the batch's lowest up to its highest. A gap later filled by a late event disappears.
 */
async function gapsTouchedBy(tx: Tx, tenantId: TenantId, events: CanonicalEvent[]): Promise<SequenceGap[]> {
  const ranges = new Map<string, { lo: number; hi: number }>();
  for (const { event } of events) {
    const r = ranges.get(event.source);
    if (!r) ranges.set(event.source, { lo: event.sequence, hi: event.sequence });
    else {
      r.lo = Math.min(r.lo, event.sequence);
      r.hi = Math.max(r.hi, event.sequence);
    }
  }
  const gaps: SequenceGap[] = [];
  for (const [source, { lo, hi }] of ranges) {
    gaps.push(...(await findGaps(tx, tenantId, { source, fromSequence: lo, toSequence: hi, limit: 1000 })));
  }
  return gaps;
}

export interface GapQuery {
  readonly source?: string;
  /** Only gaps ending at or after this sequence (the previous stored one is included). */
  readonly fromSequence?: number;
  readonly toSequence?: number;
  readonly limit: number;
}

/** Missing sequence ranges per source, from the stored events (queryable at any time). */
export async function findGaps(tx: Tx, tenantId: TenantId, q: GapQuery): Promise<SequenceGap[]> {
  const lower =
    q.fromSequence === undefined
      ? sql`true`
      : sql`seq >= coalesce((select max(seq) from orderflow_events p
                               where p.tenant_id = ${tenantId} and p.source = e.source and p.seq < ${q.fromSequence}),
                              ${q.fromSequence})`;
  const rows = (await tx.execute(sql`
    select source, prev + 1 as from_seq, seq - 1 as to_seq
      from (select source, seq, lag(seq) over (partition by source order by seq) as prev
              from (select distinct source, seq from orderflow_events e
                     where tenant_id = ${tenantId}
                       ${q.source === undefined ? sql`` : sql`and source = ${q.source}`}
                       and ${lower}
                       ${q.toSequence === undefined ? sql`` : sql`and seq <= ${q.toSequence}`}) s) w
     where prev is not null and seq > prev + 1
     order by source, seq
     limit ${q.limit}`)) as unknown as {
    source: string;
    from_seq: string | number;
    to_seq: string | number;
  }[];
  return rows.map((r) => {
    const from = Number(r.from_seq);
    const to = Number(r.to_seq);
    return { source: r.source, fromSequence: from, toSequence: to, missing: to - from + 1 };
  });
}

/** Order flow around a moment, for the desk's view of a signal. */
export async function orderflowAround(
  tx: Tx,
  tenantId: TenantId,
  symbol: string,
  at: Date,
  windowMs: number,
  limit: number,
) {
  const from = new Date(at.getTime() - windowMs).toISOString();
  const to = new Date(at.getTime() + windowMs).toISOString();
  const rows = (await tx.execute(sql`
    select id::text as id, to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ts,
           source, seq, venue, symbol, kind, side, price::text as price, size::text as size,
           bid::text as bid, ask::text as ask, bid_size::text as bid_size, ask_size::text as ask_size
      from orderflow_events
     where tenant_id = ${tenantId} and symbol = ${symbol}
       and ts between ${from}::timestamptz and ${to}::timestamptz
     order by ts, seq
     limit ${limit}`)) as unknown as {
    id: string;
    ts: string;
    source: string;
    seq: string | number;
    venue: string;
    symbol: string;
    kind: 'trade' | 'quote' | 'depth';
    side: 'buy' | 'sell' | null;
    price: string | null;
    size: string | null;
    bid: string | null;
    ask: string | null;
    bid_size: string | null;
    ask_size: string | null;
  }[];
  return rows.map((r) => ({
    id: r.id,
    tsEvent: r.ts,
    source: r.source,
    sequence: Number(r.seq),
    venue: r.venue,
    kind: r.kind,
    side: r.side,
    price: r.price,
    size: r.size,
    bid: r.bid,
    ask: r.ask,
    bidSize: r.bid_size,
    askSize: r.ask_size,
  }));
}
