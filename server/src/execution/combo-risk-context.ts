import { combos } from '@aegis/shared/db';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import { asComboId, type TenantId } from '@aegis/shared/ids';
import { comboSignature } from '@aegis/shared/orders/combo';
import type {
  ComboIntent,
  ComboLegContext,
  ComboRiskContext,
  RecentComboInfo,
} from '@aegis/shared/risk/combo';
import type { InstrumentInfo, RiskLimits } from '@aegis/shared/risk/governor';
import { desc } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import type { Tx } from '../db/database.ts';
import { combosSentSince, legsOfCombos } from './combo-rows.ts';
import { norm } from './order-rows.ts';
import {
  type InstrumentRow,
  instrumentInfo,
  loadInstruments,
  loadLimits,
  loadRiskInputs,
  quoteInfoOf,
  type RiskInputs,
} from './risk-context.ts';

export interface ComboRiskInputs {
  readonly ctx: ComboRiskContext;
  /** The desk's limits (book-wide rules and the max-loss bound). */
  readonly limits: RiskLimits;
  /** The legs' instrument rows, by symbol. */
  readonly legRows: ReadonlyMap<string, InstrumentRow>;
  readonly base: RiskInputs;
}

/**
 * Everything the combo governor reads, loaded in the caller's transaction (after the desk's
 * order lock): the single-order context of the desk (book, working orders, P&L, switches,
 * recent orders) plus, per leg, its instrument, quote, effective limits and payoff terms, the
 * underlyings' reference data (a covering position's multiplier) and the desk's recent combos.
 */
export async function loadComboRiskInputs(
  tx: Tx,
  tenantId: TenantId,
  combo: ComboIntent,
  deps: { quotes: QuoteBook; startingCapital: string; now: Date },
): Promise<ComboRiskInputs> {
  const symbols = combo.legs.map((l) => l.symbol);
  const known = await loadInstruments(tx, symbols);
  combo.legs.forEach((l, i) => {
    if (!known.has(l.symbol)) {
      throw new AppError(ErrorCode.NOT_FOUND, `combo.legs.${i}.symbol: unknown instrument ${l.symbol}`, {
        reason: 'unknown_reference',
        field: `combo.legs.${i}.symbol`,
      });
    }
  });
  const first = combo.legs[0]!;
  const base = await loadRiskInputs(
    tx,
    tenantId,
    {
      symbol: first.symbol,
      side: first.side,
      orderType: 'market',
      quantity: first.quantity,
      origin: combo.origin,
    },
    { ...deps, extraSymbols: symbols.slice(1) },
  );
  const underlyings = [...known.values()].flatMap((r) => (r.underlyingSymbol ? [r.underlyingSymbol] : []));
  const underlyingRows = await loadInstruments(tx, underlyings);
  const instruments: Record<string, InstrumentInfo> = { ...base.ctx.instruments };
  for (const [s, r] of underlyingRows) instruments[s] ??= instrumentInfo(r);

  const deskLimits = await loadLimits(tx, tenantId, '*');
  const legs: Record<string, ComboLegContext> = {};
  for (const l of combo.legs) {
    const row = known.get(l.symbol)!;
    const option = row.assetClass === 'option';
    legs[l.symbol] = {
      instrument: instrumentInfo(row),
      quote: quoteInfoOf(deps.quotes, l.symbol),
      limits: await loadLimits(tx, tenantId, l.symbol, row.assetClass),
      payoff: {
        side: l.side,
        ratio: l.ratio,
        kind: option ? 'option' : 'linear',
        right: row.optionRight,
        strike: row.strike === null ? null : norm(row.strike),
        expiry: row.expiry === null ? null : String(row.expiry),
        underlying: option ? row.underlyingSymbol : row.symbol,
        multiplier: norm(row.multiplier),
      },
    };
  }
  const recentCombos = await loadRecentCombos(tx, tenantId, deps.now, deskLimits.duplicateWindowMs);
  const { instrument: _i, quote: _q, ...rest } = base.ctx;
  return {
    ctx: { ...rest, instruments, legs, recentCombos },
    limits: deskLimits,
    legRows: known,
    base,
  };
}

async function loadRecentCombos(
  tx: Tx,
  tenantId: TenantId,
  now: Date,
  windowMs: number | null,
): Promise<RecentComboInfo[]> {
  if (windowMs === null) return [];
  const rows = await tx
    .select()
    .from(combos)
    .where(combosSentSince(tenantId, new Date(now.getTime() - windowMs)))
    .orderBy(desc(combos.createdAt));
  if (rows.length === 0) return [];
  const legs = await legsOfCombos(
    tx,
    tenantId,
    rows.map((r) => asComboId(r.id)),
  );
  return rows.map((c) => ({
    createdAt: c.createdAt,
    signature: comboSignature({
      strategy: c.strategy,
      orderType: c.orderType,
      quantity: norm(c.quantity),
      netLimitPrice: c.netLimitPrice === null ? null : norm(c.netLimitPrice),
      legs: legs
        .filter((l) => l.comboId === c.id)
        .map((l) => ({ symbol: l.symbol, side: l.side, ratio: l.legRatio ?? 1 })),
    }),
  }));
}
