import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { microsFromIso } from '@aegis/shared/market/micro-time';
import {
  type BracketRole,
  bracketActions,
  legQuantity,
  protectedQuantity,
} from '@aegis/shared/orders/bracket';
import type { BracketLink, BrokerOrderStatus, ExecutionReport, Side } from '../types.ts';
import { type AlpacaOrder, type AlpacaOrderStatus, alpacaOrderStatus } from './schemas.ts';

/**
 * Turns what Alpaca says about orders (trade_updates events, or the REST order plus its FILL
 * activities when replaying) into our execution reports, the same way on both paths, so a
 * report seen live and the same report recovered later carry the same execution id:
 *
 * - acceptance `<orderId>:new`; a fill `<orderId>:fill:<cumQty>` (Alpaca does not document that
 *   a stream `execution_id` equals a FILL activity's `id`, but both carry the order id and its
 *   cumulative quantity after the fill, which only grows); terminal reports
 *   `<orderId>:canceled|expired|rejected`.
 * - Brackets: Alpaca holds the legs (`held`) at the entry's full quantity until the entry fills.
 *   Our semantics (shared/src/orders/bracket.ts) are legs accepted with the entry at quantity 0
 *   and restated to `own filled + entry filled − legs filled` as fills arrive; the book emits
 *   those restatements (`<legId>:restated:<entry filled>:<legs filled>`). An entry that ends
 *   with nothing filled takes its legs with it (Alpaca cancels them too; the same ids dedupe).
 */
export interface TrackedOrder {
  readonly alpacaId: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  /** The quantity Alpaca holds (a leg's is the entry's full quantity while it is held). */
  alpacaQty: Dec;
  filled: Dec;
  /** Σ lastQty × lastPx of the fills seen here (the average when Alpaca gives none). */
  notional: Dec;
  avgPx: string | null;
  accepted: boolean;
  ended: boolean;
  /** A leg: its role and bracket. An entry: its bracket. */
  role: BracketRole | null;
  group: BracketGroup | null;
  /** A leg's quantity as last reported (accepted at 0, then restated). */
  reportedQty: Dec;
}

export interface BracketGroup {
  readonly ocoGroup: string;
  readonly entry: TrackedOrder;
  readonly legs: TrackedOrder[];
}

export interface FillFacts {
  readonly lastQty: string;
  readonly lastPx: string;
  readonly cumQty: string;
  readonly avgPx: string | null;
  readonly ts: string;
}

/** The statuses Alpaca ends an order with; every other documented status is open. */
const ALPACA_DONE: ReadonlySet<AlpacaOrderStatus> = new Set([
  'filled',
  'canceled',
  'expired',
  'replaced',
  'rejected',
  'calculated',
]);

export const ALPACA_OPEN: ReadonlySet<AlpacaOrderStatus> = new Set(
  alpacaOrderStatus.options.filter((s) => !ALPACA_DONE.has(s)),
);

/** Alpaca order status → ours (FIX OrdStatus). */
export function toBrokerStatus(o: Pick<AlpacaOrder, 'status' | 'filled_qty' | 'qty'>): BrokerOrderStatus {
  const filled = dec(o.filled_qty);
  switch (o.status) {
    case 'pending_new':
    case 'accepted':
    case 'pending_review':
      return 'pending_new';
    case 'new':
    case 'held':
    case 'accepted_for_bidding':
    case 'stopped':
    case 'suspended':
    case 'pending_replace':
    case 'done_for_day':
      return filled.gt(0) ? 'partially_filled' : 'new';
    case 'partially_filled':
      return 'partially_filled';
    case 'filled':
      return 'filled';
    case 'calculated':
      return o.qty !== null && filled.gte(dec(o.qty)) ? 'filled' : 'partially_filled';
    case 'pending_cancel':
      return 'pending_cancel';
    case 'canceled':
    case 'replaced':
      return 'cancelled';
    case 'expired':
      return 'expired';
    case 'rejected':
      return 'rejected';
  }
}

export function trackedFrom(o: AlpacaOrder, clientOrderId = o.client_order_id): TrackedOrder {
  return {
    alpacaId: o.id,
    clientOrderId,
    symbol: o.symbol,
    side: o.side,
    alpacaQty: dec(o.qty ?? '0'),
    filled: ZERO,
    notional: ZERO,
    avgPx: null,
    accepted: false,
    ended: false,
    role: null,
    group: null,
    reportedQty: ZERO,
  };
}

