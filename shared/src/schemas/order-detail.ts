import { z } from 'zod';
import { ORDER_STATUSES } from '../orders/statuses.ts';
import { fillView, orderView, ruleVerdict } from './order.ts';

const orderStatus = z.enum(ORDER_STATUSES);

/** Who did something, in words: a person's name, an API key's name, the agent, the system. */
export const actorView = z.object({
  type: z.enum(['user', 'api_key', 'agent', 'system']),
  id: z.string().nullable(),
  /** "Ada Lovelace", "key ci-bot (Ada Lovelace)", "decision agent", "system". */
  name: z.string(),
});
export type ActorView = z.infer<typeof actorView>;

/** One step of the order's life as the state machine applied it. */
export const orderEventView = z.object({
  ts: z.string(),
  fromStatus: orderStatus.nullable(),
  toStatus: orderStatus,
  filledQuantity: z.string(),
  rejectReason: z.string().nullable(),
});

export const orderAuditView = z.object({
  seq: z.number().int(),
  ts: z.string(),
  action: z.string(),
  outcome: z.string(),
  actor: actorView,
  details: z.string().nullable(),
});

/**
 * Everything about one order: the order, its timeline, fills, the governor's verdict, where it
 * came from (the proposal and the signal behind it, who approved), and its audit rows.
 */
export const orderDetailView = z.object({
  order: orderView,
  /** "agent proposal, approved by Ada Lovelace", "placed by Ada Lovelace", "API key ci-bot". */
  originText: z.string(),
  placedBy: actorView.nullable(),
  events: z.array(orderEventView),
  fills: z.array(fillView),
  /** The governor's verdict per rule (a denied order's; null when not recorded). */
  verdicts: z.array(ruleVerdict).nullable(),
  proposal: z
    .object({
      id: z.string(),
      status: z.string(),
      decider: z.string(),
      confidence: z.number(),
      createdAt: z.string(),
      signalId: z.string().nullable(),
      approvedBy: actorView.nullable(),
      decidedAt: z.string().nullable(),
    })
    .nullable(),
  signal: z
    .object({
      id: z.string(),
      ts: z.string(),
      symbol: z.string(),
      direction: z.string(),
      pattern: z.string(),
      score: z.number(),
    })
    .nullable(),
  audit: z.array(orderAuditView),
});
export type OrderDetailView = z.infer<typeof orderDetailView>;
