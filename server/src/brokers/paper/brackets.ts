import { dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { type BracketRole, bracketActions, oppositeSide } from '@aegis/shared/orders/bracket';
import type { BracketLink, BrokerOrderRequest } from '../types.ts';
import { type BracketGroup, OPEN, type PaperAccountSnapshot, type PaperOrder } from './model.ts';
import type { OrderStore } from './order-store.ts';
import type { ExecutionReports } from './reports.ts';

type NewOrder = (req: Omit<BrokerOrderRequest, 'bracket'>, bracket: BracketLink) => PaperOrder;

/**
 * Native brackets (shared/src/orders/bracket.ts decides): the legs are accepted with the entry at
 * quantity 0, restated as the entry fills, worked as a stop (market) and a limit on the opposite
 * side, reduce-only (never more than the position they close, nothing reserved), one-cancels-
 * other, cancelled with an entry that ends unfilled.
 */
export class Brackets {
  readonly #groups = new Map<string, BracketGroup>();
  readonly #store: OrderStore;
  readonly #reports: ExecutionReports;

  constructor(store: OrderStore, reports: ExecutionReports) {
    this.#store = store;
    this.#reports = reports;
  }

  /** Registers the legs with the entry: quantity 0 until the entry fills, good till cancelled. */
  open(entry: PaperOrder, b: NonNullable<BrokerOrderRequest['bracket']>, newOrder: NewOrder): void {
    const g: BracketGroup = { entry: entry.req.clientOrderId, legs: new Map(), closedEntryFilled: ZERO };
    for (const leg of b.legs) {
      const stop = leg.role === 'stop';
      const o = newOrder(
        {
          clientOrderId: leg.clientOrderId,
          symbol: entry.req.symbol,
          side: oppositeSide(entry.req.side),
          orderType: stop ? 'stop' : 'limit',
          timeInForce: 'gtc',
          quantity: '0',
          limitPrice: stop ? null : leg.price,
          stopPrice: stop ? leg.price : null,
        },
        { parentClientOrderId: entry.req.clientOrderId, role: leg.role, ocoGroup: b.ocoGroup },
      );
      this.#store.add(o);
      g.legs.set(leg.role, leg.clientOrderId);
    }
    this.#groups.set(b.ocoGroup, g);
  }

  legsOf(entry: PaperOrder): PaperOrder[] {
    const g = entry.group ? this.#groups.get(entry.group) : undefined;
    if (!g) return [];
    return [...g.legs.values()].map((id) => this.#store.get(id)).filter((x): x is PaperOrder => !!x);
  }

  /** The legs of an entry that has not reached the exchange are accepted or rejected with it. */
  acceptLegs(entry: PaperOrder): void {
    for (const leg of this.legsOf(entry)) {
      if (leg.status !== 'pending_new') continue;
      leg.status = 'new';
      this.#reports.emit(leg, 'accepted');
    }
  }

  rejectLegs(entry: PaperOrder, reason: string): void {
    for (const leg of this.legsOf(entry)) {
      if (leg.status !== 'pending_new') continue;
      leg.status = 'rejected';
      leg.rejectReason = `bracket entry rejected: ${reason}`;
      this.#reports.emit(leg, 'rejected', { reason: leg.rejectReason });
    }
  }

  /**
   * Brings an entry's bracket in line with the rules after anything happened to the entry or a
   * leg (fill, cancel, expiry, reject): restates the legs' quantities, cancels the OCO sibling
   * or the entry's remainder.
   */
  sync(o: PaperOrder): void {
    const groupId = o.group ?? o.bracket?.ocoGroup;
    const g = groupId ? this.#groups.get(groupId) : undefined;
    if (!g) return;
    const entry = this.#store.get(g.entry);
    const legs = [...g.legs]
      .map(([role, id]) => ({ role, o: this.#store.get(id) }))
      .filter((l): l is { role: BracketRole; o: PaperOrder } => l.o !== undefined);
    const actions = bracketActions({
      entry: entry
        ? { open: OPEN.has(entry.status), quantity: entry.req.quantity, filledQuantity: decStr(entry.filled) }
        : { open: false, quantity: decStr(g.closedEntryFilled), filledQuantity: decStr(g.closedEntryFilled) },
      legs: legs.map((l) => ({
        role: l.role,
        open: OPEN.has(l.o.status),
        quantity: l.o.req.quantity,
        filledQuantity: decStr(l.o.filled),
      })),
    });
    if (actions.cancelEntry && entry && OPEN.has(entry.status)) {
      entry.status = 'cancelled';
      this.#reports.emit(entry, 'cancelled', { reason: actions.cancelEntry });
    }
    for (const c of actions.cancelLegs) {
      const leg = legs.find((l) => l.role === c.role)?.o;
      if (!leg || !OPEN.has(leg.status)) continue;
      leg.status = 'cancelled';
      this.#reports.emit(leg, 'cancelled', { reason: c.reason });
    }
    for (const r of actions.resize) {
      const leg = legs.find((l) => l.role === r.role)?.o;
      if (!leg || !OPEN.has(leg.status)) continue;
      leg.req = { ...leg.req, quantity: r.quantity };
      this.#reports.emit(leg, 'restated', { reason: 'bracket: sized to the entry fills', orderQty: true });
    }
  }

  /**
   * The order store forgot a finished order: an entry whose legs still work leaves its filled
   * quantity with the group; a group none of whose orders is held any more is dropped.
   */
  forget(o: PaperOrder): void {
    const groupId = o.group ?? o.bracket?.ocoGroup;
    const g = groupId ? this.#groups.get(groupId) : undefined;
    if (!g || !groupId) return;
    if (g.entry === o.req.clientOrderId) g.closedEntryFilled = o.filled;
    const held = this.#store.has(g.entry) || [...g.legs.values()].some((id) => this.#store.has(id));
    if (!held) this.#groups.delete(groupId);
  }

  /** Entries of the open legs' brackets that are no longer open, with their filled quantity. */
  closedEntries(): NonNullable<PaperAccountSnapshot['bracketEntries']> {
    const out: { clientOrderId: string; filledQuantity: string }[] = [];
    for (const g of this.#groups.values()) {
      const e = this.#store.get(g.entry);
      if (e) {
        if (!OPEN.has(e.status)) out.push({ clientOrderId: g.entry, filledQuantity: decStr(e.filled) });
      } else if ([...g.legs.values()].some((id) => OPEN.has(this.#store.get(id)?.status ?? 'filled'))) {
        out.push({ clientOrderId: g.entry, filledQuantity: decStr(g.closedEntryFilled) });
      }
    }
    return out;
  }

  /** A restored leg rejoins its group (the entry's filled quantity when it is no longer open). */
  restoreLeg(link: BracketLink, clientOrderId: string, closedEntries: ReadonlyMap<string, string>): void {
    const g = this.#groups.get(link.ocoGroup) ?? {
      entry: link.parentClientOrderId,
      legs: new Map<BracketRole, string>(),
      closedEntryFilled: dec(closedEntries.get(link.parentClientOrderId) ?? '0'),
    };
    g.legs.set(link.role, clientOrderId);
    this.#groups.set(link.ocoGroup, g);
  }

  /** An open entry of a restored bracket knows its group again. */
  relinkEntries(): void {
    for (const [group, g] of this.#groups) {
      const e = this.#store.get(g.entry);
      if (e && e.group === null) e.group = group;
    }
  }
}
