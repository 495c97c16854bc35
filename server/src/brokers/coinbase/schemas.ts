import { z } from 'zod';

/**
 * Coinbase Advanced Trade API (v3 brokerage) JSON, as documented at docs.cdp.coinbase.com
 * ("Advanced Trade API" reference: Accounts, Portfolios, Orders, Fills; WebSocket "user"
 * channel) and as the official SDK (coinbase/coinbase-advanced-py, `rest/types`,
 * `websocket/types`) reads it. Parsed at the edge; a mismatch is BROKER_PROTOCOL. Numbers are
 * decimal strings and stay strings. Objects are not strict: Coinbase adds fields over time.
 * Coinbase sends "" for an unset string field (reject_reason, cancel_message …): read as null.
 */

/** A decimal string ("0.001", "45123.45", "-3"); Coinbase also sends "" for "no value". */
export const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string');
const optionalDecimal = z
  .union([decimalString, z.literal('')])
  .nullish()
  .transform((v) => (v === '' || v == null ? null : v));
const optionalText = z
  .string()
  .nullish()
  .transform((v) => (v ? v : null));

/** Order status ("Get Order" `status` enum). Unknown future values fail loudly (PROTOCOL). */
export const coinbaseOrderStatus = z.enum([
  'PENDING',
  'OPEN',
  'FILLED',
  'CANCELLED',
  'EXPIRED',
  'FAILED',
  'UNKNOWN_ORDER_STATUS',
  'QUEUED',
  'CANCEL_QUEUED',
  'EDIT_QUEUED',
]);
export type CoinbaseOrderStatus = z.infer<typeof coinbaseOrderStatus>;

export const coinbaseSide = z.enum(['BUY', 'SELL']);

/** `{ value, currency }` money amounts (accounts, portfolio breakdown). */
export const coinbaseAmount = z.object({ value: decimalString, currency: z.string() });

// ---------------------------------------------------------------------------------------------
// Accounts and portfolio
// ---------------------------------------------------------------------------------------------

/** GET /api/v3/brokerage/accounts (`accounts[]`, paged with `cursor` / `has_next`). */
export const coinbaseAccount = z.object({
  uuid: z.string(),
  name: z.string().optional(),
  currency: z.string().min(1),
  available_balance: coinbaseAmount,
  hold: coinbaseAmount.nullish(),
  active: z.boolean().optional(),
  type: z.string().optional(),
  ready: z.boolean().optional(),
  retail_portfolio_id: z.string().optional(),
});
export type CoinbaseAccount = z.infer<typeof coinbaseAccount>;

export const listAccountsResponse = z.object({
  accounts: z.array(coinbaseAccount),
  has_next: z.boolean().optional().default(false),
  cursor: z.string().optional().default(''),
  size: z.number().optional(),
});

/** GET /api/v3/brokerage/portfolios/{portfolio_uuid} → `breakdown` (the fields we read). */
export const portfolioBreakdownResponse = z.object({
  breakdown: z.object({
    portfolio: z
      .object({ uuid: z.string(), name: z.string().optional(), type: z.string().optional() })
      .optional(),
    portfolio_balances: z
      .object({
        total_balance: coinbaseAmount,
        total_cash_equivalent_balance: coinbaseAmount.optional(),
        total_crypto_balance: coinbaseAmount.optional(),
      })
      .optional(),
    spot_positions: z
      .array(
        z.object({
          asset: z.string(),
          total_balance_crypto: z.union([z.number(), decimalString]).optional(),
          is_cash: z.boolean().optional(),
          average_entry_price: coinbaseAmount.nullish(),
        }),
      )
      .optional()
      .default([]),
  }),
});

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

const sized = { base_size: optionalDecimal, quote_size: optionalDecimal };

/** `order_configuration`: exactly one of these keys is set on a real order. */
export const orderConfiguration = z.object({
  market_market_ioc: z.object(sized).optional(),
  market_market_fok: z.object(sized).optional(),
  sor_limit_ioc: z.object({ ...sized, limit_price: optionalDecimal }).optional(),
  limit_limit_gtc: z
    .object({ ...sized, limit_price: optionalDecimal, post_only: z.boolean().optional() })
    .optional(),
  limit_limit_gtd: z
    .object({
      ...sized,
      limit_price: optionalDecimal,
      end_time: z.string().optional(),
      post_only: z.boolean().optional(),
    })
    .optional(),
  limit_limit_fok: z.object({ ...sized, limit_price: optionalDecimal }).optional(),
  stop_limit_stop_limit_gtc: z
    .object({
      ...sized,
      limit_price: optionalDecimal,
      stop_price: optionalDecimal,
      stop_direction: z.string().optional(),
    })
    .optional(),
  stop_limit_stop_limit_gtd: z
    .object({
      ...sized,
      limit_price: optionalDecimal,
      stop_price: optionalDecimal,
      end_time: z.string().optional(),
      stop_direction: z.string().optional(),
    })
    .optional(),
});
export type OrderConfiguration = z.infer<typeof orderConfiguration>;

