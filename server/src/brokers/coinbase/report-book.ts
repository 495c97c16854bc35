import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { microsFromIso } from '@aegis/shared/market/micro-time';
import type { BrokerOrderStatus, ExecutionReport, OrderType, Side, TimeInForce } from '../types.ts';
import type { CoinbaseFill, CoinbaseOrderStatus } from './schemas.ts';

/**
 * Turns what Coinbase says about an order (user-channel updates, Get Order, List Fills) into our
 * execution reports, the same way on every path, so a report seen live and the same report
 * recovered later (another poll, a reconnect, a restarted process) carry the same execution id:
 *
 * - acceptance `<order_id>:accepted`;
 * - a fill `<order_id>:<trade_id>`, always built from List Fills: the user channel only says
 *   how much is filled (`cumulative_quantity`, possibly several trades at once), so an update
 *   whose cumulative quantity is above what we applied makes the adapter fetch the order's
 *   fills and report each trade it has not seen (dedup by trade id). Adjusted fills (REVERSAL,
 *   CORRECTION, SYNTHETIC: their trade ids are not unique) are not reported; they are logged;
 * - terminal reports `<order_id>:cancelled|expired|rejected`, emitted only once every fill up to
 *   Coinbase's filled size is reported (a cancel after a partial fill reports the fill first).
 */
export interface TrackedOrder {
  readonly orderId: string;
  readonly clientOrderId: string;
  symbol: string;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  /** Base quantity; null when unknown (an order placed elsewhere by quote size). */
  quantity: Dec | null;
  limitPrice: string | null;
  stopPrice: string | null;
  filled: Dec;
  notional: Dec;
  readonly trades: Set<string>;
  accepted: boolean;
  ended: boolean;
  pendingCancel: boolean;
  status: BrokerOrderStatus;
  rejectReason: string | null;
  /** Coinbase's filled size as last seen; fills are fetched while it is above `filled`. */
  brokerFilled: Dec;
  /** A terminal status waiting for its fills to be reported first. */
  pendingEnd: { kind: 'cancelled' | 'expired' | 'rejected'; reason: string | null; ts: string } | null;
  readonly history: ExecutionReport[];
  /** One sync at a time per order (reports leave in order). */
  chain: Promise<void>;
  cancelRejects: number;
}

export interface OrderSnapshot {
  readonly status: CoinbaseOrderStatus;
  /** Coinbase's cumulative filled base size. */
  readonly filled: Dec;
  readonly pendingCancel: boolean;
  readonly reason: string | null;
  readonly ts: string;
}

export function trackedOrder(
  init: Pick<
    TrackedOrder,
    | 'orderId'
    | 'clientOrderId'
    | 'symbol'
    | 'side'
    | 'orderType'
    | 'timeInForce'
    | 'quantity'
    | 'limitPrice'
    | 'stopPrice'
  >,
): TrackedOrder {
  return {
    ...init,
    filled: ZERO,
    notional: ZERO,
    trades: new Set(),
    accepted: false,
    ended: false,
    pendingCancel: false,
    status: 'pending_new',
    rejectReason: null,
    brokerFilled: ZERO,
    pendingEnd: null,
    history: [],
    chain: Promise.resolve(),
    cancelRejects: 0,
  };
}

/** Coinbase order status → ours (FIX OrdStatus). */
export function toBrokerStatus(
  status: CoinbaseOrderStatus,
  filled: Dec,
  pendingCancel: boolean,
): BrokerOrderStatus {
  switch (status) {
    case 'PENDING':
    case 'QUEUED':
    case 'UNKNOWN_ORDER_STATUS':
      return 'pending_new';
    case 'OPEN':
    case 'EDIT_QUEUED':
      if (pendingCancel) return 'pending_cancel';
      return filled.gt(0) ? 'partially_filled' : 'new';
    case 'CANCEL_QUEUED':
      return 'pending_cancel';
    case 'FILLED':
      return 'filled';
    case 'CANCELLED':
      return 'cancelled';
    case 'EXPIRED':
      return 'expired';
    case 'FAILED':
      return 'rejected';
  }
}

const TERMINAL: Partial<Record<CoinbaseOrderStatus, 'cancelled' | 'expired' | 'rejected'>> = {
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
  FAILED: 'rejected',
};

