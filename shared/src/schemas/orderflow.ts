import { z } from 'zod';

/**
 * Normalized order-flow events a desk ingests (`orderflow.ingest`, CLI `aegis ingest`): trades,
 * top-of-book quotes and depth deltas. Prices and sizes are decimal strings (numeric(38,12) in
 * SQL), never floats. Every event names where it came from: `source` (one feed connection) and
 * `sequence` (that source's counter), which drive deduplication and gap detection.
 */

const DECIMAL_RE = /^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/;

/** Non-negative decimal with at most 26 integer and 12 fractional digits. */
export const flowDecimal = z
  .string()
  .regex(DECIMAL_RE, 'must be a decimal string like "12.5" (at most 12 decimals)');
const positive = flowDecimal.refine((s) => /[1-9]/.test(s), 'must be greater than zero');

const name = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9._:/-]+$/, 'only letters, digits and . _ : / -');

/** Event time, ISO 8601 with an offset, up to microseconds (the engine keeps µs). */
export const tsEventSchema = z.iso.datetime({ offset: true });

const common = {
  instrument: name(64),
  venue: name(32),
  tsEvent: tsEventSchema,
  source: name(64),
  sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
};

export const tradeEventSchema = z.strictObject({
  kind: z.literal('trade'),
  ...common,
  price: positive,
  size: positive,
  /** Aggressor side, when the venue reports it. */
  side: z.enum(['buy', 'sell']).optional(),
});

export const quoteEventSchema = z
  .strictObject({
    kind: z.literal('quote'),
    ...common,
    bid: positive,
    ask: positive,
    bidSize: flowDecimal,
    askSize: flowDecimal,
  })
  .refine((q) => Number(q.bid) <= Number(q.ask), { path: ['ask'], message: 'must not be below bid' });

export const depthLevelSchema = z.strictObject({
  side: z.enum(['bid', 'ask']),
  price: positive,
  /** New size at the level; "0" removes it. */
  size: flowDecimal,
});

export const depthEventSchema = z.strictObject({
  kind: z.literal('depth'),
  ...common,
  levels: z.array(depthLevelSchema).min(1).max(500),
});

export const orderflowEventSchema = z.discriminatedUnion('kind', [
  tradeEventSchema,
  quoteEventSchema,
  depthEventSchema,
]);
export type OrderflowEvent = z.infer<typeof orderflowEventSchema>;
export type OrderflowKind = OrderflowEvent['kind'];

export const MAX_INGEST_BATCH = 5000;

/**
 * Ingest input: one event or a batch. The batch is validated element by element by the service
 * (not by this schema) so that every problem is reported with its index and field at once.
 */
export const ingestInputSchema = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_INGEST_BATCH),
});

export const ingestProblemSchema = z.strictObject({
  index: z.number().int(),
  /** Field within the event (`tsEvent`, `levels.2.price`); empty for the event as a whole. */
  field: z.string(),
  /** Full input path, as in the error message: `events[3].tsEvent`. */
  path: z.string(),
  message: z.string(),
});
export type IngestProblem = z.infer<typeof ingestProblemSchema>;

export const sequenceGapSchema = z.object({
  source: z.string(),
  /** First and last missing sequence numbers (inclusive). */
  fromSequence: z.number().int(),
  toSequence: z.number().int(),
  missing: z.number().int(),
});
export type SequenceGap = z.infer<typeof sequenceGapSchema>;

export const ingestResultSchema = z.object({
  results: z.array(
    z.object({
      id: z.string(),
      /** `inserted`, `duplicate` (same content seen before), or `conflict` (same source and
       *  sequence seen before with different content: the first one stands). */
      status: z.enum(['inserted', 'duplicate', 'conflict']),
    }),
  ),
  inserted: z.number().int(),
  duplicates: z.number().int(),
  gaps: z.array(sequenceGapSchema),
});
export type IngestResult = z.infer<typeof ingestResultSchema>;
