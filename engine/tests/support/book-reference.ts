/**
 * The naive L2 book the tests hold `OrderBook`/`BookRegistry` to: a Map per side, sorted on every
 * read. It implements the same documented rules (engine/src/book/order-book.ts) in the plainest
 * way, with none of the typed-array machinery:
 * - a snapshot replaces both sides; invalid pairs and size 0 are skipped; a repeated price keeps
 *   the later size; a crossed snapshot is kept as sent;
 * - an update sets a level (size 0 removes it; a missing level is a no-op); invalid values are
 *   refused and change nothing;
 * - after an update with size > 0, every opposite level at or through its price is dropped.
 */
export const REF_BID = 1;
export const REF_ASK = -1;

export class ReferenceBook {
  bids = new Map<number, number>();
  asks = new Map<number, number>();
  crossedDropped = 0;

  snapshot(bids: ArrayLike<number>, bidPairs: number, asks: ArrayLike<number>, askPairs: number): void {
    this.bids = load(bids, bidPairs);
    this.asks = load(asks, askPairs);
  }

  /** 1 changed, 0 no-op, −1 refused (as OrderBook.update). */
  update(side: number, price: number, size: number): -1 | 0 | 1 {
    if (!valid(price) || !(Number.isFinite(size) && size >= 0)) return -1;
    const m = side === REF_BID ? this.bids : this.asks;
    const o = side === REF_BID ? this.asks : this.bids;
    let changed = false;
    if (size === 0) changed = m.delete(price);
    else if (m.get(price) !== size) {
      m.set(price, size);
      changed = true;
    }
    if (size > 0) {
      for (const p of [...o.keys()]) {
        if (side === REF_BID ? p <= price : p >= price) {
          o.delete(p);
          this.crossedDropped++;
          changed = true;
        }
      }
    }
    return changed ? 1 : 0;
  }

  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }

  /** [price, size] best first. */
  levels(side: number, n = Number.POSITIVE_INFINITY): [number, number][] {
    const m = side === REF_BID ? this.bids : this.asks;
    const sorted = [...m.entries()].sort((a, b) => (side === REF_BID ? b[0] - a[0] : a[0] - b[0]));
    return sorted.slice(0, n);
  }

  best(side: number): [number, number] | null {
    return this.levels(side, 1)[0] ?? null;
  }

  depth(side: number, n: number): number {
    return this.levels(side, n).reduce((s, [, q]) => s + q, 0);
  }
}

function valid(price: number): boolean {
  return Number.isFinite(price) && price > 0;
}

function load(flat: ArrayLike<number>, pairs: number): Map<number, number> {
  const m = new Map<number, number>();
  const n = Math.max(0, Math.min(Math.floor(pairs), Math.floor(flat.length / 2)));
  for (let j = 0; j < n; j++) {
    const price = flat[2 * j] as number;
    const size = flat[2 * j + 1] as number;
    if (valid(price) && Number.isFinite(size) && size > 0) m.set(price, size);
  }
  return m;
}
