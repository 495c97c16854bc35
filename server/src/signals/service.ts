import { signalDecisions } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import type { SignalId, TenantId, UserId } from '@aegis/shared/ids';
import type {
  ListSignalsInput,
  SignalDecisionView,
  SignalStreamEntry,
  SignalView,
} from '@aegis/shared/schemas/signal';
import { and, desc, eq, type SQL, sql } from 'drizzle-orm';
import type { Queryable, Tx } from '../db/database.ts';
import { queryRows } from '../db/rows.ts';

/**
 * Signals: storage (idempotent, shared with the engine's own writer), listing with a keyset
 * cursor, a desk's manual decisions. Signals are market data (no tenant, no RLS); decisions are
 * per desk (RLS).
 */

interface SignalRow {
  id: string;
  ts: string;
  ts_event: string;
  symbol: string;
  direction: 'long' | 'short';
  pattern: 'breakout' | 'mean_reversion' | 'absorption';
  score: number;
  price: string | null;
  features: Record<string, number | null>;
  model_version: string;
  /** int8 comes back as text. */
  stream_id: string | null;
}

const ISO_US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

const SELECT = sql.raw(`select id::text as id, to_char(ts at time zone 'UTC', ${ISO_US}) as ts,
  to_char(ts_event at time zone 'UTC', ${ISO_US}) as ts_event, symbol, direction, pattern, score,
  price::text as price, features, model_version, stream_id from signals`);

function toView(r: SignalRow): SignalView {
  return {
    id: r.id,
    tsSignal: r.ts,
    tsEvent: r.ts_event,
    symbol: r.symbol,
    direction: r.direction,
    pattern: r.pattern,
    score: Number(r.score),
    price: r.price === null ? null : trimDecimal(r.price),
    features: typeof r.features === 'string' ? JSON.parse(r.features) : r.features,
    modelVersion: r.model_version,
  };
}

/** numeric(38,12) text without trailing zeros: `50000.500000000000` → `50000.5`. */
export function trimDecimal(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A signal as the live feed carries it: the view and its place in the feed (`signals.stream_id`). */
export interface StoredSignal {
  readonly streamId: number;
  readonly signal: SignalView;
}

/**
 * Stores a signal from the stream unless it is there already, and gives it its place in the live
 * feed. The engine's writer inserts the same ids with the same µs signal time (one row per signal:
 * primary key (id, ts)); the NOT EXISTS covers rows an older engine wrote with the time truncated
 * to milliseconds. The times are cast from text: a timestamptz parameter would be serialized
 * through a JS Date (ms only).
 *
 * `stream_id` is taken once per signal (a redelivered entry keeps its number) under a transaction
 * lock held to the commit, so numbers become visible in order: a subscriber that has seen N has
 * seen, or will get on resume, every signal numbered below N. Without the lock, one instance
 * could commit 7 while another still held 6 uncommitted, and a client resuming after 7 would
 * never get 6.
 */
export async function storeSignal(
  db: Queryable,
  s: SignalStreamEntry,
): Promise<{ stored: boolean; view: SignalView; streamId: number }> {
  const features = JSON.stringify(s.features);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('signals:stream_id', 0))`);
    const inserted = await queryRows<unknown>(
      tx,
      sql`
      insert into signals (id, ts, ts_event, symbol, direction, pattern, score, price, features, model_version)
      select ${s.id}::uuid, ${s.tsSignal}::text::timestamptz, ${s.tsEvent}::text::timestamptz,
             ${s.symbol}, ${s.direction}, ${s.pattern}, ${s.score}, ${s.price ?? null}::numeric, ${features}::jsonb,
             ${s.modelVersion}
       where not exists (select 1 from signals where id = ${s.id}::uuid
                            and ts between ${s.tsSignal}::timestamptz - interval '1 second'
                                       and ${s.tsSignal}::timestamptz + interval '1 second')
      on conflict do nothing
      returning id`,
    );
    await tx.execute(sql`
      update signals set stream_id = nextval('signals_stream_id_seq')
       where id = ${s.id}::uuid and stream_id is null
         and ts between ${s.tsSignal}::timestamptz - interval '1 second'
                    and ${s.tsSignal}::timestamptz + interval '1 second'`);
    const found = await readSignals(
      tx,
      sql`where id = ${s.id}::uuid ${near(new Date(s.tsSignal))} order by ts limit 1`,
    );
    const row = found[0];
    if (!row || row.streamId === null)
      throw new AppError('INTERNAL', `signal ${s.id} not readable after insert`);
    return { stored: inserted.length > 0, view: row.view, streamId: row.streamId };
  });
}

/** `and ts` within a minute of `at`: narrows the partition scan when the time is known. */
const near = (at: Date): SQL =>
  sql`and ts between ${new Date(at.getTime() - 60_000).toISOString()}::timestamptz and ${new Date(at.getTime() + 60_000).toISOString()}::timestamptz`;

async function readSignals(tx: Queryable, rest: SQL): Promise<StoredSignalRow[]> {
  const rows = await queryRows<SignalRow>(tx, sql`${SELECT} ${rest}`);
  return rows.map((r) => ({ view: toView(r), streamId: r.stream_id === null ? null : Number(r.stream_id) }));
}

interface StoredSignalRow {
  view: SignalView;
  streamId: number | null;
}

/** A signal by id; `near` narrows the partition scan when known. */
export async function getSignalView(tx: Queryable, id: SignalId, at?: Date): Promise<SignalView | null> {
  const rows = await readSignals(
    tx,
    sql`where id = ${id}::uuid ${at ? near(at) : sql``} order by ts limit 1`,
  );
  return rows[0]?.view ?? null;
}

interface Cursor {
  ts: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.ts}|${c.id}`).toString('base64url');
}

