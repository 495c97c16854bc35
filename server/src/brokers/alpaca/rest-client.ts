import type { z } from 'zod';
import {
  type ConnectionContext,
  type CredentialKind,
  oauthToken,
  sendRefreshingOn401,
} from '../connection.ts';
import {
  brokerHttpError,
  httpFailureOf,
  jsonOrNull,
  protocolErrorFor,
  readAnswer,
  retryAfterHeader,
  sendJson,
} from '../http-answers.ts';
import type { CallKind } from '../resilience.ts';
import { BrokerError, BrokerErrorCode } from '../types.ts';
import { alpacaErrorBody } from './schemas.ts';

/**
 * A small typed client for Alpaca's Trading API v2 over fetch. Every call goes through the
 * connection's call policy (timeout with an AbortSignal, read retries, circuit breaker); every
 * body is parsed with its zod schema (BROKER_PROTOCOL on mismatch); every HTTP failure becomes a
 * BrokerError with Alpaca's own error code and message in its context.
 *
 * Auth: an `oauth` link sends `Authorization: Bearer <token>` and, on a 401, forces one refresh
 * and retries once (the token may have been revoked or rotated by another process); an
 * `api_key` link sends APCA-API-KEY-ID / APCA-API-SECRET-KEY. Secrets never reach logs or errors.
 */
export type AlpacaAuthMode = CredentialKind;

export interface AlpacaRequest<T> {
  readonly operation: string;
  readonly kind: CallKind;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | undefined>;
  readonly body?: unknown;
  /** Null: the response has no body (204). */
  readonly schema: z.ZodType<T> | null;
}

export const BROKER = 'alpaca';

export class AlpacaRestClient {
  readonly #ctx: ConnectionContext;
  readonly #auth: () => Promise<AlpacaAuthMode>;
  readonly #base: string;

  constructor(ctx: ConnectionContext, auth: () => Promise<AlpacaAuthMode>) {
    this.#ctx = ctx;
    this.#auth = auth;
    this.#base = ctx.endpoints.apiBaseUrl.replace(/\/+$/, '');
  }

  request<T>(req: AlpacaRequest<T>): Promise<T> {
    return this.#ctx.policy.call(req.operation, req.kind, async (signal) => {
      const res = await sendRefreshingOn401((force) => this.#send(req, signal, force), this.#auth);
      return this.#read(req, res);
    });
  }

  async #headers(forceRefresh: boolean): Promise<Record<string, string>> {
    if ((await this.#auth()) === 'oauth')
      return { authorization: `Bearer ${await oauthToken(this.#ctx.credentials, forceRefresh)}` };
    const k = await this.#ctx.credentials.apiKey();
    return { 'APCA-API-KEY-ID': k.apiKey, 'APCA-API-SECRET-KEY': k.apiSecret };
  }

  async #send(req: AlpacaRequest<unknown>, signal: AbortSignal, forceRefresh: boolean): Promise<Response> {
    const url = new URL(`${this.#base}${req.path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    return sendJson(url, req.method, await this.#headers(forceRefresh), req.body, signal);
  }

  async #read<T>(req: AlpacaRequest<T>, res: Response): Promise<T> {
    const text = await res.text();
    return readAnswer({
      broker: BROKER,
      operation: req.operation,
      call: `${req.method} ${req.path}`,
      httpStatus: res.status,
      shape: "Alpaca's documented shape",
      text,
      schema: req.schema,
      ok: res.ok,
      httpError: () => this.#httpError(req.operation, res, text),
    });
  }

  #httpError(operation: string, res: Response, text: string): BrokerError {
    // Not JSON (a proxy's error page): the status says enough.
    const body = alpacaErrorBody.safeParse(jsonOrNull(text));
    const { base, message, context } = httpFailureOf({
      broker: BROKER,
      operation,
      res,
      ...(body.success && { said: { brokerCode: body.data.code, message: body.data.message } }),
      retryAfterS: retryAfterSeconds(res.headers),
    });
    // Alpaca answers 403 both for refused credentials and for an order it refuses (buying power,
    // shares not available, a blocked account): only the former needs relinking.
    if (res.status === 403 && !/not authorized|forbidden|unauthori[sz]ed|access denied/i.test(message))
      return new BrokerError(BrokerErrorCode.REJECTED, base.message, { operation, broker: BROKER, context });
    // 422: Alpaca validates the request (bad quantity, a price on a market order, a duplicate
    // client_order_id): the request is invalid, not the broker unhealthy.
    if (res.status === 422)
      return new BrokerError(BrokerErrorCode.INVALID_REQUEST, base.message, {
        operation,
        broker: BROKER,
        context,
      });
    return brokerHttpError(base, operation, BROKER, context);
  }
}

/** BROKER_PROTOCOL with this broker's name. */
export const protocolError = protocolErrorFor(BROKER);

/** Retry-After (seconds or an HTTP date), else Alpaca's X-RateLimit-Reset (epoch seconds). */
function retryAfterSeconds(h: Headers): number | null {
  const ra = retryAfterHeader(h.get('retry-after'));
  if (ra !== null) return ra;
  const reset = Number(h.get('x-ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, Math.ceil(reset - Date.now() / 1000));
  return null;
}
