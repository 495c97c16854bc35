import { OPEN, type PaperOrder } from './model.ts';

/**
 * The paper account's orders: every open order, indexed per symbol in time priority (so a quote
 * works only that symbol's open orders, without copying or sorting anything else), and a bounded
 * history of finished ones (the most recent `finishedLimit`), so an account that runs for months
 * holds its working set, not every order it ever placed.
 *
 * Orders are added in the order their sequence numbers were issued, so a symbol's insertion order
 * is its time priority. An order leaves the open index when it is settled after reaching a final
 * status; the oldest finished orders are forgotten past the limit (`onForget` lets the owners of
 * their reports, brackets and combos drop what they hold for them).
 */
export class OrderStore {
  readonly #orders = new Map<string, PaperOrder>();
  readonly #openBySymbol = new Map<string, Map<string, PaperOrder>>();
  /** Finished orders' client ids, oldest first (a Set keeps insertion order). */
  readonly #finished = new Set<string>();
  readonly #finishedLimit: number;
  readonly #onForget: (o: PaperOrder) => void;

  constructor(finishedLimit: number, onForget: (o: PaperOrder) => void) {
    this.#finishedLimit = Math.max(1, Math.floor(finishedLimit));
    this.#onForget = onForget;
  }

  get(clientOrderId: string): PaperOrder | undefined {
    return this.#orders.get(clientOrderId);
  }

  has(clientOrderId: string): boolean {
    return this.#orders.has(clientOrderId);
  }

  /** Holds a new order (open ones join their symbol's queue, last in time priority). */
  add(o: PaperOrder): void {
    this.#orders.set(o.req.clientOrderId, o);
    if (!OPEN.has(o.status)) {
      this.settle(o);
      return;
    }
    let open = this.#openBySymbol.get(o.req.symbol);
    if (!open) {
      open = new Map();
      this.#openBySymbol.set(o.req.symbol, open);
    }
    open.set(o.req.clientOrderId, o);
  }

  /** Called after an order's status changed: a finished order moves to the bounded history. */
  settle(o: PaperOrder): void {
    if (OPEN.has(o.status)) return;
    const id = o.req.clientOrderId;
    const open = this.#openBySymbol.get(o.req.symbol);
    if (open?.delete(id) && open.size === 0) this.#openBySymbol.delete(o.req.symbol);
    if (this.#finished.has(id) || this.#orders.get(id) !== o) return;
    this.#finished.add(id);
    while (this.#finished.size > this.#finishedLimit) {
      const oldest = this.#finished.values().next().value as string;
      this.#finished.delete(oldest);
      const gone = this.#orders.get(oldest);
      this.#orders.delete(oldest);
      if (gone) this.#onForget(gone);
    }
  }

  /** The symbol's open orders in time priority (a copy: working them may finish some). */
  openOn(symbol: string): PaperOrder[] {
    const open = this.#openBySymbol.get(symbol);
    return open ? [...open.values()] : [];
  }

  /** Every open order, in time priority across symbols. */
  open(): PaperOrder[] {
    const all: PaperOrder[] = [];
    for (const orders of this.#openBySymbol.values()) all.push(...orders.values());
    return all.sort((a, b) => a.seq - b.seq);
  }

  /** How many orders are held (open plus the finished history): bounded by the history size. */
  get size(): number {
    return this.#orders.size;
  }
}
