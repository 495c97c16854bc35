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
import type { BrokerError } from '../types.ts';
import { buildCdpJwt, type CdpKey, jwtUri, loadCdpKey } from './cdp-jwt.ts';
import { coinbaseErrorBody } from './schemas.ts';

/**
 * A typed client for the Advanced Trade REST API (`/api/v3/brokerage/…`) over fetch. Every call
 * goes through the connection's call policy (timeout with an AbortSignal, read retries, circuit
 * breaker); every body is parsed with its zod schema (BROKER_PROTOCOL on mismatch); every HTTP
 * failure becomes a BrokerError carrying Coinbase's own error word and message.
 *
 * Auth, by the link's kind:
 * - `api_key` (CDP key: `apiKey` = key name `organizations/{org}/apiKeys/{id}`, `apiSecret` =
 *   its private key): `Authorization: Bearer <JWT>` with a fresh ES256/EdDSA JWT per request
 *   whose `uri` claim names this request (cdp-jwt.ts).
 * - `oauth` (Coinbase OAuth2 app): `Authorization: Bearer <access token>`; on a 401 one forced
 *   refresh and one retry (another process may have rotated it); a second 401 is BROKER_AUTH.
 * Secrets never reach logs or errors.
 */
export type CoinbaseAuthMode = CredentialKind;

export const BROKER = 'coinbase';

export interface CoinbaseRequest<T> {
  readonly operation: string;
  readonly kind: CallKind;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Arrays are sent as repeated keys (`order_ids=a&order_ids=b`), as the SDK sends them. */
  readonly query?: Record<string, string | readonly string[] | undefined>;
  readonly body?: unknown;
  readonly schema: z.ZodType<T>;
  /**
   * Non-2xx statuses whose body is still a documented answer of this endpoint (Create Order
   * answers a refused order with `success: false` and may do so with a 400).
   */
  readonly bodyOnStatuses?: readonly number[];
}

export class CoinbaseRestClient {
  readonly #ctx: ConnectionContext;
  readonly #auth: () => Promise<CoinbaseAuthMode>;
  readonly #base: string;
  #key: { name: string; secret: string; key: CdpKey } | null = null;

  constructor(ctx: ConnectionContext, auth: () => Promise<CoinbaseAuthMode>) {
    this.#ctx = ctx;
    this.#auth = auth;
    this.#base = ctx.endpoints.apiBaseUrl.replace(/\/+$/, '');
  }

  request<T>(req: CoinbaseRequest<T>): Promise<T> {
    return this.#ctx.policy.call(req.operation, req.kind, async (signal) => {
      const res = await sendRefreshingOn401((force) => this.#send(req, signal, force), this.#auth);
      return this.#read(req, res);
    });
  }

  /** A JWT for the user channel's subscribe message (no `uri` claim). */
  async websocketJwt(): Promise<string> {
    return buildCdpJwt(await this.#cdpKey(), this.#now());
  }

  async #cdpKey(): Promise<CdpKey> {
    const k = await this.#ctx.credentials.apiKey();
    // Parsed once per key material (a relinked key replaces it).
    if (!this.#key || this.#key.name !== k.apiKey || this.#key.secret !== k.apiSecret)
      this.#key = { name: k.apiKey, secret: k.apiSecret, key: loadCdpKey(k.apiKey, k.apiSecret) };
    return this.#key.key;
  }

  async #authorization(method: string, url: URL, forceRefresh: boolean): Promise<string> {
    if ((await this.#auth()) === 'oauth')
      return `Bearer ${await oauthToken(this.#ctx.credentials, forceRefresh)}`;
    return `Bearer ${buildCdpJwt(await this.#cdpKey(), this.#now(), jwtUri(method, url))}`;
  }

  async #send(req: CoinbaseRequest<unknown>, signal: AbortSignal, forceRefresh: boolean): Promise<Response> {
    const url = new URL(`${this.#base}${req.path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v === undefined) continue;
      if (typeof v === 'string') url.searchParams.set(k, v);
      else for (const item of v) url.searchParams.append(k, item);
    }
    const authorization = await this.#authorization(req.method, url, forceRefresh);
    return sendJson(url, req.method, { authorization }, req.body, signal);
  }

  async #read<T>(req: CoinbaseRequest<T>, res: Response): Promise<T> {
    const text = await res.text();
    return readAnswer({
      broker: BROKER,
      operation: req.operation,
      call: `${req.method} ${req.path}`,
      httpStatus: res.status,
      shape: "Coinbase's documented shape",
      text,
      schema: req.schema,
      ok: res.ok,
      // A listed non-2xx status whose body is not the documented answer is an HTTP failure.
      bodyOnFailure: req.bodyOnStatuses?.includes(res.status) ?? false,
      httpError: () => this.#httpError(req.operation, res, text),
    });
  }

  #httpError(operation: string, res: Response, text: string): BrokerError {
    // Not JSON (a proxy's error page): the status says enough.
    const body = coinbaseErrorBody.safeParse(jsonOrNull(text));
    const { base, context } = httpFailureOf({
      broker: BROKER,
      operation,
      res,
      ...(body.success && {
        said: {
          brokerCode: body.data.error ?? (body.data.code !== undefined ? String(body.data.code) : undefined),
          message: body.data.message || body.data.error_details,
        },
      }),
      retryAfterS: retryAfterHeader(res.headers.get('retry-after')),
    });
    return brokerHttpError(base, operation, BROKER, context);
  }

  #now(): number {
    return (this.#ctx.clock?.() ?? new Date()).getTime();
  }
}

/** BROKER_PROTOCOL with this broker's name. */
export const protocolError = protocolErrorFor(BROKER);
