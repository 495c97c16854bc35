import type { CoinbaseRestClient } from './rest-client.ts';
import {
  type CoinbaseFill,
  type CoinbaseOrder,
  getOrderResponse,
  listFillsResponse,
  listOrdersResponse,
} from './schemas.ts';

/**
 * The order reads of the Advanced Trade API (all `read` calls: retried by the call policy):
 * Get Order, List Orders (paged by `cursor` while `has_next`), List Fills of one order (paged by
 * `cursor` until it is empty). Array query parameters go as repeated keys.
 */
const PAGE = 250;

export async function getOrder(
  rest: CoinbaseRestClient,
  orderId: string,
  operation: string,
): Promise<CoinbaseOrder> {
  const { order } = await rest.request({
    operation,
    kind: 'read',
    method: 'GET',
    path: `/api/v3/brokerage/orders/historical/${encodeURIComponent(orderId)}`,
    schema: getOrderResponse,
  });
  return order;
}

export async function listOpenOrders(rest: CoinbaseRestClient): Promise<CoinbaseOrder[]> {
  const out: CoinbaseOrder[] = [];
  let cursor: string | undefined;
  do {
    const page = await rest.request({
      operation: 'listOpenOrders',
      kind: 'read',
      method: 'GET',
      path: '/api/v3/brokerage/orders/historical/batch',
      query: { order_status: ['OPEN'], limit: String(PAGE), cursor },
      schema: listOrdersResponse,
    });
    out.push(...page.orders);
    cursor = page.has_next && page.cursor ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/**
 * The order with this client order id, newest first over at most `pages` pages of List Orders
 * (Get Order's own `client_order_id` parameter is deprecated; List Orders has no such filter).
 */
export async function findOrderByClientId(
  rest: CoinbaseRestClient,
  clientOrderId: string,
  operation: string,
  pages: number,
): Promise<CoinbaseOrder | null> {
  let cursor: string | undefined;
  for (let page = 0; page < pages; page++) {
    const res = await rest.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: '/api/v3/brokerage/orders/historical/batch',
      query: { limit: String(PAGE), cursor },
      schema: listOrdersResponse,
    });
    const hit = res.orders.find((o) => o.client_order_id === clientOrderId);
    if (hit) return hit;
    if (!res.has_next || !res.cursor) break;
    cursor = res.cursor;
  }
  return null;
}

export async function listFillsOf(
  rest: CoinbaseRestClient,
  orderId: string,
  operation: string,
): Promise<CoinbaseFill[]> {
  const out: CoinbaseFill[] = [];
  let cursor: string | undefined;
  do {
    const page = await rest.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: '/api/v3/brokerage/orders/historical/fills',
      query: { order_ids: [orderId], limit: String(PAGE), cursor },
      schema: listFillsResponse,
    });
    out.push(...page.fills);
    cursor = page.cursor ? page.cursor : undefined;
  } while (cursor);
  return out;
}
