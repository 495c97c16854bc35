import { BPS, type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import { applyFill, flatPosition, type PositionState } from '@aegis/shared/accounting/position';
import {
  type FillModel,
  feeFor,
  isMarketable,
  isStopTriggered,
  type LevelFill,
  takeLiquidity,
  totalQuantity,
} from '@aegis/shared/execution/fill-model';
import { nowMicros } from '@aegis/shared/market/micro-time';
import { type BracketRole, bracketActions, oppositeSide } from '@aegis/shared/orders/bracket';
import { comboFillPlan } from '@aegis/shared/orders/combo';
import type { QuoteBook, QuoteBookEvent, TopOfBook } from './quote-book.ts';
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
  type BrokerOrderStatus,
  type BrokerPosition,
  type ComboLink,
  type ExecutionReport,
  type ExecutionReportListener,
  type PlaceComboAck,
  type PlaceOrderAck,
} from './types.ts';

/**
 * The paper broker: the default adapter, one instance per desk account, filling against the
 * process's QuoteBook. Market, limit, stop and stop-limit orders; day, gtc, ioc and fok.
 *
 * - Taking liquidity walks synthetic depth (shared/src/execution/fill-model.ts): slippage from size against
 *   displayed depth.
 * - A resting limit order joins the queue behind the size displayed at its price; trades printed
 *   at its price consume the queue ahead first, then fill it (maker, partial fills); a trade
 *   through its price or a quote crossing it fills it.
 * - Fees: bps of notional with a per-order minimum charged on the first fill.
 * - Latency: a configurable delay before the order reaches the "exchange" and before a cancel
 *   lands, with jitter from a seeded PRNG: for one seed and one sequence of calls and quotes, every
 *   fill, price and id is the same, so backtests and tests repeat exactly.
 * - Rejects: invalid order, halted instrument, no market data, insufficient buying power
 *   (cash, with open buy orders and short sales reserved at 100 %).
 * - Brackets, natively (shared/src/orders/bracket.ts decides): the legs are accepted with the
 *   entry at quantity 0, restated as the entry fills, worked as a stop (market) and a limit on
 *   the opposite side, reduce-only (never more than the position they close, nothing reserved),
 *   one-cancels-other, cancelled with an entry that ends unfilled. A triggered stop leg that
 *   finds no liquidity keeps working rather than being cancelled: it is the position's exit.
 *
 * State lives in memory; `snapshot()`/`restore()` let the execution service rebuild an account
 * from PostgreSQL after a restart so reconciliation compares like with like.
 */
export interface PaperBrokerOptions {
  readonly accountId: string;
  /**
   * Names this instance of the account in the broker order ids and execution ids it issues, so
   * an account rebuilt in another process (or rebuilt again) never reuses an id an earlier
   * instance issued: fills are deduplicated by execution id, and a reused one would be taken for
   * a fill already booked and dropped. Without it, ids are `PB-<account>-<n>` and
   * `<account>-E<n>` (one instance per account, as in unit tests).
   */
  readonly instance?: string;
  readonly quotes: QuoteBook;
  readonly seed?: number;
  readonly latencyMs?: number;
  readonly latencyJitterMs?: number;
  readonly feeBps?: string;
  readonly minFee?: string;
  readonly slippageBps?: string;
  readonly maxLevels?: number;
  readonly startingCash?: string;
  readonly allowShort?: boolean;
  /** Contract multiplier per symbol (1 when unknown). */
  readonly multiplierOf?: (symbol: string) => string;
  readonly clock?: () => Date;
  /**
   * The same clock in µs (fill times are stored to the µs). Defaults to the µs wall clock, or,
   * when only `clock` is given (a test's fake time), to that clock's ms × 1000.
   */
  readonly clockUs?: () => number;
  /** How latency is waited (tests may pass a virtual scheduler). */
  readonly delay?: (ms: number) => Promise<void>;
}

interface PaperOrder {
  /** Mutable only through a restatement (a bracket leg's quantity). */
  req: Omit<BrokerOrderRequest, 'bracket'>;
  readonly brokerOrderId: string;
  readonly seq: number;
  status: BrokerOrderStatus;
  filled: Dec;
  notional: Dec;
  fills: number;
  rejectReason: string | null;
  /** Size displayed ahead of us at our price; null until our price reaches the touch. */
  queueAhead: Dec | null;
  /** Stop orders: false until the stop is reached; then the order works as market / limit. */
  triggered: boolean;
  /** When the broker received it (day orders expire at the end of that trading day). */
  readonly createdAt: Date;
  /** A bracket leg's link to its entry; null for an entry or a plain order. */
  readonly bracket: BracketLink | null;
  /** An entry's OCO group (its legs), null for a plain order or a leg. */
  readonly group: string | null;
  /** A combo leg's combo; null otherwise. A leg never works alone (see #workCombo). */
  readonly combo: ComboLink | null;
}

/** A combo: its legs (client order ids, in order) worked together, all-or-none. */
interface PaperCombo {
  readonly id: string;
  readonly orderType: 'market' | 'limit';
  readonly timeInForce: BrokerComboRequest['timeInForce'];
  readonly quantity: string;
  readonly netLimitPrice: string | null;
  readonly maxLoss: string | null;
  readonly legs: readonly string[];
}

/** An OCO group: the entry's client order id and its legs by role. */
interface BracketGroup {
  readonly entry: string;
  readonly legs: Map<BracketRole, string>;
  /** The entry's filled quantity when it is not held here (a restart after it finished). */
  readonly closedEntryFilled: Dec;
}

