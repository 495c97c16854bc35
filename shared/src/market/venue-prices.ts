import { z } from 'zod';

/**
 * The one source of execution prices (docs/architecture.md §5): the engine publishes, per venue and
 * instrument, the venue's top of book and last trade — from venue feeds only, never from order
 * flow a desk ingests — and every server process reads the same prices for reference price,
 * collar, spread, marks and paper fills.
 *
 * On the bus (Redis, or the in-process bus in single-machine mode):
 *
 *   hash    <prefix>prices:<venue>           field = instrument, value = VenuePrice JSON
 *                                            (the snapshot: a process that starts reads it at once)
 *   channel <prefix>prices:<venue>:updates   VenuePriceUpdate JSON: the prices changed since the
 *                                            previous publish round (coalesced, bounded rate)
 *
 * A reader subscribes first, then reads the snapshot, and keeps per instrument the newest event
 * time it has applied, so the overlap of the two is harmless. Payloads are decoded with the
 * schemas below: Redis is an edge like any other.
 */

const DECIMAL_RE = /^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/;
/** A price or size as the engine publishes it (venue-books.ts too): a decimal string. */
export const venueDecimalSchema = z
  .string()
  .regex(DECIMAL_RE, 'must be a decimal string (at most 12 decimals)');
const positive = venueDecimalSchema.refine((s) => /[1-9]/.test(s), 'must be greater than zero');

/** Venue names as in `instruments.venue` (`SIM` is the synthetic market). */
export const venueNameSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9._-]+$/, 'only letters, digits and . _ -');
export const venueInstrumentSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:/-]+$/);
export const venueTimeSchema = z.iso.datetime({ offset: true });

export const venueQuoteSchema = z
  .strictObject({
    bid: positive,
    ask: positive,
    bidSize: venueDecimalSchema,
    askSize: venueDecimalSchema,
    /** The venue's time of the quote. */
    tsEvent: venueTimeSchema,
  })
  .refine((q) => Number(q.bid) <= Number(q.ask), { path: ['ask'], message: 'must not be below bid' });

export const venueTradeSchema = z.strictObject({
  price: positive,
  size: positive,
  /** The venue's time of the trade. */
  tsEvent: venueTimeSchema,
});

export const venuePriceSchema = z.strictObject({
  venue: venueNameSchema,
  instrument: venueInstrumentSchema,
  /** Top of book; null until the venue has quoted both sides. */
  quote: venueQuoteSchema.nullable(),
  /** Last trade; null until the venue has printed one. */
  trade: venueTradeSchema.nullable(),
  /** When the engine published this price (its ingest side of the latency). */
  tsIngest: venueTimeSchema,
});
export type VenuePrice = z.infer<typeof venuePriceSchema>;
export type VenueQuote = z.infer<typeof venueQuoteSchema>;
export type VenueTrade = z.infer<typeof venueTradeSchema>;

export const venuePriceUpdateSchema = z.strictObject({
  venue: venueNameSchema,
  prices: z.array(venuePriceSchema).min(1).max(1_000_000),
});
export type VenuePriceUpdate = z.infer<typeof venuePriceUpdateSchema>;

export const venuePricesKey = (prefix: string, venue: string): string => `${prefix}prices:${venue}`;
export const venuePricesChannel = (prefix: string, venue: string): string =>
  `${prefix}prices:${venue}:updates`;

/** One snapshot field value, or null (with the reason) when it is not a valid VenuePrice. */
export function decodeVenuePrice(
  raw: string,
): { ok: true; price: VenuePrice } | { ok: false; error: string } {
  const r = decodeBusPayload(raw, venuePriceSchema);
  return r.ok ? { ok: true, price: r.value } : r;
}

/** One update message, or the reason it is not valid. */
export function decodeVenuePriceUpdate(
  raw: string,
): { ok: true; update: VenuePriceUpdate } | { ok: false; error: string } {
  const r = decodeBusPayload(raw, venuePriceUpdateSchema);
  return r.ok ? { ok: true, update: r.value } : r;
}

/** A bus payload (snapshot field or update message) decoded with its schema, or the first issue. */
export function decodeBusPayload<S extends z.ZodType>(
  raw: string,
  schema: S,
): { ok: true; value: z.output<S> } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    return { ok: false, error: `${i?.path.join('.') || '(message)'}: ${i?.message ?? 'invalid'}` };
  }
  return { ok: true, value: r.data };
}

/**
 * A float price or size from the engine's tick record as a decimal string, or null when it is not
 * a finite non-negative number below 1e21. 12 decimals, trailing zeros trimmed: 62.27 → "62.27".
 */
export function decimalFromNumber(n: number): string | null {
  if (!Number.isFinite(n) || n < 0 || n >= 1e21) return null;
  // Fast path (the engine calls this for every published price): the shortest round-trip form
  // is already right when it has no exponent and at most 12 decimals ("124.51").
  const short = String(n);
  const dot = short.indexOf('.');
  if (!short.includes('e') && (dot === -1 || short.length - dot - 1 <= 12)) return short;
  const s = n.toFixed(12);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Microseconds since the epoch as ISO 8601 UTC with six fractional digits. */
export function isoFromMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = String(Math.floor(us - ms * 1000)).padStart(3, '0');
  return `${new Date(ms).toISOString().slice(0, 23)}${micros}Z`;
}
