import { withTenant } from '@aegis/shared/db/client';
import type { TenantId } from '@aegis/shared/ids';
import { sql } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { Tx } from '../db/database.ts';
import type { ExecutionDeps } from './types.ts';

/**
 * A desk's reducing-only state (desk_reducing_only, drizzle/0013): while any source holds it —
 * today a linked connection whose circuit breaker is open (`connection:<id>`) — the governor
 * treats the desk as halted: only risk-reducing orders pass (DESK_HALT, with the reason), and
 * unlike the halt no working order is cancelled. PostgreSQL holds it, so every server
 * process placing orders for the desk sees it, whichever process's dispatcher set it.
 */
export const connectionSource = (connectionId: string) => `connection:${connectionId}`;

/** The reason the desk is reducing-only (the oldest source), or null. */
export async function readReducingOnly(tx: Tx, tenantId: TenantId): Promise<string | null> {
  const rows = await tx.execute<{ reason: string }>(
    sql`select reason from desk_reducing_only where tenant_id = ${tenantId} order by since limit 1`,
  );
  return rows[0]?.reason ?? null;
}

/** Sets (once) the desk's reducing-only state for `source`; audited. */
export async function enterReducingOnly(
  deps: Pick<ExecutionDeps, 'db'>,
  tenantId: TenantId,
  source: string,
  reason: string,
  payload: Record<string, unknown> = {},
): Promise<boolean> {
  return withTenant(deps.db, tenantId, async (tx) => {
    const inserted = await tx.execute<{ source: string }>(sql`
      insert into desk_reducing_only (tenant_id, source, reason) values (${tenantId}, ${source}, ${reason})
      on conflict (tenant_id, source) do nothing returning source`);
    if (inserted.length === 0) return false;
    await recordAudit(tx, {
      action: 'execution.reducing_only',
      actor: { type: 'system', id: 'dispatcher' },
      targetType: 'desk',
      targetId: tenantId,
      payload: { source, engaged: true, ...payload },
      details: `desk reducing-only: ${reason}`,
    });
    return true;
  });
}

/** Lifts `source`'s reducing-only state (other sources still hold theirs); audited. */
export async function leaveReducingOnly(
  deps: Pick<ExecutionDeps, 'db'>,
  tenantId: TenantId,
  source: string,
  why: string,
): Promise<boolean> {
  return withTenant(deps.db, tenantId, async (tx) => {
    const deleted = await tx.execute<{ source: string }>(sql`
      delete from desk_reducing_only where tenant_id = ${tenantId} and source = ${source} returning source`);
    if (deleted.length === 0) return false;
    await recordAudit(tx, {
      action: 'execution.reducing_only',
      actor: { type: 'system', id: 'dispatcher' },
      targetType: 'desk',
      targetId: tenantId,
      payload: { source, engaged: false },
      details: `desk reducing-only lifted (${source}): ${why}`,
    });
    return true;
  });
}
