import { z } from 'zod';

/** Lessons: what a closed trade taught (losses, large wins), recalled by similarity. */

export const tradeOutcomeInputSchema = z.strictObject({
  proposalId: z.uuid().optional(),
  signalId: z.uuid().optional(),
  instrument: z.string().min(1).max(64),
  side: z.enum(['buy', 'sell']),
  quantity: z.string().regex(/^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a decimal string'),
  entryPrice: z.string().regex(/^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a decimal string'),
  exitPrice: z.string().regex(/^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a decimal string'),
  /** Realized P&L net of fees; computed from the prices when omitted. */
  pnl: z
    .string()
    .regex(/^-?(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a decimal string')
    .optional(),
  openedAt: z.iso.datetime({ offset: true }),
  closedAt: z.iso.datetime({ offset: true }),
  notes: z.string().trim().max(2000).optional(),
});
export type TradeOutcomeInput = z.infer<typeof tradeOutcomeInputSchema>;

export const lessonViewSchema = z.object({
  id: z.string(),
  outcomeId: z.string().nullable(),
  instrument: z.string(),
  kind: z.enum(['loss', 'win']),
  pnl: z.string(),
  summary: z.string(),
  tags: z.array(z.string()),
  embedder: z.string(),
  createdAt: z.string(),
  /** Cosine similarity to the query (queries only). */
  similarity: z.number().optional(),
});
export type LessonView = z.infer<typeof lessonViewSchema>;

export const lessonQueryInputSchema = z.strictObject({
  text: z.string().trim().min(1).max(2000),
  k: z.number().int().min(1).max(50).default(5),
  instrument: z.string().min(1).max(64).optional(),
});
