import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import type { DeskSnapshot, RiskPreset } from '@aegis/shared/agent/decider';
import type { DeskGateView, InstrumentHistory } from '@aegis/shared/agent/proposal-gate';
import { collapseOcoGroups } from '@aegis/shared/orders/bracket';
import type { InstrumentInfo, RecentOrderInfo, RiskContext, RiskLimits } from '@aegis/shared/risk/governor';
import type { BacktestResult } from '@aegis/shared/schemas/backtest';
import type { TradeProposal } from '@aegis/shared/schemas/proposal';
import { formatTimestampUs } from '../feeds/tick-csv.ts';
import { decOf, type SimBook } from './sim-book.ts';
import { SimDesk } from './sim-desk.ts';
import type { SimVenue, VenueOrder } from './sim-venue.ts';

/** Fills kept in the result (the counts and the money cover all of them). */
export const MAX_RESULT_FILLS = 20_000;
const DAY_US = 86_400_000_000;
const MINUTE_MS = 60_000;

interface LastProposal {
  side: 'buy' | 'sell';
  atMs: number;
  filledAtMs: number | null;
  stopPrice: number | null;
  targetPrice: number | null;
  entryId: string | null;
}

export interface PatternTrades {
  trades: number;
  wins: number;
  pnl: Dec;
}

/**
 * The simulated desk as the decision path sees it: its money (SimDesk, decimals), the history the
 * proposal gate reads (proposals per hour, the last proposal per instrument, when positions went
 * flat), the RiskContext the governor reads (positions, working orders with a bracket's legs
 * counted once, marks and quote from the venue's book, daily P&L, recent orders and trades) and
 * the buy-and-hold benchmark on the same data and capital.
 *
 * The benchmark buys capital / N of each of the N instruments at its first price and holds; its
 * value is summed in floating point at each equity point and rounded to 8 decimals: it is a
 * reference curve, not money the desk holds (the desk's own equity is exact).
 */
export class BacktestDesk {
  readonly accounts: SimDesk;
  readonly #symbols: readonly string[];
  readonly #book: SimBook;
  readonly #limits: RiskLimits;
  #venue: SimVenue | null = null;
  readonly fills: BacktestResult['fills'] = [];
  fillCount = 0;
  readonly patternTrades = new Map<string, PatternTrades>();
  readonly #last: (LastProposal | null)[];
  readonly #flatAtMs: (number | null)[];
  readonly #proposalMs: number[] = [];
  #proposalHead = 0;
  readonly #recent: (RecentOrderInfo & { atMs: number })[] = [];
  readonly #instruments: InstrumentInfo[];
  // Buy-and-hold.
  #benchCash: Dec;
  readonly #benchQty: Float64Array;
  readonly #benchSlice: Dec;

