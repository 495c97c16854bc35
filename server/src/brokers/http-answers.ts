import type { z } from 'zod';
import { BrokerError, BrokerErrorCode } from './types.ts';

/**
 * What the brokers' HTTP clients (alpaca/rest-client.ts, coinbase/rest-client.ts,
 * ibkr/gateway-client.ts) do alike: send a JSON request (the two on fetch), read an answer's
 * body with the endpoint's zod schema (BROKER_PROTOCOL when it is not the documented shape),
 * turn the resilience policy's reading of an HTTP failure into the broker's error, and read
 * Retry-After. Each client keeps what is its
 * broker's own: authentication, the error body's shape, the statuses that mean something else.
 */

/**
 * Sends a request with a JSON body (when there is one) and a JSON accept header; the caller's
 * headers (authentication) are added after the accept header.
 */
export function sendJson(
  url: URL,
  method: string,
  authHeaders: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(url, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal,
  });
}

export function protocolErrorOf(
  broker: string,
  operation: string,
  message: string,
  context: Record<string, unknown> = {},
): BrokerError {
  return new BrokerError(BrokerErrorCode.PROTOCOL, `${broker}: ${message}`, { operation, broker, context });
}

/** The first issues of a failed parse, one line each (`path: message`). */
export function issueLines(error: z.ZodError): string[] {
  return error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
}

export interface AnswerOf {
  readonly broker: string;
  readonly operation: string;
  /** `GET /v2/orders`: names the call in the error. */
  readonly call: string;
  readonly httpStatus: number;
  /** Whose shape the body missed (`Alpaca's documented shape`). */
  readonly shape: string;
}

/** The body parsed with its schema, or BROKER_PROTOCOL naming the call and the first issues. */
export function documentedBody<T>(schema: z.ZodType<T>, json: unknown, a: AnswerOf): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw protocolErrorOf(a.broker, a.operation, `${a.call}: response does not match ${a.shape}`, {
    httpStatus: a.httpStatus,
    issues: issueLines(parsed.error),
  });
}

/** JSON of a body's text, or BROKER_PROTOCOL naming the call. */
export function jsonBody(text: string, a: Omit<AnswerOf, 'shape'>): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw protocolErrorOf(a.broker, a.operation, `${a.call}: response is not JSON`, {
      httpStatus: a.httpStatus,
    });
  }
}

/** The policy's error for an HTTP failure, restated with the broker's own message in its context. */
export function brokerHttpError(
  base: BrokerError,
  operation: string,
  broker: string,
  context: Record<string, unknown>,
): BrokerError {
  return new BrokerError(base.brokerCode, base.message, {
    operation,
    broker,
    retryable: base.retryable,
    context,
  });
}

/** Retry-After in seconds: a number of seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterHeader(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, n);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : null;
}
