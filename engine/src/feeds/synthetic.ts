import { AppError, ErrorCode } from '@aegis/shared/errors';
import { Xoshiro128 } from '../random/seeded-random.ts';
import { FEED_BATCH, type Feed, sleep, wallClockUs, yieldToEventLoop } from './feed.ts';
import type { SymbolTable } from './symbol-table.ts';
import type { TickRecord, TickSink } from './tick.ts';

/**
 * A synthetic market for many symbols with a realistic microstructure, deterministic for a seed.
 *
 * Per symbol, in event time (dt = time since the symbol's previous tick):
 *  - mid price: a jump diffusion — GBM, d ln S = -σ²/2 dt + σ dW, plus Poisson jumps
 *    (intensity λ_J, normal log-size) — with a drift from the order-flow regime (price impact);
 *  - order-flow regime: a two-state Markov chain (calm ↔ burst). A burst has a sign; during it
 *    trades are one-sided (P(buy) = 0.5 ± imbalance), bigger, more frequent, volatility rises and
 *    the book leans — the bursts of order-flow imbalance detectors look for;
 *  - spread: base spread (bps) × current vol / base vol, at least one tick, on the tick grid;
 *  - trades hit the touch (buy at ask, sell at bid), sizes log-normal; quotes carry log-normal
 *    sizes leaning with the imbalance.
 * Which symbol ticks next: 30% of ticks go to the most active 5% of symbols, the rest uniformly.
 *
 * Hot path: per-symbol state in typed arrays, one PRNG, one scratch record: no allocation.
 */
export interface SyntheticMarketOptions {
  readonly symbols: number;
  readonly seed: number;
  /** Event time of the first tick (µs since the epoch); default 2026-01-01T00:00:00Z. */
  readonly startUs?: number;
  /** Mean ticks per second per symbol in event time (default 20). */
  readonly ticksPerSymbolPerSec?: number;
  /** Added to every per-symbol sequence and to `emitted` (a resumed market, see SyntheticFeed). */
  readonly seqBase?: number;
}

const SECONDS_PER_YEAR = 252 * 6.5 * 3600;
const TICK_SIZE = 0.01;
const JUMP_RATE_PER_SEC = 0.01;
const P_CALM_TO_BURST = 0.002;
const P_BURST_TO_CALM = 0.03;
const BURST_IMBALANCE = 0.35;
const BURST_VOL_MULT = 2.5;
/** Log-price drift per second per unit of imbalance during a burst (price impact). */
const IMPACT_PER_SEC = 0.004;
const DEFAULT_START_US = Date.UTC(2026, 0, 1) * 1000;

export class SyntheticMarket {
  readonly symbols: number;
  readonly #rng: Xoshiro128;
  readonly #logMid: Float64Array;
  readonly #baseSigma: Float64Array; // per sqrt(second)
  readonly #baseSpreadBps: Float64Array;
  readonly #jumpSigma: Float64Array;
  readonly #imbalance: Float64Array; // 0 in calm, ±BURST_IMBALANCE in a burst
  readonly #lastUs: Float64Array;
  readonly #seq: Float64Array;
  /** Maps the market's symbol index to the engine's symbol id. */
  readonly #ids: Int32Array;
  readonly #hot: number;
  readonly #meanGapUs: number;
  #clockUs: number;
  #emitted = 0;

