import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { agentSettings, type HedgeTargetRow, hedgeActions, hedgeSettings } from '@aegis/shared/db';
import type { TenantId, UserId } from '@aegis/shared/ids';
import type { HedgeActionView, HedgingSettingsView } from '@aegis/shared/schemas/greeks';
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Queryable, Tx } from '../db/database.ts';

/**
 * The hedger's rows (migration 0020): settings per desk and the actions it took. Every function
 * runs inside the desk's transaction (RLS scopes it to that desk).
 */

export type HedgeSettingsRow = typeof hedgeSettings.$inferSelect;
export type HedgeActionRow = typeof hedgeActions.$inferSelect;

/** Actions older than this are deleted as new ones are written (the table stays bounded). */
const ACTION_RETENTION_MS = 7 * 86_400_000;

export interface HedgeMode {
  readonly mode: 'confirmation' | 'autonomous';
  /** The desk's agent mode is autonomous, the server allows autonomy and automation is on. */
  readonly autonomous: boolean;
  readonly automationEnabled: boolean;
  readonly proposalTtlSeconds: number;
}

export async function readHedgeSettings(tx: Queryable, tenantId: TenantId): Promise<HedgeSettingsRow | null> {
  const [row] = await tx.select().from(hedgeSettings).where(eq(hedgeSettings.tenantId, tenantId)).limit(1);
  return row ?? null;
}

/** The mode the hedger acts in: the desk's agent mode, as the decision agent decides it. */
export async function readHedgeMode(
  tx: Queryable,
  tenantId: TenantId,
  autonomousEnabled: boolean,
): Promise<HedgeMode> {
  const [a] = await tx
    .select({
      mode: agentSettings.mode,
      automationEnabled: agentSettings.automationEnabled,
      proposalTtlSeconds: agentSettings.proposalTtlSeconds,
    })
    .from(agentSettings)
    .where(eq(agentSettings.tenantId, tenantId))
    .limit(1);
  const mode = a?.mode ?? 'confirmation';
  const automationEnabled = a?.automationEnabled ?? true;
  return {
    mode,
    automationEnabled,
    autonomous: mode === 'autonomous' && autonomousEnabled && automationEnabled,
    proposalTtlSeconds: a?.proposalTtlSeconds ?? 300,
  };
}

export const normBand = (band: string) => decStr(dec(band));

export function settingsView(
  row: HedgeSettingsRow | null,
  mode: HedgeMode,
  autonomousAllowed: boolean,
): HedgingSettingsView {
  return {
    enabled: row?.enabled ?? false,
    targets: (row?.targets ?? []).map((t) => ({
      underlying: t.underlying,
      hedgeSymbol: t.hedgeSymbol,
      band: normBand(t.band),
    })),
    mode: mode.mode,
    autonomousAllowed,
    updatedAt: row?.updatedAt.toISOString() ?? null,
  };
}

export async function upsertHedgeSettings(
  tx: Tx,
  tenantId: TenantId,
  change: { enabled?: boolean | undefined; targets?: readonly HedgeTargetRow[] | undefined },
  userId: UserId | null,
  now: Date,
): Promise<HedgeSettingsRow> {
  const current = await readHedgeSettings(tx, tenantId);
  const values = {
    enabled: change.enabled ?? current?.enabled ?? false,
    targets: (change.targets ?? current?.targets ?? []).map((t) => ({ ...t, band: normBand(t.band) })),
    updatedBy: userId,
    updatedAt: now,
  };
  const [row] = await tx
    .insert(hedgeSettings)
    .values({ tenantId, ...values })
    .onConflictDoUpdate({ target: hedgeSettings.tenantId, set: values })
    .returning();
  return row!;
}

export interface NewHedgeAction {
  readonly underlying: string;
  readonly hedgeSymbol: string;
  readonly netDeltaBefore: number;
  readonly band: string;
  readonly action: 'none' | 'proposed' | 'placed' | 'skipped';
  readonly side?: 'buy' | 'sell' | null;
  readonly quantity?: string | null;
  readonly reason: string;
  readonly proposalId?: string | null;
  readonly orderId?: string | null;
  readonly details?: Record<string, unknown>;
}

export async function lastAction(
  tx: Queryable,
  tenantId: TenantId,
  underlying: string,
  action?: HedgeActionRow['action'],
): Promise<HedgeActionRow | null> {
  const where = [eq(hedgeActions.tenantId, tenantId), eq(hedgeActions.underlying, underlying)];
  if (action) where.push(eq(hedgeActions.action, action));
  const [row] = await tx
    .select()
    .from(hedgeActions)
    .where(and(...where))
    .orderBy(desc(hedgeActions.createdAt), desc(hedgeActions.id))
    .limit(1);
  return row ?? null;
}

/**
 * Writes an action. A skip with the same reason as the underlying's last action is not written
 * again (a closed market would otherwise write a row every pass); returns null then.
 */
export async function recordAction(
  tx: Tx,
  tenantId: TenantId,
  a: NewHedgeAction,
  now: Date,
): Promise<HedgeActionRow | null> {
  if (a.action === 'skipped') {
    const last = await lastAction(tx, tenantId, a.underlying);
    if (last && last.action === 'skipped' && last.reason === a.reason) return null;
  }
  await tx
    .delete(hedgeActions)
    .where(
      and(
        eq(hedgeActions.tenantId, tenantId),
        lt(hedgeActions.createdAt, new Date(now.getTime() - ACTION_RETENTION_MS)),
      ),
    );
  const [row] = await tx
    .insert(hedgeActions)
    .values({
      tenantId,
      underlying: a.underlying,
      hedgeSymbol: a.hedgeSymbol,
      netDeltaBefore: a.netDeltaBefore,
      band: a.band,
      action: a.action,
      side: a.side ?? null,
      quantity: a.quantity ?? null,
      reason: a.reason,
      proposalId: a.proposalId ?? null,
      orderId: a.orderId ?? null,
      details: a.details ?? {},
      createdAt: now,
    })
    .returning();
  return row!;
}

export function actionView(r: HedgeActionRow): HedgeActionView {
  return {
    at: r.createdAt.toISOString(),
    underlying: r.underlying,
    netDeltaBefore: r.netDeltaBefore,
    band: decStr(dec(r.band)),
    action: r.action,
    hedgeSymbol: r.hedgeSymbol,
    side: r.side,
    quantity: r.quantity === null ? null : decStr(dec(r.quantity)),
    reason: r.reason,
    proposalId: r.proposalId,
    orderId: r.orderId,
  };
}

export async function listActions(
  tx: Queryable,
  tenantId: TenantId,
  limit: number,
): Promise<HedgeActionView[]> {
  const rows = await tx
    .select()
    .from(hedgeActions)
    .where(eq(hedgeActions.tenantId, tenantId))
    .orderBy(desc(hedgeActions.createdAt), desc(hedgeActions.id))
    .limit(limit);
  return rows.map(actionView);
}
