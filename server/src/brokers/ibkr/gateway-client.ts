import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { z } from 'zod';
import type { ConnectionContext } from '../connection.ts';
import { brokerHttpError, jsonOrNull, protocolErrorFor, readAnswer } from '../http-answers.ts';
import { brokerErrorFromHttp, type CallKind } from '../resilience.ts';
import { BrokerError, BrokerErrorCode } from '../types.ts';
import { gatewayError } from './schemas.ts';

/**
 * HTTP to the Client Portal gateway (`ctx.endpoints.apiBaseUrl`, e.g. https://localhost:5000/v1/api;
 * the gateway's bare address means its `/v1/api`).
 * The gateway holds the brokerage session itself (the user logged in through its web page), so
 * requests carry no credentials; what they need is a live session, and a lapsed one answers 401.
 *
 * node:http / node:https rather than fetch: the gateway ships a self-signed certificate and
 * trusting it must be a per-connection decision (an https.Agent with the gateway's own CA, or
 * with verification off for a loopback gateway only), never a process-wide
 * NODE_TLS_REJECT_UNAUTHORIZED.
 */
export const BROKER = 'ibkr';

export interface GatewayTlsOptions {
  /** PEM of the gateway's certificate (or its CA): verified against it. Preferred. */
  readonly ca?: string;
  /**
   * Accept the gateway's self-signed certificate without verifying it. Honoured only for a
   * loopback host (localhost, 127.0.0.0/8, ::1): the traffic never leaves the machine.
   */
  readonly allowSelfSignedLoopback?: boolean;
}

export interface GatewayRequest<T> {
  readonly operation: string;
  readonly kind: CallKind;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | undefined>;
  readonly body?: unknown;
  readonly schema: z.ZodType<T>;
}

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** Called when the gateway says the session is gone (401): the session keeper marks it lapsed. */
export type LapseListener = (reason: string) => void;

export class GatewayClient {
  readonly #ctx: ConnectionContext;
  readonly #base: URL;
  readonly #agent: HttpsAgent | undefined;
  readonly #onLapse: LapseListener;
  readonly #onAccountsStale: () => void;

  constructor(
    ctx: ConnectionContext,
    tls: GatewayTlsOptions,
    onLapse: LapseListener,
    onAccountsStale: () => void,
  ) {
    this.#ctx = ctx;
    this.#onAccountsStale = onAccountsStale;
    const base = new URL(ctx.endpoints.apiBaseUrl.replace(/\/+$/, ''));
    // The gateway's own address (https://localhost:5000) is accepted for its API base.
    if (base.pathname === '/' || base.pathname === '') base.pathname = '/v1/api';
    this.#base = base;
    this.#onLapse = onLapse;
    if (this.#base.protocol === 'https:') {
      const loopback = isLoopback(this.#base.hostname);
      if (tls.allowSelfSignedLoopback && !tls.ca && !loopback)
        throw new BrokerError(
          BrokerErrorCode.INVALID_REQUEST,
          `ibkr: unverified TLS is only allowed for a loopback gateway, not ${this.#base.hostname}`,
          { operation: 'connect', broker: BROKER, retryable: false },
        );
      this.#agent = new HttpsAgent({
        keepAlive: true,
        ...(tls.ca && { ca: tls.ca }),
        // Only a loopback gateway's own self-signed certificate: see GatewayTlsOptions.
        ...(tls.allowSelfSignedLoopback && !tls.ca && loopback && { rejectUnauthorized: false }),
      });
    }
  }

  /** One gateway call through the connection's policy; the body parsed with `schema`. */
  request<T>(req: GatewayRequest<T>): Promise<T> {
    return this.#ctx.policy.call(req.operation, req.kind, async (signal) => {
      const res = await this.#send(req, signal);
      return this.#read(req, res);
    });
  }

  close(): void {
    this.#agent?.destroy();
  }

  #send(req: GatewayRequest<unknown>, signal: AbortSignal): Promise<RawResponse> {
    const url = new URL(`${this.#base.href}${req.path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      // The gateway refuses requests without a User-Agent (403 from its proxy).
      'user-agent': 'aegis-ibkr/1',
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<RawResponse>((resolve, reject) => {
      const r = send(
        url,
        { method: req.method, headers, signal, ...(this.#agent && { agent: this.#agent }) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      if (body !== undefined) r.write(body);
      r.end();
    });
  }

  #read<T>(req: GatewayRequest<T>, res: RawResponse): T {
    if (res.status === 401) {
      this.#onLapse(`${req.method} ${req.path}: 401`);
      throw reauthRequired(req.operation, { httpStatus: 401 });
    }
    return readAnswer({
      broker: BROKER,
      operation: req.operation,
      call: `${req.method} ${req.path}`,
      httpStatus: res.status,
      shape: 'the documented shape',
      text: res.text,
      schema: req.schema,
      ok: res.status < 400,
      emptyIsNull: true,
      httpError: () => this.#httpError(req.operation, res, jsonOrNull(res.text)),
    });
  }

  #httpError(operation: string, res: RawResponse, json: unknown): BrokerError {
    const body = gatewayError.safeParse(json);
    const brokerMessage = body.success ? body.data.error : null;
    const retryAfter = Number(res.headers['retry-after']);
    const base = brokerErrorFromHttp(res.status, `ibkr: ${brokerMessage ?? `HTTP ${res.status}`}`, {
      operation,
      broker: BROKER,
      retryAfterS: Number.isFinite(retryAfter) ? retryAfter : null,
    });
    const context = { ...base.context, ...(brokerMessage && { brokerMessage }) };
    // A gateway that restarted its brokerage session (a re-login we did not see lapse) wants
    // /iserver/accounts read again before order calls: the session reads it before the next call.
    if (res.status === 400 && brokerMessage && /query \/?(iserver\/)?accounts/i.test(brokerMessage)) {
      this.#onAccountsStale();
      return new BrokerError(BrokerErrorCode.UNAVAILABLE, base.message, {
        operation,
        broker: BROKER,
        context,
      });
    }
    return brokerHttpError(base, operation, BROKER, context);
  }
}

export function reauthRequired(operation: string, context: Record<string, unknown> = {}): BrokerError {
  return new BrokerError(
    BrokerErrorCode.REAUTH_REQUIRED,
    'ibkr: the gateway session is not authenticated: log in again at the Client Portal gateway',
    { operation, broker: BROKER, retryable: false, context },
  );
}

/** BROKER_PROTOCOL with this broker's name. */
export const protocolError = protocolErrorFor(BROKER);

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
