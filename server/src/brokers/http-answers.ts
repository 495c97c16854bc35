import type { z } from 'zod';
import { brokerErrorFromHttp } from './resilience.ts';
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

/** `protocolErrorOf` bound to one broker: each client's own `protocolError`. */
export function protocolErrorFor(
  broker: string,
): (operation: string, message: string, context?: Record<string, unknown>) => BrokerError {
  return (operation, message, context = {}) => protocolErrorOf(broker, operation, message, context);
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

/** JSON of an error body; null when it is empty or not JSON (a proxy's error page). */
export function jsonOrNull(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export interface AnswerReading<T> extends AnswerOf {
  /** The answer's body. */
  readonly text: string;
  /** Null: the endpoint answers without a body (204). */
  readonly schema: z.ZodType<T> | null;
  /** The status is a success for this client (fetch's `res.ok`; the gateway's below 400). */
  readonly ok: boolean;
  /**
   * A failure status whose body may still be a documented answer of the endpoint: it is read
   * as one, and only a body that is not becomes the broker's error.
   */
  readonly bodyOnFailure?: boolean;
  /** An empty body reads as JSON null (the gateway answers some calls with nothing). */
  readonly emptyIsNull?: boolean;
  /** The broker's own error for a failure status, from its error body (each client's mapping). */
  readonly httpError: () => BrokerError;
}

/**
 * One answer read the way every client reads it: a failure status becomes the broker's error
 * (before its body is read as an answer, unless `bodyOnFailure`); a success's body is read as
 * JSON, then with the endpoint's schema (BROKER_PROTOCOL naming the broker and the call).
 */
export function readAnswer<T>(a: AnswerReading<T>): T {
  if (!a.ok && !a.bodyOnFailure) throw a.httpError();
  if (a.schema === null) return undefined as T;
  try {
    const json = a.emptyIsNull && a.text === '' ? null : jsonBody(a.text, a);
    return documentedBody(a.schema, json, a);
  } catch (err) {
    if (!a.ok) throw a.httpError();
    throw err;
  }
}

export interface HttpFailure {
  /** The policy's error for the status (brokerErrorFromHttp), its message `<broker>: <message>`. */
  readonly base: BrokerError;
  /** What the broker's error body said, else the status line. */
  readonly message: string;
  /** `base`'s context with the broker's message (`brokerMessage`). */
  readonly context: Record<string, unknown>;
}

/**
 * An HTTP failure as the fetch clients (Alpaca, Coinbase) read it: the broker's own message from
 * its error body (`said`, each client's schema), else the status line; the code the status means
 * to the policy, with the broker's own code and Retry-After in the context. The client then maps
 * the statuses that mean something else for its broker.
 */
export function httpFailureOf(a: {
  readonly broker: string;
  readonly operation: string;
  readonly res: { readonly status: number; readonly statusText: string };
  readonly said?: {
    readonly brokerCode?: string | number | undefined;
    readonly message?: string | undefined;
  };
  readonly retryAfterS: number | null;
}): HttpFailure {
  const message = a.said?.message || `${a.res.status} ${a.res.statusText}`.trim();
  const base = brokerErrorFromHttp(a.res.status, `${a.broker}: ${message}`, {
    operation: a.operation,
    broker: a.broker,
    brokerCode: a.said?.brokerCode,
    retryAfterS: a.retryAfterS,
  });
  return { base, message, context: { ...base.context, brokerMessage: message } };
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
