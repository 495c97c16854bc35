import type { Logger } from '@aegis/shared/logging';
import type { ExecutionReport, ExecutionReportListener } from '../types.ts';
import type { IbkrOrderBook } from './order-book.ts';
import type { GatewaySession } from './session.ts';

/**
 * Execution reports by polling: every `intervalMs` one snapshot (live orders + executions), and
 * for each order that carries our cOID (`order_ref`) its reports not yet delivered. The
 * gateway's WebSocket is not used (docs/brokers/ibkr.md): the pacing of the two endpoints
 * (1 request / 5 s each) sets the default interval. Nothing is polled while the session is
 * lapsed; the session polls once as soon as it is back.
 */
export interface ReportPollerOptions {
  readonly book: IbkrOrderBook;
  readonly session: GatewaySession;
  readonly intervalMs: number;
  readonly log: Logger;
}

export class ReportPoller {
  readonly #o: ReportPollerOptions;
  readonly #listeners = new Set<ExecutionReportListener>();
  /** Report ids already delivered (the dispatcher dedups too; this spares it the repeats). */
  readonly #delivered = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #polling = false;

  constructor(opts: ReportPollerOptions) {
    this.#o = opts;
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.poll(), this.#o.intervalMs);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#listeners.clear();
  }

  /** One pass; a pass already running or a lapsed session makes it a no-op. */
  async poll(): Promise<void> {
    if (this.#polling || !this.#timer || this.#o.session.lapsed) return;
    this.#polling = true;
    try {
      await this.#o.session.ensure('pollReports');
      const snap = await this.#o.book.snapshot('pollReports', true);
      const current = new Set<string>();
      // Causal order across orders: oldest order first (an entry before its legs, so a leg is
      // restated after the entry's fill that sized it), and every order's ending (cancelled,
      // rejected) after all the fills of the pass (the fill of one leg before the OCA cancel of
      // the other).
      const ours = snap.orders
        .filter((o) => o.order_ref !== undefined) // others were placed outside Aegis (TWS, the portal)
        .sort((a, b) => Number(a.orderId) - Number(b.orderId));
      const endings: ExecutionReport[] = [];
      for (const o of ours) {
        for (const r of this.#o.book.reports(o, snap)) {
          current.add(r.executionId);
          if (r.kind === 'cancelled' || r.kind === 'rejected' || r.kind === 'expired') endings.push(r);
          else this.deliver(r);
        }
      }
      for (const r of endings) this.deliver(r);
      // Forget ids the gateway no longer shows (orders past the session's list): bounded memory.
      for (const id of this.#delivered) if (!current.has(id)) this.#delivered.delete(id);
    } catch (err) {
      // The next pass tries again; a lapse is already recorded by the session.
      this.#o.log.debug({ err }, 'ibkr report poll failed');
    } finally {
      this.#polling = false;
    }
  }

  /** Delivers one report to every listener, once per execution id. */
  deliver(r: ExecutionReport): void {
    if (this.#delivered.has(r.executionId)) return;
    this.#delivered.add(r.executionId);
    for (const l of this.#listeners) {
      try {
        l(r);
      } catch (err) {
        this.#o.log.error({ err }, 'ibkr execution report listener failed');
      }
    }
  }
}
