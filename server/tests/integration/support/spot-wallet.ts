import { type Dec, dec, decMin, ZERO } from '@aegis/shared/accounting/decimal';

/**
 * One spot account's balances in a fake venue (fake-binance.ts, fake-okx.ts): per asset, what is
 * free and what open orders hold locked. An order locks what it may spend when placed, a fill
 * spends from that lock and frees what price improvement left over, and the end of an order
 * frees what it still holds.
 */
export interface Holding {
  free: Dec;
  locked: Dec;
}

export class SpotWallet {
  readonly holdings = new Map<string, Holding>();

  constructor(initial: Record<string, string>) {
    for (const [asset, free] of Object.entries(initial))
      this.holdings.set(asset, { free: dec(free), locked: ZERO });
  }

  /** The asset's holding (an empty one is added the first time an asset is touched). */
  get(asset: string): Holding {
    let h = this.holdings.get(asset);
    if (!h) {
      h = { free: ZERO, locked: ZERO };
      this.holdings.set(asset, h);
    }
    return h;
  }

  /** Locks `need` of `asset` for an order; false (nothing changed) when less than that is free. */
  lock(asset: string, need: Dec): boolean {
    const h = this.get(asset);
    if (h.free.lt(need)) return false;
    h.free = h.free.minus(need);
    h.locked = h.locked.plus(need);
    return true;
  }

  /** Frees `amount` an order held locked (it was cancelled or ended). */
  unlock(asset: string, amount: Dec): void {
    if (amount.lte(0)) return;
    const h = this.get(asset);
    h.locked = h.locked.minus(amount);
    h.free = h.free.plus(amount);
  }

  /**
   * Settles a fill of `qty` base at `price` for an order that holds `orderLocked`. A buy spends
   * the notional in quote out of what it locked for this quantity (`reserved`, at most what the
   * order holds; the rest is freed) and receives the base less the fee; a sell gives the base
   * from its lock and receives the notional less the fee. Returns the fee, its asset, and how
   * much of the order's lock the fill used up.
   */
  settleFill(fill: {
    readonly side: 'buy' | 'sell';
    readonly base: string;
    readonly quote: string;
    readonly qty: Dec;
    readonly price: Dec;
    /** Buy only: what the order locked for this quantity (its limit price, or the notional). */
    readonly reserved: Dec;
    readonly orderLocked: Dec;
    readonly feeRate: Dec;
  }): { fee: Dec; feeAsset: string; released: Dec } {
    const { side, base, quote, qty, price, orderLocked, feeRate } = fill;
    const notional = qty.times(price);
    if (side === 'buy') {
      const released = decMin(fill.reserved, orderLocked);
      const q = this.get(quote);
      q.locked = q.locked.minus(released);
      q.free = q.free.plus(released).minus(notional);
      const fee = qty.times(feeRate);
      this.get(base).free = this.get(base).free.plus(qty.minus(fee));
      return { fee, feeAsset: base, released };
    }
    const released = decMin(qty, orderLocked);
    const b = this.get(base);
    b.locked = b.locked.minus(released);
    const fee = notional.times(feeRate);
    this.get(quote).free = this.get(quote).free.plus(notional.minus(fee));
    return { fee, feeAsset: quote, released };
  }
}
