import { dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import type { BracketRole } from '@aegis/shared/orders/bracket';
import type { BrokerOrder, ExecutionReport } from '../types.ts';
import {
  ALPACA_OPEN,
  ReportBook,
  roleOfLeg,
  type TrackedOrder,
  toBrokerStatus,
  trackedFrom,
} from './report-book.ts';
import type { AlpacaFillActivity, AlpacaOrder } from './schemas.ts';

/**
 * What one Alpaca order (a simple order, or a bracket's entry with its `legs`, as GET
 * /v2/orders/{id}?nested=true returns it) means in our terms: its views (BrokerOrder), the
 * state to seed the live report book with, and its whole report history replayed from the
 * order and its FILL activities. Pure: the adapter fetches, this maps.
 */

/** How our bracket legs' client order ids relate to the entry's (Alpaca assigns its own to legs). */
export interface LegIds {
  legClientOrderId(parentClientOrderId: string, role: BracketRole): string;
  /** The entry and role of a leg client order id, or null when it is not one. */
  parentOfLeg(clientOrderId: string): { parentClientOrderId: string; role: BracketRole } | null;
}

/** The execution service's convention (server/src/execution/bracket-legs.ts): entry id + S | T. */
export const conventionLegIds: LegIds = {
  legClientOrderId: (parent, role) => `${parent}${role === 'stop' ? 'S' : 'T'}`,
  parentOfLeg: (id) =>
    id.length > 1 && (id.endsWith('S') || id.endsWith('T'))
      ? { parentClientOrderId: id.slice(0, -1), role: id.endsWith('S') ? 'stop' : 'target' }
      : null,
};

export interface KnownIds {
  /** Our client order id for an Alpaca order id already known (a leg placed by this adapter). */
  clientIdOf(alpacaId: string): string | undefined;
  ocoGroupOf(entryAlpacaId: string): string | undefined;
}

/** Registers an order tree in a book, with the state Alpaca reports now when `seed`. */
export function registerTree(
  book: ReportBook,
  root: AlpacaOrder,
  ids: LegIds,
  known: KnownIds,
  seed: boolean,
): TrackedOrder {
  const make = (o: AlpacaOrder, clientId: string): TrackedOrder => {
    const t = trackedFrom(o, clientId);
    if (seed) {
      t.filled = dec(o.filled_qty);
      t.avgPx = o.filled_avg_price;
      t.notional = o.filled_avg_price ? t.filled.times(dec(o.filled_avg_price)) : ZERO;
      const status = toBrokerStatus(o);
      t.accepted = status !== 'pending_new' && status !== 'rejected';
      t.ended = !ALPACA_OPEN.has(o.status);
    }
    return t;
  };
  const entry = make(root, root.client_order_id);
  const legs = (root.legs ?? [])
    .map((l) => ({ l, role: roleOfLeg(l) }))
    .filter((x): x is { l: AlpacaOrder; role: BracketRole } => x.role !== null);
  if (legs.length === 0) return book.register(entry);
  const group = book.registerBracket(
    entry,
    legs.map(({ l, role }) => ({
      order: make(l, known.clientIdOf(l.id) ?? ids.legClientOrderId(root.client_order_id, role)),
      role,
    })),
    known.ocoGroupOf(root.id) ?? root.client_order_id,
  );
  if (seed) for (const leg of group.legs) leg.reportedQty = book.ruleQuantityOf(leg);
  return group.entry;
}

/** Our view of every order in the tree (entry first). */
export function viewsOf(root: AlpacaOrder, ids: LegIds, known: KnownIds): BrokerOrder[] {
  const book = new ReportBook();
  const entry = registerTree(book, root, ids, known, true);
  const all = [root, ...(root.legs ?? [])];
  const out: BrokerOrder[] = [];
  for (const o of all) {
    const t = book.get(o.id);
    if (!t) continue;
    const isLeg = t !== entry;
    out.push({
      clientOrderId: t.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      orderType: o.type === 'trailing_stop' ? 'stop' : o.type,
      timeInForce: o.time_in_force === 'opg' || o.time_in_force === 'cls' ? 'day' : o.time_in_force,
      quantity: decStr(isLeg ? t.reportedQty : book.quantityOf(t)),
      limitPrice: o.limit_price,
      stopPrice: o.stop_price,
      brokerOrderId: o.id,
      bracketLink: book.linkOf(t),
      status: toBrokerStatus(o),
      filledQuantity: decStr(dec(o.filled_qty)),
      avgFillPrice: dec(o.filled_qty).gt(0) ? o.filled_avg_price : null,
      rejectReason: o.status === 'rejected' ? 'rejected by Alpaca' : null,
    });
  }
  return out;
}

/**
 * Every report of the tree, replayed in time order from the REST state and FILL activities:
 * acceptance at submission, the fills, then each order's end (cancel, expiry, rejection).
 */
export function replayTree(
  root: AlpacaOrder,
  activities: readonly AlpacaFillActivity[],
  ids: LegIds,
  known: KnownIds,
): ExecutionReport[] {
  const book = new ReportBook();
  const entry = registerTree(book, root, ids, known, false);
  const members = [root, ...(root.legs ?? [])];
  const out: ExecutionReport[] = [];
  const submitted = root.submitted_at ?? root.created_at;
  if (root.status !== 'rejected' && toBrokerStatus(root) !== 'pending_new')
    out.push(...book.accepted(entry, submitted));
  const fills = activities
    .filter((a) => members.some((m) => m.id === a.order_id))
    .sort(
      (a, b) => Date.parse(a.transaction_time) - Date.parse(b.transaction_time) || cmp(a.cum_qty, b.cum_qty),
    );
  for (const a of fills) {
    const t = book.get(a.order_id);
    if (!t) continue;
    const o = members.find((m) => m.id === a.order_id);
    // The order's own average is final once the order is done; mid-way, the book's VWAP.
    const done = o && dec(o.filled_qty).eq(dec(a.cum_qty));
    out.push(
      ...book.filled(t, {
        lastQty: a.qty,
        lastPx: a.price,
        cumQty: a.cum_qty,
        avgPx: done ? (o?.filled_avg_price ?? null) : null,
        ts: a.transaction_time,
      }),
    );
  }
  for (const o of members) {
    const t = book.get(o.id);
    if (!t) continue;
    if (o.status === 'canceled' || o.status === 'replaced')
      out.push(...book.ended(t, 'cancelled', o.canceled_at ?? o.updated_at ?? o.created_at));
    else if (o.status === 'expired')
      out.push(...book.ended(t, 'expired', o.expired_at ?? o.updated_at ?? o.created_at));
    else if (o.status === 'rejected')
      out.push(
        ...book.ended(t, 'rejected', o.failed_at ?? o.updated_at ?? o.created_at, 'rejected by Alpaca'),
      );
  }
  return out;
}

const cmp = (a: string, b: string) => dec(a).comparedTo(dec(b));
