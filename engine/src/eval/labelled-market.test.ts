import { describe, expect, it } from 'vitest';
import { copyTick, createTickRecord, type TickRecord, validateTick } from '../feeds/tick.ts';
import { momentumSeries, type RuleSeries, ruleSignals } from './baselines.ts';
import { type LabelledEvent, LabelledMarket } from './labelled-market.ts';
import type { MarketRun } from './market-run.ts';
import { indexEvents, qualityRow } from './signal-metrics.ts';
import { REGRESSION_SEEDS, TEST_SEEDS, TRAINING_SEEDS, VALIDATION_SEEDS } from './splits.ts';

interface Sim {
  readonly market: LabelledMarket;
  /** Per symbol: its ticks in order. */
  readonly ticks: TickRecord[][];
}

function simulate(seed: number, symbols: number, n: number): Sim {
  const market = new LabelledMarket({ symbols, seed });
  const ticks: TickRecord[][] = Array.from({ length: symbols }, () => []);
  const t = createTickRecord();
  for (let k = 0; k < n; k++) {
    const i = market.next(t);
    ticks[i]!.push(copyTick(t, createTickRecord()));
  }
  market.finish();
  return { market, ticks };
}

const mid = (t: TickRecord) => (t.bid + t.ask) / 2;

/** Signed mid move (bp) of an event's symbol between two of its ticks. */
function moveBp(sim: Sim, ev: LabelledEvent, from: number, to: number): number {
  const col = sim.ticks[ev.symbol]!;
  return Math.log(mid(col[to]!) / mid(col[from]!)) * 1e4;
}

