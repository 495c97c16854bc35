import { dec, ZERO } from '@aegis/shared/accounting/decimal';
import type { BracketLink, BrokerOrder, BrokerOrderRequest, ExecutionReport } from '../types.ts';
import type { GatewayClient } from './gateway-client.ts';
import { type LegContext, reportsOf, viewOf } from './order-mapping.ts';
import { type LiveOrder, liveOrders, type Trade, trades } from './schemas.ts';

/**
 * What the gateway shows of this account's orders, read as one snapshot (live orders, and the
 * executions when reports are wanted), and what only this adapter knows about them: the symbol
 * of each conid it looked up and the brackets it placed (which order is whose leg). Every view
 * and report of an order is derived from a snapshot, so the polling path and the on-demand
 * lookups (`getOrderByClientId`, `getExecutions`) agree.
 */
export interface Snapshot {
  readonly orders: LiveOrder[];
  readonly trades: Trade[];
}

interface PlacedBracket {
  readonly entry: string;
  readonly legs: readonly { readonly clientOrderId: string; readonly link: BracketLink }[];
}

export interface OrderBookOptions {
  /** The account traded (resolved by the session). */
  readonly account: () => string;
  /** Days of executions read (the gateway keeps at most 7). */
  readonly tradeDays: number;
  readonly now: () => Date;
}

export class IbkrOrderBook {
  readonly #gw: GatewayClient;
  readonly #o: OrderBookOptions;
  readonly #symbols = new Map<string, string>();
  /** Brackets placed here, by the entry's and each leg's client order id. */
  readonly #brackets = new Map<string, PlacedBracket>();
  readonly #inFlight = new Map<string, Promise<Snapshot>>();

  constructor(gw: GatewayClient, opts: OrderBookOptions) {
    this.#gw = gw;
    this.#o = opts;
  }

  noteSymbol(conid: number | string, symbol: string): void {
    this.#symbols.set(String(conid), symbol);
  }

  symbolOfConid(conid: string): string | undefined {
    return this.#symbols.get(conid);
  }

  rememberBracket(req: BrokerOrderRequest): void {
    const b = req.bracket;
    if (!b || b.legs.length === 0) return;
    const placed: PlacedBracket = {
      entry: req.clientOrderId,
      legs: b.legs.map((l) => ({
        clientOrderId: l.clientOrderId,
        link: { parentClientOrderId: req.clientOrderId, role: l.role, ocoGroup: b.ocoGroup },
      })),
    };
    this.#brackets.set(req.clientOrderId, placed);
    for (const l of placed.legs) this.#brackets.set(l.clientOrderId, placed);
  }

  /**
   * One read of live orders (and of executions when `withTrades`). Calls made while one is in
   * flight share it: the gateway paces both endpoints (1 request / 5 s).
   */
  snapshot(operation: string, withTrades: boolean): Promise<Snapshot> {
    const key = withTrades ? 'withTrades' : 'orders';
    const inFlight = this.#inFlight.get(key);
    if (inFlight) return inFlight;
    const p = this.#read(operation, withTrades).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, p);
    return p;
  }

  find(snap: Snapshot, clientOrderId: string): LiveOrder | undefined {
    return snap.orders.find((o) => o.order_ref === clientOrderId);
  }

  view(o: LiveOrder, snap: Snapshot): BrokerOrder {
    const id = o.order_ref ?? o.orderId;
    return viewOf(o, this.#symbolOf(o), id, this.#legContext(id, snap));
  }

  reports(o: LiveOrder, snap: Snapshot): ExecutionReport[] {
    const id = o.order_ref ?? o.orderId;
    const fills = snap.trades.filter((t) => t.order_ref === id);
    return reportsOf(o, fills, this.#symbolOf(o), id, this.#legContext(id, snap), this.#o.now());
  }

  async #read(operation: string, withTrades: boolean): Promise<Snapshot> {
    const account = this.#o.account();
    const live = await this.#gw.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: '/iserver/account/orders',
      query: { accountId: account },
      schema: liveOrders,
    });
    const executions = withTrades
      ? await this.#gw.request({
          operation,
          kind: 'read',
          method: 'GET',
          path: '/iserver/account/trades',
          query: { days: String(this.#o.tradeDays), accountId: account },
          schema: trades,
        })
      : [];
    return { orders: live.orders ?? [], trades: executions };
  }

  #legContext(clientOrderId: string, snap: Snapshot): LegContext | null {
    const b = this.#brackets.get(clientOrderId);
    const leg = b?.legs.find((l) => l.clientOrderId === clientOrderId);
    if (!b || !leg) return null;
    const filledOf = (id: string) => {
      const o = this.find(snap, id);
      return o ? dec(o.filledQuantity) : ZERO;
    };
    return {
      link: leg.link,
      entryFilled: filledOf(b.entry),
      legsFilled: b.legs.reduce((sum, l) => sum.plus(filledOf(l.clientOrderId)), ZERO),
    };
  }

  #symbolOf(o: LiveOrder): string {
    return (o.conid && this.#symbols.get(o.conid)) ?? o.ticker ?? o.conid ?? '';
  }
}