/** `field`: the input that carried it, named in the error (`cursor`, or a stream's `lastEventId`). */
export function decodeCursor(s: string, field = 'cursor'): Cursor {
  const [ts, id] = Buffer.from(s, 'base64url').toString().split('|');
  if (!ts || !id || Number.isNaN(Date.parse(ts)) || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw new AppError('BAD_INPUT', `${field}: invalid cursor`, { reason: 'invalid_cursor', field });
  }
  return { ts, id };
}

/** Newest first, keyset-paginated on (ts, id). `symbols`: the desk's instruments (null = all). */
export async function listSignals(
  tx: Queryable,
  input: ListSignalsInput,
  symbols: readonly string[] | null = null,
): Promise<{ items: SignalView[]; nextCursor: string | null }> {
  const where: SQL[] = [sql`true`];
  if (input.instrument) where.push(sql`symbol = ${input.instrument}`);
  if (symbols)
    where.push(
      sql`symbol in (${sql.join(
        symbols.map((s) => sql`${s}`),
        sql`, `,
      )})`,
    );
  if (input.pattern) where.push(sql`pattern = ${input.pattern}`);
  if (input.direction) where.push(sql`direction = ${input.direction}`);
  if (input.from) where.push(sql`ts >= ${input.from}::timestamptz`);
  if (input.to) where.push(sql`ts < ${input.to}::timestamptz`);
  if (input.minScore !== undefined) where.push(sql`score >= ${input.minScore}`);
  if (input.cursor) {
    const c = decodeCursor(input.cursor);
    where.push(sql`(ts, id) < (${c.ts}::timestamptz, ${c.id}::uuid)`);
  }
  const rows = await queryRows<SignalRow>(
    tx,
    sql`${SELECT} where ${sql.join(where, sql` and `)}
    order by ts desc, id desc limit ${input.limit + 1}`,
  );
  const page = rows.slice(0, input.limit).map(toView);
  const last = page[page.length - 1];
  return {
    items: page,
    nextCursor: rows.length > input.limit && last ? encodeCursor({ ts: last.tsSignal, id: last.id }) : null,
  };
}

/**
 * Where a `signals.onNew` client resumes: after a place in the feed (`stream_id`, the event ids
 * this server sends), or after a signal time and id (the event ids servers sent before
 * migration 0028, still accepted so a client reconnecting across the upgrade keeps its place).
 */
export type FeedPosition = { readonly streamId: number } | { readonly ts: string; readonly id: string };

/** The SSE event id of a stored signal: its place in the feed. */
export const signalEventId = (streamId: number): string => String(streamId);

/** Reads a `lastEventId`: a feed place, or an older server's (time, id) cursor. */
export function decodeEventId(s: string, field = 'lastEventId'): FeedPosition {
  if (/^\d{1,15}$/.test(s)) return { streamId: Number(s) };
  return decodeCursor(s, field);
}

/** The last place in the feed so far (0 before the first signal is stored). */
export async function feedHead(tx: Queryable): Promise<number> {
  const rows = await queryRows<{ head: string }>(
    tx,
    sql`select coalesce(max(stream_id), 0)::text as head from signals where stream_id is not null`,
  );
  return Number(rows[0]?.head ?? 0);
}

/**
 * Signals stored after a resume point and up to `upTo`, in feed order (SSE catch-up): every one
 * numbered in between, whatever its signal time. After an old (time, id) cursor: the numbered ones
 * past it.
 */
export async function signalsAfter(
  tx: Queryable,
  after: FeedPosition,
  upTo: number,
  symbols: readonly string[] | null,
  limit: number,
): Promise<StoredSignal[]> {
  const filter = symbols
    ? sql`and symbol in (${sql.join(
        symbols.map((s) => sql`${s}`),
        sql`, `,
      )})`
    : sql``;
  const past =
    'streamId' in after
      ? sql`stream_id > ${after.streamId}`
      : sql`stream_id is not null and (ts, id) > (${after.ts}::timestamptz, ${after.id}::uuid)`;
  const rows = await readSignals(
    tx,
    sql`where ${past} and stream_id <= ${upTo} ${filter} order by stream_id limit ${limit}`,
  );
  return rows.flatMap((r) => (r.streamId === null ? [] : [{ streamId: r.streamId, signal: r.view }]));
}

export async function recordDecision(
  tx: Tx,
  input: {
    tenantId: TenantId;
    signalId: SignalId;
    userId: UserId;
    decision: 'accept' | 'reject' | 'note';
    note: string | null;
  },
): Promise<SignalDecisionView> {
  const exists = await getSignalView(tx, input.signalId);
  if (!exists) {
    throw new AppError('NOT_FOUND', 'signalId: no such signal', {
      reason: 'unknown_reference',
      field: 'signalId',
    });
  }
  const [row] = await tx
    .insert(signalDecisions)
    .values({
      tenantId: input.tenantId,
      signalId: input.signalId,
      userId: input.userId,
      decision: input.decision,
      note: input.note,
    })
    .returning();
  return decisionView(row!);
}

export async function decisionsOf(
  tx: Tx,
  tenantId: TenantId,
  signalId: SignalId,
): Promise<SignalDecisionView[]> {
  const rows = await tx
    .select()
    .from(signalDecisions)
    .where(and(eq(signalDecisions.tenantId, tenantId), eq(signalDecisions.signalId, signalId)))
    .orderBy(desc(signalDecisions.createdAt));
  return rows.map(decisionView);
}

function decisionView(r: typeof signalDecisions.$inferSelect): SignalDecisionView {
  return {
    id: r.id,
    signalId: r.signalId,
    userId: r.userId,
    decision: r.decision,
    note: r.note,
    createdAt: r.createdAt.toISOString(),
  };
}