export class ReportBook {
  /** Reports the order's acceptance (once; never after it ended). */
  accepted(t: TrackedOrder, ts: string): ExecutionReport[] {
    if (t.accepted || t.ended) return [];
    t.accepted = true;
    if (t.status === 'pending_new') t.status = 'new';
    return [this.#report(t, 'accepted', `${t.orderId}:accepted`, ts)];
  }

  /**
   * Applies an order snapshot (stream or REST) after its fills were fetched: acceptance, the
   * status, and a terminal report once the fills caught up with Coinbase's filled size.
   */
  status(t: TrackedOrder, s: OrderSnapshot): ExecutionReport[] {
    if (t.brokerFilled.lt(s.filled)) t.brokerFilled = s.filled;
    if (t.ended) return [];
    const out: ExecutionReport[] = [];
    const terminal = TERMINAL[s.status];
    if (
      s.status !== 'PENDING' &&
      s.status !== 'QUEUED' &&
      s.status !== 'UNKNOWN_ORDER_STATUS' &&
      s.status !== 'FAILED'
    )
      out.push(...this.accepted(t, s.ts));
    if (terminal) t.pendingEnd ??= { kind: terminal, reason: s.reason, ts: s.ts };
    t.pendingCancel = t.pendingCancel || s.pendingCancel || s.status === 'CANCEL_QUEUED';
    if (!this.fillsCaughtUp(t)) return out;
    if (t.pendingEnd) {
      out.push(...this.#end(t, t.pendingEnd.kind, t.pendingEnd.ts, t.pendingEnd.reason));
      return out;
    }
    const next = toBrokerStatus(s.status, t.filled, t.pendingCancel);
    // FILLED is reached through the fill reports; an order whose fills lag keeps its status.
    if (next === 'filled') {
      t.ended = true;
      t.status = 'filled';
    } else if (next !== 'pending_new') t.status = next;
    return out;
  }

  fillsCaughtUp(t: TrackedOrder): boolean {
    return t.filled.gte(t.brokerFilled);
  }

  /** Reports every FILL trade not reported yet, oldest first. */
  fills(
    t: TrackedOrder,
    fills: readonly CoinbaseFill[],
    onAdjusted: (f: CoinbaseFill) => void,
  ): ExecutionReport[] {
    const fresh = fills
      .filter((f) => f.order_id === t.orderId && !t.trades.has(f.trade_id))
      .sort((a, b) => tsOf(a).localeCompare(tsOf(b)) || a.trade_id.localeCompare(b.trade_id));
    const out: ExecutionReport[] = [];
    for (const f of fresh) {
      if (f.trade_type !== 'FILL') {
        onAdjusted(f);
        continue;
      }
      t.trades.add(f.trade_id);
      out.push(...this.accepted(t, f.trade_time));
      const px = dec(f.price);
      // Fills of an order placed by quote size are in quote units (`size_in_quote`).
      const qty = f.size_in_quote ? dec(f.size).div(px).toDecimalPlaces(12) : dec(f.size);
      t.filled = t.filled.plus(qty);
      t.notional = t.notional.plus(qty.times(px));
      if (t.brokerFilled.lt(t.filled)) t.brokerFilled = t.filled;
      const done = t.quantity !== null && t.filled.gte(t.quantity);
      t.status = done ? 'filled' : 'partially_filled';
      out.push(
        this.#report(t, 'fill', `${t.orderId}:${f.trade_id}`, f.trade_time, {
          lastQty: decStr(qty),
          lastPx: decStr(px),
          ...(f.commission !== null && { fee: decStr(dec(f.commission)) }),
          ...(f.liquidity_indicator === 'MAKER' && { liquidity: 'maker' as const }),
          ...(f.liquidity_indicator === 'TAKER' && { liquidity: 'taker' as const }),
        }),
      );
      if (done) t.ended = t.pendingEnd === null;
    }
    return out;
  }

  cancelRejected(t: TrackedOrder, ts: string, reason: string): ExecutionReport[] {
    t.cancelRejects++;
    return [
      this.#report(t, 'cancel_rejected', `${t.orderId}:cancel_rejected:${t.cancelRejects}`, ts, { reason }),
    ];
  }

  avgPx(t: TrackedOrder): string | null {
    return t.filled.gt(0) ? decStr(t.notional.div(t.filled).toDecimalPlaces(12)) : null;
  }

  #end(
    t: TrackedOrder,
    kind: 'cancelled' | 'expired' | 'rejected',
    ts: string,
    reason: string | null,
  ): ExecutionReport[] {
    t.ended = true;
    t.pendingEnd = null;
    t.status = kind;
    if (kind === 'rejected') t.rejectReason = reason ?? 'rejected by Coinbase';
    return [this.#report(t, kind, `${t.orderId}:${kind}`, ts, reason ? { reason } : {})];
  }

  #report(
    t: TrackedOrder,
    kind: ExecutionReport['kind'],
    executionId: string,
    ts: string,
    x: {
      lastQty?: string;
      lastPx?: string;
      fee?: string;
      liquidity?: 'maker' | 'taker';
      reason?: string;
    } = {},
  ): ExecutionReport {
    const leaves =
      t.ended || t.quantity === null || !t.quantity.gt(t.filled) ? ZERO : t.quantity.minus(t.filled);
    const us = microsFromIso(ts);
    const report: ExecutionReport = {
      kind,
      executionId,
      clientOrderId: t.clientOrderId,
      brokerOrderId: t.orderId,
      symbol: t.symbol,
      side: t.side,
      tsEvent: Number.isFinite(us) ? new Date(Math.floor(us / 1000)) : new Date(ts),
      ...(Number.isFinite(us) && { tsEventUs: us }),
      ...x,
      cumQty: decStr(t.filled),
      leavesQty: decStr(leaves),
      avgPx: this.avgPx(t),
    };
    t.history.push(report);
    return report;
  }
}

const tsOf = (f: CoinbaseFill) => f.sequence_timestamp ?? f.trade_time;
