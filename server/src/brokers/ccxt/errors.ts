import {
  AuthenticationError,
  BadRequest,
  BadResponse,
  BaseError,
  DDoSProtection,
  DuplicateOrderId,
  ExchangeNotAvailable,
  InsufficientFunds,
  InvalidNonce,
  InvalidOrder,
  NetworkError,
  NotSupported,
  OperationFailed,
  OperationRejected,
  OrderNotFound,
  RateLimitExceeded,
  RequestTimeout,
} from 'ccxt';
import { BrokerError, BrokerErrorCode } from '../types.ts';

/**
 * CCXT error classes → the structured BrokerError. CCXT raises one class hierarchy for every
 * venue (ccxt/js/src/base/errorHierarchy.js) from each venue's own codes, so subclasses are
 * tested before their parents: OrderNotFound before InvalidOrder; RateLimitExceeded,
 * DDoSProtection and RequestTimeout before NetworkError, and that before OperationFailed.
 * `venueBody`: the venue's last JSON error body, when CCXT kept it, for its own error code.
 */
export function brokerErrorFromCcxt(
  err: unknown,
  broker: string,
  operation: string,
  venueBody?: unknown,
): BrokerError {
  if (err instanceof BrokerError) return err;
  if (!(err instanceof BaseError)) {
    return new BrokerError(
      BrokerErrorCode.UNAVAILABLE,
      `${broker} ${operation} failed: ${redact(err instanceof Error ? err.message : String(err))}`,
      { broker, operation, cause: err },
    );
  }
  const message = redact(err.message);
  const context: Record<string, unknown> = { ccxtError: err.constructor.name };
  const venue = venueCode(message) ?? bodyCode(venueBody, message);
  if (venue !== null) context.brokerCode = venue;
  const make = (code: BrokerErrorCode, retryable?: boolean) =>
    new BrokerError(code, message, {
      broker,
      operation,
      context,
      cause: err,
      ...(retryable !== undefined && { retryable }),
    });

  if (err instanceof OrderNotFound) return make(BrokerErrorCode.NOT_FOUND);
  if (err instanceof DuplicateOrderId) return make(BrokerErrorCode.REJECTED);
  if (err instanceof InsufficientFunds || err instanceof InvalidOrder) return make(BrokerErrorCode.REJECTED);
  if (err instanceof AuthenticationError) return make(BrokerErrorCode.AUTH);
  if (err instanceof BadRequest || err instanceof NotSupported) return make(BrokerErrorCode.INVALID_REQUEST);
  if (err instanceof OperationRejected) return make(BrokerErrorCode.REJECTED);
  // DDoSProtection: Binance's 418 (IP banned after ignoring 429s), Cloudflare challenges.
  if (err instanceof RateLimitExceeded || err instanceof DDoSProtection)
    return make(BrokerErrorCode.RATE_LIMITED);
  if (err instanceof RequestTimeout) return make(BrokerErrorCode.TIMEOUT);
  // A clock skew beyond the venue's receive window: the next call (with a fresh nonce) may pass.
  if (err instanceof InvalidNonce) return make(BrokerErrorCode.UNAVAILABLE);
  if (err instanceof ExchangeNotAvailable || err instanceof NetworkError)
    return make(BrokerErrorCode.UNAVAILABLE);
  if (err instanceof BadResponse) return make(BrokerErrorCode.PROTOCOL);
  // The venue's own "internal error, try again" (Binance -1000/-1001): the outcome is unknown.
  if (err instanceof OperationFailed) return make(BrokerErrorCode.UNAVAILABLE);
  // Any other ExchangeError: the venue refused the request with a code CCXT does not classify.
  return make(BrokerErrorCode.INVALID_REQUEST);
}

/** True when the venue said the client order id is already taken (a retried placement). */
export function isDuplicateClientId(err: BrokerError): boolean {
  const cause = err.cause;
  if (cause instanceof DuplicateOrderId) return true;
  // Binance "Duplicate order sent." (-2010), OKX "Duplicated clOrdId" (51016), and the like.
  return /duplicate order|duplicated? cl(ient)?_?ord(er)?_?id|clientorderid.*(exist|duplicate)|duplicate.*client/i.test(
    err.message,
  );
}

/**
 * CCXT puts the request URL (with its signed query string) and the response body in messages:
 * the query string goes (a signature is no secret, but it has no place in logs either).
 */
function redact(message: string): string {
  return message.replace(/(https?:\/\/[^\s?]+)\?\S*/g, '$1').slice(0, 500);
}

/**
 * The code of the venue's last JSON body, only when that body's message is the one in the error
 * (CCXT keeps the last response per exchange object: another call may have replaced it).
 */
function bodyCode(body: unknown, message: string): string | number | null {
  if (!body || typeof body !== 'object') return null;
  const { code, msg } = body as { code?: unknown; msg?: unknown };
  if (typeof msg !== 'string' || msg === '' || !message.includes(msg)) return null;
  return typeof code === 'number' || typeof code === 'string' ? code : null;
}

/** The venue's own error code from a JSON body in the message (`{"code":-2010,…}`). */
function venueCode(message: string): string | number | null {
  // A per-order code (OKX `sCode`) says more than the envelope's generic one.
  const m = /"sCode"\s*:\s*"?(-?[\w.]+)"?/.exec(message) ?? /"code"\s*:\s*"?(-?[\w.]+)"?/.exec(message);
  if (!m?.[1]) return null;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : m[1];
}
