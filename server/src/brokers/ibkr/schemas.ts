import { z } from 'zod';

/**
 * Client Portal Web API response shapes (https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/),
 * only the fields the adapter reads; every object is `loose` because the gateway adds fields
 * between releases. Numbers arrive as JSON numbers or strings depending on the endpoint and the
 * gateway build (conid, sizes, prices): both are accepted and normalised to strings here.
 */

/** A number or a numeric string, as a decimal string. */
const numeric = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/)]).transform(String);
/** An optional one: the gateway writes an absent price or size as "" or null on some builds. */
const optionalNumeric = z.preprocess((v) => (v === '' || v === null ? undefined : v), numeric.optional());

/** POST /iserver/auth/status (and `iserver.authStatus` inside the /tickle answer). */
export const authStatus = z
  .object({
    authenticated: z.boolean(),
    connected: z.boolean().optional(),
    competing: z.boolean().optional(),
    message: z.string().optional(),
  })
  .loose();
export type AuthStatus = z.infer<typeof authStatus>;

/** POST /tickle. */
export const tickleResponse = z
  .object({
    session: z.string().optional(),
    iserver: z.object({ authStatus: authStatus.optional() }).loose().optional(),
  })
  .loose();

/** GET /iserver/accounts. */
export const accountsResponse = z
  .object({ accounts: z.array(z.string()), selectedAccount: z.string().optional() })
  .loose();

/** GET /portfolio/accounts (read once per session before the other /portfolio endpoints). */
export const portfolioAccounts = z.array(z.object({ id: z.string() }).loose());

/** One entry of GET /portfolio/{accountId}/summary (`amount` in the account's base currency). */
const summaryValue = z
  .object({
    amount: z.number().nullable().optional(),
    currency: z.string().nullable().optional(),
    isNull: z.boolean().optional(),
    value: z.string().nullable().optional(),
  })
  .loose();

export const portfolioSummary = z
  .object({
    totalcashvalue: summaryValue,
    buyingpower: summaryValue,
    netliquidation: summaryValue,
    accountready: summaryValue.optional(),
  })
  .loose();

/** One row of GET /portfolio/{accountId}/positions/{pageId}. */
export const portfolioPosition = z
  .object({
    conid: numeric,
    position: z.number(),
    avgCost: z.number().optional(),
    avgPrice: z.number().optional(),
    ticker: z.string().optional(),
    contractDesc: z.string().optional(),
    currency: z.string().optional(),
  })
  .loose();
export const portfolioPositions = z.array(portfolioPosition);

/** One row of GET /iserver/secdef/search?symbol=… */
export const secdefResult = z
  .object({
    conid: numeric,
    symbol: z.string().optional(),
    companyName: z.string().nullable().optional(),
    description: z.string().nullable().optional(),
    sections: z.array(z.object({ secType: z.string() }).loose()).optional(),
  })
  .loose();
/** IBKR answers a symbol it does not know with `{ "error": "No symbol found" }` (or `[]`). */
export const secdefSearch = z.union([z.array(secdefResult), z.object({ error: z.string() }).loose()]);

/** One element of an order submission (or reply) answer: an order, or a question to confirm. */
export const orderSubmitted = z
  .object({
    order_id: numeric,
    order_status: z.string().optional(),
    local_order_id: z.string().optional(),
    encrypt_message: z.string().optional(),
  })
  .loose();
export const orderQuestion = z
  .object({
    id: z.string(),
    message: z.array(z.string()),
    isSuppressed: z.boolean().optional(),
    messageIds: z.array(z.string()).optional(),
  })
  .loose();
/** IBKR answers a refused order with `{ "error": "…" }` (HTTP 200 or 400). */
export const gatewayError = z.object({ error: z.string(), statusCode: z.number().optional() }).loose();

export const orderSubmitResponse = z.union([z.array(z.union([orderSubmitted, orderQuestion])), gatewayError]);
export type OrderSubmitResponse = z.infer<typeof orderSubmitResponse>;

/** One order of GET /iserver/account/orders (`order_ref` is the cOID we sent). */
export const liveOrder = z
  .object({
    orderId: numeric,
    conid: optionalNumeric,
    ticker: z.string().optional(),
    status: z.string(),
    side: z.string(),
    orderType: z.string().optional(),
    origOrderType: z.string().optional(),
    timeInForce: z.string().optional(),
    totalSize: numeric,
    filledQuantity: numeric,
    remainingQuantity: optionalNumeric,
    avgPrice: optionalNumeric,
    price: optionalNumeric,
    auxPrice: optionalNumeric,
    order_ref: z.string().optional(),
    lastExecutionTime_r: optionalNumeric,
  })
  .loose();
export type LiveOrder = z.infer<typeof liveOrder>;
export const liveOrders = z
  .object({ orders: z.array(liveOrder).optional(), snapshot: z.boolean().optional() })
  .loose();

/** One execution of GET /iserver/account/trades. */
export const trade = z
  .object({
    execution_id: z.string(),
    symbol: z.string().optional(),
    side: z.string(),
    size: numeric,
    price: numeric,
    trade_time_r: z.number().optional(),
    order_ref: z.string().optional(),
    commission: optionalNumeric,
    conid: optionalNumeric,
    account: z.string().optional(),
  })
  .loose();
export type Trade = z.infer<typeof trade>;
export const trades = z.array(trade);

/** DELETE /iserver/account/{accountId}/order/{orderId}. */
export const cancelResponse = z.union([
  z.object({ msg: z.string(), order_id: numeric.optional(), conid: numeric.optional() }).loose(),
  gatewayError,
]);