  constructor(capital: string, symbols: readonly string[], book: SimBook, limits: RiskLimits) {
    this.accounts = new SimDesk(capital, symbols);
    this.#symbols = symbols;
    this.#book = book;
    this.#limits = limits;
    this.#last = symbols.map(() => null);
    this.#flatAtMs = symbols.map(() => null);
    // Simulated instruments trade around the clock, one unit per contract.
    this.#instruments = symbols.map((symbol) => ({
      symbol,
      assetClass: 'equity',
      multiplier: '1',
      calendar: '24x7',
      status: 'active',
    }));
    this.#benchCash = dec(capital);
    this.#benchQty = new Float64Array(symbols.length);
    this.#benchSlice = dec(capital).div(symbols.length);
  }

  attach(venue: SimVenue): void {
    this.#venue = venue;
  }

  /* ------------------------------------------------------------------ money */

  equity(): Dec {
    return this.accounts.equity(this.#book);
  }

  benchmarkBuy(inst: number): void {
    const price = decOf(this.#book.first[inst]!);
    const qty = this.#benchSlice.div(price).toDecimalPlaces(8, 1);
    this.#benchCash = this.#benchCash.minus(qty.times(price));
    this.#benchQty[inst] = qty.toNumber();
  }

  benchmarkEquity(): Dec {
    let v = 0;
    const q = this.#benchQty;
    for (let i = 0; i < q.length; i++) if (q[i] !== 0) v += q[i]! * this.#book.mark(i);
    return this.#benchCash.plus(dec(v.toFixed(8)));
  }

  onFill(order: VenueOrder, q: Dec, price: Dec, fee: Dec, liquidity: 'maker' | 'taker', tsUs: number): void {
    this.fillCount++;
    const pattern = order.bracket?.entry.pattern ?? order.pattern;
    const closed = this.accounts.fill(order.inst, order.side, q, price, fee, tsUs, pattern);
    if (closed) {
      const key = closed.pattern ?? 'none';
      const t = this.patternTrades.get(key) ?? { trades: 0, wins: 0, pnl: ZERO };
      t.trades++;
      if (closed.pnl.gt(0)) t.wins++;
      t.pnl = t.pnl.plus(closed.pnl);
      this.patternTrades.set(key, t);
    }
    if (this.accounts.qty[order.inst] === 0) this.#flatAtMs[order.inst] = tsUs / 1000;
    const last = this.#last[order.inst];
    if (order.role === 'entry' && last && last.entryId === order.id) last.filledAtMs = tsUs / 1000;
    if (this.fills.length < MAX_RESULT_FILLS) {
      this.fills.push({
        orderId: order.id,
        ts: formatTimestampUs(tsUs),
        symbol: order.symbol,
        side: order.side,
        quantity: decStr(q),
        price: decStr(price),
        fee: decStr(fee),
        liquidity,
      });
    }
  }

  /* ------------------------------------------------------------------ the proposal gate's view */

  gateView(inst: number, nowMs: number): DeskGateView {
    while (
      this.#proposalHead < this.#proposalMs.length &&
      this.#proposalMs[this.#proposalHead]! <= nowMs - 3_600_000
    ) {
      this.#proposalHead++;
    }
    const last = this.#last[inst] ?? null;
    const pending = this.#venue!.openOrders(inst)
      .filter((o) => o.role === 'entry')
      .map((o) => ({ id: o.id, side: o.side }));
    const instrument: InstrumentHistory = {
      pending,
      lastProposal: last,
      positionClosedAtMs: this.#flatAtMs[inst] ?? null,
    };
    return {
      // Proposals are recorded in time order: those after the head are the trailing hour's.
      proposalsLastHour: this.#proposalMs.length - this.#proposalHead,
      instrument,
    };
  }

  recordProposal(inst: number, p: TradeProposal, nowMs: number): void {
    this.#proposalMs.push(nowMs);
    this.#last[inst] = {
      side: p.side,
      atMs: nowMs,
      filledAtMs: null,
      stopPrice: p.stopPrice ? Number(p.stopPrice) : null,
      targetPrice: p.targetPrice ? Number(p.targetPrice) : null,
      entryId: null,
    };
  }

  recordSent(entry: VenueOrder, decisionUs: number): void {
    const last = this.#last[entry.inst];
    if (last) last.entryId = entry.id;
    this.#recent.push({
      symbol: entry.symbol,
      side: entry.side,
      orderType: entry.orderType,
      quantity: decStr(entry.quantity),
      limitPrice: entry.limitPrice ? decStr(entry.limitPrice) : null,
      stopPrice: null,
      createdAt: new Date(Math.floor(decisionUs / 1000)),
      atMs: decisionUs / 1000,
    });
  }

  /* ------------------------------------------------------------------ the governor's view */

  riskContext(inst: number, decisionUs: number): RiskContext {
    const book = this.#book;
    const nowMs = decisionUs / 1000;
    const involved = new Set<number>([inst]);
    const positions: { symbol: string; quantity: string }[] = [];
    const qty = this.accounts.qty;
    for (let i = 0; i < qty.length; i++) {
      if (qty[i] === 0) continue;
      involved.add(i);
      positions.push({ symbol: this.#symbols[i]!, quantity: this.accounts.positions[i]!.quantity });
    }
    const working = collapseOcoGroups(
      this.#venue!.openOrders().map((o) => {
        involved.add(o.inst);
        return {
          symbol: o.symbol,
          side: o.side,
          leavesQty: decStr(o.quantity.minus(o.filled)),
          limitPrice: o.limitPrice ? decStr(o.limitPrice) : null,
          ocoGroup: o.role === 'stop' || o.role === 'target' ? (o.bracket?.entry.id ?? null) : null,
        };
      }),
    );
    const instruments: Record<string, InstrumentInfo> = {};
    const marks: Record<string, string> = {};
    for (const i of [...involved].sort((a, b) => a - b)) {
      const s = this.#symbols[i]!;
      instruments[s] = this.#instruments[i]!;
      const m = book.mark(i);
      if (m > 0) marks[s] = String(m);
    }
    const window = Math.max(this.#limits.duplicateWindowMs ?? 0, MINUTE_MS);
    while (this.#recent.length > 0 && this.#recent[0]!.atMs < nowMs - window) this.#recent.shift();
    const recentOrders = this.#recent.map(({ atMs: _, ...o }) => o).reverse();
    const trades = this.accounts.trades;
    const recentTradePnls: string[] = [];
    for (let k = trades.length - 1; k >= 0 && recentTradePnls.length < 20; k--) {
      recentTradePnls.push(decStr(trades[k]!.pnl));
    }
    const dayStartUs = Math.floor(decisionUs / DAY_US) * DAY_US;
    const bid = book.bid[inst]!;
    const ask = book.ask[inst]!;
    const last = book.last[inst]!;
    return {
      now: new Date(Math.floor(nowMs)),
      instrument: this.#instruments[inst]!,
      instruments,
      quote:
        bid > 0 || last > 0
          ? {
              bid: bid > 0 ? String(bid) : null,
              ask: ask > 0 ? String(ask) : null,
              last: last > 0 ? String(last) : null,
              ts: new Date(Math.floor(book.quoteTsUs[inst]! / 1000)),
            }
          : null,
      marks,
      positions,
      workingOrders: working.map(({ ocoGroup: _, ...w }) => w),
      dailyPnl: {
        realized: decStr(this.accounts.closedSince(dayStartUs).pnl),
        unrealized: decStr(this.#unrealized()),
      },
      recentOrders,
      recentTradePnls,
      automationEnabled: true,
      halt: { global: false, desk: false },
    };
  }

  #unrealized(): Dec {
    let u = ZERO;
    const qty = this.accounts.qty;
    for (let i = 0; i < qty.length; i++) {
      if (qty[i] === 0) continue;
      const p = this.accounts.positions[i]!;
      const m = this.#book.mark(i);
      if (m > 0) u = u.plus(decOf(m).minus(dec(p.avgCost)).times(dec(p.quantity)));
    }
    return u;
  }

  /** What the decider sees of the desk (the server builds the same from PostgreSQL). */
  snapshot(decisionUs: number, riskPreset: RiskPreset): DeskSnapshot {
    const positions: DeskSnapshot['positions'][number][] = [];
    const qty = this.accounts.qty;
    for (let i = 0; i < qty.length; i++) {
      if (qty[i] === 0) continue;
      const p = this.accounts.positions[i]!;
      positions.push({
        symbol: p.symbol,
        quantity: p.quantity,
        avgCost: p.avgCost,
        realizedPnl: p.realizedPnl,
      });
    }
    const { gross, net } = this.accounts.exposure(this.#book);
    const day = this.accounts.closedSince(decisionUs - DAY_US);
    return {
      tenantId: 'backtest',
      riskPreset,
      positions,
      limits: this.#limits,
      exposure: { gross: decStr(gross), net: decStr(net) },
      recentPnl: { realized24h: decStr(day.pnl), trades24h: day.trades, losses24h: day.losses },
      lotSize: null,
    };
  }
}
