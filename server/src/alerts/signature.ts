import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the endpoint's secret, sent as
 * `X-Aegis-Signature: v1=<hex>` beside `X-Aegis-Timestamp: <unix seconds>`. Binding the timestamp
 * into the MAC lets a receiver refuse replays outside its window (docs/alerts.md: 5 minutes).
 */

export const SIGNATURE_HEADER = 'x-aegis-signature';
export const TIMESTAMP_HEADER = 'x-aegis-timestamp';
export const DELIVERY_HEADER = 'x-aegis-delivery';
export const EVENT_HEADER = 'x-aegis-event';
/** The replay window receivers are told to enforce. */
export const REPLAY_WINDOW_SECONDS = 300;

/** A new endpoint secret: 32 random bytes, prefixed so it is recognisable in a secret scanner. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does (also used by the tests' receiver): the timestamp within the window of
 * `nowSeconds`, then a constant-time comparison of the signature.
 */
export function verifyWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  nowSeconds: number,
  windowSeconds = REPLAY_WINDOW_SECONDS,
): 'ok' | 'stale' | 'bad_signature' {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > windowSeconds) return 'stale';
  const expected = Buffer.from(signWebhook(secret, ts, body));
  const given = Buffer.from(headers.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'ok' : 'bad_signature';
}
