import { z } from 'zod';

/**
 * Alpaca Trading API v2 JSON, as documented (docs.alpaca.markets: Account, Positions, Orders,
 * Account Activities, WebSocket Streaming). Every broker response is parsed with these at the
 * edge; a mismatch is BROKER_PROTOCOL. Numbers arrive as decimal strings and stay strings.
 * Objects are not strict: Alpaca adds fields over time, and unknown fields are harmless.
 */

/** A decimal string as Alpaca sends quantities, prices and balances ("10", "-3", "179.08"). */
export const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string');
const nullableDecimal = decimalString.nullish().transform((v) => v ?? null);

/** Order status values of the Orders page ("Order Lifecycle"). */
export const alpacaOrderStatus = z.enum([
  'new',
  'partially_filled',
  'filled',
  'done_for_day',
  'canceled',
  'expired',
  'replaced',
  'pending_cancel',
  'pending_replace',
  'pending_review',
  'accepted',
  'pending_new',
  'accepted_for_bidding',
  'stopped',
  'rejected',
  'suspended',
  'calculated',
  'held',
]);
export type AlpacaOrderStatus = z.infer<typeof alpacaOrderStatus>;

export const alpacaOrderType = z.enum(['market', 'limit', 'stop', 'stop_limit', 'trailing_stop']);
export const alpacaTimeInForce = z.enum(['day', 'gtc', 'opg', 'cls', 'ioc', 'fok']);

export interface AlpacaOrder {
  id: string;
  client_order_id: string;
  created_at: string;
  updated_at: string | null;
  submitted_at: string | null;
  filled_at: string | null;
  canceled_at: string | null;
  expired_at: string | null;
  failed_at: string | null;
  symbol: string;
  qty: string | null;
  filled_qty: string;
  filled_avg_price: string | null;
  order_class: string;
  type: z.infer<typeof alpacaOrderType>;
  side: 'buy' | 'sell';
  time_in_force: z.infer<typeof alpacaTimeInForce>;
  limit_price: string | null;
  stop_price: string | null;
  status: AlpacaOrderStatus;
  legs: AlpacaOrder[] | null;
  /** An mleg leg: contracts per unit of the multi-leg order (null elsewhere). */
  ratio_qty?: string | null;
}

/**
 * The Order entity (POST/GET /v2/orders…); `legs` for bracket/oco/oto and mleg orders. A
 * multi-leg (`mleg`) order carries no symbol or side of its own (its legs do): it is read with
 * an empty symbol and side `buy`, which nothing reports (its legs are what we report).
 */
export const alpacaOrder: z.ZodType<AlpacaOrder> = z.lazy(() =>
  z
    .object({
      id: z.string().min(1),
      client_order_id: z.string(),
      created_at: z.string(),
      updated_at: z
        .string()
        .nullish()
        .transform((v) => v ?? null),
      submitted_at: z
        .string()
        .nullish()
        .transform((v) => v ?? null),
      filled_at: z
        .string()
        .nullish()
        .transform((v) => v ?? null),
      canceled_at: z
        .string()
        .nullish()
        .transform((v) => v ?? null),
      expired_at: z
        .string()
        .nullish()
        .transform((v) => v ?? null),
      failed_at: z
        .string()
        .nullish()
        .transform((v) => v ?? null),
      symbol: z.string(),
      qty: nullableDecimal,
      filled_qty: decimalString,
      filled_avg_price: nullableDecimal,
      // An empty order_class is a simple order (alpaca-py treats "" the same way).
      order_class: z
        .string()
        .nullish()
        .transform((v) => (v ? v : 'simple')),
      type: alpacaOrderType,
      side: z.enum(['buy', 'sell', '']).nullish(),
      time_in_force: alpacaTimeInForce,
      limit_price: nullableDecimal,
      stop_price: nullableDecimal,
      status: alpacaOrderStatus,
      legs: z
        .array(alpacaOrder)
        .nullish()
        .transform((v) => v ?? null),
      ratio_qty: nullableDecimal,
    })
    .transform((o, ctx): AlpacaOrder => {
      const mleg = o.order_class === 'mleg';
      if (!mleg && !o.symbol) ctx.addIssue({ code: 'custom', path: ['symbol'], message: 'symbol is empty' });
      if (!mleg && o.side !== 'buy' && o.side !== 'sell')
        ctx.addIssue({ code: 'custom', path: ['side'], message: 'side must be buy or sell' });
      return { ...o, side: o.side === 'sell' ? 'sell' : 'buy' };
    }),
);

/** GET /v2/account (the fields we use; `status` is ACTIVE, ACCOUNT_UPDATED …). */
export const alpacaAccount = z.object({
  id: z.string().min(1),
  account_number: z.string(),
  status: z.string(),
  currency: z.string().nullish(),
  cash: decimalString,
  buying_power: decimalString,
  equity: decimalString,
});

/** GET /v2/positions: `qty` is signed (negative for a short), `side` long | short. */
export const alpacaPosition = z.object({
  symbol: z.string().min(1),
  qty: decimalString,
  side: z.enum(['long', 'short']),
  avg_entry_price: decimalString,
});

/** GET /v2/account/activities/FILL: one trade activity (a fill or a partial fill). */
export const alpacaFillActivity = z.object({
  id: z.string().min(1),
  activity_type: z.literal('FILL'),
  transaction_time: z.string(),
  type: z.enum(['fill', 'partial_fill']),
  price: decimalString,
  qty: decimalString,
  side: z.string(),
  symbol: z.string(),
  leaves_qty: decimalString,
  order_id: z.string().min(1),
  cum_qty: decimalString,
  order_status: z.string().nullish(),
});
export type AlpacaFillActivity = z.infer<typeof alpacaFillActivity>;

/** Alpaca's error body: `{ "code": 40010001, "message": "…" }`. */
export const alpacaErrorBody = z.object({
  code: z.union([z.number(), z.string()]).optional(),
  message: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------
// trade_updates stream (wss …/stream)
// ---------------------------------------------------------------------------------------------

/** One `trade_updates` event: the order as it stands after the event, plus the fill facts. */
export const alpacaTradeUpdate = z.object({
  event: z.string(),
  execution_id: z.string().nullish(),
  order: alpacaOrder,
  timestamp: z.string().nullish(),
  price: nullableDecimal,
  qty: nullableDecimal,
  position_qty: nullableDecimal,
});
export type AlpacaTradeUpdate = z.infer<typeof alpacaTradeUpdate>;

/** Server messages of the trading stream: authorization, listening, trade_updates. */
export const alpacaStreamMessage = z.discriminatedUnion('stream', [
  z.object({
    stream: z.literal('authorization'),
    data: z.object({ status: z.string(), action: z.string().optional() }),
  }),
  z.object({ stream: z.literal('listening'), data: z.object({ streams: z.array(z.string()) }) }),
  z.object({ stream: z.literal('trade_updates'), data: z.unknown() }),
]);