/** The Order object of Get Order / List Orders. */
export const coinbaseOrder = z.object({
  order_id: z.string().min(1),
  product_id: z.string().min(1),
  client_order_id: z.string(),
  side: coinbaseSide,
  status: coinbaseOrderStatus,
  order_configuration: orderConfiguration.optional().default({}),
  time_in_force: z.string().optional(),
  created_time: z.string().optional(),
  filled_size: optionalDecimal,
  average_filled_price: optionalDecimal,
  number_of_fills: z.string().optional(),
  pending_cancel: z.boolean().optional().default(false),
  total_fees: optionalDecimal,
  order_type: z.string().optional(),
  reject_reason: optionalText,
  reject_message: optionalText,
  cancel_message: optionalText,
  last_fill_time: optionalText,
});
export type CoinbaseOrder = z.infer<typeof coinbaseOrder>;

export const getOrderResponse = z.object({ order: coinbaseOrder });

export const listOrdersResponse = z.object({
  orders: z.array(coinbaseOrder),
  has_next: z.boolean().optional().default(false),
  cursor: z.string().optional().default(''),
});

/** POST /api/v3/brokerage/orders. A refused order is `success: false` with `error_response`. */
export const createOrderResponse = z.object({
  success: z.boolean(),
  success_response: z
    .object({
      order_id: z.string().min(1),
      product_id: z.string().optional(),
      side: z.string().optional(),
      client_order_id: z.string().optional(),
    })
    .nullish(),
  error_response: z
    .object({
      error: optionalText,
      message: optionalText,
      error_details: optionalText,
      preview_failure_reason: optionalText,
      new_order_failure_reason: optionalText,
    })
    .nullish(),
  /** Deprecated top-level fields some responses still carry. */
  failure_reason: z.unknown().optional(),
  order_id: z.string().optional(),
});
export type CreateOrderResponse = z.infer<typeof createOrderResponse>;

/** POST /api/v3/brokerage/orders/batch_cancel. */
export const cancelOrdersResponse = z.object({
  results: z.array(
    z.object({
      success: z.boolean(),
      failure_reason: optionalText,
      order_id: z.string(),
    }),
  ),
});

/** GET /api/v3/brokerage/orders/historical/fills (`fills[]`, paged with `cursor`). */
export const coinbaseFill = z.object({
  entry_id: z.string().optional(),
  trade_id: z.string().min(1),
  order_id: z.string().min(1),
  trade_time: z.string(),
  /** FILL; adjusted fills are REVERSAL, CORRECTION, SYNTHETIC (their trade ids repeat). */
  trade_type: z.string().optional().default('FILL'),
  price: decimalString,
  size: decimalString,
  commission: optionalDecimal,
  product_id: z.string(),
  sequence_timestamp: optionalText,
  liquidity_indicator: z.string().optional(),
  size_in_quote: z.boolean().optional().default(false),
  side: coinbaseSide.optional(),
});
export type CoinbaseFill = z.infer<typeof coinbaseFill>;

export const listFillsResponse = z.object({
  fills: z.array(coinbaseFill),
  cursor: z.string().optional().default(''),
});

/**
 * REST error bodies (gRPC-gateway style `{ error, code, message, details }`; some endpoints
 * answer `{ error, message, error_details }`). Every field is optional: a proxy may answer HTML.
 */
export const coinbaseErrorBody = z.object({
  error: z.string().optional(),
  code: z.union([z.number(), z.string()]).optional(),
  message: z.string().optional(),
  error_details: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------
// WebSocket (user channel)
// ---------------------------------------------------------------------------------------------

/** One order in a `user` channel event (snapshot or update). */
export const userOrderUpdate = z.object({
  order_id: z.string().min(1),
  client_order_id: z.string().optional().default(''),
  product_id: z.string().optional(),
  order_side: coinbaseSide.optional(),
  order_type: z.string().optional(),
  status: coinbaseOrderStatus,
  cumulative_quantity: optionalDecimal,
  leaves_quantity: optionalDecimal,
  avg_price: optionalDecimal,
  total_fees: optionalDecimal,
  limit_price: optionalDecimal,
  stop_price: optionalDecimal,
  time_in_force: z.string().optional(),
  cancel_reason: optionalText,
  reject_reason: optionalText,
  creation_time: optionalText,
});
export type UserOrderUpdate = z.infer<typeof userOrderUpdate>;

/** Every message of the user endpoint: `{ channel, timestamp, sequence_num, events }`, or an error. */
export const userStreamMessage = z.union([
  z.object({
    type: z.literal('error'),
    message: z.string().optional().default('error'),
  }),
  z.object({
    channel: z.literal('user'),
    timestamp: z.string().optional(),
    sequence_num: z.number().optional(),
    events: z.array(
      z.object({
        type: z.string(),
        orders: z.array(userOrderUpdate).optional().default([]),
      }),
    ),
  }),
  z.object({
    channel: z.literal('subscriptions'),
    events: z.array(z.object({ subscriptions: z.record(z.string(), z.array(z.string())) })),
  }),
  z.object({ channel: z.literal('heartbeats') }).loose(),
]);
export type UserStreamMessage = z.infer<typeof userStreamMessage>;
