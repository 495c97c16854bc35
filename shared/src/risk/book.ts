import { type Dec, dec, decCached, decMax, ZERO } from '../accounting/decimal.ts';
import type { OrderIntent, RiskContext, Side } from './types.ts';

/**
 * The desk's book per symbol with working orders counted at once: an accepted order that has not
 * filled yet can still fill completely, so each symbol is held at its two extremes,
 * `long = position + working buys` and `short = position - working sells`.
 */
export interface BookLeg {
  readonly symbol: string;
  readonly position: Dec;
  readonly workingBuys: Dec;
  readonly workingSells: Dec;
}

export type Book = ReadonlyMap<string, BookLeg>;

/** The leg of `symbol` in `book`, flat when the book does not hold it. */
export const legOf = (book: Book, symbol: string): BookLeg =>
  book.get(symbol) ?? { symbol, position: ZERO, workingBuys: ZERO, workingSells: ZERO };

/** The leg with `q` more working on `side`. */
const plusWorking = (l: BookLeg, side: Side, q: Dec): BookLeg =>
  side === 'buy'
    ? { ...l, workingBuys: l.workingBuys.plus(q) }
    : { ...l, workingSells: l.workingSells.plus(q) };

export function buildBook(ctx: Pick<RiskContext, 'positions' | 'workingOrders'>): Map<string, BookLeg> {
  const book = new Map<string, BookLeg>();
  for (const p of ctx.positions) {
    const l = legOf(book, p.symbol);
    book.set(p.symbol, { ...l, position: l.position.plus(decCached(p.quantity)) }); // stored text
  }
  for (const w of ctx.workingOrders)
    book.set(w.symbol, plusWorking(legOf(book, w.symbol), w.side, decCached(w.leavesQty)));
  return book;
}

/** The book as it would be with the order working too. */
export function withOrder(
  book: Book,
  order: Pick<OrderIntent, 'symbol' | 'side' | 'quantity'>,
): Map<string, BookLeg> {
  const next = new Map(book);
  next.set(order.symbol, plusWorking(legOf(book, order.symbol), order.side, dec(order.quantity)));
  return next;
}

export const longExtreme = (l: BookLeg): Dec => l.position.plus(l.workingBuys);
export const shortExtreme = (l: BookLeg): Dec => l.position.minus(l.workingSells);
/** Largest absolute position the leg can reach if its working orders on one side all fill. */
export const worstAbs = (l: BookLeg): Dec => decMax(longExtreme(l).abs(), shortExtreme(l).abs());
export const isOpen = (l: BookLeg): boolean =>
  !l.position.isZero() || l.workingBuys.gt(0) || l.workingSells.gt(0);

/**
 * True when the order can only shrink the position towards zero, even if every working order on
 * its side fills: the definition of "risk-reducing" used by the halt, stale-data and
 * loss rules.
 */
export function isRiskReducing(
  book: Book,
  order: Pick<OrderIntent, 'symbol' | 'side' | 'quantity'>,
): boolean {
  const l = book.get(order.symbol);
  if (!l || l.position.isZero()) return false;
  const q = dec(order.quantity);
  if (l.position.gt(0)) return order.side === 'sell' && q.plus(l.workingSells).lte(l.position);
  return order.side === 'buy' && q.plus(l.workingBuys).lte(l.position.abs());
}
