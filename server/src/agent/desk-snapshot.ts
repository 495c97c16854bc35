import { dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import type { DeskSnapshot, RiskPreset } from '@aegis/shared/agent/decider';
import { instruments, positions, tradeOutcomes } from '@aegis/shared/db';
import type { TenantId } from '@aegis/shared/ids';
import { and, eq, gte } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import { loadLimits } from '../execution/risk-context.ts';

/**
 * The desk as the agent sees it when deciding: open positions, the effective limits for the
 * instrument, exposure (at average cost: the agent runs where no live marks may be known; the
 * governor values at marks when the order is checked), and the last 24 hours of closed trades.
 */
export async function loadDeskSnapshot(
  tx: Tx,
  tenantId: TenantId,
  symbol: string,
  riskPreset: RiskPreset,
  now: Date,
): Promise<DeskSnapshot> {
  const rows = await tx.select().from(positions).where(eq(positions.tenantId, tenantId));
  const open = rows.filter((p) => !dec(p.quantity).isZero());
  let gross = ZERO;
  let net = ZERO;
  for (const p of open) {
    const v = dec(p.quantity).times(dec(p.avgCost));
    gross = gross.plus(v.abs());
    net = net.plus(v);
  }
  const since = new Date(now.getTime() - 86_400_000);
  const outcomes = await tx
    .select({ pnl: tradeOutcomes.pnl })
    .from(tradeOutcomes)
    .where(and(eq(tradeOutcomes.tenantId, tenantId), gte(tradeOutcomes.closedAt, since)));
  const realized = outcomes.reduce((s, o) => s.plus(dec(o.pnl)), ZERO);
  const [inst] = await tx
    .select({ lotSize: instruments.lotSize })
    .from(instruments)
    .where(eq(instruments.symbol, symbol))
    .limit(1);
  return {
    tenantId,
    riskPreset,
    positions: open.map((p) => ({
      symbol: p.symbol,
      quantity: decStr(dec(p.quantity)),
      avgCost: decStr(dec(p.avgCost)),
      realizedPnl: decStr(dec(p.realizedPnl)),
    })),
    limits: await loadLimits(tx, tenantId, symbol),
    exposure: { gross: decStr(gross), net: decStr(net) },
    recentPnl: {
      realized24h: decStr(realized),
      trades24h: outcomes.length,
      losses24h: outcomes.filter((o) => dec(o.pnl).isNegative()).length,
    },
    lotSize: inst ? decStr(dec(inst.lotSize)) : null,
  };
}
