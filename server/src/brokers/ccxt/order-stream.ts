import type { Exchange, Order } from 'ccxt';
import type { ConnectionContext } from '../connection.ts';
import type { ExecutionReport, ExecutionReportListener } from '../types.ts';
import { BrokerError } from '../types.ts';
import { brokerErrorFromCcxt } from './errors.ts';
import { buildExchange } from './venue.ts';

/**
 * Delivers an adapter's execution reports. A venue keeps orders and trades, so delivery is a
 * poll of every order still working (its reports rebuilt, the new ones emitted once per
 * execution id), on a fixed interval and at once after a placement or a cancel (`wake`).
 *
 * Where CCXT Pro has `watchOrders` for the venue, a WebSocket loop wakes the poller for each
 * order update, so reports arrive as the venue pushes them; the poll stays as the backstop.
 * Either way a failure marks the stream down; the first success after it calls the
 * `onReconnect` listeners (the dispatcher then reconciles: missed reports are re-fetched by
 * client order id).
 */
export interface OrderStreamOptions {
  readonly ctx: ConnectionContext;
  readonly exchangeId: string;
  readonly pollIntervalMs: number;
  readonly useWebSocket: boolean;
  readonly requestTimeoutMs: number;
  /** Client order ids still to be polled. */
  readonly pending: () => string[];
  /** The order's reports so far; `complete` once nothing more can happen to it. */
  readonly collect: (
    clientOrderId: string,
  ) => Promise<{ reports: ExecutionReport[]; complete: boolean } | null>;
  /** Every report of the order was delivered. */
  readonly settle: (clientOrderId: string) => void;
}

const SETTLED_KEPT = 10_000;

/** Execution ids delivered, kept per order until it settles (then its ids can never recur). */
type Delivered = Map<string, Set<string>>;

export class OrderStream {
  readonly #o: OrderStreamOptions;
  readonly #listeners = new Set<ExecutionReportListener>();
  readonly #reconnectListeners = new Set<() => void>();
  readonly #delivered: Delivered = new Map();
  /**
   * Orders whose every report was delivered (most recent last, capped): a poll of one that was
   * already in flight when it settled must not deliver its reports again.
   */
  readonly #settled = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #started = false;
  #closed = false;
  #down = false;
  #ws: Exchange | null = null;

  constructor(o: OrderStreamOptions) {
    this.#o = o;
  }

  onReport(listener: ExecutionReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  /** Idempotent. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#schedule();
    if (this.#o.useWebSocket) void this.#watchLoop();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#listeners.clear();
    this.#reconnectListeners.clear();
    void this.#ws?.close().catch(() => undefined);
  }

  /** Polls one order now (after a placement or a cancel), outside the interval. */
  wake(clientOrderId: string): void {
    if (this.#closed) return;
    void this.#pollOne(clientOrderId).catch((err: unknown) => this.#failed(err));
  }

  /** Delivers one report, once per execution id. */
  emit(report: ExecutionReport): void {
    let seen = this.#delivered.get(report.clientOrderId);
    if (!seen) {
      seen = new Set();
      this.#delivered.set(report.clientOrderId, seen);
    }
    if (seen.has(report.executionId)) return;
    seen.add(report.executionId);
    for (const l of this.#listeners) {
      try {
        l(report);
      } catch (err) {
        // A listener's failure must not stop delivery to the others; it logs its own errors.
        this.#o.ctx.log.warn({ err }, 'execution report listener failed');
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    // One poll at a time: the next is scheduled when this one ends.
    this.#timer = setTimeout(() => {
      void this.#pollAll().finally(() => this.#schedule());
    }, this.#o.pollIntervalMs);
    this.#timer.unref?.();
  }

  async #pollAll(): Promise<void> {
    const ids = this.#o.pending();
    try {
      for (const id of ids) {
        if (this.#closed) return;
        await this.#pollOne(id);
      }
      // Up again only on evidence: at least one call went through.
      if (ids.length > 0) this.#recovered();
    } catch (err) {
      this.#failed(err);
    }
  }

  async #pollOne(clientOrderId: string): Promise<void> {
    const got = await this.#o.collect(clientOrderId);
    if (!got || this.#closed) return;
    // Delivered only while someone listens: an unheard report is not marked delivered, so the
    // first listener still gets the order's history.
    if (this.#listeners.size === 0 || this.#settled.has(clientOrderId)) return;
    for (const r of got.reports) this.emit(r);
    if (got.complete) {
      this.#o.settle(clientOrderId);
      this.#delivered.delete(clientOrderId);
      this.#settled.add(clientOrderId);
      if (this.#settled.size > SETTLED_KEPT) {
        const oldest = this.#settled.values().next().value;
        if (oldest !== undefined) this.#settled.delete(oldest);
      }
    }
  }

  #failed(err: unknown): void {
    if (this.#closed) return;
    const be =
      err instanceof BrokerError ? err : brokerErrorFromCcxt(err, this.#o.ctx.provider, 'orderStream');
    if (!this.#down)
      this.#o.ctx.log.warn(
        { code: be.brokerCode, broker: be.broker, reason: be.message },
        'order report stream down',
      );
    this.#down = true;
  }

  #recovered(): void {
    if (!this.#down || this.#closed) return;
    this.#down = false;
    this.#o.ctx.log.info({ broker: this.#o.ctx.provider }, 'order report stream reconnected');
    for (const l of this.#reconnectListeners) {
      try {
        l();
      } catch (err) {
        this.#o.ctx.log.warn({ err }, 'reconnect listener failed');
      }
    }
  }

  /**
   * CCXT Pro: each order update wakes the poller for that order, so one code path (reports.ts)
   * builds every report. A dropped socket is reopened by the next watchOrders call, after a
   * backoff. Watching is a stream, not a call: it is not run under the call policy's timeout.
   */
  async #watchLoop(): Promise<void> {
    const initialBackoffMs = Math.min(this.#o.pollIntervalMs, 500);
    let backoffMs = initialBackoffMs;
    while (!this.#closed) {
      try {
        if (!this.#ws) {
          this.#ws = await buildExchange(
            this.#o.ctx,
            this.#o.exchangeId,
            { timeoutMs: this.#o.requestTimeoutMs },
            true,
          );
          const ws = this.#ws;
          await this.#o.ctx.policy.call('loadMarkets', 'read', async () => {
            try {
              await ws.loadMarkets();
            } catch (err) {
              throw brokerErrorFromCcxt(err, this.#o.ctx.provider, 'loadMarkets');
            }
          });
        }
        const orders: Order[] = await this.#ws.watchOrders();
        backoffMs = initialBackoffMs;
        this.#recovered();
        for (const o of orders) if (o.clientOrderId) this.wake(o.clientOrderId);
      } catch (err) {
        if (this.#closed) return;
        this.#failed(err);
        await new Promise((resolve) => setTimeout(resolve, backoffMs).unref?.());
        backoffMs = Math.min(backoffMs * 2, 60_000);
      }
    }
  }
}
