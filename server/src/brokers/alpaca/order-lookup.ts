import { z } from 'zod';
import { BrokerError, BrokerErrorCode } from '../types.ts';
import { type KnownIds, type LegIds, registerTree } from './order-history.ts';
import { type ReportBook, roleOfLeg } from './report-book.ts';
import type { AlpacaRestClient } from './rest-client.ts';
import { type AlpacaFillActivity, type AlpacaOrder, alpacaFillActivity, alpacaOrder } from './schemas.ts';

/**
 * Finding orders at Alpaca: by our client order id (GET /v2/orders:by_client_order_id), as a
 * tree with its legs (GET /v2/orders/{id}?nested=true), a leg's entry, and FILL activities
 * (GET /v2/account/activities/FILL, ascending, paged by `page_token` = the last activity's id).
 * What it finds is registered in the adapter's report book (seeded with Alpaca's state), so the
 * stream's later events for those orders map to our ids.
 */
export interface OrderLookupDeps {
  readonly rest: AlpacaRestClient;
  readonly book: ReportBook;
  readonly legIds: LegIds;
  readonly known: KnownIds;
  /** Most FILL activity pages (100 each) read per call. */
  readonly maxActivityPages: number;
}

const orderList = z.array(alpacaOrder);
const activityList = z.array(alpacaFillActivity);

export class AlpacaOrderLookup {
  readonly #d: OrderLookupDeps;

  constructor(deps: OrderLookupDeps) {
    this.#d = deps;
  }

  /**
   * The order tree (a simple order, or a bracket entry with its legs) that holds `clientOrderId`,
   * or null when Alpaca has none. A bracket leg is found through its entry: Alpaca gives legs
   * client ids of its own, so a leg we did not place in this process is found by our convention.
   */
  async find(clientOrderId: string, operation: string): Promise<AlpacaOrder | null> {
    const t = this.#d.book.byClientId(clientOrderId);
    if (t) {
      const rootId = t.group ? t.group.entry.alpacaId : t.alpacaId;
      return this.fetchNested(rootId, operation);
    }
    const direct = await this.byClientOrderId(clientOrderId, operation);
    if (direct) {
      const tree =
        direct.order_class === 'simple' || direct.legs
          ? direct
          : await this.fetchNested(direct.id, operation);
      registerTree(this.#d.book, tree, this.#d.legIds, this.#d.known, true);
      return tree;
    }
    const leg = this.#d.legIds.parentOfLeg(clientOrderId);
    if (!leg) return null;
    const parent = await this.byClientOrderId(leg.parentClientOrderId, operation);
    if (!parent || parent.order_class === 'simple') return null;
    const tree = parent.legs ? parent : await this.fetchNested(parent.id, operation);
    if (!tree.legs?.some((l) => roleOfLeg(l) === leg.role)) return null;
    registerTree(this.#d.book, tree, this.#d.legIds, this.#d.known, true);
    return tree;
  }

  async byClientOrderId(clientOrderId: string, operation: string): Promise<AlpacaOrder | null> {
    try {
      return await this.#d.rest.request({
        operation,
        kind: 'read',
        method: 'GET',
        path: '/v2/orders:by_client_order_id',
        query: { client_order_id: clientOrderId },
        schema: alpacaOrder,
      });
    } catch (err) {
      if (err instanceof BrokerError && err.brokerCode === BrokerErrorCode.NOT_FOUND) return null;
      throw err;
    }
  }

  fetchNested(orderId: string, operation: string): Promise<AlpacaOrder> {
    return this.#d.rest.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: `/v2/orders/${encodeURIComponent(orderId)}`,
      query: { nested: 'true' },
      schema: alpacaOrder,
    });
  }

  /** The entry holding a leg we do not know: among the symbol's recent orders, nested. */
  async findParentOfLeg(leg: AlpacaOrder): Promise<AlpacaOrder | null> {
    const orders = await this.#d.rest.request({
      operation: 'adoptOrder',
      kind: 'read',
      method: 'GET',
      path: '/v2/orders',
      query: { status: 'all', nested: 'true', symbols: leg.symbol, limit: '500' },
      schema: orderList,
    });
    return orders.find((o) => o.legs?.some((l) => l.id === leg.id)) ?? null;
  }

  /**
   * FILL activities after `after` (ascending, paged by `page_token`) that `keep` selects. One
   * second of overlap: activities at the bound's own instant are read again (the book drops
   * what it has), never lost.
   */
  async activities(
    operation: string,
    after: string,
    keep: (a: AlpacaFillActivity) => boolean,
  ): Promise<AlpacaFillActivity[]> {
    const out: AlpacaFillActivity[] = [];
    let pageToken: string | undefined;
    const maxPages = this.#d.maxActivityPages;
    for (let page = 0; page < maxPages; page++) {
      const batch = await this.#d.rest.request({
        operation,
        kind: 'read',
        method: 'GET',
        path: '/v2/account/activities/FILL',
        query: {
          after: new Date(Date.parse(after) - 1_000).toISOString(),
          direction: 'asc',
          page_size: '100',
          page_token: pageToken,
        },
        schema: activityList,
      });
      out.push(...batch.filter(keep));
      if (batch.length < 100) break;
      pageToken = batch.at(-1)?.id;
    }
    return out;
  }
}
