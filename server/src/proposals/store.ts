import type { DecisionOutcome } from '@aegis/shared/agent/decider';
import { proposals } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import type { ProposalId, SignalId, TenantId } from '@aegis/shared/ids';
import type { RiskDecision } from '@aegis/shared/risk/governor';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import type { ProposalStatus, ProposalView, Rationale, TradeProposal } from '@aegis/shared/schemas/proposal';
import { and, desc, eq, inArray, lt, lte, or, type SQL } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import { trimDecimal } from '../signals/service.ts';

/** Proposal rows: insert, read, list, expire. The workflow (approve/reject/execute) is in workflow.ts. */

export type ProposalRow = typeof proposals.$inferSelect;

export interface StoredVerdict {
  readonly allowed: boolean;
  readonly rules: RiskDecision['verdicts'];
  readonly checkedAt: string;
}

export const verdictOf = (d: RiskDecision, at: Date): StoredVerdict => ({
  allowed: d.allowed,
  rules: d.verdicts,
  checkedAt: at.toISOString(),
});

const dstr = (v: string | null) => (v === null ? null : trimDecimal(v));

export function toProposalView(r: ProposalRow): ProposalView {
  return {
    id: r.id,
    signalId: r.signalId,
    instrument: r.symbol,
    side: r.side,
    quantity: trimDecimal(r.quantity),
    orderType: r.orderType,
    limitPrice: dstr(r.limitPrice),
    stopPrice: dstr(r.stopPrice),
    targetPrice: dstr(r.targetPrice),
    timeHorizon: r.timeHorizon,
    confidence: r.confidence,
    riskScore: r.riskScore,
    rationale: r.rationale as Rationale,
    lessonIds: r.lessonIds,
    status: r.status,
    decider: r.decider,
    model: r.model,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    latencyMs: r.latencyMs,
    riskVerdict: (r.riskVerdict as ProposalView['riskVerdict']) ?? null,
    orderId: r.orderId,
    expiresAt: r.expiresAt.toISOString(),
    decidedAt: r.decidedAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** The order a proposal becomes: the entry order; stop and target stay exit levels. */
export function orderInputOf(
  p: Pick<ProposalRow, 'id' | 'symbol' | 'side' | 'orderType' | 'quantity' | 'limitPrice'>,
): PlaceOrderInput {
  return {
    symbol: p.symbol,
    side: p.side,
    orderType: p.orderType,
    timeInForce: 'day',
    quantity: trimDecimal(p.quantity),
    limitPrice: p.orderType === 'limit' && p.limitPrice ? trimDecimal(p.limitPrice) : null,
    stopPrice: null,
    proposalId: p.id,
  };
}

export function tradeOrderInput(p: TradeProposal): PlaceOrderInput {
  return {
    symbol: p.instrument,
    side: p.side,
    orderType: p.orderType,
    timeInForce: 'day',
    quantity: p.quantity,
    limitPrice: p.orderType === 'limit' ? p.limitPrice : null,
    stopPrice: null,
  };
}

export async function insertProposal(
  tx: Tx,
  v: {
    tenantId: TenantId;
    signalId: SignalId | null;
    proposal: TradeProposal;
    outcome: DecisionOutcome;
    verdict: StoredVerdict | null;
    createdAt: Date;
    expiresAt: Date;
  },
): Promise<ProposalRow> {
  const p = v.proposal;
  const [row] = await tx
    .insert(proposals)
    .values({
      tenantId: v.tenantId,
      signalId: v.signalId,
      symbol: p.instrument,
      side: p.side,
      quantity: p.quantity,
      orderType: p.orderType,
      limitPrice: p.limitPrice,
      stopPrice: p.stopPrice,
      targetPrice: p.targetPrice,
      timeHorizon: p.timeHorizon,
      confidence: p.confidence,
      riskScore: p.riskScore,
      rationale: p.rationale,
      lessonIds: p.rationale.lessonsApplied.map((l) => l.lessonId),
      decider: v.outcome.decider,
      model: v.outcome.model,
      promptTokens: v.outcome.promptTokens,
      completionTokens: v.outcome.completionTokens,
      latencyMs: v.outcome.latencyMs,
      riskVerdict: v.verdict,
      createdAt: v.createdAt,
      updatedAt: v.createdAt,
      expiresAt: v.expiresAt,
    })
    .returning();
  return row!;
}

export async function getProposalRow(
  tx: Tx,
  tenantId: TenantId,
  id: ProposalId,
  forUpdate = false,
  /** The input field that named it, for the error (every error names its field). */
  field = 'proposalId',
): Promise<ProposalRow> {
  const q = tx
    .select()
    .from(proposals)
    .where(and(eq(proposals.tenantId, tenantId), eq(proposals.id, id)));
  const [row] = forUpdate ? await q.for('update') : await q;
  if (!row)
    throw new AppError('NOT_FOUND', `${field}: no such proposal on this desk`, {
      reason: 'unknown_reference',
      field,
    });
  return row;
}

export async function listProposals(
  tx: Tx,
  tenantId: TenantId,
  input: { status?: ProposalStatus | undefined; cursor?: string | undefined; limit: number },
): Promise<{ items: ProposalView[]; nextCursor: string | null }> {
  const where: SQL[] = [eq(proposals.tenantId, tenantId)];
  if (input.status) where.push(eq(proposals.status, input.status));
  if (input.cursor) {
    const [ts, id] = Buffer.from(input.cursor, 'base64url').toString().split('|');
    const at = new Date(ts ?? '');
    if (!id || Number.isNaN(at.getTime()))
      throw new AppError('BAD_INPUT', 'cursor: invalid cursor', {
        reason: 'invalid_cursor',
        field: 'cursor',
      });
    where.push(or(lt(proposals.createdAt, at), and(eq(proposals.createdAt, at), lt(proposals.id, id)))!);
  }
  const rows = await tx
    .select()
    .from(proposals)
    .where(and(...where))
    .orderBy(desc(proposals.createdAt), desc(proposals.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toProposalView),
    nextCursor:
      rows.length > input.limit && last
        ? Buffer.from(`${last.createdAt.toISOString()}|${last.id}`).toString('base64url')
        : null,
  };
}

/** Marks the desk's pending proposals past their expiry as expired; returns them. */
export async function expireDue(tx: Tx, tenantId: TenantId, now: Date): Promise<ProposalRow[]> {
  return tx
    .update(proposals)
    .set({ status: 'expired', decidedAt: now, updatedAt: now })
    .where(
      and(eq(proposals.tenantId, tenantId), eq(proposals.status, 'pending'), lte(proposals.expiresAt, now)),
    )
    .returning();
}

export async function countPending(tx: Tx, tenantId: TenantId, now: Date): Promise<number> {
  const rows = await tx
    .select({ id: proposals.id, expiresAt: proposals.expiresAt })
    .from(proposals)
    .where(and(eq(proposals.tenantId, tenantId), inArray(proposals.status, ['pending'])));
  return rows.filter((r) => r.expiresAt > now).length;
}
