import { z } from 'zod';
import { safeText } from './text.ts';

/**
 * Desk alerts: the events a desk is told about (notification centre and webhooks), webhook
 * endpoints and their delivery log, and the desk's alert settings. docs/alerts.md describes the
 * events, the webhook payload and its signature.
 */

export const ALERT_KINDS = [
  'halt.engaged',
  'halt.released',
  'reconcile.drift',
  'proposal.waiting',
  'order.filled',
  'daily_loss.near',
  'test',
] as const;
export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const WEBHOOK_FORMATS = ['aegis', 'slack', 'discord'] as const;
export const DELIVERY_STATUSES = ['pending', 'sending', 'delivered', 'dead'] as const;

export const alertKind = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof alertKind>;
/** The kinds an endpoint may subscribe to (`test` is always sent by "send test event"). */
export const subscribableAlertKind = alertKind.exclude(['test']);
export const alertSeverity = z.enum(ALERT_SEVERITIES);
export const webhookFormat = z.enum(WEBHOOK_FORMATS);
export type WebhookFormat = z.infer<typeof webhookFormat>;

export const alertEventView = z.object({
  id: z.number().int(),
  kind: alertKind,
  severity: alertSeverity,
  title: z.string(),
  body: z.string(),
  data: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  read: z.boolean(),
});
export type AlertEventView = z.infer<typeof alertEventView>;

export const listAlertsInput = z.strictObject({
  unreadOnly: z.boolean().default(false),
  limit: z.number().int().min(1).max(200).default(50),
  /** Events older than this id (paging back). */
  beforeId: z.number().int().positive().optional(),
});

export const alertListView = z.object({
  events: z.array(alertEventView),
  unread: z.number().int(),
});

/** `{ ids }` marks those events read, `{ all: true }` every event of the desk; exactly one of them. */
export const markAlertsReadInput = z
  .strictObject({
    ids: z.array(z.number().int().positive()).min(1).max(200).optional(),
    all: z.literal(true).optional(),
  })
  .refine((v) => (v.ids === undefined) !== (v.all === undefined), {
    message: 'give either ids or all: true',
    path: ['ids'],
  });

/** Live feed item: the unread count and the newest event when one arrived. */
export const alertFeedItem = z.object({
  unread: z.number().int(),
  latest: alertEventView.nullable(),
});
export type AlertFeedItem = z.infer<typeof alertFeedItem>;

export const alertSettingsView = z.object({
  proposalWaitMinutes: z.number().int(),
  dailyLossWarnPct: z.number().int(),
  updatedAt: z.string().nullable(),
});
export const updateAlertSettingsInput = z.strictObject({
  proposalWaitMinutes: z.number().int().min(1).max(1440).optional(),
  dailyLossWarnPct: z.number().int().min(1).max(100).optional(),
});

/** An endpoint URL: absolute http(s), no credentials in it; where it may point is checked on the server. */
export const webhookUrl = z
  .string()
  .trim()
  .max(2000)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
  .refine((u) => {
    try {
      const p = new URL(u);
      return p.username === '' && p.password === '';
    } catch {
      return false;
    }
  }, 'must not carry a user name or password');

export const createEndpointInput = z.strictObject({
  name: safeText(80),
  url: webhookUrl,
  format: webhookFormat.default('aegis'),
  events: z.array(subscribableAlertKind).min(1).max(ALERT_KINDS.length),
});
export const updateEndpointInput = z.strictObject({
  endpointId: z.uuid(),
  name: safeText(80).optional(),
  events: z.array(subscribableAlertKind).min(1).max(ALERT_KINDS.length).optional(),
  enabled: z.boolean().optional(),
});
export const endpointIdInput = z.strictObject({ endpointId: z.uuid() });

export const endpointView = z.object({
  id: z.string(),
  name: z.string(),
  /** Scheme, host and port only: the path of a Slack or Discord URL is itself a credential. */
  target: z.string(),
  format: webhookFormat,
  events: z.array(alertKind),
  enabled: z.boolean(),
  createdAt: z.string(),
  lastDelivery: z
    .object({
      outcome: z.enum(['delivered', 'retry', 'dead']),
      statusCode: z.number().int().nullable(),
      at: z.string(),
    })
    .nullable(),
});
export type EndpointView = z.infer<typeof endpointView>;

/** The answer to creating an endpoint: the only time its signing secret is shown. */
export const createdEndpointView = z.object({ endpoint: endpointView, secret: z.string() });

export const deliveryAttemptView = z.object({
  id: z.number().int(),
  deliveryId: z.number().int(),
  kind: z.string(),
  attempt: z.number().int(),
  outcome: z.enum(['delivered', 'retry', 'dead']),
  statusCode: z.number().int().nullable(),
  latencyMs: z.number().int(),
  error: z.string().nullable(),
  createdAt: z.string(),
});
export type DeliveryAttemptView = z.infer<typeof deliveryAttemptView>;

export const deliveriesInput = z.strictObject({
  endpointId: z.uuid(),
  limit: z.number().int().min(1).max(50).default(50),
});
