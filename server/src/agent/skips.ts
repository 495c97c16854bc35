import { agentSkips } from '@aegis/shared/db';
import type { SignalId, TenantId } from '@aegis/shared/ids';
import type { AgentSkipCode, AgentSkipView } from '@aegis/shared/schemas/agent-skip';
import type { SignalView } from '@aegis/shared/schemas/signal';
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';

/**
 * Skipped signals (table `agent_skips`): every signal a desk's agent let go without a proposal,
 * with the gate's code and a reason naming its numbers, so the console shows what only the server
 * log used to. One row per desk and signal (a redelivery keeps the first); rows older than
 * RETENTION_MS are deleted as new ones arrive (index on tenant and time: cheap when none are due).
 */
export const SKIP_RETENTION_MS = 7 * 86_400_000;

export interface Skip {
  readonly code: AgentSkipCode;
  readonly reason: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export async function recordSkip(
  tx: Tx,
  tenantId: TenantId,
  signal: SignalView,
  skip: Skip,
  now: Date,
): Promise<void> {
  await tx
    .insert(agentSkips)
    .values({
      tenantId,
      signalId: signal.id,
      symbol: signal.symbol,
      direction: signal.direction,
      score: signal.score,
      code: skip.code,
      reason: skip.reason.slice(0, 1000),
      details: skip.details ?? {},
      createdAt: now,
    })
    .onConflictDoNothing({ target: [agentSkips.tenantId, agentSkips.signalId] });
  await tx
    .delete(agentSkips)
    .where(
      and(
        eq(agentSkips.tenantId, tenantId),
        lt(agentSkips.createdAt, new Date(now.getTime() - SKIP_RETENTION_MS)),
      ),
    );
}

export async function alreadySkipped(tx: Tx, tenantId: TenantId, signalId: SignalId): Promise<boolean> {
  const rows = await tx
    .select({ id: agentSkips.id })
    .from(agentSkips)
    .where(and(eq(agentSkips.tenantId, tenantId), eq(agentSkips.signalId, signalId)))
    .limit(1);
  return rows.length > 0;
}

export async function listSkips(
  tx: Tx,
  tenantId: TenantId,
  filter: { limit: number; symbol?: string | undefined; code?: AgentSkipCode | undefined },
): Promise<AgentSkipView[]> {
  const where: SQL[] = [eq(agentSkips.tenantId, tenantId)];
  if (filter.symbol) where.push(eq(agentSkips.symbol, filter.symbol));
  if (filter.code) where.push(eq(agentSkips.code, filter.code));
  const rows = await tx
    .select()
    .from(agentSkips)
    .where(and(...where))
    .orderBy(desc(agentSkips.createdAt), desc(agentSkips.id))
    .limit(filter.limit);
  return rows.map((r) => ({
    id: r.id,
    signalId: r.signalId,
    symbol: r.symbol,
    direction: r.direction,
    score: r.score,
    code: r.code as AgentSkipCode,
    reason: r.reason,
    createdAt: r.createdAt.toISOString(),
  }));
}
