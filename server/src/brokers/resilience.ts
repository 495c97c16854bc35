import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { BrokerError, BrokerErrorCode } from './types.ts';

/**
 * How every live adapter calls its broker (cockatiel policies): a short timeout per call, bounded
 * jittered retries for retryable *reads* only (order placement and cancels are never retried
 * here: the outbox looks an order up by client order id before it sends it again), and one
 * circuit breaker per connection. When the breaker opens, `onOpen` is called (the execution
 * dispatcher moves the desk to reducing-only) and calls fail fast with BROKER_CIRCUIT_OPEN until a
 * probe succeeds after `halfOpenAfterMs`.
 */
export interface BrokerCallOptions {
  /** Adapter name for errors (`alpaca`, `ccxt:binance`). */
  readonly broker: string;
  /** Per call. Default 5 s. */
  readonly timeoutMs?: number;
  /** Attempts for a retryable read, the first included. Default 3. */
  readonly readAttempts?: number;
  /** Consecutive failed calls that open the breaker. Default 5. */
  readonly breakAfter?: number;
  /** Default 30 s. */
  readonly halfOpenAfterMs?: number;
  /** Initial retry delay (jittered exponential). Default 100 ms. */
  readonly retryInitialDelayMs?: number;
  readonly onOpen?: (error: BrokerError) => void;
  readonly onClose?: () => void;
  /** Every call's final failure (after retries), e.g. to mark a connection needing re-auth. */
  readonly onError?: (error: BrokerError) => void;
}

export type CallKind = 'read' | 'write';

export class BrokerCallPolicy {
  readonly broker: string;
  readonly #breaker: CircuitBreakerPolicy;
  readonly #read;
  readonly #write;
  readonly #onError: ((error: BrokerError) => void) | undefined;
  #lastError: BrokerError | null = null;

  constructor(opts: BrokerCallOptions) {
    this.broker = opts.broker;
    this.#onError = opts.onError;
    // Only failures that say something about the broker's health count towards the breaker: a
    // rejected order or a 404 is the broker working as documented.
    // A timeout leaves the timeout policy as TaskCancelledError (it wraps the call, not `fn`).
    this.#breaker = circuitBreaker(
      handleWhen(
        (e) => e instanceof TaskCancelledError || (e instanceof BrokerError && countsAgainstHealth(e)),
      ),
      {
        halfOpenAfter: opts.halfOpenAfterMs ?? 30_000,
        breaker: new ConsecutiveBreaker(opts.breakAfter ?? 5),
      },
    );
    this.#breaker.onBreak(() => {
      const err =
        this.#lastError ??
        new BrokerError(BrokerErrorCode.UNAVAILABLE, 'broker unavailable', { broker: this.broker });
      opts.onOpen?.(err);
    });
    this.#breaker.onReset(() => opts.onClose?.());
    const timeoutPolicy = timeout(opts.timeoutMs ?? 5_000, TimeoutStrategy.Aggressive);
    const retryPolicy = retry(
      handleWhen(
        (e) =>
          e instanceof TaskCancelledError ||
          (e instanceof BrokerError && e.retryable && e.brokerCode !== BrokerErrorCode.CIRCUIT_OPEN),
      ),
      {
        maxAttempts: Math.max(0, (opts.readAttempts ?? 3) - 1),
        backoff: new ExponentialBackoff({ initialDelay: opts.retryInitialDelayMs ?? 100, maxDelay: 2_000 }),
      },
    );
    this.#write = wrap(this.#breaker, timeoutPolicy);
    this.#read = wrap(retryPolicy, this.#breaker, timeoutPolicy);
  }

  get open(): boolean {
    return this.#breaker.state === CircuitState.Open || this.#breaker.state === CircuitState.Isolated;
  }

  /**
   * Runs one broker call. `fn` gets an AbortSignal (aborted on timeout); every failure leaves
   * as a BrokerError naming `operation`.
   */
  async call<T>(operation: string, kind: CallKind, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const policy = kind === 'read' ? this.#read : this.#write;
    try {
      return await policy.execute(async ({ signal }) => {
        try {
          return await fn(signal);
        } catch (err) {
          const be = this.#toBrokerError(operation, err, signal);
          this.#lastError = be;
          throw be;
        }
      });
    } catch (err) {
      const be = this.#toBrokerError(operation, err, null);
      try {
        this.#onError?.(be);
      } catch {
        // A hook's failure must not replace the broker's error.
      }
      throw be;
    }
  }

  #toBrokerError(operation: string, err: unknown, signal: AbortSignal | null): BrokerError {
    if (err instanceof BrokerError) {
      return err.operation === 'unknown' || err.broker === 'unknown'
        ? new BrokerError(err.brokerCode, err.message, {
            operation: err.operation === 'unknown' ? operation : err.operation,
            broker: err.broker === 'unknown' ? this.broker : err.broker,
            retryable: err.retryable,
            context: err.context,
            cause: err.cause,
          })
        : err;
    }
    if (err instanceof BrokenCircuitError)
      return new BrokerError(BrokerErrorCode.CIRCUIT_OPEN, `${this.broker} circuit open: calls suspended`, {
        operation,
        broker: this.broker,
        context: this.#lastError ? { lastCode: this.#lastError.code } : {},
      });
    if (err instanceof TaskCancelledError || signal?.aborted)
      return new BrokerError(BrokerErrorCode.TIMEOUT, `${this.broker} ${operation} timed out`, {
        operation,
        broker: this.broker,
      });
    return new BrokerError(
      BrokerErrorCode.UNAVAILABLE,
      `${this.broker} ${operation} failed: ${err instanceof Error ? err.message : String(err)}`,
      { operation, broker: this.broker, cause: err },
    );
  }
}

/** Timeouts, outages and rate limits count against a broker's health; refusals do not. */
function countsAgainstHealth(e: BrokerError): boolean {
  return (
    e.brokerCode === BrokerErrorCode.TIMEOUT ||
    e.brokerCode === BrokerErrorCode.UNAVAILABLE ||
    e.brokerCode === BrokerErrorCode.RATE_LIMITED ||
    e.brokerCode === BrokerErrorCode.PROTOCOL
  );
}

/**
 * Maps an HTTP response status to the structured error (adapters add the broker's own code and
 * message from its documented error body). `retryAfterS` from a Retry-After header when present.
 */
export function brokerErrorFromHttp(
  status: number,
  message: string,
  init: { operation: string; broker: string; brokerCode?: string | number; retryAfterS?: number | null },
): BrokerError {
  const context: Record<string, unknown> = { httpStatus: status };
  if (init.brokerCode !== undefined) context.brokerCode = init.brokerCode;
  if (init.retryAfterS != null) context.retryAfterS = init.retryAfterS;
  const code =
    status === 429
      ? BrokerErrorCode.RATE_LIMITED
      : status === 401 || status === 403
        ? BrokerErrorCode.AUTH
        : status === 404
          ? BrokerErrorCode.NOT_FOUND
          : status === 408 || status === 502 || status === 503 || status === 504 || status >= 500
            ? BrokerErrorCode.UNAVAILABLE
            : status === 422
              ? BrokerErrorCode.REJECTED
              : BrokerErrorCode.INVALID_REQUEST;
  return new BrokerError(code, message, { operation: init.operation, broker: init.broker, context });
}
