import type { AlertKind, WebhookFormat } from '@aegis/shared/schemas/alerts';

/** The event as a webhook carries it (format `aegis`); also stored on the delivery row. */
export interface AlertPayload {
  readonly id: string;
  readonly kind: AlertKind;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly desk: { readonly id: string; readonly name: string };
  readonly title: string;
  readonly body: string;
  readonly data: Record<string, unknown>;
  readonly createdAt: string;
}

const ICON: Record<AlertPayload['severity'], string> = {
  info: 'ℹ️',
  warning: '⚠️',
  critical: '🛑',
};

/**
 * The request body for an endpoint's format: the signed JSON event, or the one-field message a
 * Slack (`text`) or Discord (`content`) incoming webhook accepts. Chat formats are signed too
 * (the headers are harmless there), so a proxy in front of them can still verify.
 */
export function bodyFor(format: WebhookFormat, p: AlertPayload): string {
  if (format === 'aegis') return JSON.stringify(p);
  const line = `${ICON[p.severity]} [${p.desk.name}] ${p.title}: ${p.body}`;
  // Discord caps content at 2000 characters; Slack's text is larger but a notice is short.
  const text = line.length > 1900 ? `${line.slice(0, 1899)}…` : line;
  return JSON.stringify(format === 'slack' ? { text } : { content: text });
}
