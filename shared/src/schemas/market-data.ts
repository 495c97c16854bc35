import { z } from 'zod';
import { bookFeaturesSchema } from '../market/venue-books.ts';
import { instrumentSymbol } from './order.ts';
import { safeText } from './text.ts';

/**
 * Instruments, watchlists and market data at the edges (tRPC inputs/outputs, console, CLI).
 * Server: server/src/market/ (registry, watchlists, market-data service), routers
 * `instruments.*`, `watchlists.*`, `marketData.*`. Prices come from the one price source
 * (shared/src/market/venue-prices.ts, venue-books.ts); bars from `bars_1s` / `bars_1m`.
 */

export const assetClass = z.enum(['equity', 'crypto', 'future', 'option', 'fx']);
export type AssetClass = z.infer<typeof assetClass>;

/** Trading calendars: exchange hours by MIC-style id, or round the clock. */
export const tradingCalendar = z.enum(['24x7', 'XNYS', 'XNAS', 'CME', 'CBOT']);
export type TradingCalendar = z.infer<typeof tradingCalendar>;

export const instrumentStatus = z.enum(['active', 'halted', 'delisted']);

const decimalText = safeText(40).regex(/^\d+(\.\d+)?$/, 'must be a positive decimal');
const positiveDecimal = decimalText.refine((s) => /[1-9]/.test(s), 'must be greater than zero');
const venueName = safeText(32).regex(/^[A-Za-z0-9._-]+$/, 'only letters, digits and . _ -');

export const instrumentView = z.object({
  symbol: z.string(),
  venue: z.string(),
  venueSymbol: z.string(),
  name: z.string().nullable(),
  assetClass,
  currency: z.string(),
  tickSize: z.string(),
  lotSize: z.string(),
  multiplier: z.string(),
  calendar: z.string(),
  status: instrumentStatus,
  /** Where the row came from: a venue's product list, or an admin's edit. */
  source: z.enum(['venue', 'admin', 'seed']),
  updatedAt: z.string(),
});
export type InstrumentView = z.infer<typeof instrumentView>;

export const instrumentSearchInput = z.strictObject({
  /** Prefix or approximate text: symbol, venue symbol or name. Empty lists the first `limit`. */
  query: safeText(64, { min: 0 }),
  venue: venueName.optional(),
  assetClass: assetClass.optional(),
  limit: z.number().int().min(1).max(100).default(20),
});
export const instrumentSearchHit = instrumentView.extend({
  /** 1 exact, lower = further; prefix matches rank above fuzzy ones. */
  score: z.number(),
  match: z.enum(['exact', 'prefix', 'fuzzy']),
});
export type InstrumentSearchHit = z.infer<typeof instrumentSearchHit>;

/** Admin create/edit (merge by symbol). */
export const instrumentUpsertInput = z.strictObject({
  symbol: instrumentSymbol,
  venue: venueName,
  venueSymbol: safeText(64).optional(),
  name: safeText(120, { min: 0 }).nullish(),
  assetClass,
  currency: safeText(12).regex(/^[A-Z0-9]{2,12}$/, 'must be an upper-case currency code'),
  tickSize: positiveDecimal,
  lotSize: positiveDecimal,
  multiplier: positiveDecimal.default('1'),
  calendar: tradingCalendar,
  status: instrumentStatus.default('active'),
});
export type InstrumentUpsertInput = z.infer<typeof instrumentUpsertInput>;

/** Load (or refresh) a venue's published instrument list into the registry (admin). */
export const instrumentLoadInput = z.strictObject({
  venue: venueName,
  /** Only these venue symbols (default: everything the venue lists that the loader supports). */
  venueSymbols: z.array(safeText(64)).max(5000).optional(),
});

