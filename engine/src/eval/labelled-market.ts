// One file over 400 lines: LabelledMarket is one seeded generator whose event kinds, regimes and
// labels draw from one random stream in a fixed order; splitting it would hide that order.
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TickRecord } from '../feeds/tick.ts';
import { Xoshiro128 } from '../random/seeded-random.ts';
import {
  ABSORBED,
  EVENT_HAZARD_PER_TICK,
  EVENT_MIX,
  EXHAUSTION,
  IMPACT_BP,
  NOISE,
  OFI,
  REGIME,
  TRADE_SIZE_OF_DEPTH,
  WITHDRAWAL,
} from './market-params.ts';

/**
 * The labelled market: a seeded simulation of N symbols with planted, labelled microstructure
 * events, for measuring signals against the truth (docs/signal-evaluation.md describes every
 * effect, its parameters and why).
 *
 * Per symbol, the quoted mid is   ln mid = efficient + overshoot
 *  - efficient: a random walk (σ per tick × regime × event multiplier), plus the drift of informed
 *    flow, plus each trade's impact on its surprise: IMPACT_BP × (sign − E[sign]) × sqrt(size /
 *    mean size) (Madhavan-Richardson-Roomans: the predictable part of persistent flow is already in
 *    the price, so pure noise stays a martingale however persistent its signs are);
 *  - overshoot: the spike of an exhaustion event, most of which decays back afterwards.
 * The book: bid/ask on a 0.01 grid around the mid (spread in bp × regime × event, ≥ 1 tick), sizes
 * per side that trades deplete and that refill toward a target at a rate (both set by the event);
 * trades print at the touch (buy at the ask, sell at the bid) with aggressor ±1.
 *
 * Event kinds (one at a time per symbol, started by a hazard after a cool-off of pure noise):
 *  - ofi_drift (direction ±1): informed one-sided aggressive flow, the hit side's depth depleted
 *    and slow to refill, the efficient price barely moving; then the efficient price drifts in the
 *    flow's direction. Window: first tick of the flow to the last tick of the drift.
 *  - exhaustion_reversion (direction = the reversion's): a fast one-sided spike on volume that thins
 *    as the price overshoots, the hit side refilling (passive liquidity leaning against it); then
 *    the overshoot decays. Window: first tick of the spike to the end of the reversion.
 *  - liquidity_withdrawal (direction 0): depth falls, the spread widens, volatility rises, flow is
 *    balanced: no predictable direction.
 *  - absorbed_flow (direction 0): one-sided flow as strong as informed flow, met by a passive
 *    side that refills (an iceberg): only transient impact, no drift. A flow-only rule is fooled.
 *  - regime_change (direction 0, one tick): the symbol switches between a calm and a volatile
 *    regime (volatility, spread, depth).
 * Everything else is noise: balanced flow with sign persistence (order splitting), a martingale mid.
 *
 * Ticks: which symbol ticks next is uniform; event time advances by an exponential gap (mean
 * 1 / (ticksPerSymbolPerSec × symbols)). Tick indices in the labels count the ticks of that symbol
 * (0-based), the clock the harness measures forward returns on.
 *
 * Hot path: per-symbol state in typed arrays, one PRNG (feeds/prng.ts), one scratch TickRecord:
 * no allocation per tick (a label object per event, a few per thousand ticks).
 *
 * Over 400 lines on purpose: one simulation whose planted effects act on the same per-symbol state.
 */

export type EventKind =
  | 'ofi_drift'
  | 'exhaustion_reversion'
  | 'liquidity_withdrawal'
  | 'absorbed_flow'
  | 'regime_change';

export const EVENT_KINDS: readonly EventKind[] = [
  'ofi_drift',
  'exhaustion_reversion',
  'liquidity_withdrawal',
  'absorbed_flow',
  'regime_change',
];

/** Kinds whose direction is predictable (direction ±1): the ones a signal should find. */
export const TRADABLE_KINDS: readonly EventKind[] = ['ofi_drift', 'exhaustion_reversion'];