/** Which leg an Alpaca leg is: the take-profit is the limit leg, the stop-loss the stop leg. */
export const roleOfLeg = (leg: Pick<AlpacaOrder, 'type'>): BracketRole | null =>
  leg.type === 'limit' ? 'target' : leg.type === 'stop' || leg.type === 'stop_limit' ? 'stop' : null;

export class ReportBook {
  readonly #byAlpacaId = new Map<string, TrackedOrder>();
  readonly #byClientId = new Map<string, TrackedOrder>();

  get(alpacaId: string): TrackedOrder | undefined {
    return this.#byAlpacaId.get(alpacaId);
  }

  byClientId(clientOrderId: string): TrackedOrder | undefined {
    return this.#byClientId.get(clientOrderId);
  }

  /** Registers an order (first registration wins: it may already carry live state). */
  register(o: TrackedOrder): TrackedOrder {
    const known = this.#byAlpacaId.get(o.alpacaId);
    if (known) return known;
    this.#byAlpacaId.set(o.alpacaId, o);
    this.#byClientId.set(o.clientOrderId, o);
    return o;
  }

  registerBracket(
    entry: TrackedOrder,
    legs: readonly { order: TrackedOrder; role: BracketRole }[],
    ocoGroup: string,
  ): BracketGroup {
    const e = this.register(entry);
    if (e.group) return e.group;
    const group: BracketGroup = { ocoGroup, entry: e, legs: [] };
    e.group = group;
    for (const l of legs) {
      const leg = this.register(l.order);
      leg.role = l.role;
      leg.group = group;
      group.legs.push(leg);
    }
    return group;
  }

  /** A leg's link to its entry (null for anything else). */
  linkOf(o: TrackedOrder): BracketLink | null {
    if (!o.role || !o.group) return null;
    return { parentClientOrderId: o.group.entry.clientOrderId, role: o.role, ocoGroup: o.group.ocoGroup };
  }

  /** Our quantity of an order: a leg's is what it protects (shared/src/orders/bracket.ts). */
  quantityOf(o: TrackedOrder): Dec {
    return o.role && o.group ? o.reportedQty : o.alpacaQty;
  }

  /** What a leg protects by the rules now (a leg seeded from Alpaca's state starts there). */
  ruleQuantityOf(leg: TrackedOrder): Dec {
    if (!leg.group) return leg.alpacaQty;
    return legQuantity({ filledQuantity: decStr(leg.filled) }, this.#protected(leg.group));
  }

  accepted(o: TrackedOrder, ts: string): ExecutionReport[] {
    if (o.accepted || o.ended) return [];
    if (o.role && o.group && !o.group.entry.accepted) return this.accepted(o.group.entry, ts);
    o.accepted = true;
    const out = [this.#report(o, 'accepted', `${o.alpacaId}:new`, ts)];
    // The legs are accepted with their entry, at quantity 0 until it fills.
    if (o.group && !o.role)
      for (const leg of o.group.legs) {
        if (leg.accepted || leg.ended) continue;
        leg.accepted = true;
        out.push(this.#report(leg, 'accepted', `${leg.alpacaId}:new`, ts));
      }
    return out;
  }

  filled(o: TrackedOrder, f: FillFacts): ExecutionReport[] {
    const cum = dec(f.cumQty);
    // Already applied (the same fill seen on the stream and in the activities).
    if (!cum.gt(o.filled)) return [];
    const out = this.accepted(o, f.ts);
    o.filled = cum;
    o.notional = o.notional.plus(dec(f.lastQty).times(dec(f.lastPx)));
    o.avgPx = f.avgPx ?? decStr(o.notional.div(cum).toDecimalPlaces(12));
    out.push(
      this.#report(o, 'fill', `${o.alpacaId}:fill:${decStr(cum)}`, f.ts, {
        lastQty: decStr(dec(f.lastQty)),
        lastPx: decStr(dec(f.lastPx)),
      }),
    );
    if (o.group) out.push(...this.#restateLegs(o.group, f.ts));
    return out;
  }

  ended(
    o: TrackedOrder,
    kind: 'cancelled' | 'expired' | 'rejected',
    ts: string,
    reason?: string,
  ): ExecutionReport[] {
    if (o.ended) return [];
    const out: ExecutionReport[] = [];
    if (kind !== 'rejected' || o.accepted) out.push(...this.accepted(o, ts));
    const word = kind === 'cancelled' ? 'canceled' : kind;
    o.ended = true;
    out.push(this.#report(o, kind, `${o.alpacaId}:${word}`, ts, reason ? { reason } : {}));
    // An entry that ends with nothing filled takes its legs with it (they never protected anything).
    if (o.group && !o.role && o.filled.isZero())
      for (const leg of o.group.legs) {
        if (leg.ended) continue;
        const legKind = kind === 'rejected' ? 'rejected' : 'cancelled';
        leg.ended = true;
        out.push(
          this.#report(
            leg,
            legKind,
            `${leg.alpacaId}:${legKind === 'cancelled' ? 'canceled' : 'rejected'}`,
            ts,
            {
              reason: `bracket entry ${kind} unfilled`,
            },
          ),
        );
      }
    return out;
  }

  /**
   * Alpaca's own `restated` event (the venue changed the order's quantity). Only for an order
   * whose quantity is Alpaca's: a leg's is ours, sized by the bracket rules.
   */
  restatedByBroker(o: TrackedOrder, qty: string, ts: string): ExecutionReport[] {
    if (o.role || o.ended || dec(qty).eq(o.alpacaQty)) return [];
    o.alpacaQty = dec(qty);
    return [
      this.#report(o, 'restated', `${o.alpacaId}:restated:${decStr(o.alpacaQty)}:${ts}`, ts, {
        reason: 'restated by Alpaca',
        orderQty: decStr(o.alpacaQty),
      }),
    ];
  }

