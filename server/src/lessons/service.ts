import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { lessons, proposals, tradeOutcomes } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import type { LessonView, TradeOutcomeInput } from '@aegis/shared/schemas/lesson';
import type { SignalView } from '@aegis/shared/schemas/signal';
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import { getSignalView, trimDecimal } from '../signals/service.ts';
import type { Embedder } from './embedder.ts';

/**
 * Loss-learning memory. A closed trade's outcome is stored; a loss, or a win of at least
 * `LARGE_WIN_RETURN` of the entry notional, becomes a lesson: a short summary of what the signal,
 * the context and the outcome were, its tags and an embedding. Recall is cosine similarity in
 * SQL over the `double precision[]` column (vectors are unit length, so a dot product), among
 * lessons from the same embedder, newest first on ties.
 */
export const LARGE_WIN_RETURN = 0.02;

export interface RecordedOutcome {
  readonly outcomeId: string;
  readonly pnl: string;
  readonly lesson: LessonView | null;
}

export async function recordOutcome(
  tx: Tx,
  tenantId: string,
  input: TradeOutcomeInput,
  embedder: Embedder,
): Promise<RecordedOutcome> {
  const qty = dec(input.quantity);
  const entry = dec(input.entryPrice);
  const exit = dec(input.exitPrice);
  const pnl = input.pnl
    ? dec(input.pnl)
    : (input.side === 'buy' ? exit.minus(entry) : entry.minus(exit)).times(qty);
  if (input.proposalId) {
    // Only this desk's proposals may be referenced: another desk's id is "not found".
    const [own] = await tx
      .select({ id: proposals.id })
      .from(proposals)
      .where(and(eq(proposals.tenantId, tenantId), eq(proposals.id, input.proposalId)));
    if (!own) throw new AppError('NOT_FOUND', 'No such proposal');
  }
  const [outcome] = await tx
    .insert(tradeOutcomes)
    .values({
      tenantId,
      proposalId: input.proposalId ?? null,
      signalId: input.signalId ?? null,
      symbol: input.instrument,
      side: input.side,
      quantity: input.quantity,
      entryPrice: input.entryPrice,
      exitPrice: input.exitPrice,
      pnl: decStr(pnl),
      openedAt: new Date(input.openedAt),
      closedAt: new Date(input.closedAt),
      notes: input.notes ?? null,
    })
    .returning({ id: tradeOutcomes.id });
  const notional = entry.times(qty);
  const ret = notional.isZero() ? 0 : pnl.div(notional).toNumber();
  const kind = pnl.isNegative() && !pnl.isZero() ? 'loss' : ret >= LARGE_WIN_RETURN ? 'win' : null;
  if (!kind) return { outcomeId: outcome!.id, pnl: decStr(pnl), lesson: null };

  const signal = input.signalId ? await getSignalView(tx, input.signalId) : null;
  const [proposal] = input.proposalId
    ? await tx
        .select({
          riskScore: proposals.riskScore,
          confidence: proposals.confidence,
          timeHorizon: proposals.timeHorizon,
        })
        .from(proposals)
        .where(and(eq(proposals.tenantId, tenantId), eq(proposals.id, input.proposalId)))
    : [];
  const heldMs = Date.parse(input.closedAt) - Date.parse(input.openedAt);
  const tags = lessonTags({ instrument: input.instrument, side: input.side, kind, signal, heldMs, ret });
  const summary = [
    `${kind === 'loss' ? 'LOSS' : 'WIN'} ${decStr(pnl)} (${(ret * 100).toFixed(2)}%) on ${input.instrument}:`,
    `${input.side} ${trimDecimal(input.quantity)} @ ${trimDecimal(input.entryPrice)} → ${trimDecimal(input.exitPrice)}, held ${formatDuration(heldMs)}.`,
    signal ? signalSentence(signal) : 'No signal recorded.',
    proposal
      ? `Proposed with risk score ${proposal.riskScore}, confidence ${proposal.confidence.toFixed(2)}, horizon ${proposal.timeHorizon}.`
      : '',
    input.notes ? `Notes: ${input.notes}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const embedding = await embedder.embed(`${summary} ${tags.join(' ')}`);
  const [row] = await tx
    .insert(lessons)
    .values({
      tenantId,
      outcomeId: outcome!.id,
      symbol: input.instrument,
      kind,
      pnl: decStr(pnl),
      summary,
      tags,
      embedding,
      embedder: embedder.name,
    })
    .returning();
  return { outcomeId: outcome!.id, pnl: decStr(pnl), lesson: toView(row!) };
}

function signalSentence(s: SignalView): string {
  const f = s.features;
  const parts = [`Signal ${s.pattern} ${s.direction} score ${s.score.toFixed(2)}`];
  const ofi = f.orderFlowImbalance ?? f.order_flow_imbalance;
  const vol = f.realizedVol ?? f.realized_vol;
  if (typeof ofi === 'number') parts.push(`order-flow imbalance ${ofi.toFixed(2)}`);
  if (typeof vol === 'number') parts.push(`realized vol ${vol.toPrecision(2)}`);
  return `${parts.join(', ')}.`;
}

/** Tags that make similar situations find each other (instrument, pattern, direction, regime). */
export function lessonTags(o: {
  instrument: string;
  side: 'buy' | 'sell';
  kind?: 'loss' | 'win';
  signal: SignalView | null;
  heldMs?: number;
  ret?: number;
}): string[] {
  const tags = [o.instrument.toLowerCase(), o.side === 'buy' ? 'long' : 'short'];
  if (o.kind) tags.push(o.kind);
  if (o.signal) {
    tags.push(o.signal.pattern, o.signal.score >= 0.8 ? 'high-score' : 'moderate-score');
    const vol = o.signal.features.realizedVol ?? o.signal.features.realized_vol;
    if (typeof vol === 'number') tags.push(vol > 0.003 ? 'high-vol' : 'low-vol');
  }
  if (o.heldMs !== undefined) tags.push(o.heldMs < 3_600_000 ? 'intraday' : 'multi-day');
  return [...new Set(tags)];
}

/** The recall text for a signal the agent is deciding on: the same vocabulary lessons use. */
export function recallTextFor(signal: SignalView): string {
  const side = signal.direction === 'long' ? 'buy' : 'sell';
  const tags = lessonTags({ instrument: signal.symbol, side, signal });
  return `${signal.symbol}: ${side}. ${signalSentence(signal)} ${tags.join(' ')}`;
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  return `${(ms / 86_400_000).toFixed(1)}d`;
}

interface LessonRow {
  id: string;
  outcome_id: string | null;
  symbol: string;
  kind: 'loss' | 'win';
  pnl: string;
  summary: string;
  tags: string[];
  embedder: string;
  created_at: string;
  similarity: number | string;
}

/** The k lessons nearest to `text` (cosine), optionally for one instrument. */
export async function queryLessons(
  tx: Tx,
  tenantId: string,
  embedder: Embedder,
  text: string,
  k: number,
  instrument?: string,
): Promise<LessonView[]> {
  const q = await embedder.embed(text);
  // Numbers only: safe to inline as an array literal, one parameter instead of `dims`.
  const literal = `{${q.map((x) => (Number.isFinite(x) ? x : 0)).join(',')}}`;
  const rows = (await tx.execute(sql`
    select id::text as id, outcome_id::text as outcome_id, symbol, kind, pnl::text as pnl, summary, tags, embedder,
           to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
           (select coalesce(sum(a * b), 0) from unnest(l.embedding, ${literal}::float8[]) as v(a, b)) as similarity
      from lessons l
     where tenant_id = ${tenantId} and embedder = ${embedder.name}
       ${instrument ? sql`and symbol = ${instrument}` : sql``}
     order by similarity desc, created_at desc
     limit ${k}`)) as unknown as LessonRow[];
  return rows.map((r) => ({
    id: r.id,
    outcomeId: r.outcome_id,
    instrument: r.symbol,
    kind: r.kind,
    pnl: trimDecimal(r.pnl),
    summary: r.summary,
    tags: r.tags,
    embedder: r.embedder,
    createdAt: r.created_at,
    similarity: Number(r.similarity),
  }));
}

function toView(r: typeof lessons.$inferSelect): LessonView {
  return {
    id: r.id,
    outcomeId: r.outcomeId,
    instrument: r.symbol,
    kind: r.kind,
    pnl: trimDecimal(r.pnl),
    summary: r.summary,
    tags: r.tags,
    embedder: r.embedder,
    createdAt: r.createdAt.toISOString(),
  };
}
