import { dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { combos, fills } from '@aegis/shared/db';
import { asComboId, type TenantId } from '@aegis/shared/ids';
import type { StrategyPositionView } from '@aegis/shared/schemas/combo';
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Tx } from '../db/database.ts';
import { legsOfCombos } from './combo-rows.ts';
import { norm } from './order-rows.ts';
import { multipliersOf } from './valuation.ts';

/**
 * Positions and P&L per strategy: each combo that filled, with what its own fills opened per
 * leg (signed by side, at the leg's average fill price), marked at the latest venue mid, times
 * the contract multiplier. The desk's positions stay per symbol (positions.list, average cost);
 * this is the same fills grouped by the combo that made them. Realized P&L per leg is the fees
 * the leg paid, negated (its fills only opened; a close is an order of its own and is realized
 * in the per-symbol position).
 */
export async function listStrategyPositions(
  tx: Tx,
  tenantId: TenantId,
  quotes: QuoteBook,
): Promise<StrategyPositionView[]> {
  const filled = await tx
    .select()
    .from(combos)
    .where(and(eq(combos.tenantId, tenantId), gt(combos.filledQuantity, '0')))
    .orderBy(asc(combos.createdAt));
  if (filled.length === 0) return [];
  const legs = await legsOfCombos(
    tx,
    tenantId,
    filled.map((c) => asComboId(c.id)),
  );
  const firstFills = await tx
    .select({ orderId: fills.orderId, ts: fills.ts })
    .from(fills)
    .where(
      and(
        eq(fills.tenantId, tenantId),
        inArray(
          fills.orderId,
          legs.map((l) => l.id),
        ),
      ),
    )
    .orderBy(asc(fills.ts));
  const firstFillOf = new Map<string, Date>();
  for (const f of firstFills) if (!firstFillOf.has(f.orderId)) firstFillOf.set(f.orderId, f.ts);
  const mults = await multipliersOf(tx, [...new Set(legs.map((l) => l.symbol))]);

  return filled.map((c) => {
    const own = legs.filter((l) => l.comboId === c.id);
    let unrealized = ZERO;
    let unrealizedKnown = true;
    let realized = ZERO;
    let openedAt: Date | null = null;
    const views = own.map((l) => {
      const qty = dec(l.filledQuantity);
      const signed = l.side === 'buy' ? qty : qty.neg();
      const avg = l.avgFillPrice === null ? null : dec(l.avgFillPrice);
      const mark = quotes.mark(l.symbol);
      const mult = dec(mults.get(l.symbol) ?? '1');
      const upnl = mark !== null && avg !== null ? mark.minus(avg).times(signed).times(mult) : null;
      if (upnl === null) unrealizedKnown = false;
      else unrealized = unrealized.plus(upnl);
      const legRealized = dec(l.fees).neg();
      realized = realized.plus(legRealized);
      const first = firstFillOf.get(l.id);
      if (first && (openedAt === null || first < openedAt)) openedAt = first;
      return {
        symbol: l.symbol,
        side: l.side,
        ratio: l.legRatio ?? 1,
        quantity: decStr(signed),
        avgPrice: avg === null ? null : norm(decStr(avg)),
        mark: mark === null ? null : decStr(mark),
        unrealizedPnl: upnl === null ? null : decStr(upnl.toDecimalPlaces(12)),
        realizedPnl: decStr(legRealized),
      };
    });
    const opened = openedAt as Date | null;
    return {
      comboId: c.id,
      strategy: c.strategy,
      openedAt: opened === null ? null : opened.toISOString(),
      legs: views,
      unrealizedPnl: unrealizedKnown ? decStr(unrealized.toDecimalPlaces(12)) : null,
      realizedPnl: decStr(realized),
    };
  });
}
