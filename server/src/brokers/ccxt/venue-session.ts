import type { Exchange } from 'ccxt';
import type { ConnectionContext } from '../connection.ts';
import type { CallKind } from '../resilience.ts';
import { BrokerError, BrokerErrorCode } from '../types.ts';
import { brokerErrorFromCcxt } from './errors.ts';
import { buildExchange } from './venue.ts';

/**
 * One connection's CCXT exchange object and every call made with it. The object is built on
 * first use (credentials are fetched then) with its markets loaded; a failed build or load is
 * tried again by the next call. Every call runs under the connection's call policy and leaves
 * as a BrokerError, with the venue's Retry-After when it sent one.
 */
const MARKETS_TIMEOUT_MS = 30_000;

export class VenueSession {
  readonly #ctx: ConnectionContext;
  readonly #id: string;
  readonly #timeoutMs: number;
  #exchange: Promise<Exchange> | null = null;

  constructor(ctx: ConnectionContext, exchangeId: string, requestTimeoutMs: number) {
    this.#ctx = ctx;
    this.#id = exchangeId;
    this.#timeoutMs = requestTimeoutMs;
  }

  get broker(): string {
    return this.#ctx.provider;
  }

  /** The exchange object with its markets loaded. */
  venue(): Promise<Exchange> {
    if (!this.#exchange) {
      this.#exchange = (async () => {
        const ex = await buildExchange(this.#ctx, this.#id, { timeoutMs: this.#timeoutMs });
        // A venue's market list is its largest answer (Binance's exchangeInfo runs to megabytes):
        // it gets its own timeout. Loaded by connect(), or by the first call, whose policy
        // timeout may give up waiting while the load goes on and serves the next call.
        ex.timeout = Math.max(this.#timeoutMs, MARKETS_TIMEOUT_MS);
        try {
          await ex.loadMarkets();
        } catch (err) {
          throw brokerErrorFromCcxt(err, this.broker, 'loadMarkets');
        } finally {
          ex.timeout = this.#timeoutMs;
        }
        return ex;
      })();
      this.#exchange.catch(() => {
        this.#exchange = null;
      });
    }
    return this.#exchange;
  }

  call<T>(operation: string, kind: CallKind, fn: (ex: Exchange) => Promise<T>): Promise<T> {
    return this.#ctx.policy.call(operation, kind, async () => {
      const ex = await this.venue();
      try {
        return await fn(ex);
      } catch (err) {
        const be = brokerErrorFromCcxt(err, this.broker, operation, ex.last_json_response);
        const retryAfter = Number(
          (ex.last_response_headers as Record<string, string> | undefined)?.['Retry-After'],
        );
        if (be.brokerCode !== BrokerErrorCode.RATE_LIMITED || !Number.isFinite(retryAfter)) throw be;
        // The venue's Retry-After (CCXT keeps the last response's headers): when to call again.
        throw new BrokerError(be.brokerCode, be.message, {
          broker: be.broker,
          operation: be.operation,
          context: { ...be.context, retryAfterS: retryAfter },
          cause: be.cause,
        });
      }
    });
  }

  close(): void {
    void this.#exchange?.then((ex) => ex.close?.()).catch(() => undefined);
  }
}