/** Over an event's first phase: trade-sign imbalance (signed by `dir`) and mean depth per side. */
function flowAndBook(sim: Sim, ev: LabelledEvent, dir: number) {
  let signed = 0;
  let trades = 0;
  let hit = 0;
  let other = 0;
  let n = 0;
  for (let k = ev.startTick; k <= ev.phaseEndTick; k++) {
    const t = sim.ticks[ev.symbol]![k]!;
    if (t.kind === 1) {
      signed += t.aggressor * dir;
      trades++;
    }
    // The side buyers hit is the ask.
    hit += dir > 0 ? t.askSize : t.bidSize;
    other += dir > 0 ? t.bidSize : t.askSize;
    n++;
  }
  return { imbalance: signed / trades, hitDepth: hit / n, otherDepth: other / n };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('labelled market', () => {
  const sim = simulate(11, 8, 400_000);
  const ofKind = (kind: LabelledEvent['kind']) =>
    sim.market.events.filter((e) => e.kind === kind && e.endTick > e.phaseEndTick);

  it('is deterministic for a seed (ticks and labels) and differs across seeds', () => {
    const a = simulate(5, 4, 30_000);
    const b = simulate(5, 4, 30_000);
    const c = simulate(6, 4, 30_000);
    expect(a.ticks).toEqual(b.ticks);
    expect(a.market.events).toEqual(b.market.events);
    expect(a.ticks).not.toEqual(c.ticks);
  });

  it('emits valid ticks: quotes with sizes, trades at the touch with an aggressor, µs times that increase', () => {
    // Counted in plain loops (an expect per tick would dominate the test's time).
    let trades = 0;
    let last = 0;
    const bad: string[] = [];
    const all = sim.ticks.flat().sort((x, y) => x.tsEventUs - y.tsEventUs);
    for (const t of all) {
      const why = validateTick(t);
      if (why !== null) bad.push(why);
      if (!(t.ask > t.bid) || t.bidSize < 1 || t.askSize < 1) bad.push('book');
      if (!Number.isSafeInteger(t.tsEventUs) || t.tsEventUs <= last) bad.push('time');
      last = t.tsEventUs;
      if (t.kind === 1) {
        trades++;
        if (t.aggressor !== 1 && t.aggressor !== -1) bad.push('aggressor');
        if (t.price !== (t.aggressor === 1 ? t.ask : t.bid)) bad.push('trade price');
      } else if (t.aggressor !== 0) {
        bad.push('quote aggressor');
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(trades / all.length).toBeGreaterThan(0.35);
    expect(trades / all.length).toBeLessThan(0.65);
  });

  it('labels windows that lie inside the symbol, never overlap on a symbol, and carry their times', () => {
    const bySymbol = new Map<number, LabelledEvent[]>();
    for (const ev of sim.market.events) {
      const col = sim.ticks[ev.symbol]!;
      expect(ev.startTick).toBeGreaterThanOrEqual(0);
      expect(ev.endTick).toBeLessThan(col.length);
      expect(ev.phaseEndTick).toBeGreaterThanOrEqual(ev.startTick);
      expect(ev.phaseEndTick).toBeLessThanOrEqual(ev.endTick);
      expect(ev.tsStartUs).toBe(col[ev.startTick]!.tsEventUs);
      expect(ev.tsEndUs).toBe(col[ev.endTick]!.tsEventUs);
      expect(ev.direction === 0).toBe(ev.kind !== 'ofi_drift' && ev.kind !== 'exhaustion_reversion');
      if (ev.kind === 'regime_change') continue;
      const list = bySymbol.get(ev.symbol) ?? [];
      list.push(ev);
      bySymbol.set(ev.symbol, list);
    }
    for (const list of bySymbol.values()) {
      for (let k = 1; k < list.length; k++) expect(list[k]!.startTick).toBeGreaterThan(list[k - 1]!.endTick);
    }
    for (const kind of [
      'ofi_drift',
      'exhaustion_reversion',
      'liquidity_withdrawal',
      'absorbed_flow',
    ] as const) {
      expect(sim.market.events.filter((e) => e.kind === kind).length).toBeGreaterThan(20);
    }
  });

  it("closes the labels of events still running at the end on the symbol's last tick", () => {
    // Short enough that some events are cut off by the end of the market.
    const short = simulate(21, 3, 3_000);
    const open = short.market.events.filter(
      (e) => e.kind !== 'regime_change' && e.endTick === short.ticks[e.symbol]!.length - 1,
    );
    expect(open.length).toBeGreaterThan(0);
    for (const e of short.market.events) {
      const col = short.ticks[e.symbol]!;
      expect(e.endTick).toBeLessThan(col.length);
      expect(e.tsEndUs).toBe(col[e.endTick]!.tsEventUs);
    }
  });

  it('order-flow imbalance: one-sided flow on a depleted hit side first, then the mid drifts its way', () => {
    const evs = ofKind('ofi_drift');
    const flow = evs.map((e) => flowAndBook(sim, e, e.direction));
    expect(mean(flow.map((f) => f.imbalance))).toBeGreaterThan(0.4);
    // Depleted, not gone: trades drain the hit side faster than it refills.
    expect(mean(flow.map((f) => f.hitDepth / f.otherDepth))).toBeLessThan(0.8);
    const early = mean(evs.map((e) => e.direction * moveBp(sim, e, e.startTick, e.phaseEndTick)));
    const later = mean(evs.map((e) => e.direction * moveBp(sim, e, e.phaseEndTick, e.endTick)));
    // The flow comes before the price: most of the move happens after the flow phase.
    expect(later).toBeGreaterThan(12);
    expect(later).toBeGreaterThan(2 * early);
  });

  it('exhaustion: a spike against the direction on thinning volume, then a reversion with it', () => {
    const evs = ofKind('exhaustion_reversion');
    const spike = mean(evs.map((e) => e.direction * moveBp(sim, e, e.startTick, e.phaseEndTick)));
    const reversion = mean(evs.map((e) => e.direction * moveBp(sim, e, e.phaseEndTick, e.endTick)));
    expect(spike).toBeLessThan(-15);
    expect(reversion).toBeGreaterThan(15);
    // Trades in the spike's first half are bigger than in its second half.
    const halves = evs.map((e) => {
      const col = sim.ticks[e.symbol]!;
      const midTick = (e.startTick + e.phaseEndTick) >> 1;
      let a = 0;
      let na = 0;
      let b = 0;
      let nb = 0;
      for (let k = e.startTick; k <= e.phaseEndTick; k++) {
        const t = col[k]!;
        if (t.kind !== 1) continue;
        if (k <= midTick) {
          a += t.size;
          na++;
        } else {
          b += t.size;
          nb++;
        }
      }
      return a / Math.max(1, na) - b / Math.max(1, nb);
    });
    expect(mean(halves)).toBeGreaterThan(0);
  });

  it('absorbed flow is as one-sided as informed flow, the hit side refills, and the mid does not drift', () => {
    const evs = sim.market.events.filter((e) => e.kind === 'absorbed_flow');
    // Absorbed events carry no direction: recover the flow's side from the trades.
    const flows = evs.map((e) => {
      const col = sim.ticks[e.symbol]!;
      let s = 0;
      for (let k = e.startTick; k <= e.endTick; k++) if (col[k]!.kind === 1) s += col[k]!.aggressor;
      const side = s >= 0 ? 1 : -1;
      return { side, ...flowAndBook(sim, e, side), move: side * moveBp(sim, e, e.startTick, e.endTick) };
    });
    expect(mean(flows.map((f) => f.imbalance))).toBeGreaterThan(0.4);
    expect(mean(flows.map((f) => f.hitDepth / f.otherDepth))).toBeGreaterThan(1.1);
    expect(Math.abs(mean(flows.map((f) => f.move)))).toBeLessThan(3);
  });

  it('liquidity withdrawal: thinner book, wider spread, bigger moves than the noise around it', () => {
    const evs = sim.market.events.filter((e) => e.kind === 'liquidity_withdrawal');
    const ratios = evs.map((e) => {
      const col = sim.ticks[e.symbol]!;
      const before = col.slice(Math.max(0, e.startTick - 100), e.startTick);
      const during = col.slice(e.startTick + 20, e.endTick + 1);
      const stat = (ts: TickRecord[]) => ({
        depth: mean(ts.map((t) => t.bidSize + t.askSize)),
        spread: mean(ts.map((t) => (t.ask - t.bid) / mid(t))),
      });
      const a = stat(before);
      const b = stat(during);
      return { depth: b.depth / a.depth, spread: b.spread / a.spread };
    });
    expect(mean(ratios.map((r) => r.depth))).toBeLessThan(0.5);
    expect(mean(ratios.map((r) => r.spread))).toBeGreaterThan(1.8);
  });

  it('keeps pure noise a martingale: no drift and no reversal of the mid outside events', () => {
    // Lag-50 autocorrelation of 50-tick mid returns on ticks outside every event window.
    const xs: number[] = [];
    const ys: number[] = [];
    for (let s = 0; s < sim.ticks.length; s++) {
      const col = sim.ticks[s]!;
      const inEvent = new Uint8Array(col.length);
      for (const e of sim.market.events) {
        if (e.symbol !== s || e.kind === 'regime_change') continue;
        for (let k = Math.max(0, e.startTick - 100); k <= Math.min(col.length - 1, e.endTick + 100); k++) {
          inEvent[k] = 1;
        }
      }
      for (let k = 50; k + 50 < col.length; k += 50) {
        if (inEvent[k - 50] || inEvent[k] || inEvent[k + 50]) continue;
        xs.push(Math.log(mid(col[k]!) / mid(col[k - 50]!)));
        ys.push(Math.log(mid(col[k + 50]!) / mid(col[k]!)));
      }
    }
    const mx = mean(xs);
    const my = mean(ys);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let k = 0; k < xs.length; k++) {
      sxy += (xs[k]! - mx) * (ys[k]! - my);
      sxx += (xs[k]! - mx) ** 2;
      syy += (ys[k]! - my) ** 2;
    }
    expect(xs.length).toBeGreaterThan(1000);
    expect(Math.abs(sxy / Math.sqrt(sxx * syy))).toBeLessThan(0.1);
  });

  it('is not a trick one feature reads: flow and book each help, together more, momentum is fooled', () => {
    // Simple causal rules over the same market, 300 signals each: trade-sign imbalance (EWMA span
    // 32 of signed volume / volume), touch depth imbalance (EWMA span 16), both agreeing.
    const symbols = sim.ticks.length;
    const run: MarketRun = {
      seed: 11,
      symbols,
      ticks: sim.market.emitted,
      mids: sim.ticks.map((col) => Float64Array.from(col, mid)),
      tsUs: sim.ticks.map((col) => Float64Array.from(col, (t) => t.tsEventUs)),
      events: sim.market.events,
      candidates: [],
    };
    const flow = sim.ticks.map((col) => {
      let signed = 0;
      let volume = 0;
      return Float64Array.from(col, (t) => {
        if (t.kind === 1) {
          signed += (2 / 33) * (t.aggressor * t.size - signed);
          volume += (2 / 33) * (t.size - volume);
        }
        return volume > 0 ? signed / volume : 0;
      });
    });
    const depth = sim.ticks.map((col) => {
      let lean = 0;
      return Float64Array.from(col, (t) => {
        lean += (2 / 17) * ((t.bidSize - t.askSize) / (t.bidSize + t.askSize) - lean);
        return lean;
      });
    });
    const rule = (name: string, value: (s: number, k: number) => number): RuleSeries => ({
      name,
      strength: [flow.map((col, s) => Float64Array.from(col, (_, k) => Math.abs(value(s, k))))],
      direction: [flow.map((col, s) => Int8Array.from(col, (_, k) => Math.sign(value(s, k))))],
    });
    const both = (s: number, k: number) => {
      const f = flow[s]![k]!;
      const d = depth[s]![k]!;
      return Math.sign(f) === Math.sign(d) ? Math.sign(f) * Math.min(Math.abs(f), 2 * Math.abs(d)) : 0;
    };
    const events = indexEvents([run]);
    const precision = (series: RuleSeries) =>
      qualityRow([run], events, ruleSignals([run], series, 300), {
        source: 'engine',
        pattern: series.name,
        horizons: [200],
        auc: false,
        calibration: false,
      }).precisionDirection!;
    const p = {
      momentum: precision(momentumSeries([run])),
      flow: precision(rule('flow', (s, k) => flow[s]![k]!)),
      depth: precision(rule('depth', (s, k) => depth[s]![k]!)),
      both: precision(rule('both', both)),
    };
    expect(p.flow).toBeLessThan(0.45);
    expect(p.depth).toBeLessThan(0.45);
    expect(p.both).toBeGreaterThan(Math.max(p.flow, p.depth));
    expect(p.momentum).toBeLessThan(Math.min(p.flow, p.depth));
  });

  it('has disjoint split seeds', () => {
    const all = [...TRAINING_SEEDS, ...VALIDATION_SEEDS, ...TEST_SEEDS, ...REGRESSION_SEEDS];
    expect(new Set(all).size).toBe(all.length);
  });
});
