import { z } from 'zod';
import {
  decodeBusPayload,
  venueDecimalSchema,
  venueInstrumentSchema,
  venueNameSchema,
  venueTimeSchema,
} from './venue-prices.ts';

/**
 * The engine's L2 order books, published beside the venue prices (venue-prices.ts) so every
 * server process reads the same book for `marketData.book` and the console's ladder.
 *
 * On the bus (Redis, or the in-process bus in single-machine mode):
 *
 *   hash    <prefix>books:<venue>            field = instrument, value = VenueBook JSON (snapshot)
 *   channel <prefix>books:<venue>:updates    VenueBookUpdate JSON: the books changed since the
 *                                            previous round (coalesced, bounded rate; each book
 *                                            whole, top `BOOK_PUBLISH_LEVELS` levels per side)
 *
 * Levels are [price, size] decimal strings, bids best (highest) first, asks best (lowest) first.
 * `seq` is the engine's per-instrument book version (increases with every change it applied), so a
 * reader keeps the newest and ignores the snapshot/update overlap.
 */

/** Levels per side the engine publishes (the ladder shows at most this many). */
export const BOOK_PUBLISH_LEVELS = 50;

const level = z.tuple([venueDecimalSchema, venueDecimalSchema]);

export const bookFeaturesSchema = z.strictObject({
  /** (bidDepth − askDepth) / (bidDepth + askDepth) over the top N levels, in [−1, 1]. */
  imbalance: z.number().min(-1).max(1),
  /** Levels the imbalance was taken over. */
  levels: z.number().int().positive(),
  /**
   * Depth withdrawal: share of the top-N depth (both sides) removed by cancels (not trades) over
   * the recent window, in [0, 1]. High values mean liquidity is being pulled.
   */
  withdrawal: z.number().min(0).max(1),
});
export type BookFeatures = z.infer<typeof bookFeaturesSchema>;

export const venueBookSchema = z.strictObject({
  venue: venueNameSchema,
  instrument: venueInstrumentSchema,
  bids: z.array(level).max(BOOK_PUBLISH_LEVELS),
  asks: z.array(level).max(BOOK_PUBLISH_LEVELS),
  /** Engine book version for this instrument (monotonic). */
  seq: z.number().int().nonnegative(),
  /** The venue's time of the last change applied. */
  tsEvent: venueTimeSchema,
  /** When the engine published this book. */
  tsIngest: venueTimeSchema,
  features: bookFeaturesSchema.nullable(),
});
export type VenueBook = z.infer<typeof venueBookSchema>;

export const venueBookUpdateSchema = z.strictObject({
  venue: venueNameSchema,
  books: z.array(venueBookSchema).min(1).max(100_000),
});
export type VenueBookUpdate = z.infer<typeof venueBookUpdateSchema>;

export const venueBooksKey = (prefix: string, venue: string): string => `${prefix}books:${venue}`;
export const venueBooksChannel = (prefix: string, venue: string): string => `${prefix}books:${venue}:updates`;

export const decodeVenueBook = (raw: string) => decodeBusPayload(raw, venueBookSchema);
export const decodeVenueBookUpdate = (raw: string) => decodeBusPayload(raw, venueBookUpdateSchema);
