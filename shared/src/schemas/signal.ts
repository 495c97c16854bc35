import { z } from 'zod';
import { queryInstantString, rangeInOrder } from './instant.ts';
import { safeText } from './text.ts';

/**
 * Signals: scored pattern detections from the engine (table `signals`, stream `aegis:signals`),
 * and a desk's manual decisions on them.
 */

export const signalDirectionSchema = z.enum(['long', 'short']);
export const signalPatternSchema = z.enum(['breakout', 'mean_reversion', 'absorption']);

const isoTime = z.iso.datetime({ offset: true });

/**
 * One entry of `aegis:signals` as the engine writes it (engine/src/signals/signal-publisher.ts):
 * flat string fields. Parsed once at the server's intake.
 */
export const signalStreamEntrySchema = z.object({
  // Not strict: an engine newer than this server may add fields; their text is never stored.
  id: z.uuid(),
  symbol: safeText(64),
  direction: signalDirectionSchema,
  pattern: signalPatternSchema,
  score: z.string().transform((s, ctx) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      ctx.addIssue({ code: 'custom', message: 'score must be a number in [0, 1]' });
      return z.NEVER;
    }
    return n;
  }),
  price: z
    .string()
    .regex(/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i, 'price must be numeric')
    .optional(),
  tsEvent: isoTime,
  tsSignal: isoTime,
  features: z.string().transform((s, ctx) => {
    try {
      const v = JSON.parse(s) as unknown;
      const parsed = z.record(z.string(), z.number().nullable()).safeParse(v);
      if (parsed.success) return parsed.data;
    } catch {
      // fall through
    }
    ctx.addIssue({ code: 'custom', message: 'features must be a JSON object of numbers' });
    return z.NEVER;
  }),
  modelVersion: safeText(128),
});
export type SignalStreamEntry = z.infer<typeof signalStreamEntrySchema>;

export const signalViewSchema = z.object({
  id: z.string(),
  /** When the engine produced it. */
  tsSignal: z.string(),
  /** Event time of the tick that triggered it. */
  tsEvent: z.string(),
  symbol: z.string(),
  direction: signalDirectionSchema,
  pattern: signalPatternSchema,
  score: z.number(),
  price: z.string().nullable(),
  features: z.record(z.string(), z.number().nullable()),
  modelVersion: z.string(),
});
export type SignalView = z.infer<typeof signalViewSchema>;

export const signalDecisionKindSchema = z.enum(['accept', 'reject', 'note']);

export const signalDecisionViewSchema = z.object({
  id: z.string(),
  signalId: z.string(),
  userId: z.string(),
  decision: signalDecisionKindSchema,
  note: z.string().nullable(),
  createdAt: z.string(),
});
export type SignalDecisionView = z.infer<typeof signalDecisionViewSchema>;

export const listSignalsInputSchema = z
  .strictObject({
    instrument: safeText(64).optional(),
    pattern: signalPatternSchema.optional(),
    direction: signalDirectionSchema.optional(),
    from: queryInstantString.optional(),
    to: queryInstantString.optional(),
    minScore: z.number().min(0).max(1).optional(),
    /** Opaque cursor from the previous page's `nextCursor`. */
    cursor: safeText(200).optional(),
    limit: z.number().int().min(1).max(500).default(100),
  })
  .superRefine(rangeInOrder)
  .default({ limit: 100 });
export type ListSignalsInput = z.infer<typeof listSignalsInputSchema>;
