import { signalDecisions } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
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
}

const ISO_US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

const SELECT = sql.raw(`select id::text as id, to_char(ts at time zone 'UTC', ${ISO_US}) as ts,
  to_char(ts_event at time zone 'UTC', ${ISO_US}) as ts_event, symbol, direction, pattern, score,
  price::text as price, features, model_version from signals`);

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

/**
 * Stores a signal from the stream unless it is there already. The engine's writer inserts the
 * same ids with the same µs signal time (one row per signal: primary key (id, ts)); the NOT
 * EXISTS covers rows an older engine wrote with the time truncated to milliseconds. The times are
 * cast from text: a timestamptz parameter would be serialized through a JS Date (ms only).
 */
export async function storeSignal(
  tx: Queryable,
  s: SignalStreamEntry,
): Promise<{ stored: boolean; view: SignalView }> {
  const features = JSON.stringify(s.features);
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
  const view = await getSignalView(tx, s.id, new Date(s.tsSignal));
  if (!view) throw new AppError('INTERNAL', `signal ${s.id} not readable after insert`);
  return { stored: inserted.length > 0, view };
}

/** A signal by id; `near` narrows the partition scan when known. */
export async function getSignalView(tx: Queryable, id: string, near?: Date): Promise<SignalView | null> {
  const window = near
    ? sql`and ts between ${new Date(near.getTime() - 60_000).toISOString()}::timestamptz and ${new Date(near.getTime() + 60_000).toISOString()}::timestamptz`
    : sql``;
  const rows = await queryRows<SignalRow>(
    tx,
    sql`${SELECT} where id = ${id}::uuid ${window} order by ts limit 1`,
  );
  return rows[0] ? toView(rows[0]) : null;
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

/** Signals after a resume point, oldest first (SSE catch-up). */
export async function signalsAfter(
  tx: Queryable,
  after: Cursor,
  symbols: readonly string[] | null,
  limit: number,
): Promise<SignalView[]> {
  const filter = symbols
    ? sql`and symbol in (${sql.join(
        symbols.map((s) => sql`${s}`),
        sql`, `,
      )})`
    : sql``;
  const rows = await queryRows<SignalRow>(
    tx,
    sql`${SELECT}
    where (ts, id) > (${after.ts}::timestamptz, ${after.id}::uuid) ${filter}
    order by ts, id limit ${limit}`,
  );
  return rows.map(toView);
}

/** The SSE event id of a signal: resumable with `signalsAfter`. */
export const signalEventId = (s: SignalView): string => encodeCursor({ ts: s.tsSignal, id: s.id });

export async function recordDecision(
  tx: Tx,
  input: {
    tenantId: string;
    signalId: string;
    userId: string;
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

export async function decisionsOf(tx: Tx, tenantId: string, signalId: string): Promise<SignalDecisionView[]> {
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
