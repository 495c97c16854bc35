import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import type { BrokerOrder, ExecutionReport, ExecutionReportListener, PlaceOrderAck } from '../types.ts';
import { OPEN, type PaperOrder } from './model.ts';

export interface ReportDetail {
  readonly lastQty?: Dec;
  readonly lastPx?: Dec;
  readonly fee?: Dec;
  readonly liquidity?: 'maker' | 'taker';
  readonly reason?: string;
  /** Carries the order's (restated) quantity. */
  readonly orderQty?: boolean;
}

/**
 * The paper account's execution reports: issued with ids unique to the instance, delivered live
 * to the listeners and kept per order (the broker's side of at-least-once delivery: a client
 * that missed live reports — its database was down, its session dropped — asks for them again
 * with `getExecutions` and applies them idempotently). History is dropped with the order when
 * the order store forgets it.
 */
export class ExecutionReports {
  readonly #listeners = new Set<ExecutionReportListener>();
  readonly #history = new Map<string, ExecutionReport[]>();
  readonly #idStem: string;
  readonly #clockUs: () => number;
  /** Told after every report (the order store settles finished orders). */
  readonly #afterReport: (o: PaperOrder) => void;
  #seq = 0;
  /** Paper-only fault injection: live delivery is cut (a dropped report session); history is kept. */
  muted = false;

  constructor(idStem: string, clockUs: () => number, afterReport: (o: PaperOrder) => void) {
    this.#idStem = idStem;
    this.#clockUs = clockUs;
    this.#afterReport = afterReport;
  }

  listen(listener: ExecutionReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  clearListeners(): void {
    this.#listeners.clear();
  }

  history(clientOrderId: string): ExecutionReport[] {
    return [...(this.#history.get(clientOrderId) ?? [])];
  }

  forget(clientOrderId: string): void {
    this.#history.delete(clientOrderId);
  }

  emit(o: PaperOrder, kind: ExecutionReport['kind'], x: ReportDetail = {}): void {
    const qty = dec(o.req.quantity);
    const open = OPEN.has(o.status);
    // Event time: the ms Date and its µs, from one reading of the clock.
    const us = this.#clockUs();
    const report: ExecutionReport = {
      kind,
      executionId: `${this.#idStem}-E${++this.#seq}`,
      clientOrderId: o.req.clientOrderId,
      brokerOrderId: o.brokerOrderId,
      symbol: o.req.symbol,
      side: o.req.side,
      tsEvent: new Date(Math.floor(us / 1000)),
      tsEventUs: us,
      ...(x.lastQty && { lastQty: decStr(x.lastQty) }),
      ...(x.lastPx && { lastPx: decStr(x.lastPx) }),
      ...(x.fee && { fee: decStr(x.fee) }),
      ...(x.liquidity && { liquidity: x.liquidity }),
      ...(x.reason && { reason: x.reason }),
      ...(x.orderQty && { orderQty: decStr(qty) }),
      cumQty: decStr(o.filled),
      leavesQty: decStr(open ? qty.minus(o.filled) : ZERO),
      avgPx: avgPrice(o),
    };
    const history = this.#history.get(o.req.clientOrderId);
    if (history) history.push(report);
    else this.#history.set(o.req.clientOrderId, [report]);
    if (!this.muted) {
      for (const l of this.#listeners) {
        try {
          l(report);
        } catch {
          // A listener's failure must not corrupt the matching loop; listeners log their own errors.
        }
      }
    }
    this.#afterReport(o);
  }
}

function avgPrice(o: PaperOrder): string | null {
  return o.filled.gt(0) ? decStr(o.notional.div(o.filled).toDecimalPlaces(12)) : null;
}

/** An order as the adapter interface shows it. */
export function orderView(o: PaperOrder): BrokerOrder {
  return {
    ...o.req,
    limitPrice: o.req.limitPrice ?? null,
    stopPrice: o.req.stopPrice ?? null,
    brokerOrderId: o.brokerOrderId,
    status: o.status,
    filledQuantity: decStr(o.filled),
    avgFillPrice: avgPrice(o),
    rejectReason: o.rejectReason,
    bracketLink: o.bracket,
    comboLink: o.combo,
  };
}

export function orderAck(o: PaperOrder): PlaceOrderAck {
  return {
    clientOrderId: o.req.clientOrderId,
    brokerOrderId: o.brokerOrderId,
    status: o.status,
    ...(o.rejectReason && { rejectReason: o.rejectReason }),
  };
}
