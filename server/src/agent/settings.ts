import { agentSettings } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';

/**
 * A desk's agent parameters (table `agent_settings`, RLS; a desk gets a default row when it is
 * created). Deny by default: the agent proposes only on the instruments listed, so a new desk's
 * agent proposes nothing until someone chooses its instruments. For watching signals, an empty
 * list means every instrument.
 */
export type AgentSettingsRow = typeof agentSettings.$inferSelect;

export const DEFAULT_AGENT_SETTINGS = Object.freeze({
  mode: 'confirmation' as const,
  instruments: [] as string[],
  maxProposalsPerHour: 20,
  riskPreset: 'conservative' as const,
  proposalTtlSeconds: 300,
  minHoldingSeconds: 300,
  automationEnabled: true,
  automationDisabledReason: null as string | null,
});

export async function readAgentSettings(tx: Queryable, tenantId: TenantId): Promise<AgentSettingsRow | null> {
  const [row] = await tx.select().from(agentSettings).where(eq(agentSettings.tenantId, tenantId)).limit(1);
  return row ?? null;
}

/** The desk's instruments, or null for "all". Call inside the desk's transaction. */
export async function deskInstruments(tx: Queryable, tenantId: TenantId): Promise<string[] | null> {
  const s = await readAgentSettings(tx, tenantId);
  return s && s.instruments.length > 0 ? s.instruments : null;
}