export interface LabelledEvent {
  /** Index in `events` (order of start). */
  readonly id: number;
  /** Market symbol index (0..symbols-1); the engine symbol id is `symbolIds[symbol]`. */
  readonly symbol: number;
  readonly kind: EventKind;
  /** +1 up, −1 down: the direction a signal should take; 0 = no predictable direction. */
  readonly direction: number;
  /** First tick of the window (index among the symbol's ticks). */
  readonly startTick: number;
  /** Last tick of the window, inclusive (truncated to the last tick generated). */
  endTick: number;
  /** Last tick of the first phase (flow / spike), inclusive; = endTick for one-phase events. */
  readonly phaseEndTick: number;
  /** Planned size of the move in bp (drift for ofi_drift, spike for exhaustion); 0 otherwise. */
  readonly magnitudeBp: number;
  readonly tsStartUs: number;
  /** Event time of endTick; -1 until that tick is generated (see `finish`). */
  tsEndUs: number;
}

export interface LabelledMarketOptions {
  readonly symbols: number;
  readonly seed: number;
  /** Event time of the first tick (µs since the epoch); default 2026-01-02T00:00:00Z. */
  readonly startUs?: number;
  /** Mean ticks per second per symbol in event time (default 20). */
  readonly ticksPerSymbolPerSec?: number;
}

const TICK_SIZE = 0.01;
const DEFAULT_START_US = Date.UTC(2026, 0, 2) * 1000;
const BP = 1e-4;

/** Event codes in the per-symbol state (0 = noise). */
const K_NONE = 0;
const K_OFI = 1;
const K_EXHAUSTION = 2;
const K_WITHDRAWAL = 3;
const K_ABSORBED = 4;
/** Label kind per event code (index 0, noise, is never labelled). */
const KIND_OF_CODE: readonly EventKind[] = [
  'regime_change',
  'ofi_drift',
  'exhaustion_reversion',
  'liquidity_withdrawal',
  'absorbed_flow',
];

export class LabelledMarket {
  readonly symbols: number;
  readonly events: LabelledEvent[] = [];
  readonly #rng: Xoshiro128;
  readonly #ids: Int32Array;
  readonly #meanGapUs: number;
  // Per-symbol state.
  readonly #efficient: Float64Array;
  readonly #overshoot: Float64Array;
  readonly #sigma: Float64Array; // per tick, log units
  readonly #spreadBp: Float64Array;
  readonly #depthBase: Float64Array;
  readonly #bidDepth: Float64Array;
  readonly #askDepth: Float64Array;
  /** Slow uninformative swings of each side's depth (log multiplier, AR(1)). */
  readonly #bidMood: Float64Array;
  readonly #askMood: Float64Array;
  readonly #lastSign: Int8Array;
  readonly #volatile: Uint8Array;
  readonly #ticks: Float64Array;
  /** Event time of the symbol's last tick (closes a running event's label in `finish`). */
  readonly #lastUs: Float64Array;
  // Current event: code, direction, phase (1|2), ticks left in the phase, per-tick amount, label.
  readonly #kind: Uint8Array;
  readonly #dir: Int8Array;
  readonly #phase: Uint8Array;
  readonly #left: Int32Array;
  readonly #phaseLen: Int32Array;
  readonly #perTick: Float64Array;
  readonly #label: Int32Array;
  /** Length of the current event's second phase (0 = one phase). */
  readonly #nextLen: Int32Array;
  /** Ticks of pure noise left before an event may start. */
  readonly #coolOff: Int32Array;
  #clockUs: number;
  #emitted = 0;

