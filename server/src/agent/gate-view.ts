import { dec } from '@aegis/shared/accounting/decimal';
import type { DeskGateView, GateState, ProposalGateSettings } from '@aegis/shared/agent/proposal-gate';
import { presetMinScore } from '@aegis/shared/agent/rule-decider';
import { fills, positions, proposals } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import { and, desc, eq, gt, gte, max, ne, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import type { AgentSettingsRow } from './settings.ts';

/**
 * What the proposal gate needs about a desk and an instrument, read from PostgreSQL rows inside
 * the desk's transaction: every server process derives the same view (no process memory), and
 * the bucket state sits in the desk's `agent_settings` row.
 */
export function gateSettingsOf(s: AgentSettingsRow): ProposalGateSettings {
  return {
    maxProposalsPerHour: s.maxProposalsPerHour,
    minHoldingSeconds: s.minHoldingSeconds,
    scoreFloor: presetMinScore(s.riskPreset),
  };
}

export function gateStateOf(s: AgentSettingsRow): GateState {
  return s.proposalTokens === null || s.proposalTokensAt === null
    ? null
    : { tokens: s.proposalTokens, atMs: s.proposalTokensAt.getTime() };
}

/** The desk's agent proposals (not a person's) of the trailing hour. */
export async function agentProposalsLastHour(tx: Tx, tenantId: TenantId, now: Date): Promise<number> {
  const [r] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(proposals)
    .where(
      and(
        eq(proposals.tenantId, tenantId),
        ne(proposals.decider, 'human'),
        gte(proposals.createdAt, new Date(now.getTime() - 3_600_000)),
      ),
    );
  return Number(r?.n ?? 0);
}

export async function loadGateView(
  tx: Tx,
  tenantId: TenantId,
  symbol: string,
  now: Date,
): Promise<DeskGateView> {
  const onSymbol = and(eq(proposals.tenantId, tenantId), eq(proposals.symbol, symbol));
  const pending = await tx
    .select({ id: proposals.id, side: proposals.side })
    .from(proposals)
    .where(and(onSymbol, eq(proposals.status, 'pending'), gt(proposals.expiresAt, now)));
  // The agent's own last call on the instrument, whatever became of it (a trader's rejection
  // does not make flipping the other way less of a flip-flop).
  const [last] = await tx
    .select({
      side: proposals.side,
      createdAt: proposals.createdAt,
      stopPrice: proposals.stopPrice,
      targetPrice: proposals.targetPrice,
      orderId: proposals.orderId,
    })
    .from(proposals)
    .where(and(onSymbol, ne(proposals.decider, 'human')))
    .orderBy(desc(proposals.createdAt))
    .limit(1);
  let filledAtMs: number | null = null;
  if (last?.orderId) {
    const [f] = await tx
      .select({ at: max(fills.ts) })
      .from(fills)
      .where(and(eq(fills.tenantId, tenantId), eq(fills.orderId, last.orderId)));
    filledAtMs = f?.at ? new Date(f.at).getTime() : null;
  }
  const [position] = await tx
    .select({ quantity: positions.quantity, updatedAt: positions.updatedAt })
    .from(positions)
    .where(and(eq(positions.tenantId, tenantId), eq(positions.symbol, symbol)))
    .limit(1);
  const closed = position && dec(position.quantity).isZero() ? position.updatedAt.getTime() : null;
  return {
    proposalsLastHour: await agentProposalsLastHour(tx, tenantId, now),
    instrument: {
      pending: pending.map((p) => ({ id: p.id, side: p.side })),
      lastProposal: last
        ? {
            side: last.side,
            atMs: last.createdAt.getTime(),
            filledAtMs,
            stopPrice: priceOrNull(last.stopPrice),
            targetPrice: priceOrNull(last.targetPrice),
          }
        : null,
      // Only a close after the entry filled counts (the gate compares it with the fill time).
      positionClosedAtMs: filledAtMs === null ? null : closed,
    },
  };
}

function priceOrNull(v: string | null): number | null {
  if (v === null) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