export const watchlistView = z.object({
  id: z.string().uuid(),
  name: z.string(),
  symbols: z.array(z.string()),
  updatedAt: z.string(),
});
export type WatchlistView = z.infer<typeof watchlistView>;
export const watchlistCreateInput = z.strictObject({
  name: safeText(60),
  symbols: z.array(instrumentSymbol).max(200).default([]),
});
export const watchlistUpdateInput = z.strictObject({
  id: z.string().uuid(),
  name: safeText(60).optional(),
  symbols: z.array(instrumentSymbol).max(200).optional(),
});

// ---- market data -------------------------------------------------------------------------------

export const quoteView = z.object({
  symbol: z.string(),
  venue: z.string(),
  bid: z.string().nullable(),
  ask: z.string().nullable(),
  bidSize: z.string().nullable(),
  askSize: z.string().nullable(),
  /** ask − bid, null until both sides are quoted. */
  spread: z.string().nullable(),
  last: z.string().nullable(),
  lastSize: z.string().nullable(),
  /** Venue time of the quote / the last trade (ISO), null when none yet. */
  tsQuote: z.string().nullable(),
  tsTrade: z.string().nullable(),
  /** Change of `last` against the first trade of the current UTC day (from the bars), or null. */
  dayOpen: z.string().nullable(),
  dayChange: z.string().nullable(),
  dayChangePct: z.number().nullable(),
});
export type QuoteView = z.infer<typeof quoteView>;

/** Bar intervals: 1 s … 1 day. Seconds and minutes come from bars_1s / bars_1m rolled up. */
export const BAR_INTERVALS = ['1s', '5s', '15s', '30s', '1m', '5m', '15m', '30m', '1h', '4h', '1d'] as const;
export const barInterval = z.enum(BAR_INTERVALS);
export type BarInterval = z.infer<typeof barInterval>;
export const BAR_INTERVAL_SECONDS: Readonly<Record<BarInterval, number>> = {
  '1s': 1,
  '5s': 5,
  '15s': 15,
  '30s': 30,
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '30m': 1800,
  '1h': 3600,
  '4h': 14_400,
  '1d': 86_400,
};

export const barsInput = z.strictObject({
  symbol: instrumentSymbol,
  interval: barInterval,
  /** ISO times; default: the last `limit` bars up to now. */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.number().int().min(1).max(5000).default(500),
});
export const barView = z.object({
  /** Bucket start, ISO. */
  time: z.string(),
  open: z.string(),
  high: z.string(),
  low: z.string(),
  close: z.string(),
  volume: z.string(),
  tradeCount: z.number(),
});
export type BarView = z.infer<typeof barView>;

export const bookInput = z.strictObject({
  symbol: instrumentSymbol,
  levels: z.number().int().min(1).max(50).default(20),
});
export const bookView = z.object({
  symbol: z.string(),
  venue: z.string(),
  /** [price, size], best first. */
  bids: z.array(z.tuple([z.string(), z.string()])),
  asks: z.array(z.tuple([z.string(), z.string()])),
  tsEvent: z.string().nullable(),
  /** 'l2' from the venue's depth feed; 'top' when only the top of book is known. */
  depth: z.enum(['l2', 'top', 'none']),
  features: bookFeaturesSchema.nullable(),
});
export type BookView = z.infer<typeof bookView>;

export const tradesInput = z.strictObject({
  symbol: instrumentSymbol,
  limit: z.number().int().min(1).max(500).default(50),
});
export const tradePrintView = z.object({
  ts: z.string(),
  price: z.string(),
  size: z.string(),
  /** +1 buyer-initiated, −1 seller-initiated, 0 unknown. */
  aggressor: z.number(),
});
export type TradePrintView = z.infer<typeof tradePrintView>;

export const quoteSubscriptionInput = z.strictObject({
  symbols: z.array(instrumentSymbol).min(1).max(200),
  lastEventId: safeText(200, { min: 0 }).nullish(),
});
export const barSubscriptionInput = z.strictObject({
  symbol: instrumentSymbol,
  interval: barInterval,
  lastEventId: safeText(200, { min: 0 }).nullish(),
});
