import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { type ConnectionContext, oauthToken } from '../connection.ts';
import {
  BrokerError,
  BrokerErrorCode,
  type ExecutionReport,
  type ExecutionReportListener,
} from '../types.ts';
import type { AlpacaAdapterOptions } from './adapter.ts';
import { type KnownIds, type LegIds, registerTree, replayTree } from './order-history.ts';
import type { AlpacaOrderLookup } from './order-lookup.ts';
import type { ReportBook } from './report-book.ts';
import { type AlpacaAuthMode, BROKER } from './rest-client.ts';
import type { AlpacaOrder, AlpacaTradeUpdate } from './schemas.ts';
import { TradeStream } from './trade-stream.ts';

/**
 * The report side of the Alpaca adapter: the `trade_updates` stream, FILL-activity polling
 * while the stream is down (or not configured), catch-up after a reconnect (then the
 * `onReconnect` listeners, so the dispatcher reconciles), adoption of orders the stream
 * mentions that this process did not place, and delivery: each execution id once.
 */
export interface ReportFeedDeps {
  readonly ctx: ConnectionContext;
  readonly opts: AlpacaAdapterOptions;
  readonly book: ReportBook;
  readonly lookup: AlpacaOrderLookup;
  readonly legIds: LegIds;
  readonly known: KnownIds;
  readonly auth: () => Promise<AlpacaAuthMode>;
}

const MAX_EMITTED_IDS = 50_000;

/** How long a multi-leg event waits for its order's placement to register the legs. */
const MLEG_HOLD_MS = 10_000;

export class AlpacaReportFeed {
  readonly #d: ReportFeedDeps;
  readonly #listeners = new Set<ExecutionReportListener>();
  readonly #reconnectListeners = new Set<() => void>();
  /** Execution ids already delivered (insertion-ordered: the oldest are dropped first). */
  readonly #emitted = new Set<string>();
  /** Stream events of an order being adopted (unknown to the book), applied once it is known. */
  readonly #adopting = new Map<string, AlpacaTradeUpdate[]>();
  #stream: TradeStream | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #pollCursor: string;
  /** The poll in flight: a catch-up after a reconnect waits for it rather than skipping. */
  #polling: Promise<void> | null = null;
  #closed = false;

