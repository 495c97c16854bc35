import { z } from 'zod';
import { pastInstantString } from './instant.ts';
import { instrumentSymbol } from './order.ts';
import { safeText } from './text.ts';

/** Lessons: what a closed trade taught (losses, large wins), recalled by similarity. */

export const tradeOutcomeInputSchema = z
  .strictObject({
    proposalId: z.uuid().optional(),
    signalId: z.uuid().optional(),
    instrument: instrumentSymbol,
    side: z.enum(['buy', 'sell']),
    quantity: z.string().regex(/^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a decimal string'),
    entryPrice: z.string().regex(/^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a decimal string'),
    exitPrice: z.string().regex(/^(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a decimal string'),
    /** Realized P&L net of fees; computed from the prices when omitted. */
    pnl: z
      .string()
      .regex(/^-?(?:0|[1-9]\d{0,25})(?:\.\d{1,12})?$/, 'must be a decimal string')
      .optional(),
    openedAt: pastInstantString,
    closedAt: pastInstantString,
    notes: safeText(2000, { min: 0, multiline: true }).optional(),
  })
  // A malformed time already has its own issue (NaN compares false): only order is checked here.
  .refine((o) => !(Date.parse(o.closedAt) < Date.parse(o.openedAt)), {
    path: ['closedAt'],
    message: 'must not be before openedAt',
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
  text: safeText(2000, { multiline: true }),
  k: z.number().int().min(1).max(50).default(5),
  instrument: instrumentSymbol.optional(),
});
