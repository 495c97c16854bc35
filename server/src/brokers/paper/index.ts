/**
 * The paper broker: the default adapter, one instance per desk account, filling against the
 * process's QuoteBook. Market, limit, stop and stop-limit orders; day, gtc, ioc and fok. This
 * file is the adapter surface and the order lifecycle (arrival, validation, cancel, expiry,
 * snapshot / restore); the mechanisms live beside it:
 *
 * - matching.ts: the matching engine (synthetic depth, queue position, fees);
 * - account.ts: cash, positions and buying power (cash, with open buy orders and short sales
 *   reserved at 100 %);
 * - brackets.ts: native brackets, OCO legs sized to the entry's fills, reduce-only. A triggered
 *   stop leg that finds no liquidity keeps working rather than being cancelled: it is the
 *   position's exit;
 * - combos.ts: all-or-none multi-leg orders;
 * - reports.ts: execution reports, delivered live and kept per order for re-delivery;
 * - order-store.ts: open orders per symbol in time priority, and a bounded finished history.
 *
 * Latency: a configurable delay before the order reaches the "exchange" and before a cancel
 * lands, with jitter from the shared seeded generator (mulberry32): for one seed and one sequence
 * of calls and quotes, every fill, price and id is the same, so backtests and tests repeat
 * exactly. Rejects: invalid order, halted instrument, no market data, insufficient buying power.
 *
 * State lives in memory; `snapshot()`/`restore()` let the execution service rebuild an account
 * from PostgreSQL after a restart so reconciliation compares like with like.
 *
 * Over 400 lines on purpose: the BrokerAdapter methods and the order lifecycle (arrival,
 * validation, cancel, expiry, snapshot / restore) are the one place that wires the mechanisms
 * above together; each piece of it is a few lines calling into them.
 */
import { dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { nowMicros } from '@aegis/shared/market/micro-time';
import { Mulberry32 } from '@aegis/shared/random/seeded-random';
import type { QuoteBookEvent } from '../quote-book.ts';
import {
  type BracketLink,
  type BrokerAccount,
  type BrokerAdapter,
  type BrokerCapabilities,
  type BrokerComboRequest,
  BrokerError,
  BrokerErrorCode,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerPosition,
  type ComboLink,
  type ExecutionReport,
  type ExecutionReportListener,
  type PlaceComboAck,
  type PlaceOrderAck,
} from '../types.ts';
import { PaperAccount } from './account.ts';
import { Brackets } from './brackets.ts';
import { Combos } from './combos.ts';
import { Matching } from './matching.ts';
import {
  OPEN,
  type PaperAccountSnapshot,
  type PaperBrokerOptions,
  type PaperCombo,
  type PaperOrder,
  pendingOrder,
  type ResolvedPaperOptions,
} from './model.ts';
import { OrderStore } from './order-store.ts';
import { ExecutionReports, orderAck, orderView } from './reports.ts';

export type { PaperAccountSnapshot, PaperBrokerOptions } from './model.ts';

const sleep = (ms: number) =>
  ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** The paper broker of one desk account (the header of this file says how it works). */
export class PaperBroker implements BrokerAdapter {
  readonly name = 'paper';
  readonly capabilities: BrokerCapabilities = { nativeBrackets: true, nativeCombos: true };
  readonly #o: ResolvedPaperOptions;
  /** `<account>` or `<account>-<instance>`: the stem of every id this instance issues. */
  readonly #idStem: string;
  readonly #random: Mulberry32;
  readonly #store: OrderStore;
  readonly #reports: ExecutionReports;
  readonly #account: PaperAccount;
  readonly #brackets: Brackets;
  readonly #matching: Matching;
  readonly #combos: Combos;
  readonly #unsubscribe: () => void;
  #orderSeq = 0;

  constructor(opts: PaperBrokerOptions) {
    this.#o = {
      latencyMs: 0,
      latencyJitterMs: 0,
      feeBps: '1',
      minFee: '0',
      slippageBps: '5',
      maxLevels: 10,
      startingCash: '1000000',
      allowShort: true,
      multiplierOf: () => '1',
      clock: () => new Date(),
      clockUs: opts.clock && !opts.clockUs ? () => (opts.clock as () => Date)().getTime() * 1000 : nowMicros,
      delay: sleep,
      finishedOrderHistory: 10_000,
      ...opts,
    };
    this.#idStem = opts.instance ? `${opts.accountId}-${opts.instance}` : opts.accountId;
    this.#random = new Mulberry32(opts.seed ?? 1);
    const feeBps = dec(this.#o.feeBps);
    this.#store = new OrderStore(this.#o.finishedOrderHistory, (o) => this.#forget(o));
    this.#reports = new ExecutionReports(this.#idStem, this.#o.clockUs, (o) => {
      this.#store.settle(o);
      this.#account.track(o);
    });
    this.#account = new PaperAccount({ ...this.#o, feeBps });
    this.#brackets = new Brackets(this.#store, this.#reports);
    this.#matching = new Matching({
      quotes: this.#o.quotes,
      model: { slippageBps: dec(this.#o.slippageBps), maxLevels: this.#o.maxLevels },
      feeBps,
      minFee: dec(this.#o.minFee),
      account: this.#account,
      reports: this.#reports,
      changed: (o) => this.#brackets.sync(o),
    });
    this.#combos = new Combos({
      quotes: this.#o.quotes,
      store: this.#store,
      reports: this.#reports,
      matching: this.#matching,
      account: this.#account,
    });
    this.#unsubscribe = this.#o.quotes.subscribe((e) => this.#onMarket(e));
  }

  close(): void {
    this.#unsubscribe();
    this.#reports.clearListeners();
  }

  // -------------------------------------------------------------------------------------------
  // BrokerAdapter
  // -------------------------------------------------------------------------------------------

  async placeOrder(req: BrokerOrderRequest): Promise<PlaceOrderAck> {
    const known = this.#store.get(req.clientOrderId);
    if (known) return orderAck(known);
    const { bracket, ...plain } = req;
    const o = this.#newOrder(plain, null, bracket?.ocoGroup ?? null);
    // Registered before the latency wait: a concurrent retry with the same id finds it.
    this.#store.add(o);
    if (bracket) this.#brackets.open(o, bracket, (leg, link) => this.#newOrder(leg, link, null));
    await this.#o.delay(this.#latency());
    this.#arrive(o);
    return orderAck(o);
  }

  /** A combo, all-or-none (combos.ts). */
  async placeCombo(req: BrokerComboRequest): Promise<PlaceComboAck> {
    const known = this.#combos.get(req.comboId);
    if (known) return this.#combos.ack(known);
    const combo: PaperCombo = {
      id: req.comboId,
      orderType: req.orderType,
      timeInForce: req.timeInForce,
      quantity: req.quantity,
      netLimitPrice: req.netLimitPrice,
      maxLoss: req.maxLoss,
      legs: req.legs.map((l) => l.clientOrderId),
    };
    for (const l of req.legs) {
      const leg = {
        clientOrderId: l.clientOrderId,
        symbol: l.symbol,
        side: l.side,
        orderType: req.orderType,
        timeInForce: req.timeInForce,
        quantity: l.quantity,
        limitPrice: null,
        stopPrice: null,
      };
      this.#store.add(this.#newOrder(leg, null, null, { comboId: req.comboId, ratio: l.ratio }));
    }
    this.#combos.add(combo);
    await this.#o.delay(this.#latency());
    this.#combos.arrive(combo);
    return this.#combos.ack(combo);
  }

  async cancelCombo(comboId: string): Promise<void> {
    const c = this.#combos.get(comboId);
    if (!c) throw new BrokerError(BrokerErrorCode.NOT_FOUND, `no combo ${comboId}`);
    await this.#o.delay(this.#latency());
    const legs = this.#combos.legs(c);
    if (!legs.some((l) => OPEN.has(l.status))) {
      for (const l of legs) this.#reports.emit(l, 'cancel_rejected', { reason: `order is ${l.status}` });
      return;
    }
    this.#combos.end(c, 'cancelled');
  }

  async cancelOrder(clientOrderId: string): Promise<void> {
    const o = this.#store.get(clientOrderId);
    if (!o) throw new BrokerError(BrokerErrorCode.NOT_FOUND, `no order ${clientOrderId}`);
    await this.#o.delay(this.#latency());
    if (o.combo) {
      // A leg is cancelled with its whole combo (a halt cancels leg by leg): the first
      // cancel ends them all, the others find nothing left to do.
      const c = this.#combos.get(o.combo.comboId);
      if (c && OPEN.has(o.status)) this.#combos.end(c, 'cancelled');
      return;
    }
    if (!OPEN.has(o.status)) {
      this.#reports.emit(o, 'cancel_rejected', { reason: `order is ${o.status}` });
      return;
    }
    o.status = 'cancelled';
    this.#reports.emit(o, 'cancelled');
    this.#brackets.sync(o);
  }

  /** Open orders, and finished ones while the finished-order history still holds them. */
  async getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null> {
    const o = this.#store.get(clientOrderId);
    return o ? orderView(o) : null;
  }

  async getExecutions(clientOrderId: string): Promise<ExecutionReport[]> {
    return this.#reports.history(clientOrderId);
  }

  async listOpenOrders(): Promise<BrokerOrder[]> {
    return this.#store.open().map(orderView);
  }

  async listPositions(): Promise<BrokerPosition[]> {
    return this.#account.positions();
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    return this.#reports.listen(listener);
  }

  async getAccount(): Promise<BrokerAccount> {
    return this.#account.view();
  }

  // -------------------------------------------------------------------------------------------
  // Paper-only controls
  // -------------------------------------------------------------------------------------------

  /** Halts or resumes an instrument: new orders are rejected, resting orders do not fill. */
  setHalted(symbol: string, halted: boolean): void {
    if (halted) this.#matching.halted.add(symbol);
    else this.#matching.halted.delete(symbol);
  }

  /**
   * End of the trading day: open `day` orders expire — all of them, or those `isPastDay` picks
   * (the execution service decides per instrument calendar and desk day).
   */
  expireDayOrders(isPastDay: (o: { symbol: string; createdAt: Date }) => boolean = () => true): number {
    let n = 0;
    for (const o of this.#store.open()) {
      const due = isPastDay({ symbol: o.req.symbol, createdAt: o.createdAt });
      if (!OPEN.has(o.status) || o.req.timeInForce !== 'day' || !due) continue;
      if (o.combo) {
        const c = this.#combos.get(o.combo.comboId);
        if (c) n += this.#combos.end(c, 'expired');
        continue;
      }
      o.status = 'expired';
      this.#reports.emit(o, 'expired');
      this.#brackets.sync(o);
      n++;
    }
    return n;
  }

  /**
   * Cuts (or restores) live report delivery, as a dropped report session would: the orders still
   * fill and their reports stay retrievable through `getExecutions`. For tests of recovery.
   */
  setReportsMuted(muted: boolean): void {
    this.#reports.muted = muted;
  }

  get cash(): string {
    return decStr(this.#account.cash);
  }

  /**
   * What the working orders and combos tie up now: the reserve an arriving order's buying-power
   * check holds against the cash (paper-only, for inspection).
   */
  get reservedCash(): string {
    return decStr(this.#account.reserved(this.#combos.working()));
  }

  /** How many orders the account holds (open ones plus the finished-order history). */
  get heldOrders(): number {
    return this.#store.size;
  }

  snapshot(): PaperAccountSnapshot {
    return {
      ...this.#account.snapshot(),
      openOrders: this.#store.open().map((o) => ({
        ...orderView(o),
        queueAhead: o.queueAhead ? decStr(o.queueAhead) : null,
        triggered: o.triggered,
        createdAt: o.createdAt,
      })),
      bracketEntries: this.#brackets.closedEntries(),
      combos: this.#combos.snapshot(),
    };
  }

  /** Rebuilds the account (after a restart) from a snapshot kept by the execution service. */
  restore(s: PaperAccountSnapshot): void {
    this.#account.restore(s.cash, s.positions);
    const closedEntries = new Map((s.bracketEntries ?? []).map((e) => [e.clientOrderId, e.filledQuantity]));
    for (const o of s.openOrders) {
      const filled = dec(o.filledQuantity);
      const link = o.bracketLink ?? null;
      if (link) this.#brackets.restoreLeg(link, o.clientOrderId, closedEntries);
      this.#addRestored({
        req: {
          clientOrderId: o.clientOrderId,
          symbol: o.symbol,
          side: o.side,
          orderType: o.orderType,
          timeInForce: o.timeInForce,
          quantity: o.quantity,
          limitPrice: o.limitPrice ?? null,
          stopPrice: o.stopPrice ?? null,
        },
        brokerOrderId: o.brokerOrderId,
        seq: ++this.#orderSeq,
        status: o.status,
        filled,
        notional: o.avgFillPrice ? filled.times(dec(o.avgFillPrice)) : ZERO,
        fills: filled.gt(0) ? 1 : 0,
        rejectReason: null,
        queueAhead: o.queueAhead ? dec(o.queueAhead) : null,
        triggered: o.triggered,
        createdAt: o.createdAt ?? this.#o.clock(),
        bracket: link,
        group: null,
        combo: o.comboLink ?? null,
      });
    }
    this.#combos.restore(s);
    this.#brackets.relinkEntries();
  }

  /** A restored order joins the store and the account's buying-power reserve. */
  #addRestored(o: PaperOrder): void {
    this.#store.add(o);
    this.#account.track(o);
  }

  /**
   * Works every open order once against the book as it is now. A restored account calls it as
   * soon as its reports are listened to: orders its previous holder acknowledged and had not
   * filled yet (a market order whose fill died with that process) must not wait for the next
   * price update, which may be long in coming on a quiet instrument.
   */
  workOpen(): void {
    for (const o of this.#store.open()) {
      if (OPEN.has(o.status) && o.combo === null && this.#o.quotes.get(o.req.symbol))
        this.#matching.work(o, null, false);
    }
    this.#combos.workOpen();
  }

  // -------------------------------------------------------------------------------------------
  // Order lifecycle
  // -------------------------------------------------------------------------------------------

  /** A price update works only that symbol's open orders, in time priority. */
  #onMarket(e: QuoteBookEvent): void {
    if (e.kind === 'quote') this.#matching.quoteUpdated(e.symbol);
    const trade = e.kind === 'trade' ? { price: e.price, size: e.size } : null;
    for (const o of this.#store.openOn(e.symbol)) {
      if (OPEN.has(o.status)) this.#matching.work(o, trade, false);
    }
    this.#combos.workOn(e.symbol);
  }

  /** The order store forgot a finished order: so do its reports, its bracket and its combo. */
  #forget(o: PaperOrder): void {
    this.#reports.forget(o.req.clientOrderId);
    this.#brackets.forget(o);
    this.#combos.forget(o);
  }

  #latency(): number {
    const base = this.#o.latencyMs;
    const jitter = this.#o.latencyJitterMs;
    return jitter > 0 ? base + Math.floor(this.#random.next() * (jitter + 1)) : base;
  }

  #newOrder(
    req: Omit<BrokerOrderRequest, 'bracket'>,
    bracket: BracketLink | null,
    group: string | null,
    combo: ComboLink | null = null,
  ): PaperOrder {
    const seq = ++this.#orderSeq;
    const brokerOrderId = `PB-${this.#idStem}-${seq}`;
    return pendingOrder({ req, brokerOrderId, seq, createdAt: this.#o.clock(), bracket, group, combo });
  }

  #arrive(o: PaperOrder): void {
    if (o.status !== 'pending_new') return; // cancelled while in flight
    this.#arriveEntry(o);
    this.#brackets.sync(o);
  }

  #arriveEntry(o: PaperOrder): void {
    const refusal = this.#refusal(o);
    if (refusal) {
      o.status = 'rejected';
      o.rejectReason = refusal;
      this.#reports.emit(o, 'rejected', { reason: refusal });
      // The legs of a rejected entry never existed at the exchange: rejected with it.
      this.#brackets.rejectLegs(o, refusal);
      return;
    }
    o.status = 'new';
    this.#reports.emit(o, 'accepted');
    // The legs are accepted with the entry (held at quantity 0), before any fill of it.
    this.#brackets.acceptLegs(o);
    this.#matching.work(o, null, true);
  }

  /** Why an arriving order is rejected, or null. */
  #refusal(o: PaperOrder): string | null {
    const r = o.req;
    const q = dec(r.quantity);
    if (!q.gt(0)) return 'quantity must be positive';
    const needsLimit = r.orderType === 'limit' || r.orderType === 'stop_limit';
    const needsStop = r.orderType === 'stop' || r.orderType === 'stop_limit';
    if (needsLimit && !(r.limitPrice && dec(r.limitPrice).gt(0))) return 'limit price required';
    if (needsStop && !(r.stopPrice && dec(r.stopPrice).gt(0))) return 'stop price required';
    if (r.orderType === 'market' && r.timeInForce === 'gtc') return 'market orders cannot be gtc';
    if (this.#matching.halted.has(r.symbol)) return 'instrument halted';
    const book = this.#o.quotes.get(r.symbol);
    if (!book?.bid || !book.ask) return 'no market data for the instrument';
    if (!this.#account.hasBuyingPower(o, this.#combos.working(o))) return 'insufficient buying power';
    return null;
  }
}