export interface PaperAccountSnapshot {
  readonly cash: string;
  readonly positions: readonly PositionState[];
  readonly openOrders: readonly (BrokerOrder & {
    readonly queueAhead: string | null;
    readonly triggered: boolean;
    readonly createdAt?: Date;
  })[];
  /** Entries of the open legs' brackets that are no longer open (their filled quantity). */
  readonly bracketEntries?: readonly { readonly clientOrderId: string; readonly filledQuantity: string }[];
  /** The open combos (their legs are in `openOrders`, with their `comboLink`). */
  readonly combos?: readonly Omit<BrokerComboRequest, 'legs'>[];
}

const OPEN: ReadonlySet<BrokerOrderStatus> = new Set([
  'pending_new',
  'new',
  'partially_filled',
  'pending_cancel',
]);

/** mulberry32: tiny, fast, good enough for latency jitter; deterministic for a seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) =>
  ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

export class PaperBroker implements BrokerAdapter {
  readonly name = 'paper';
  readonly capabilities: BrokerCapabilities = { nativeBrackets: true, nativeCombos: true };
  readonly #o: Required<Omit<PaperBrokerOptions, 'seed' | 'instance'>>;
  /** `<account>` or `<account>-<instance>`: the stem of every id this instance issues. */
  readonly #idStem: string;
  readonly #random: () => number;
  readonly #model: FillModel;
  readonly #feeBps: Dec;
  readonly #minFee: Dec;
  readonly #orders = new Map<string, PaperOrder>();
  readonly #positions = new Map<string, PositionState>();
  readonly #halted = new Set<string>();
  /** Displayed size this account already took since the symbol's last quote update. */
  readonly #taken = new Map<string, { bid: Dec; ask: Dec }>();
  readonly #listeners = new Set<ExecutionReportListener>();
  readonly #groups = new Map<string, BracketGroup>();
  readonly #combos = new Map<string, PaperCombo>();
  /**
   * Every report this account emitted, per client order id, in emission order: the broker's side
   * of at-least-once delivery. A client that missed live reports (its database was down, its
   * session dropped) asks for them again (`getExecutions`) and applies them idempotently.
   */
  readonly #executions = new Map<string, ExecutionReport[]>();
  /** Paper-only fault injection: live delivery is cut (a dropped report session); history is kept. */
  #reportsMuted = false;
  readonly #unsubscribe: () => void;
  #cash: Dec;
  #orderSeq = 0;
  #execSeq = 0;

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
      ...opts,
    };
    this.#idStem = opts.instance ? `${opts.accountId}-${opts.instance}` : opts.accountId;
    this.#random = prng(opts.seed ?? 1);
    this.#model = { slippageBps: dec(this.#o.slippageBps), maxLevels: this.#o.maxLevels };
    this.#feeBps = dec(this.#o.feeBps);
    this.#minFee = dec(this.#o.minFee);
    this.#cash = dec(this.#o.startingCash);
    this.#unsubscribe = this.#o.quotes.subscribe((e) => this.#onMarket(e));
  }

  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }

  // -------------------------------------------------------------------------------------------
  // BrokerAdapter
  // -------------------------------------------------------------------------------------------

  async placeOrder(req: BrokerOrderRequest): Promise<PlaceOrderAck> {
    const known = this.#orders.get(req.clientOrderId);
    if (known) return this.#ack(known);
    const { bracket, ...plain } = req;
    const o = this.#newOrder(plain, null, bracket?.ocoGroup ?? null);
    // Registered before the latency wait: a concurrent retry with the same id finds it.
    this.#orders.set(req.clientOrderId, o);
    if (bracket) this.#openBracket(o, bracket);
    await this.#o.delay(this.#latency());
    this.#arrive(o);
    return this.#ack(o);
  }

  /**
   * A combo, all-or-none: its legs are accepted together (or rejected together) and then fill
   * together, each at its touch, in one pass, once every leg shows the size for its whole
   * quantity and the net at the touches is within the limit (any net for market). Until then
   * nothing fills; a market, IOC or FOK combo that cannot fill at once is cancelled whole.
   */
  async placeCombo(req: BrokerComboRequest): Promise<PlaceComboAck> {
    const known = this.#combos.get(req.comboId);
    if (known) return this.#comboAck(known);
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
      const o = this.#newOrder(
        {
          clientOrderId: l.clientOrderId,
          symbol: l.symbol,
          side: l.side,
          orderType: req.orderType,
          timeInForce: req.timeInForce,
          quantity: l.quantity,
          limitPrice: null,
          stopPrice: null,
        },
        null,
        null,
        { comboId: req.comboId, ratio: l.ratio },
      );
      this.#orders.set(l.clientOrderId, o);
    }
    this.#combos.set(req.comboId, combo);
    await this.#o.delay(this.#latency());
    this.#arriveCombo(combo);
    return this.#comboAck(combo);
  }

  async cancelCombo(comboId: string): Promise<void> {
    const c = this.#combos.get(comboId);
    if (!c) throw new BrokerError(BrokerErrorCode.NOT_FOUND, `no combo ${comboId}`);
    await this.#o.delay(this.#latency());
    const legs = this.#comboLegs(c);
    if (!legs.some((l) => OPEN.has(l.status))) {
      for (const l of legs) this.#report(l, 'cancel_rejected', { reason: `order is ${l.status}` });
      return;
    }
    this.#endCombo(c, 'cancelled');
  }

  async cancelOrder(clientOrderId: string): Promise<void> {
    const o = this.#orders.get(clientOrderId);
    if (!o) throw new BrokerError(BrokerErrorCode.NOT_FOUND, `no order ${clientOrderId}`);
    await this.#o.delay(this.#latency());
    if (o.combo) {
      // A leg is cancelled with its whole combo (a kill switch cancels leg by leg): the first
      // cancel ends them all, the others find nothing left to do.
      const c = this.#combos.get(o.combo.comboId);
      if (c && OPEN.has(o.status)) this.#endCombo(c, 'cancelled');
      return;
    }
    if (!OPEN.has(o.status)) {
      this.#report(o, 'cancel_rejected', { reason: `order is ${o.status}` });
      return;
    }
    o.status = 'cancelled';
    this.#report(o, 'cancelled');
    this.#syncBracketOf(o);
  }

  async getOrderByClientId(clientOrderId: string): Promise<BrokerOrder | null> {
    const o = this.#orders.get(clientOrderId);
    return o ? this.#view(o) : null;
  }

  async getExecutions(clientOrderId: string): Promise<ExecutionReport[]> {
    return [...(this.#executions.get(clientOrderId) ?? [])];
  }

  async listOpenOrders(): Promise<BrokerOrder[]> {
    return [...this.#orders.values()].filter((o) => OPEN.has(o.status)).map((o) => this.#view(o));
  }

  async listPositions(): Promise<BrokerPosition[]> {
    return [...this.#positions.values()]
      .filter((p) => !dec(p.quantity).isZero())
      .map((p) => ({ symbol: p.symbol, quantity: p.quantity, avgCost: p.avgCost }));
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // -------------------------------------------------------------------------------------------
  // Paper-only controls
  // -------------------------------------------------------------------------------------------

  /** Halts or resumes an instrument: new orders are rejected, resting orders do not fill. */
  setHalted(symbol: string, halted: boolean): void {
    if (halted) this.#halted.add(symbol);
    else this.#halted.delete(symbol);
  }

  /**
   * End of the trading day: open `day` orders expire — all of them, or those `isPastDay` picks
   * (the execution service decides per instrument calendar and desk day).
   */
  expireDayOrders(isPastDay: (o: { symbol: string; createdAt: Date }) => boolean = () => true): number {
    let n = 0;
    for (const o of this.#ordered()) {
      const due = isPastDay({ symbol: o.req.symbol, createdAt: o.createdAt });
      if (OPEN.has(o.status) && o.req.timeInForce === 'day' && due && o.combo) {
        const c = this.#combos.get(o.combo.comboId);
        if (c) n += this.#endCombo(c, 'expired');
        continue;
      }
      if (OPEN.has(o.status) && o.req.timeInForce === 'day' && due) {
        o.status = 'expired';
        this.#report(o, 'expired');
        this.#syncBracketOf(o);
        n++;
      }
    }
    return n;
  }

  /**
   * Cuts (or restores) live report delivery, as a dropped report session would: the orders still
   * fill and their reports stay retrievable through `getExecutions`. For tests of recovery.
   */
  setReportsMuted(muted: boolean): void {
    this.#reportsMuted = muted;
  }

  get cash(): string {
    return decStr(this.#cash);
  }

  /**
   * Cash plus positions at the mid (last trade, else average cost) times the multiplier. Buying
   * power is cash: the paper account is a cash account (no margin).
   */
  async getAccount(): Promise<BrokerAccount> {
    let equity = this.#cash;
    for (const p of this.#positions.values()) {
      const b = this.#o.quotes.get(p.symbol);
      const mark = b?.bid && b.ask ? b.bid.plus(b.ask).div(2) : (b?.last ?? dec(p.avgCost));
      equity = equity.plus(
        dec(p.quantity)
          .times(mark)
          .times(dec(this.#o.multiplierOf(p.symbol))),
      );
    }
    return {
      accountId: this.#o.accountId,
      currency: 'USD',
      cash: decStr(this.#cash),
      buyingPower: decStr(this.#cash.gt(ZERO) ? this.#cash : ZERO),
      equity: decStr(equity),
      brokerStatus: 'ACTIVE',
    };
  }

  snapshot(): PaperAccountSnapshot {
    return {
      cash: decStr(this.#cash),
      positions: [...this.#positions.values()],
      openOrders: [...this.#orders.values()]
        .filter((o) => OPEN.has(o.status))
        .map((o) => ({
          ...this.#view(o),
          queueAhead: o.queueAhead ? decStr(o.queueAhead) : null,
          triggered: o.triggered,
          createdAt: o.createdAt,
        })),
      bracketEntries: [...this.#groups.values()]
        .map((g) => this.#orders.get(g.entry))
        .filter((e): e is PaperOrder => e !== undefined && !OPEN.has(e.status))
        .map((e) => ({ clientOrderId: e.req.clientOrderId, filledQuantity: decStr(e.filled) })),
      combos: [...this.#combos.values()]
        .filter((c) => this.#comboLegs(c).some((l) => OPEN.has(l.status)))
        .map(({ legs: _legs, id, ...c }) => ({ comboId: id, ...c })),
    };
  }

  /** Rebuilds the account (after a restart) from a snapshot kept by the execution service. */
  restore(s: PaperAccountSnapshot): void {
    this.#cash = dec(s.cash);
    this.#positions.clear();
    for (const p of s.positions) this.#positions.set(p.symbol, { ...p });
    const closedEntries = new Map((s.bracketEntries ?? []).map((e) => [e.clientOrderId, e.filledQuantity]));
    for (const o of s.openOrders) {
      const filled = dec(o.filledQuantity);
      const link = o.bracketLink ?? null;
      if (link) {
        const g = this.#groups.get(link.ocoGroup) ?? {
          entry: link.parentClientOrderId,
          legs: new Map<BracketRole, string>(),
          closedEntryFilled: dec(closedEntries.get(link.parentClientOrderId) ?? '0'),
        };
        g.legs.set(link.role, o.clientOrderId);
        this.#groups.set(link.ocoGroup, g);
      }
      this.#orders.set(o.clientOrderId, {
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
    // Open combos come back whole: their legs (in client-id order) work together again.
    for (const c of s.combos ?? []) {
      const legs = s.openOrders
        .filter((o) => o.comboLink?.comboId === c.comboId)
        .map((o) => o.clientOrderId)
        .sort();
      const { comboId, ...rest } = c;
      this.#combos.set(comboId, { id: comboId, ...rest, legs });
    }
    // An open entry of a restored bracket knows its group again.
    for (const [group, g] of this.#groups) {
      const e = this.#orders.get(g.entry);
      if (e && e.group === null) this.#orders.set(g.entry, { ...e, group });
    }
  }

  /**
   * Works every open order once against the book as it is now. A restored account calls it as
   * soon as its reports are listened to: orders its previous holder acknowledged and had not
   * filled yet (a market order whose fill died with that process) must not wait for the next
   * price update, which may be long in coming on a quiet instrument.
   */
  workOpen(): void {
    for (const o of this.#ordered()) {
      if (OPEN.has(o.status) && o.combo === null && this.#o.quotes.get(o.req.symbol))
        this.#work(o, null, false);
    }
    for (const c of this.#combos.values()) {
      const legs = this.#comboLegs(c);
      if (legs.some((l) => OPEN.has(l.status)) && legs.every((l) => this.#o.quotes.get(l.req.symbol)))
        this.#workCombo(c, false);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Matching
  // -------------------------------------------------------------------------------------------

  #latency(): number {
    const base = this.#o.latencyMs;
    const jitter = this.#o.latencyJitterMs;
    return jitter > 0 ? base + Math.floor(this.#random() * (jitter + 1)) : base;
  }

  #newOrder(
    req: Omit<BrokerOrderRequest, 'bracket'>,
    bracket: BracketLink | null,
    group: string | null,
    combo: ComboLink | null = null,
  ): PaperOrder {
    return {
      req: { ...req },
      brokerOrderId: `PB-${this.#idStem}-${++this.#orderSeq}`,
      seq: this.#orderSeq,
      status: 'pending_new',
      filled: ZERO,
      notional: ZERO,
      fills: 0,
      rejectReason: null,
      queueAhead: null,
      triggered: false,
      createdAt: this.#o.clock(),
      bracket,
      group,
      combo,
    };
  }

  /** Registers the legs with the entry: quantity 0 until the entry fills, good till cancelled. */
  #openBracket(entry: PaperOrder, b: NonNullable<BrokerOrderRequest['bracket']>): void {
    const g: BracketGroup = { entry: entry.req.clientOrderId, legs: new Map(), closedEntryFilled: ZERO };
    for (const leg of b.legs) {
      const stop = leg.role === 'stop';
      const o = this.#newOrder(
        {
          clientOrderId: leg.clientOrderId,
          symbol: entry.req.symbol,
          side: oppositeSide(entry.req.side),
          orderType: stop ? 'stop' : 'limit',
          timeInForce: 'gtc',
          quantity: '0',
          limitPrice: stop ? null : leg.price,
          stopPrice: stop ? leg.price : null,
        },
        { parentClientOrderId: entry.req.clientOrderId, role: leg.role, ocoGroup: b.ocoGroup },
        null,
      );
      this.#orders.set(leg.clientOrderId, o);
      g.legs.set(leg.role, leg.clientOrderId);
    }
    this.#groups.set(b.ocoGroup, g);
  }

  #arrive(o: PaperOrder): void {
    if (o.status !== 'pending_new') return; // cancelled while in flight
    this.#arriveEntry(o);
    this.#syncBracketOf(o);
  }

  #arriveEntry(o: PaperOrder): void {
    const invalid = this.#validate(o.req);
    if (invalid) {
      this.#reject(o, invalid);
      return;
    }
    if (this.#halted.has(o.req.symbol)) {
      this.#reject(o, 'instrument halted');
      return;
    }
    const book = this.#o.quotes.get(o.req.symbol);
    if (!book?.bid || !book.ask) {
      this.#reject(o, 'no market data for the instrument');
      return;
    }
    if (!this.#hasBuyingPower(o)) {
      this.#reject(o, 'insufficient buying power');
      return;
    }
    o.status = 'new';
    this.#report(o, 'accepted');
    // The legs are accepted with the entry (held at quantity 0), before any fill of it.
    for (const leg of this.#legsOf(o)) {
      if (leg.status !== 'pending_new') continue;
      leg.status = 'new';
      this.#report(leg, 'accepted');
    }
    this.#work(o, null, true);
  }

  #validate(r: Omit<BrokerOrderRequest, 'bracket'>): string | null {
    const q = dec(r.quantity);
    if (!q.gt(0)) return 'quantity must be positive';
    const needsLimit = r.orderType === 'limit' || r.orderType === 'stop_limit';
    const needsStop = r.orderType === 'stop' || r.orderType === 'stop_limit';
    if (needsLimit && !(r.limitPrice && dec(r.limitPrice).gt(0))) return 'limit price required';
    if (needsStop && !(r.stopPrice && dec(r.stopPrice).gt(0))) return 'stop price required';
    if (r.orderType === 'market' && r.timeInForce === 'gtc') return 'market orders cannot be gtc';
    return null;
  }

  /** Price an order is reserved at for buying power: its limit, its stop, else the touch. */
  #reservePrice(o: PaperOrder): Dec {
    const r = o.req;
    if (r.limitPrice) return dec(r.limitPrice);
    if (r.stopPrice) return dec(r.stopPrice);
    const b = this.#o.quotes.get(r.symbol);
    const touch = r.side === 'buy' ? b?.ask : b?.bid;
    return touch ?? b?.last ?? ZERO;
  }

  /** Cash an open order ties up: buys at full cost, sells only for the part that goes short. */
  #reserved(o: PaperOrder, sellsAhead: Map<string, Dec>): Dec {
    if (o.bracket) return ZERO; // reduce-only: a leg can only close what is held
    if (o.combo) return ZERO; // a combo is reserved whole (#comboReserve)
    const leaves = dec(o.req.quantity).minus(o.filled);
    const mult = dec(this.#o.multiplierOf(o.req.symbol));
    const px = this.#reservePrice(o);
    const withFee = (q: Dec) => q.times(px).times(mult).times(BPS.plus(this.#feeBps)).div(BPS);
    if (o.req.side === 'buy') return withFee(leaves);
    const pos = dec(this.#positions.get(o.req.symbol)?.quantity ?? '0');
    const ahead = sellsAhead.get(o.req.symbol) ?? ZERO;
    const sellable = pos.minus(ahead).gt(0) ? pos.minus(ahead) : ZERO;
    const shortQty = leaves.gt(sellable) ? leaves.minus(sellable) : ZERO;
    sellsAhead.set(o.req.symbol, ahead.plus(leaves));
    return withFee(shortQty);
  }

  #hasBuyingPower(o: PaperOrder): boolean {
    const sellsAhead = new Map<string, Dec>();
    let reserved = ZERO;
    for (const w of this.#ordered()) {
      if (w !== o && OPEN.has(w.status) && w.status !== 'pending_new')
        reserved = reserved.plus(this.#reserved(w, sellsAhead));
    }
    for (const c of this.#combos.values()) {
      const legs = this.#comboLegs(c);
      if (legs.some((l) => l === o) || !legs.some((l) => OPEN.has(l.status) && l.status !== 'pending_new'))
        continue;
      reserved = reserved.plus(this.#comboReserve(c, new Map()));
    }
    const need = this.#reserved(o, sellsAhead);
    if (o.req.side === 'sell' && need.gt(0) && !this.#o.allowShort) return false;
    return need.lte(this.#cash.minus(reserved));
  }

  /**
   * Cash a combo ties up. A cash account holds the strategy's maximum loss when it is bounded
   * (a defined-risk spread: the long leg covers the short one, so the short leg is not reserved
   * as a naked sale) plus the fees on its legs; otherwise each leg as a single order would be.
   */
  #comboReserve(c: PaperCombo, sellsAhead: Map<string, Dec>): Dec {
    const legs = this.#comboLegs(c);
    let fees = ZERO;
    let each = ZERO;
    for (const l of legs) {
      const leaves = dec(l.req.quantity).minus(l.filled);
      const mult = dec(this.#o.multiplierOf(l.req.symbol));
      const px = this.#reservePrice(l);
      fees = fees.plus(leaves.times(px).times(mult).times(this.#feeBps).div(BPS));
      if (c.maxLoss !== null) continue;
      if (l.req.side === 'buy') each = each.plus(leaves.times(px).times(mult));
      else {
        const pos = dec(this.#positions.get(l.req.symbol)?.quantity ?? '0');
        const ahead = sellsAhead.get(l.req.symbol) ?? ZERO;
        const sellable = pos.minus(ahead).gt(0) ? pos.minus(ahead) : ZERO;
        if (leaves.gt(sellable)) each = each.plus(leaves.minus(sellable).times(px).times(mult));
        sellsAhead.set(l.req.symbol, ahead.plus(leaves));
      }
    }
    return (c.maxLoss !== null ? dec(c.maxLoss) : each).plus(fees);
  }

  #comboLegs(c: PaperCombo): PaperOrder[] {
    return c.legs.map((id) => this.#orders.get(id)).filter((x): x is PaperOrder => !!x);
  }

  #comboAck(c: PaperCombo): PlaceComboAck {
    const legs = this.#comboLegs(c);
    const first = legs[0];
    return {
      comboId: c.id,
      status: first?.status ?? 'rejected',
      legs: legs.map((l) => this.#ack(l)),
      ...(first?.rejectReason && { rejectReason: first.rejectReason }),
    };
  }

  #arriveCombo(c: PaperCombo): void {
    const legs = this.#comboLegs(c);
    if (legs.some((l) => l.status !== 'pending_new')) return; // cancelled while in flight
    const refusal = this.#comboRefusal(c, legs);
    if (refusal) {
      for (const l of legs) {
        l.status = 'rejected';
        l.rejectReason = refusal;
        this.#report(l, 'rejected', { reason: refusal });
      }
      return;
    }
    for (const l of legs) {
      l.status = 'new';
      this.#report(l, 'accepted');
    }
    this.#workCombo(c, true);
  }

  /** Why a combo cannot be accepted (every leg is rejected with it), or null. */
  #comboRefusal(c: PaperCombo, legs: readonly PaperOrder[]): string | null {
    if (!dec(c.quantity).gt(0)) return 'quantity must be positive';
    if (c.orderType === 'limit' && c.netLimitPrice === null) return 'net limit price required';
    if (c.orderType === 'market' && c.timeInForce === 'gtc') return 'market orders cannot be gtc';
    for (const l of legs) {
      if (this.#halted.has(l.req.symbol)) return `instrument halted: ${l.req.symbol}`;
      const b = this.#o.quotes.get(l.req.symbol);
      if (!b?.bid || !b.ask) return `no market data for the instrument: ${l.req.symbol}`;
    }
    const sellsAhead = new Map<string, Dec>();
    let reserved = ZERO;
    for (const w of this.#ordered()) {
      if (OPEN.has(w.status) && w.status !== 'pending_new')
        reserved = reserved.plus(this.#reserved(w, sellsAhead));
    }
    for (const other of this.#combos.values()) {
      if (other === c) continue;
      if (this.#comboLegs(other).some((l) => OPEN.has(l.status) && l.status !== 'pending_new'))
        reserved = reserved.plus(this.#comboReserve(other, sellsAhead));
    }
    const need = this.#comboReserve(c, sellsAhead);
    const nakedShort = c.maxLoss === null && legs.some((l) => l.req.side === 'sell');
    if ((nakedShort && !this.#o.allowShort) || need.gt(this.#cash.minus(reserved)))
      return 'insufficient buying power';
    return null;
  }

  /** One all-or-none pass over a combo (shared/src/orders/combo.ts decides). */
  #workCombo(c: PaperCombo, arrival: boolean): void {
    const legs = this.#comboLegs(c);
    if (legs.length === 0 || legs.some((l) => !OPEN.has(l.status) || l.status === 'pending_new')) return;
    if (legs.some((l) => this.#halted.has(l.req.symbol))) return;
    const touches = legs.map((l) => {
      const b = this.#book(l.req.symbol);
      const buy = l.req.side === 'buy';
      const px = buy ? b?.ask : b?.bid;
      const size = buy ? b?.askSize : b?.bidSize;
      return {
        side: l.req.side,
        ratio: l.combo!.ratio,
        leaves: decStr(dec(l.req.quantity).minus(l.filled)),
        price: px ? decStr(px) : null,
        size: size ? decStr(size) : null,
      };
    });
    const plan = comboFillPlan(touches, c.orderType === 'limit' ? c.netLimitPrice : null);
    if (plan.fill) {
      legs.forEach((l, i) => {
        this.#fillAll(l, [{ price: dec(plan.prices[i]!), quantity: dec(touches[i]!.leaves) }], 'taker');
      });
      return;
    }
    if (arrival && (c.orderType === 'market' || c.timeInForce === 'ioc' || c.timeInForce === 'fok')) {
      this.#endCombo(
        c,
        'cancelled',
        `${c.orderType === 'market' ? 'market combo' : c.timeInForce}: not fillable in full at once`,
      );
    }
  }

  /** Ends every open leg of a combo (cancel or expiry); returns how many it ended. */
  #endCombo(c: PaperCombo, how: 'cancelled' | 'expired', reason?: string): number {
    let n = 0;
    for (const l of this.#comboLegs(c)) {
      if (!OPEN.has(l.status)) continue;
      l.status = how;
      this.#report(l, how, reason ? { reason } : {});
      n++;
    }
    return n;
  }

  /**
   * Works an accepted order against the current book. `trade` is the print that prompted this
   * pass (null on arrival and on quote updates). `arrival` is true only on the first pass, when
   * IOC / FOK / market orders decide what to do with an unfilled remainder.
   */
  #work(o: PaperOrder, trade: { price: Dec; size: Dec } | null, arrival: boolean): void {
    if (!OPEN.has(o.status) || o.status === 'pending_new') return;
    if (o.combo) return; // worked with its combo only
    if (this.#halted.has(o.req.symbol)) return;
    const r = o.req;
    // A bracket leg with nothing to close (its entry has not filled) waits, untriggered.
    if (o.bracket && !this.#leaves(o).gt(0)) return;
    const book = this.#book(r.symbol);
    if (!o.triggered && (r.orderType === 'stop' || r.orderType === 'stop_limit')) {
      if (!isStopTriggered(book, r.side, dec(r.stopPrice!), trade?.price ?? null)) return;
      o.triggered = true;
      arrival = true; // a triggered stop arrives as a market / limit order now
    }
    const limit = r.orderType === 'limit' || r.orderType === 'stop_limit' ? dec(r.limitPrice!) : null;
    const leaves = this.#leaves(o);

    if (limit === null) {
      // Market (or triggered stop): take what the book offers; market orders never rest.
      const fills = takeLiquidity(book, r.side, leaves, null, this.#model);
      if (r.timeInForce === 'fok' && totalQuantity(fills).lt(leaves)) {
        this.#cancelRemainder(o, 'fok: not fillable in full');
        return;
      }
      this.#fillAll(o, fills, 'taker');
      // A triggered protective stop is the position's exit: it keeps working, never dropped.
      if (OPEN.has(o.status) && !o.bracket) this.#cancelRemainder(o, 'market order: no more liquidity');
      return;
    }

    if (isMarketable(book, r.side, limit)) {
      const fills = takeLiquidity(book, r.side, leaves, limit, this.#model);
      if (arrival && r.timeInForce === 'fok' && totalQuantity(fills).lt(leaves)) {
        this.#cancelRemainder(o, 'fok: not fillable in full');
        return;
      }
      this.#fillAll(o, fills, 'taker');
    } else if (arrival && r.timeInForce === 'fok') {
      this.#cancelRemainder(o, 'fok: not fillable in full');
      return;
    }
    if (!OPEN.has(o.status)) return;
    if (arrival && (r.timeInForce === 'ioc' || r.timeInForce === 'fok')) {
      this.#cancelRemainder(o, `${r.timeInForce}: remainder cancelled`);
      return;
    }
    this.#rest(o, limit, trade);
  }

  /** Queue position and passive fills of a resting limit order. */
  #rest(o: PaperOrder, limit: Dec, trade: { price: Dec; size: Dec } | null): void {
    const r = o.req;
    const book = this.#o.quotes.get(r.symbol);
    const ourTouch = r.side === 'buy' ? book?.bid : book?.ask;
    const ourSize = (r.side === 'buy' ? book?.bidSize : book?.askSize) ?? ZERO;
    if (ourTouch) {
      const improves = r.side === 'buy' ? limit.gt(ourTouch) : limit.lt(ourTouch);
      if (improves)
        o.queueAhead = ZERO; // we are the best price: nobody ahead
      else if (limit.eq(ourTouch)) {
        // Joined behind the displayed size; the queue ahead only shrinks (cancels ahead of us).
        o.queueAhead = o.queueAhead === null ? ourSize : o.queueAhead.lt(ourSize) ? o.queueAhead : ourSize;
      }
    }
    if (!trade) return;
    const through = r.side === 'buy' ? trade.price.lt(limit) : trade.price.gt(limit);
    const at = trade.price.eq(limit);
    if (!through && !at) return;
    let available: Dec;
    if (through) {
      available = trade.size; // the market traded through our price: everything at it went first
      o.queueAhead = ZERO;
    } else {
      const ahead = o.queueAhead ?? ZERO;
      available = trade.size.minus(ahead);
      o.queueAhead = ahead.gt(trade.size) ? ahead.minus(trade.size) : ZERO;
    }
    if (!available.gt(0)) return;
    const leaves = this.#leaves(o);
    if (!leaves.gt(0)) return;
    this.#fillAll(o, [{ price: limit, quantity: available.lt(leaves) ? available : leaves }], 'maker');
  }

  /** What the order may still fill: its leaves; for a reduce-only leg at most the position it closes. */
  #leaves(o: PaperOrder): Dec {
    const leaves = dec(o.req.quantity).minus(o.filled);
    if (!o.bracket) return leaves;
    const pos = dec(this.#positions.get(o.req.symbol)?.quantity ?? '0');
    const closable = o.req.side === 'sell' ? pos : pos.neg();
    const cap = closable.gt(0) ? closable : ZERO;
    return leaves.lt(cap) ? leaves : cap;
  }

  #legsOf(entry: PaperOrder): PaperOrder[] {
    const g = entry.group ? this.#groups.get(entry.group) : undefined;
    if (!g) return [];
    return [...g.legs.values()].map((id) => this.#orders.get(id)).filter((x): x is PaperOrder => !!x);
  }

  /**
   * Brings an entry's bracket in line with the rules after anything happened to the entry or a
   * leg (fill, cancel, expiry, reject): restates the legs' quantities, cancels the OCO sibling
   * or the entry's remainder. The decision is shared/src/orders/bracket.ts's.
   */
  #syncBracketOf(o: PaperOrder): void {
    const groupId = o.group ?? o.bracket?.ocoGroup;
    const g = groupId ? this.#groups.get(groupId) : undefined;
    if (!g) return;
    const entry = this.#orders.get(g.entry);
    const legs = [...g.legs]
      .map(([role, id]) => ({ role, o: this.#orders.get(id) }))
      .filter((l): l is { role: BracketRole; o: PaperOrder } => l.o !== undefined);
    const actions = bracketActions({
      entry: entry
        ? { open: OPEN.has(entry.status), quantity: entry.req.quantity, filledQuantity: decStr(entry.filled) }
        : { open: false, quantity: decStr(g.closedEntryFilled), filledQuantity: decStr(g.closedEntryFilled) },
      legs: legs.map((l) => ({
        role: l.role,
        open: OPEN.has(l.o.status),
        quantity: l.o.req.quantity,
        filledQuantity: decStr(l.o.filled),
      })),
    });
    if (actions.cancelEntry && entry && OPEN.has(entry.status)) {
      entry.status = 'cancelled';
      this.#report(entry, 'cancelled', { reason: actions.cancelEntry });
    }
    for (const c of actions.cancelLegs) {
      const leg = legs.find((l) => l.role === c.role)?.o;
      if (!leg || !OPEN.has(leg.status)) continue;
      leg.status = 'cancelled';
      this.#report(leg, 'cancelled', { reason: c.reason });
    }
    for (const r of actions.resize) {
      const leg = legs.find((l) => l.role === r.role)?.o;
      if (!leg || !OPEN.has(leg.status)) continue;
      leg.req = { ...leg.req, quantity: r.quantity };
      this.#report(leg, 'restated', { reason: 'bracket: sized to the entry fills', orderQty: true });
    }
  }

  #onMarket(e: QuoteBookEvent): void {
    if (e.kind === 'quote') this.#taken.delete(e.symbol); // a fresh quote shows fresh liquidity
    const trade = e.kind === 'trade' ? { price: e.price, size: e.size } : null;
    for (const o of this.#ordered()) {
      if (o.req.symbol === e.symbol && OPEN.has(o.status)) this.#work(o, trade, false);
    }
    for (const c of this.#combos.values()) {
      if (this.#comboLegs(c).some((l) => l.req.symbol === e.symbol && OPEN.has(l.status)))
        this.#workCombo(c, false);
    }
  }

  /** The book as this account sees it: displayed sizes less what it took since the last quote. */
  #book(symbol: string): TopOfBook | null {
    const b = this.#o.quotes.get(symbol);
    const t = this.#taken.get(symbol);
    if (!b || !t) return b;
    const left = (size: Dec, took: Dec) => (size.gt(took) ? size.minus(took) : ZERO);
    return { ...b, bidSize: left(b.bidSize, t.bid), askSize: left(b.askSize, t.ask) };
  }

  #ordered(): PaperOrder[] {
    return [...this.#orders.values()].sort((a, b) => a.seq - b.seq);
  }

  #fillAll(o: PaperOrder, fills: readonly LevelFill[], liquidity: 'maker' | 'taker'): void {
    const r = o.req;
    const mult = dec(this.#o.multiplierOf(r.symbol));
    for (const f of fills) {
      if (!f.quantity.gt(0)) continue;
      const notional = f.quantity.times(f.price).times(mult);
      const fee = feeFor(notional, this.#feeBps, this.#minFee, o.fills === 0);
      o.filled = o.filled.plus(f.quantity);
      o.notional = o.notional.plus(f.quantity.times(f.price));
      o.fills++;
      if (o.status !== 'pending_cancel')
        o.status = o.filled.gte(dec(r.quantity)) ? 'filled' : 'partially_filled';
      const prev = this.#positions.get(r.symbol) ?? flatPosition(r.symbol);
      this.#positions.set(
        r.symbol,
        applyFill(prev, {
          side: r.side,
          quantity: decStr(f.quantity),
          price: decStr(f.price),
          fee: decStr(fee),
          multiplier: decStr(mult),
        }).position,
      );
      this.#cash =
        r.side === 'buy' ? this.#cash.minus(notional).minus(fee) : this.#cash.plus(notional).minus(fee);
      if (liquidity === 'taker') {
        const t = this.#taken.get(r.symbol) ?? { bid: ZERO, ask: ZERO };
        this.#taken.set(
          r.symbol,
          r.side === 'buy' ? { ...t, ask: t.ask.plus(f.quantity) } : { ...t, bid: t.bid.plus(f.quantity) },
        );
      }
      this.#report(o, 'fill', { lastQty: f.quantity, lastPx: f.price, fee, liquidity });
      this.#syncBracketOf(o);
    }
  }

  #cancelRemainder(o: PaperOrder, reason: string): void {
    o.status = 'cancelled';
    this.#report(o, 'cancelled', { reason });
    this.#syncBracketOf(o);
  }

  #reject(o: PaperOrder, reason: string): void {
    o.status = 'rejected';
    o.rejectReason = reason;
    this.#report(o, 'rejected', { reason });
    // The legs of a rejected entry never existed at the exchange: rejected with it.
    for (const leg of this.#legsOf(o)) {
      if (leg.status !== 'pending_new') continue;
      leg.status = 'rejected';
      leg.rejectReason = `bracket entry rejected: ${reason}`;
      this.#report(leg, 'rejected', { reason: leg.rejectReason });
    }
  }

  /** Event time of a report: the ms Date and its µs, from one reading of the clock. */
  #eventTime(): { tsEvent: Date; tsEventUs: number } {
    const us = this.#o.clockUs();
    return { tsEvent: new Date(Math.floor(us / 1000)), tsEventUs: us };
  }

  #report(
    o: PaperOrder,
    kind: ExecutionReport['kind'],
    x: {
      lastQty?: Dec;
      lastPx?: Dec;
      fee?: Dec;
      liquidity?: 'maker' | 'taker';
      reason?: string;
      orderQty?: boolean;
    } = {},
  ): void {
    const qty = dec(o.req.quantity);
    const open = OPEN.has(o.status);
    const report: ExecutionReport = {
      kind,
      executionId: `${this.#idStem}-E${++this.#execSeq}`,
      clientOrderId: o.req.clientOrderId,
      brokerOrderId: o.brokerOrderId,
      symbol: o.req.symbol,
      side: o.req.side,
      ...this.#eventTime(),
      ...(x.lastQty && { lastQty: decStr(x.lastQty) }),
      ...(x.lastPx && { lastPx: decStr(x.lastPx) }),
      ...(x.fee && { fee: decStr(x.fee) }),
      ...(x.liquidity && { liquidity: x.liquidity }),
      ...(x.reason && { reason: x.reason }),
      ...(x.orderQty && { orderQty: decStr(qty) }),
      cumQty: decStr(o.filled),
      leavesQty: decStr(open ? qty.minus(o.filled) : ZERO),
      avgPx: o.filled.gt(0) ? decStr(o.notional.div(o.filled).toDecimalPlaces(12)) : null,
    };
    const history = this.#executions.get(o.req.clientOrderId);
    if (history) history.push(report);
    else this.#executions.set(o.req.clientOrderId, [report]);
    if (this.#reportsMuted) return;
    for (const l of this.#listeners) {
      try {
        l(report);
      } catch {
        // A listener's failure must not corrupt the matching loop; listeners log their own errors.
      }
    }
  }

  #view(o: PaperOrder): BrokerOrder {
    return {
      ...o.req,
      limitPrice: o.req.limitPrice ?? null,
      stopPrice: o.req.stopPrice ?? null,
      brokerOrderId: o.brokerOrderId,
      status: o.status,
      filledQuantity: decStr(o.filled),
      avgFillPrice: o.filled.gt(0) ? decStr(o.notional.div(o.filled).toDecimalPlaces(12)) : null,
      rejectReason: o.rejectReason,
      bracketLink: o.bracket,
      comboLink: o.combo,
    };
  }

  #ack(o: PaperOrder): PlaceOrderAck {
    return {
      clientOrderId: o.req.clientOrderId,
      brokerOrderId: o.brokerOrderId,
      status: o.status,
      ...(o.rejectReason && { rejectReason: o.rejectReason }),
    };
  }
}