  constructor(options: LabelledMarketOptions, symbolIds?: Int32Array) {
    if (!Number.isInteger(options.symbols) || options.symbols < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'labelled market: symbols must be a positive integer');
    }
    const n = options.symbols;
    this.symbols = n;
    this.#rng = new Xoshiro128(options.seed);
    this.#ids = symbolIds ?? Int32Array.from({ length: n }, (_, i) => i);
    this.#clockUs = options.startUs ?? DEFAULT_START_US;
    this.#meanGapUs = 1e6 / ((options.ticksPerSymbolPerSec ?? 20) * n);
    this.#efficient = new Float64Array(n);
    this.#overshoot = new Float64Array(n);
    this.#sigma = new Float64Array(n);
    this.#spreadBp = new Float64Array(n);
    this.#depthBase = new Float64Array(n);
    this.#bidDepth = new Float64Array(n);
    this.#askDepth = new Float64Array(n);
    this.#bidMood = new Float64Array(n);
    this.#askMood = new Float64Array(n);
    this.#lastSign = new Int8Array(n);
    this.#volatile = new Uint8Array(n);
    this.#ticks = new Float64Array(n);
    this.#lastUs = new Float64Array(n);
    this.#kind = new Uint8Array(n);
    this.#dir = new Int8Array(n);
    this.#phase = new Uint8Array(n);
    this.#left = new Int32Array(n);
    this.#phaseLen = new Int32Array(n);
    this.#perTick = new Float64Array(n);
    this.#label = new Int32Array(n).fill(-1);
    this.#nextLen = new Int32Array(n);
    this.#coolOff = new Int32Array(n);
    const rng = this.#rng;
    for (let i = 0; i < n; i++) {
      // Prices log-uniform in [20, 400]: a 0.01 tick is 0.25-5 bp, as across a real universe.
      this.#efficient[i] = Math.log(20) + Math.log(20) * rng.next();
      this.#sigma[i] = (NOISE.sigmaBpMin + (NOISE.sigmaBpMax - NOISE.sigmaBpMin) * rng.next()) * BP;
      this.#spreadBp[i] = NOISE.spreadBpMin + (NOISE.spreadBpMax - NOISE.spreadBpMin) * rng.next();
      this.#depthBase[i] = NOISE.depthMin * (NOISE.depthMax / NOISE.depthMin) ** rng.next();
      this.#bidDepth[i] = this.#depthBase[i]!;
      this.#askDepth[i] = this.#depthBase[i]!;
      this.#lastSign[i] = rng.next() < 0.5 ? 1 : -1;
      this.#coolOff[i] = coolOff(rng);
    }
  }

  /** Ticks generated so far. */
  get emitted(): number {
    return this.#emitted;
  }

  /** Ticks generated so far for market symbol `i` (the next tick's index). */
  symbolTicks(i: number): number {
    return this.#ticks[i]!;
  }

  /** Engine symbol id of market symbol `i`. */
  symbolId(i: number): number {
    return this.#ids[i]!;
  }

  /**
   * Closes the labels of events still running: their window ends at the symbol's last tick (and
   * its event time). Call once after the last `next` before reading `events`.
   */
  finish(): void {
    for (let i = 0; i < this.symbols; i++) {
      const at = this.#label[i]!;
      if (at < 0) continue;
      const ev = this.events[at]!;
      ev.endTick = Math.max(ev.startTick, this.#ticks[i]! - 1);
      ev.tsEndUs = this.#lastUs[i]!;
      this.#label[i] = -1;
    }
  }

  /** Fills `out` with the next tick; returns the market symbol index it belongs to. */
  next(out: TickRecord): number {
    const rng = this.#rng;
    const i = rng.int(this.symbols);
    this.#clockUs += Math.max(1, Math.round(rng.exponential(this.#meanGapUs)));
    const now = this.#clockUs;
    const tick = this.#ticks[i]!;

    // Regime: calm <-> volatile, a one-tick label.
    if (rng.next() < REGIME.switchPerTick) {
      this.#volatile[i] = 1 - this.#volatile[i]!;
      this.#push(i, 'regime_change', 0, tick, tick, tick, 0, now);
      this.events[this.events.length - 1]!.tsEndUs = now;
    }
    if (this.#kind[i] === K_NONE) {
      if (this.#coolOff[i]! > 0) this.#coolOff[i] = this.#coolOff[i]! - 1;
      else if (rng.next() < EVENT_HAZARD_PER_TICK) this.#start(i, tick, now);
    }

    // Defaults: noise.
    const code = this.#kind[i]!;
    const phase = this.#phase[i]!;
    const dir = this.#dir[i]!;
    const vol = this.#volatile[i] === 1;
    let volMult = vol ? REGIME.volMult : 1;
    let spreadMult = vol ? REGIME.spreadMult : 1;
    const depthMult = vol ? REGIME.depthMult : 1;
    let pTrade = NOISE.pTrade;
    // Probability that the next trade is a buy; noise: sign persistence around 1/2.
    let pBuy = this.#lastSign[i]! > 0 ? NOISE.pSameSign : 1 - NOISE.pSameSign;
    let sizeMult = 1;
    let drift = 0;
    let bidTarget = 1;
    let askTarget = 1;
    let refill = NOISE.refill;
    if (code === K_OFI) {
      const p = phase === 1 ? OFI.flow : OFI.drift;
      pTrade = p.pTrade;
      pBuy = dir > 0 ? p.pWith : 1 - p.pWith;
      sizeMult = p.sizeMult;
      drift = dir * this.#perTick[i]!;
      // The side being hit (asks for buyers) is depleted and slow to refill; the other side builds.
      bidTarget = dir > 0 ? p.otherDepth : p.hitDepth;
      askTarget = dir > 0 ? p.hitDepth : p.otherDepth;
      refill = p.refill;
    } else if (code === K_EXHAUSTION) {
      // The spike goes against the event's direction (the reversion's).
      const spikeDir = -dir;
      if (phase === 1) {
        const done = 1 - this.#left[i]! / this.#phaseLen[i]!;
        pTrade = EXHAUSTION.spike.pTrade;
        pBuy = spikeDir > 0 ? EXHAUSTION.spike.pWith : 1 - EXHAUSTION.spike.pWith;
        // Thinning volume: trades shrink as the price overshoots.
        sizeMult =
          EXHAUSTION.spike.sizeStart + (EXHAUSTION.spike.sizeEnd - EXHAUSTION.spike.sizeStart) * done;
        this.#overshoot[i] = this.#overshoot[i]! + spikeDir * this.#perTick[i]!;
        bidTarget = spikeDir > 0 ? EXHAUSTION.spike.otherDepth : EXHAUSTION.spike.hitDepth;
        askTarget = spikeDir > 0 ? EXHAUSTION.spike.hitDepth : EXHAUSTION.spike.otherDepth;
        refill = EXHAUSTION.spike.refill;
        spreadMult *= EXHAUSTION.spike.spreadMult;
        volMult *= EXHAUSTION.spike.volMult;
      } else {
        pTrade = EXHAUSTION.reversion.pTrade;
        pBuy = dir > 0 ? EXHAUSTION.reversion.pWith : 1 - EXHAUSTION.reversion.pWith;
        // Decays to EXHAUSTION.keep of the spike by the end of the phase.
        this.#overshoot[i] = this.#overshoot[i]! * this.#perTick[i]!;
      }
    } else if (code === K_WITHDRAWAL) {
      pTrade = WITHDRAWAL.pTrade;
      pBuy = 0.5;
      bidTarget = WITHDRAWAL.depth;
      askTarget = WITHDRAWAL.depth;
      refill = WITHDRAWAL.refill;
      spreadMult *= WITHDRAWAL.spreadMult;
      volMult *= WITHDRAWAL.volMult;
    } else if (code === K_ABSORBED) {
      pTrade = ABSORBED.pTrade;
      pBuy = dir > 0 ? ABSORBED.pWith : 1 - ABSORBED.pWith;
      sizeMult = ABSORBED.sizeMult;
      // The hit side refills fast: a passive counterparty reloads its order at the touch.
      bidTarget = dir > 0 ? 1 : ABSORBED.hitDepth;
      askTarget = dir > 0 ? ABSORBED.hitDepth : 1;
      refill = ABSORBED.refill;
    }

    // Prices: the efficient price walks (and drifts); the quote shows it with the overshoot.
    this.#efficient[i] = this.#efficient[i]! + drift + this.#sigma[i]! * volMult * rng.normal();
    const logMid = this.#efficient[i]! + this.#overshoot[i]!;
    const mid = Math.exp(logMid);
    const spreadTicks = Math.max(1, Math.round((mid * this.#spreadBp[i]! * spreadMult * BP) / TICK_SIZE));
    const bidTicks = Math.round(mid / TICK_SIZE - spreadTicks / 2);
    const bid = bidTicks / 100;
    const ask = (bidTicks + spreadTicks) / 100;

    // Depth relaxes toward its target (the event's, times the regime's, times each side's slow
    // uninformative swing: a lopsided book alone is not a signal).
    const base = this.#depthBase[i]! * depthMult;
    const bidMood = NOISE.moodPersistence * this.#bidMood[i]! + NOISE.moodShock * rng.normal();
    const askMood = NOISE.moodPersistence * this.#askMood[i]! + NOISE.moodShock * rng.normal();
    this.#bidMood[i] = bidMood;
    this.#askMood[i] = askMood;
    let bidDepth = this.#bidDepth[i]! + refill * (base * bidTarget * Math.exp(bidMood) - this.#bidDepth[i]!);
    let askDepth = this.#askDepth[i]! + refill * (base * askTarget * Math.exp(askMood) - this.#askDepth[i]!);

    out.symbolId = this.#ids[i]!;
    out.seq = tick + 1;
    out.tsEventUs = now;
    out.bid = bid;
    out.ask = ask;
    if (rng.next() < pTrade) {
      const buy = rng.next() < pBuy;
      const sign = buy ? 1 : -1;
      this.#lastSign[i] = sign;
      const meanSize = this.#depthBase[i]! * TRADE_SIZE_OF_DEPTH;
      const size = Math.max(1, Math.round(meanSize * Math.exp(0.8 * rng.normal() - 0.32) * sizeMult));
      out.kind = 1;
      out.aggressor = sign;
      out.price = buy ? ask : bid;
      out.size = size;
      // The trade consumes the touch it hit; only its surprise moves the efficient price (for the
      // next tick: this one printed at the quote it hit).
      if (buy) askDepth = Math.max(1, askDepth - size);
      else bidDepth = Math.max(1, bidDepth - size);
      const surprise = sign - (2 * pBuy - 1);
      this.#efficient[i] = this.#efficient[i]! + surprise * IMPACT_BP * BP * Math.sqrt(size / meanSize);
    } else {
      out.kind = 2;
      out.aggressor = 0;
      out.price = Math.round((bid + ask) * 50) / 100;
      out.size = 0;
    }
    this.#bidDepth[i] = bidDepth;
    this.#askDepth[i] = askDepth;
    // Displayed sizes are the depth with noise: one quote alone is a noisy read of the book.
    out.bidSize = Math.max(1, Math.round(bidDepth * Math.exp(NOISE.sizeNoise * rng.normal())));
    out.askSize = Math.max(1, Math.round(askDepth * Math.exp(NOISE.sizeNoise * rng.normal())));

    this.#ticks[i] = tick + 1;
    this.#lastUs[i] = now;
    this.#emitted++;
    if (code !== K_NONE) this.#advance(i, tick, now);
    return i;
  }

  /** Starts an event on symbol `i` at its tick `tick`: draws its kind, direction and lengths. */
  #start(i: number, tick: number, now: number): void {
    const rng = this.#rng;
    const u = rng.next();
    let acc = 0;
    let code = K_ABSORBED;
    for (let k = 0; k < EVENT_MIX.length; k++) {
      acc += EVENT_MIX[k]!;
      if (u < acc) {
        code = k + 1;
        break;
      }
    }
    const dir = rng.next() < 0.5 ? 1 : -1;
    let len1 = 0;
    let len2 = 0;
    let magnitude = 0;
    let perTick = 0;
    if (code === K_OFI) {
      len1 = uniformInt(rng, OFI.flowTicks);
      len2 = uniformInt(rng, OFI.driftTicks);
      magnitude = uniform(rng, OFI.moveBp);
      // Drift per tick of the flow phase: only flowShareOfMove of the move happens there.
      perTick = (OFI.flowShareOfMove * magnitude * BP) / len1;
    } else if (code === K_EXHAUSTION) {
      len1 = uniformInt(rng, EXHAUSTION.spikeTicks);
      len2 = uniformInt(rng, EXHAUSTION.reversionTicks);
      magnitude = uniform(rng, EXHAUSTION.spikeBp);
      perTick = (magnitude * BP) / len1;
    } else if (code === K_WITHDRAWAL) {
      len1 = uniformInt(rng, WITHDRAWAL.ticks);
    } else {
      len1 = uniformInt(rng, ABSORBED.ticks);
    }
    this.#kind[i] = code;
    this.#dir[i] = dir;
    this.#phase[i] = 1;
    this.#left[i] = len1;
    this.#phaseLen[i] = len1;
    this.#perTick[i] = perTick;
    this.#nextLen[i] = len2;
    const tradable = code === K_OFI || code === K_EXHAUSTION;
    this.#label[i] = this.events.length;
    this.#push(
      i,
      KIND_OF_CODE[code]!,
      tradable ? dir : 0,
      tick,
      tick + len1 + len2 - 1,
      tick + len1 - 1,
      magnitude,
      now,
    );
  }

  /** Counts down the current phase after tick `tick`; moves to phase 2 or ends the event. */
  #advance(i: number, tick: number, now: number): void {
    const left = this.#left[i]! - 1;
    this.#left[i] = left;
    if (left > 0) return;
    const len2 = this.#nextLen[i]!;
    if (this.#phase[i] === 1 && len2 > 0) {
      this.#phase[i] = 2;
      this.#left[i] = len2;
      this.#phaseLen[i] = len2;
      if (this.#kind[i] === K_OFI) {
        const ev = this.events[this.#label[i]!]!;
        this.#perTick[i] = ((1 - OFI.flowShareOfMove) * ev.magnitudeBp * BP) / len2;
      } else if (this.#kind[i] === K_EXHAUSTION) {
        this.#perTick[i] = EXHAUSTION.keep ** (1 / len2);
      }
      return;
    }
    // End: what is left of an overshoot becomes part of the efficient price (no jump in the mid).
    this.#efficient[i] = this.#efficient[i]! + this.#overshoot[i]!;
    this.#overshoot[i] = 0;
    const ev = this.events[this.#label[i]!]!;
    ev.endTick = tick;
    ev.tsEndUs = now;
    this.#label[i] = -1;
    this.#kind[i] = K_NONE;
    this.#phase[i] = 0;
    this.#coolOff[i] = coolOff(this.#rng);
  }

  #push(
    i: number,
    kind: EventKind,
    direction: number,
    startTick: number,
    endTick: number,
    phaseEndTick: number,
    magnitudeBp: number,
    now: number,
  ): void {
    this.events.push({
      id: this.events.length,
      symbol: i,
      kind,
      direction,
      startTick,
      endTick,
      phaseEndTick,
      magnitudeBp,
      tsStartUs: now,
      tsEndUs: -1,
    });
  }
}

function uniform(rng: Xoshiro128, [lo, hi]: readonly [number, number]): number {
  return lo + (hi - lo) * rng.next();
}

function uniformInt(rng: Xoshiro128, [lo, hi]: readonly [number, number]): number {
  return lo + rng.int(hi - lo + 1);
}

function coolOff(rng: Xoshiro128): number {
  return uniformInt(rng, NOISE.coolOffTicks);
}
