import { riskLimits } from '@aegis/shared/db';
import type { RiskLimitsRow, SetRiskLimitsInput } from '@aegis/shared/schemas/order-risk';
import { and, asc, eq } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { Tx } from '../db/database.ts';
import { norm } from './order-rows.ts';
import type { Actor } from './types.ts';

/** Risk limits per desk ('*') and per instrument; changes are audited with before and after. */

const n = (v: string | null) => (v === null ? null : norm(v));

function view(r: typeof riskLimits.$inferSelect): RiskLimitsRow {
  return {
    symbol: r.symbol,
    maxOrderQty: n(r.maxOrderQty),
    maxOrderNotional: n(r.maxOrderNotional),
    maxPosition: n(r.maxPosition),
    maxGrossExposure: n(r.maxGrossExposure),
    maxNetExposure: n(r.maxNetExposure),
    maxNetDelta: n(r.maxNetDelta),
    maxOpenLegs: r.maxOpenLegs,
    maxDailyLoss: n(r.maxDailyLoss),
    priceCollarBps: r.priceCollarBps,
    maxReferenceAgeMs: r.maxReferenceAgeMs,
    maxSpreadBps: r.maxSpreadBps,
    duplicateWindowMs: r.duplicateWindowMs,
    maxOrdersPerMinute: r.maxOrdersPerMinute,
    lossStreakCount: r.lossStreakCount,
    lossStreakThreshold: n(r.lossStreakThreshold),
    restricted: r.restricted,
    updatedAt: r.updatedAt,
    updatedBy: r.updatedBy,
  };
}

export async function getLimits(tx: Tx, tenantId: string): Promise<RiskLimitsRow[]> {
  const rows = await tx
    .select()
    .from(riskLimits)
    .where(eq(riskLimits.tenantId, tenantId))
    .orderBy(asc(riskLimits.symbol));
  return rows.map(view);
}

/** Upserts one scope's row: fields given replace, fields omitted stay as they are. */
export async function setLimits(
  tx: Tx,
  tenantId: string,
  input: SetRiskLimitsInput,
  actor: Actor,
): Promise<RiskLimitsRow> {
  const { symbol, ...fields } = input;
  const [before] = await tx
    .select()
    .from(riskLimits)
    .where(and(eq(riskLimits.tenantId, tenantId), eq(riskLimits.symbol, symbol)))
    .for('update');
  const userId = actor.type === 'user' ? actor.id : null;
  const [row] = await tx
    .insert(riskLimits)
    .values({ tenantId, symbol, ...fields, updatedBy: userId, updatedAt: new Date() })
    .onConflictDoUpdate({
      target: [riskLimits.tenantId, riskLimits.symbol],
      set: { ...fields, updatedBy: userId, updatedAt: new Date() },
    })
    .returning();
  const after = view(row!);
  await recordAudit(tx, {
    action: 'risk.limits.set',
    actor,
    targetType: 'risk_limits',
    targetId: symbol,
    payload: { before: before ? view(before) : null, after },
    details: `limits ${symbol}: ${Object.keys(fields).join(', ') || 'no change'}`,
  });
  return after;
}