  cancelRejected(o: TrackedOrder, ts: string, reason: string): ExecutionReport[] {
    return [this.#report(o, 'cancel_rejected', `${o.alpacaId}:cancel_rejected:${ts}`, ts, { reason })];
  }

  #protected(g: BracketGroup): Dec {
    return protectedQuantity({
      entry: { open: !g.entry.ended, quantity: '0', filledQuantity: decStr(g.entry.filled) },
      legs: g.legs.map((l) => ({
        role: l.role as BracketRole,
        open: !l.ended,
        quantity: '0',
        filledQuantity: decStr(l.filled),
      })),
    });
  }

  /**
   * Restatements the rules call for (shared/src/orders/bracket.ts `bracketActions`): legs grow
   * with the entry's fills and shrink with the other leg's. Its cancels are Alpaca's to make
   * (OCO, an unfilled entry's end): they arrive as Alpaca's own events.
   */
  #restateLegs(g: BracketGroup, ts: string): ExecutionReport[] {
    const out: ExecutionReport[] = [];
    const legsFilled = g.legs.reduce((a, l) => a.plus(l.filled), ZERO);
    const open = g.legs.filter((l) => !l.ended && l.accepted);
    const { resize } = bracketActions({
      entry: {
        open: !g.entry.ended,
        quantity: decStr(g.entry.alpacaQty),
        filledQuantity: decStr(g.entry.filled),
      },
      legs: open.map((l) => ({
        role: l.role as BracketRole,
        open: true,
        quantity: decStr(l.reportedQty),
        filledQuantity: decStr(l.filled),
      })),
    });
    for (const r of resize) {
      const leg = open.find((l) => l.role === r.role);
      if (!leg) continue;
      leg.reportedQty = dec(r.quantity);
      out.push(
        this.#report(
          leg,
          'restated',
          `${leg.alpacaId}:restated:${decStr(g.entry.filled)}:${decStr(legsFilled)}`,
          ts,
          {
            reason: 'bracket: sized to the entry fills',
            orderQty: r.quantity,
          },
        ),
      );
    }
    return out;
  }

  #report(
    o: TrackedOrder,
    kind: ExecutionReport['kind'],
    executionId: string,
    ts: string,
    x: { lastQty?: string; lastPx?: string; reason?: string; orderQty?: string } = {},
  ): ExecutionReport {
    const qty = this.quantityOf(o);
    const leaves = o.ended || !qty.gt(o.filled) ? ZERO : qty.minus(o.filled);
    const us = microsFromIso(ts);
    return {
      kind,
      executionId,
      clientOrderId: o.clientOrderId,
      brokerOrderId: o.alpacaId,
      symbol: o.symbol,
      side: o.side,
      tsEvent: new Date(Math.floor(us / 1000)),
      ...(Number.isFinite(us) && { tsEventUs: us }),
      ...(x.lastQty && { lastQty: x.lastQty }),
      ...(x.lastPx && { lastPx: x.lastPx }),
      ...(x.reason && { reason: x.reason }),
      ...(x.orderQty && { orderQty: x.orderQty }),
      cumQty: decStr(o.filled),
      leavesQty: decStr(leaves),
      avgPx: o.filled.gt(0) ? o.avgPx : null,
    };
  }
}
