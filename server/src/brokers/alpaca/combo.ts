import { dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import type { BrokerComboRequest, BrokerOrder, BrokerOrderStatus, ExecutionReport } from '../types.ts';
import { ALPACA_OPEN, ReportBook, type TrackedOrder, toBrokerStatus, trackedFrom } from './report-book.ts';
import type { AlpacaFillActivity, AlpacaOrder } from './schemas.ts';

/**
 * Combos as Alpaca multi-leg options orders (Orders page, `order_class: mleg`): one order with a
 * top-level `qty` (combo units), a signed net `limit_price` (positive a debit, negative a credit)
 * and `legs` of { symbol, ratio_qty, side }. Alpaca gives each leg an order of its own (its own id
 * and client id); our legs are addressed by the combo's client id + L<n>, in request order. Each
 * leg is tracked in the report book as a plain order, so its reports (acceptance, fills, end)
 * take the same path and carry the same execution ids as a single order's.
 */
export interface ComboLegIds {
  legClientOrderId(comboId: string, index: number): string;
  /** The combo and position of a leg client order id, or null when it is not one. */
  comboOfLeg(clientOrderId: string): { comboId: string; index: number } | null;
}

/** The execution service's convention (server/src/execution/combo-rows.ts): combo id + L1, L2 … */
export const conventionComboLegIds: ComboLegIds = {
  legClientOrderId: (comboId, index) => `${comboId}L${index + 1}`,
  comboOfLeg: (id) => {
    const m = /^(.+)L([1-9]\d*)$/.exec(id);
    return m ? { comboId: m[1] as string, index: Number(m[2]) - 1 } : null;
  },
};

export const isMleg = (o: Pick<AlpacaOrder, 'order_class'>) => o.order_class === 'mleg';

/** POST /v2/orders body of a combo. Alpaca derives each leg's open/close intent from the account. */
export function mlegBody(req: BrokerComboRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    order_class: 'mleg',
    qty: req.quantity,
    type: req.orderType,
    time_in_force: req.timeInForce,
    client_order_id: req.comboId,
    legs: req.legs.map((l) => ({ symbol: l.symbol, ratio_qty: String(l.ratio), side: l.side })),
  };
  if (req.orderType === 'limit' && req.netLimitPrice !== null) body.limit_price = req.netLimitPrice;
  return body;
}

/**
 * A leg's status: its own, unless the multi-leg order ended while the leg still reads open
 * (Alpaca ends the order as a whole).
 */
export function legAlpacaStatus(root: AlpacaOrder, leg: AlpacaOrder): AlpacaOrder['status'] {
  if (ALPACA_OPEN.has(leg.status) && !ALPACA_OPEN.has(root.status) && root.status !== 'filled')
    return root.status;
  return leg.status;
}

/** Registers the legs of a multi-leg order under our leg ids (with Alpaca's state when `seed`). */
export function registerCombo(
  book: ReportBook,
  root: AlpacaOrder,
  ids: ComboLegIds,
  seed: boolean,
  clientIdOf: (leg: AlpacaOrder, index: number) => string = (_l, i) =>
    ids.legClientOrderId(root.client_order_id, i),
): TrackedOrder[] {
  return (root.legs ?? []).map((leg, i) => {
    const t = trackedFrom(leg, clientIdOf(leg, i));
    if (seed) {
      t.filled = dec(leg.filled_qty);
      t.avgPx = leg.filled_avg_price;
      t.notional = leg.filled_avg_price ? t.filled.times(dec(leg.filled_avg_price)) : ZERO;
      const status = toBrokerStatus({ ...leg, status: legAlpacaStatus(root, leg) });
      t.accepted = status !== 'pending_new' && status !== 'rejected';
      t.ended = !ALPACA_OPEN.has(legAlpacaStatus(root, leg));
    }
    return book.register(t);
  });
}

/** Our view of leg `index` of a multi-leg order (null when it has no such leg). */
export function comboLegView(root: AlpacaOrder, index: number, ids: ComboLegIds): BrokerOrder | null {
  const leg = root.legs?.[index];
  if (!leg) return null;
  const status: BrokerOrderStatus = toBrokerStatus({ ...leg, status: legAlpacaStatus(root, leg) });
  return {
    clientOrderId: ids.legClientOrderId(root.client_order_id, index),
    symbol: leg.symbol,
    side: leg.side,
    orderType: root.type === 'limit' ? 'limit' : 'market',
    timeInForce: 'day',
    quantity: decStr(dec(leg.qty ?? '0')),
    // The net price is the combo's; a leg has none of its own.
    limitPrice: null,
    stopPrice: null,
    brokerOrderId: leg.id,
    comboLink: { comboId: root.client_order_id, ratio: Number(leg.ratio_qty ?? '1') },
    status,
    filledQuantity: decStr(dec(leg.filled_qty)),
    avgFillPrice: dec(leg.filled_qty).gt(0) ? leg.filled_avg_price : null,
    rejectReason: status === 'rejected' ? 'rejected by Alpaca' : null,
  };
}

/**
 * Every report of leg `index`, replayed from the REST order and the leg's FILL activities:
 * acceptance at submission, the fills, then its end (the same ids the stream path gives).
 */
export function replayComboLeg(
  root: AlpacaOrder,
  index: number,
  activities: readonly AlpacaFillActivity[],
  ids: ComboLegIds,
): ExecutionReport[] {
  const leg = root.legs?.[index];
  if (!leg) return [];
  const book = new ReportBook();
  const t = book.register(trackedFrom(leg, ids.legClientOrderId(root.client_order_id, index)));
  const out: ExecutionReport[] = [];
  const status = legAlpacaStatus(root, leg);
  if (root.status !== 'rejected' && toBrokerStatus(root) !== 'pending_new')
    out.push(...book.accepted(t, root.submitted_at ?? root.created_at));
  const fills = activities
    .filter((a) => a.order_id === leg.id)
    .sort((a, b) => dec(a.cum_qty).comparedTo(dec(b.cum_qty)));
  for (const a of fills) {
    const done = dec(leg.filled_qty).eq(dec(a.cum_qty));
    out.push(
      ...book.filled(t, {
        lastQty: a.qty,
        lastPx: a.price,
        cumQty: a.cum_qty,
        avgPx: done ? leg.filled_avg_price : null,
        ts: a.transaction_time,
      }),
    );
  }
  const endTs = (at: string | null) => at ?? root.updated_at ?? root.created_at;
  if (status === 'canceled' || status === 'replaced')
    out.push(...book.ended(t, 'cancelled', endTs(leg.canceled_at ?? root.canceled_at)));
  else if (status === 'expired')
    out.push(...book.ended(t, 'expired', endTs(leg.expired_at ?? root.expired_at)));
  else if (status === 'rejected')
    out.push(...book.ended(t, 'rejected', endTs(leg.failed_at ?? root.failed_at), 'rejected by Alpaca'));
  return out;
}