  constructor(options: SyntheticMarketOptions, symbolIds?: Int32Array) {
    if (!Number.isInteger(options.symbols) || options.symbols < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'synthetic market: symbols must be a positive integer');
    }
    const n = options.symbols;
    this.symbols = n;
    this.#rng = new Xoshiro128(options.seed);
    this.#logMid = new Float64Array(n);
    this.#baseSigma = new Float64Array(n);
    this.#baseSpreadBps = new Float64Array(n);
    this.#jumpSigma = new Float64Array(n);
    this.#imbalance = new Float64Array(n);
    this.#lastUs = new Float64Array(n);
    this.#seq = new Float64Array(n).fill(options.seqBase ?? 0);
    this.#emitted = options.seqBase ?? 0;
    this.#ids = symbolIds ?? Int32Array.from({ length: n }, (_, i) => i);
    this.#hot = Math.max(1, Math.floor(n / 20));
    this.#clockUs = options.startUs ?? DEFAULT_START_US;
    this.#meanGapUs = 1e6 / ((options.ticksPerSymbolPerSec ?? 20) * n);
    const rng = this.#rng;
    for (let i = 0; i < n; i++) {
      this.#logMid[i] = Math.log(10 + 490 * rng.next() ** 2);
      const annualVol = 0.15 + 0.65 * rng.next();
      this.#baseSigma[i] = annualVol / Math.sqrt(SECONDS_PER_YEAR);
      this.#baseSpreadBps[i] = 1 + 9 * rng.next();
      this.#jumpSigma[i] = 0.002 + 0.008 * rng.next();
      this.#lastUs[i] = this.#clockUs;
    }
  }

  /** Ticks generated so far (the durable position of a synthetic feed). */
  get emitted(): number {
    return this.#emitted;
  }

  /** Generates and discards `n` ticks: resuming at a position replays the same random stream. */
  skip(n: number, scratch: TickRecord): void {
    for (let i = 0; i < n; i++) this.next(scratch);
  }

  /**
   * Fills `out` with the next tick. `tsOverrideUs` > 0 stamps the tick with that time instead of
   * the simulated clock (live mode: event time = wall clock); prices still evolve in simulated
   * time so the price path is the same for a seed whatever the pacing.
   */
  next(out: TickRecord, tsOverrideUs = 0): void {
    const rng = this.#rng;
    const i = rng.next() < 0.3 ? rng.int(this.#hot) : rng.int(this.symbols);
    this.#clockUs += Math.max(1, Math.round(rng.exponential(this.#meanGapUs)));
    const now = this.#clockUs;
    const dt = Math.max(1e-6, (now - (this.#lastUs[i] as number)) / 1e6);
    this.#lastUs[i] = now;

    // Regime: calm <-> burst (signed).
    let imb = this.#imbalance[i] as number;
    if (imb === 0) {
      if (rng.next() < P_CALM_TO_BURST) imb = rng.next() < 0.5 ? BURST_IMBALANCE : -BURST_IMBALANCE;
    } else if (rng.next() < P_BURST_TO_CALM) {
      imb = 0;
    }
    this.#imbalance[i] = imb;
    const burst = imb !== 0;

    // Mid: GBM + Poisson jumps + impact drift.
    const sigma = (this.#baseSigma[i] as number) * (burst ? BURST_VOL_MULT : 1);
    let dLog = -0.5 * sigma * sigma * dt + sigma * Math.sqrt(dt) * rng.normal() + imb * IMPACT_PER_SEC * dt;
    if (rng.next() < JUMP_RATE_PER_SEC * dt) dLog += (this.#jumpSigma[i] as number) * rng.normal();
    const logMid = (this.#logMid[i] as number) + dLog;
    this.#logMid[i] = logMid;
    const mid = Math.exp(logMid);

    // Spread widens with volatility; bid/ask on the tick grid, at least one tick apart.
    const spread = mid * (this.#baseSpreadBps[i] as number) * 1e-4 * (burst ? BURST_VOL_MULT : 1);
    const spreadTicks = Math.max(1, Math.round(spread / TICK_SIZE));
    const bidTicks = Math.max(1, Math.round((mid - (spreadTicks * TICK_SIZE) / 2) / TICK_SIZE));
    const bid = bidTicks * TICK_SIZE;
    const ask = (bidTicks + spreadTicks) * TICK_SIZE;

    const seq = (this.#seq[i] as number) + 1;
    this.#seq[i] = seq;
    out.symbolId = this.#ids[i] as number;
    out.seq = seq;
    out.tsEventUs = tsOverrideUs > 0 ? tsOverrideUs : now;
    out.bid = roundCents(bid);
    out.ask = roundCents(ask);
    const depth = burst ? 1.5 : 1;
    out.bidSize = Math.max(1, Math.round(Math.exp(4 + 0.8 * rng.normal()) * depth * (1 + imb)));
    out.askSize = Math.max(1, Math.round(Math.exp(4 + 0.8 * rng.normal()) * depth * (1 - imb)));
    if (rng.next() < (burst ? 0.7 : 0.4)) {
      const buy = rng.next() < 0.5 + imb;
      out.kind = 1;
      out.aggressor = buy ? 1 : -1;
      out.price = buy ? out.ask : out.bid;
      out.size = Math.max(1, Math.round(Math.exp(3 + 1.0 * rng.normal()) * (burst ? 2 : 1)));
    } else {
      out.kind = 2;
      out.aggressor = 0;
      out.price = roundCents(mid);
      out.size = 0;
    }
    this.#emitted++;
  }
}

function roundCents(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Symbol names of the synthetic market: `SYN0000`, `SYN0001`, … */
export function syntheticSymbolName(i: number): string {
  return `SYN${String(i).padStart(4, '0')}`;
}

export interface SyntheticFeedOptions {
  readonly symbols: number;
  readonly seed: number;
  readonly symbolTable: SymbolTable;
  /** Ticks per second (wall clock); 0 = as fast as the pipeline takes them. */
  readonly ticksPerSec: number;
  /** 'wall': event time = wall clock at generation (live); 'simulated': the market's clock. */
  readonly clock?: 'wall' | 'simulated';
  readonly startUs?: number;
  /** Durable position from a previous run (ticks emitted). */
  readonly resumeFrom?: string | null;
  /** Stop after this many ticks (tests, benchmarks); default unbounded. */
  readonly maxTicks?: number;
}

/** Up to this many ticks, a resume regenerates the exact stream (~1 s); beyond, it reseeds. */
const EXACT_RESUME_MAX_TICKS = 2_000_000;

export class SyntheticFeed implements Feed {
  readonly name = 'synthetic';
  market: SyntheticMarket;
  readonly #options: SyntheticFeedOptions;
  readonly #scratch: TickRecord;
  #stopped = false;
  #ticksIn = 0;
  #dropped = 0;

  constructor(options: SyntheticFeedOptions, scratch: TickRecord) {
    this.#options = options;
    this.#scratch = scratch;
    const ids = new Int32Array(options.symbols);
    for (let i = 0; i < options.symbols; i++) {
      const id = options.symbolTable.intern(syntheticSymbolName(i));
      if (id < 0)
        throw new AppError(ErrorCode.BAD_INPUT, 'synthetic feed: more symbols than the symbol table holds');
      ids[i] = id;
    }
    this.market = new SyntheticMarket(
      {
        symbols: options.symbols,
        seed: options.seed,
        ...(options.startUs ? { startUs: options.startUs } : {}),
      },
      ids,
    );
    const resume = options.resumeFrom ? Number(options.resumeFrom) : 0;
    if (Number.isSafeInteger(resume) && resume > 0) {
      if (resume <= EXACT_RESUME_MAX_TICKS) {
        // Regenerate and discard: the continuation is exactly the stream an uninterrupted run
        // would have produced (tests, replays of a seed).
        this.market.skip(resume, scratch);
      } else {
        // Regenerating days of ticks would delay a crash-only restart by minutes: continue with
        // a market derived from (seed, position) whose sequences start above every one already
        // emitted, so (symbol, seq) stays unique and the position keeps growing.
        this.market = new SyntheticMarket(
          {
            symbols: options.symbols,
            seed: (options.seed ^ Math.imul(resume % 0x7fffffff, 0x9e3779b1)) >>> 0,
            seqBase: resume,
            ...(options.startUs ? { startUs: options.startUs } : {}),
          },
          ids,
        );
      }
    }
  }

  get ticksIn(): number {
    return this.#ticksIn;
  }
  get ticksDropped(): number {
    return this.#dropped;
  }

  position(): string {
    return String(this.market.emitted);
  }

  async commit(): Promise<void> {
    // Nothing upstream to acknowledge: the position alone restores the generator.
  }

  stop(): void {
    this.#stopped = true;
  }

  async run(sink: TickSink): Promise<void> {
    const { ticksPerSec } = this.#options;
    const wall = (this.#options.clock ?? 'wall') === 'wall';
    const maxTicks = this.#options.maxTicks ?? Number.POSITIVE_INFINITY;
    const market = this.market;
    const t = this.#scratch;
    const t0 = performance.now();
    let produced = 0;
    while (!this.#stopped && produced < maxTicks) {
      let n = FEED_BATCH;
      if (ticksPerSec > 0) {
        const due = Math.floor(((performance.now() - t0) / 1000) * ticksPerSec) - produced;
        if (due <= 0) {
          await sleep(1);
          continue;
        }
        n = Math.min(n, due);
      }
      n = Math.min(n, maxTicks - produced);
      // One clock read per batch: a batch is generated within microseconds.
      const ts = wall ? wallClockUs() : 0;
      for (let k = 0; k < n; k++) {
        market.next(t, ts);
        if (sink.publish(t)) this.#ticksIn++;
        else this.#dropped++;
      }
      produced += n;
      sink.flush?.();
      await (sink.backpressure?.() ?? yieldToEventLoop());
    }
    sink.flush?.();
  }
}