  constructor(deps: ReportFeedDeps) {
    this.#d = deps;
    this.#pollCursor = (deps.ctx.clock?.() ?? new Date()).toISOString();
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  async connect(): Promise<void> {
    if (this.#closed)
      throw new BrokerError(BrokerErrorCode.UNAVAILABLE, 'alpaca adapter closed', { broker: BROKER });
    this.#startPolling();
    const url = this.#d.ctx.endpoints.streamUrl;
    if (!url) return; // no stream configured: polling alone
    this.#stream ??= new TradeStream({
      url,
      auth: await this.#d.auth(),
      credential: async (refresh) => {
        if ((await this.#d.auth()) === 'oauth')
          return { token: await oauthToken(this.#d.ctx.credentials, refresh) };
        const k = await this.#d.ctx.credentials.apiKey();
        return { key: k.apiKey, secret: k.apiSecret };
      },
      log: this.#d.ctx.log,
      onUpdate: (u) => this.#onUpdate(u),
      onReconnect: () => void this.#afterReconnect(),
      ...(this.#d.opts.reconnectInitialMs !== undefined && {
        reconnectInitialMs: this.#d.opts.reconnectInitialMs,
      }),
      ...(this.#d.opts.reconnectMaxMs !== undefined && { reconnectMaxMs: this.#d.opts.reconnectMaxMs }),
    });
    try {
      await this.#stream.start();
    } catch (err) {
      // It keeps reconnecting, and fills are polled meanwhile; the caller learns it is degraded.
      throw new BrokerError(BrokerErrorCode.UNAVAILABLE, 'alpaca: trade_updates stream unavailable', {
        operation: 'connect',
        broker: BROKER,
        cause: err,
      });
    }
  }

  close(): void {
    this.#closed = true;
    this.#stream?.close();
    this.#stream = null;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#pollTimer = null;
    this.#listeners.clear();
    this.#reconnectListeners.clear();
  }

  /** Whether the trade_updates stream is authorized and listening (for health and tests). */
  get streaming(): boolean {
    return this.#stream?.listening ?? false;
  }

  /** Multi-leg events that arrived before their legs were known (see #onMleg). */
  #mlegWaiting: { u: AlpacaTradeUpdate; at: number }[] = [];

  /** The adapter registered a multi-leg order's legs: their held events apply now, in order. */
  mlegRegistered(): void {
    const waiting = this.#mlegWaiting;
    this.#mlegWaiting = [];
    for (const w of waiting) this.#onMleg(w.u);
  }

  #onUpdate(u: AlpacaTradeUpdate): void {
    if (u.order.order_class === 'mleg') {
      this.#onMleg(u);
      return;
    }
    const pending = this.#adopting.get(u.order.id);
    if (pending) {
      pending.push(u);
      return;
    }
    const t = this.#d.book.get(u.order.id);
    if (!t) {
      // Placed before a restart or by another process: learn it (and its bracket) from REST,
      // replay its history, then apply what arrived meanwhile.
      this.#adopting.set(u.order.id, [u]);
      void this.#adopt(u.order).finally(() => {
        const queued = this.#adopting.get(u.order.id) ?? [];
        this.#adopting.delete(u.order.id);
        for (const q of queued) if (this.#d.book.get(q.order.id)) this.#apply(q);
      });
      return;
    }
    this.#apply(u);
  }

  #apply(u: AlpacaTradeUpdate): void {
    const t = this.#d.book.get(u.order.id);
    if (!t) return;
    const ts = u.timestamp ?? u.order.updated_at ?? (this.#d.ctx.clock?.() ?? new Date()).toISOString();
    switch (u.event) {
      case 'new':
        this.emit(this.#d.book.accepted(t, ts));
        return;
      case 'fill':
      case 'partial_fill':
        if (u.price === null || u.qty === null) {
          this.#d.ctx.log.error(
            { event: u.event, orderId: u.order.id },
            'alpaca fill event without price or qty ignored',
          );
          return;
        }
        this.#advanceCursor(ts);
        this.emit(
          this.#d.book.filled(t, {
            lastQty: u.qty,
            lastPx: u.price,
            cumQty: u.order.filled_qty,
            avgPx: u.order.filled_avg_price,
            ts,
          }),
        );
        return;
      case 'canceled':
        this.emit(this.#d.book.ended(t, 'cancelled', ts));
        return;
      case 'expired':
        this.emit(this.#d.book.ended(t, 'expired', ts));
        return;
      case 'rejected':
        this.emit(this.#d.book.ended(t, 'rejected', ts, 'rejected by Alpaca'));
        return;
      case 'restated':
        if (u.order.qty !== null) this.emit(this.#d.book.restatedByBroker(t, u.order.qty, ts));
        return;
      case 'order_cancel_rejected':
        this.emit(this.#d.book.cancelRejected(t, ts, 'cancel rejected by Alpaca'));
        return;
      default:
        // pending_new, accepted, pending_cancel, done_for_day, replaced, calculated …: no report
        // of ours (a replace is never requested by this adapter).
        return;
    }
  }

  /**
   * A multi-leg order's event: a leg's own event is a plain order's; the order's event (its
   * `legs` nested) is read leg by leg, each leg's fill being what its `filled_qty` grew by since
   * the last report, so either event of a fill yields the same report once. A multi-leg order
   * this process did not place is not adopted here: its legs are recovered by client order id
   * (getExecutions) when the execution service reconciles.
   */
  #onMleg(u: AlpacaTradeUpdate): void {
    const ids = [u.order.id, ...(u.order.legs ?? []).map((l) => l.id)];
    if (!ids.some((id) => this.#d.book.get(id))) {
      // The stream can be ahead of the placement's response: held until the legs are registered.
      const now = Date.now();
      this.#mlegWaiting = this.#mlegWaiting.filter((w) => now - w.at < MLEG_HOLD_MS);
      this.#mlegWaiting.push({ u, at: now });
      return;
    }
    if (!u.order.legs?.length) {
      this.#apply(u);
      return;
    }
    const ts = u.timestamp ?? u.order.updated_at ?? (this.#d.ctx.clock?.() ?? new Date()).toISOString();
    for (const leg of u.order.legs) {
      const t = this.#d.book.get(leg.id);
      if (!t) continue;
      if (u.event === 'new' || u.event === 'fill' || u.event === 'partial_fill')
        this.emit(this.#d.book.accepted(t, ts));
      const cum = dec(leg.filled_qty);
      const last = cum.minus(t.filled);
      if (last.gt(0) && leg.filled_avg_price !== null) {
        // This leg's fill price: its notional now less what was reported before, per contract.
        const px = cum.times(dec(leg.filled_avg_price)).minus(t.notional).div(last);
        this.emit(
          this.#d.book.filled(t, {
            lastQty: decStr(last),
            lastPx: decStr(px.toDecimalPlaces(9)),
            cumQty: leg.filled_qty,
            avgPx: leg.filled_avg_price,
            ts,
          }),
        );
      }
      if (u.event === 'canceled') this.emit(this.#d.book.ended(t, 'cancelled', ts));
      else if (u.event === 'expired') this.emit(this.#d.book.ended(t, 'expired', ts));
      else if (u.event === 'rejected') this.emit(this.#d.book.ended(t, 'rejected', ts, 'rejected by Alpaca'));
    }
  }

  async #adopt(o: AlpacaOrder): Promise<void> {
    try {
      let root: AlpacaOrder | null =
        o.order_class === 'simple' ? o : await this.#d.lookup.fetchNested(o.id, 'adoptOrder');
      // A leg comes back without its entry: find the entry that holds it.
      if (root && root.order_class !== 'simple' && !root.legs?.length)
        root = await this.#d.lookup.findParentOfLeg(root);
      if (!root) return;
      const ids = new Set([root.id, ...(root.legs ?? []).map((l) => l.id)]);
      const activities = await this.#d.lookup.activities('adoptOrder', root.created_at, (a) =>
        ids.has(a.order_id),
      );
      const history = replayTree(root, activities, this.#d.legIds, this.#d.known);
      registerTree(this.#d.book, root, this.#d.legIds, this.#d.known, true);
      this.emit(history);
    } catch (err) {
      this.#d.ctx.log.warn({ err, orderId: o.id }, 'alpaca: could not adopt an order seen on the stream');
    }
  }

  async #afterReconnect(): Promise<void> {
    await this.#poll().catch((err: unknown) => this.#d.ctx.log.warn({ err }, 'alpaca: catch-up poll failed'));
    for (const l of this.#reconnectListeners) {
      try {
        l();
      } catch (err) {
        this.#d.ctx.log.error({ err }, 'alpaca: reconnect listener failed');
      }
    }
  }

  #startPolling(): void {
    if (this.#pollTimer || this.#closed) return;
    this.#pollTimer = setInterval(() => {
      if (this.#stream?.listening) return;
      void this.#poll().catch((err: unknown) =>
        this.#d.ctx.log.warn({ err }, 'alpaca: FILL activity poll failed'),
      );
    }, this.#d.opts.pollIntervalMs ?? 2_000);
    this.#pollTimer.unref?.();
  }

  /** Fills of known orders since the cursor, from the FILL activities (deduplicated by the book). */
  #poll(): Promise<void> {
    this.#polling ??= this.#pollOnce().finally(() => {
      this.#polling = null;
    });
    return this.#polling;
  }

  async #pollOnce(): Promise<void> {
    const activities = await this.#d.lookup.activities('pollFills', this.#pollCursor, () => true);
    for (const a of activities) {
      const t = this.#d.book.get(a.order_id);
      if (t)
        this.emit(
          this.#d.book.filled(t, {
            lastQty: a.qty,
            lastPx: a.price,
            cumQty: a.cum_qty,
            avgPx: null,
            ts: a.transaction_time,
          }),
        );
      this.#advanceCursor(a.transaction_time);
    }
  }

  /** Polling resumes from the last fill seen, on either path (never from the adapter's start). */
  #advanceCursor(ts: string): void {
    if (Date.parse(ts) > Date.parse(this.#pollCursor)) this.#pollCursor = ts;
  }

  emit(reports: readonly ExecutionReport[]): void {
    for (const r of reports) {
      if (this.#emitted.has(r.executionId)) continue;
      this.#emitted.add(r.executionId);
      if (this.#emitted.size > MAX_EMITTED_IDS) {
        const oldest = this.#emitted.values().next().value;
        if (oldest !== undefined) this.#emitted.delete(oldest);
      }
      for (const l of this.#listeners) {
        try {
          l(r);
        } catch (err) {
          this.#d.ctx.log.error({ err }, 'alpaca: execution report listener failed');
        }
      }
    }
  }
}
