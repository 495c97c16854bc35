// One file over 400 lines: runBacktest is one replay loop (decide, gate, risk-check, fill, mark)
// over one shared run state; its steps are read in order and share that state.
import { dec, decStr } from '@aegis/shared/accounting/decimal';
import type { Decider, DecisionInput, DeskSnapshot } from '@aegis/shared/agent/decider';
import {
  consumeToken,
  type GateState,
  gateProposal,
  type ProposalGateSettings,
} from '@aegis/shared/agent/proposal-gate';
import { presetMinScore, RuleDecider } from '@aegis/shared/agent/rule-decider';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import { evaluateOrder, type RiskLimits } from '@aegis/shared/risk/governor';
import type { BacktestProgress, BacktestResult, BacktestSpec } from '@aegis/shared/schemas/backtest';
import type { TradeProposal } from '@aegis/shared/schemas/proposal';
import type { SignalView } from '@aegis/shared/schemas/signal';
import { FeatureStepper } from '../features/feature-stepper.ts';
import {
  coefficients,
  DEFAULT_FEATURE_PARAMS,
  type FeatureParams,
  type PatternParams,
} from '../features/params.ts';
import { F, FeatureState } from '../features/state.ts';
import { copyTick, createTickRecord, type TickRecord, type TickSink } from '../feeds/tick.ts';
import { formatTimestampUs } from '../feeds/tick-csv.ts';
import { MODEL_INPUT_SIZE, toModelInputs } from '../model/inputs.ts';
import { detectionDirection, detectionPattern } from '../patterns/detectors.ts';
import { FEATURE_COUNT, FEATURE_NAMES, PATTERN_NAMES, TICK } from '../ring/layout.ts';
import { BacktestDesk } from './backtest-desk.ts';
import { buildResult } from './backtest-result.ts';
import { EquityCurve } from './equity-curve.ts';
import { FeatureShards } from './feature-shards.ts';
import type { Scorer } from './scorer.ts';
import { SimBook } from './sim-book.ts';
import { type EntryRequest, SimVenue, type VenueOrder } from './sim-venue.ts';
import { detectorParams, riskLimitsOf } from './spec-settings.ts';
import type { TickSource } from './tick-source.ts';

/**
 * Runs one backtest: the ticks of `io.ticks` through the engine's own features and detectors
 * (FeatureStepper), the model (`io.model`, on toModelInputs), the decision agent (the shared rule
 * decider, or `io.decider` when the spec asks for 'openai'), the shared proposal gate, the risk
 * governor (evaluateOrder) and the paper broker's fill model, on a simulated clock: event time
 * drives everything and nothing in the result depends on the wall clock, so the same spec, seed
 * and data give the same bytes (and `digest`).
 *
 * Life of a tick (one thread, in event order):
 *   1. the venue acts on everything due before the tick's event time (orders arriving after the
 *      order latency, entries expiring) against the book as it stood;
 *   2. the tick updates the venue's book and matches the instrument's working orders (queue,
 *      stops, limits: sim-venue.ts);
 *   3. the tick goes through FeatureStepper (features + detectors, exactly as a feature worker);
 *   4. a detection is scored; the strategy sees it `feedLatencyUs` after its event time: preset
 *      minimum score → proposal gate → decider → governor → the entry and its bracket are sent,
 *      arriving `orderLatencyUs` later.
 * Everything per tick is typed-array work without allocation; decimals appear only when an order
 * acts, a fill is booked or equity is sampled.
 *
 * Over 400 lines on purpose: the life of a tick below is one loop over one state; the venue, desk,
 * scorer and metrics it drives live in their own files.
 */
export interface BacktestIo {
  readonly ticks: TickSource;
  readonly model: Scorer;
  /** Required when spec.agent.decider is 'openai' (estimate its cost first: estimateDecisionCost). */
  readonly decider?: Decider;
  /** About twice a second of wall time, and once at the end. */
  readonly onProgress?: (p: BacktestProgress) => void;
  /** Cancels the run: the promise rejects with an AppError whose details say `cancelled: true`. */
  readonly signal?: AbortSignal;
  /** Wall clock in ms for progress and ETA only (default performance.now). */
  readonly now?: () => number;
  /** Progress interval, ms of wall time (default 500). */
  readonly progressIntervalMs?: number;
  /**
   * The engine's feature and detector settings the spec's `detectors` apply on top of (the
   * engine's configured or fitted ones); default the built-in defaults (features/params.ts).
   */
  readonly engineParams?: { readonly features?: FeatureParams; readonly patterns?: PatternParams };
  /**
   * Worker threads for the features and detectors, sharded by instrument (feature-shards.ts);
   * decisions stay on this thread in event order and the result is the same. 0 (default): all on
   * this thread. Used with the rules only (an LLM's answers are awaited tick by tick).
   */
  readonly featureWorkers?: number;
}

/** The code a cancelled run rejects with (AppError.details.cancelled is true). */
export const BACKTEST_CANCELLED = 'backtest cancelled';

export function isBacktestCancelled(e: unknown): boolean {
  return e instanceof AppError && e.details?.cancelled === true;
}

/** An entry's unfilled remainder is cancelled this long after it reaches the venue. */
export const ENTRY_TTL_US = 60_000_000;

/** Lookups of an instrument by its source symbol id: not seen yet, or not traded. */
const UNRESOLVED = -2;
const SKIPPED = -1;

export async function runBacktest(spec: BacktestSpec, io: BacktestIo): Promise<BacktestResult> {
  if (spec.agent.decider === 'openai' && !io.decider) {
    throw new AppError(ErrorCode.BAD_INPUT, 'agent.decider: openai needs a decider (none configured)');
  }
  const run = new BacktestRun(spec, io);
  try {
    if (io.signal?.aborted) throw cancelled();
    await io.ticks.run(run);
    run.endOfTicks();
    await run.drain();
    if (run.cancelled) throw cancelled();
    return run.finish();
  } finally {
    await run.close();
  }
}

function cancelled(): AppError {
  return new AppError(ErrorCode.PRECONDITION_FAILED, BACKTEST_CANCELLED, { cancelled: true });
}

interface PatternStats {
  signals: number;
}

class BacktestRun implements TickSink {
  readonly #spec: BacktestSpec;
  readonly #io: BacktestIo;
  readonly #symbols: readonly string[];
  readonly #index: ReadonlyMap<string, number>;
  #instOf = new Int32Array(1024).fill(UNRESOLVED);
  readonly #state: FeatureState;
  readonly #stepper: FeatureStepper;
  readonly book: SimBook;
  readonly desk: BacktestDesk;
  readonly venue: SimVenue;
  readonly curve = new EquityCurve();
  readonly #limits: RiskLimits;
  readonly #feedLatencyUs: number;
  readonly #minScore: number;
  readonly #gateSettings: ProposalGateSettings;
  #gate: GateState = null;
  readonly #rules = new RuleDecider();
  // Scratch for scoring one candidate (no allocation per detection on the way to the score).
  readonly #features = new Float64Array(FEATURE_COUNT);
  readonly #inputs = new Float32Array(MODEL_INPUT_SIZE);
  readonly #score = new Float64Array(1);
  readonly patterns = new Map<string, PatternStats>();
  ticks = 0;
  signals = 0;
  skippedTicks = 0;
  readonly skips = new Map<string, number>();
  firstTsUs = -1;
  lastTsUs = 0;
  // Progress and cancel.
  readonly #now: () => number;
  readonly #startedMs: number;
  #lastProgressMs: number;
  readonly #progressMs: number;
  cancelled = false;
  // LLM decisions are awaited: ticks that arrive meanwhile wait in this buffer, then replay.
  #pending: Promise<void> | null = null;
  #pendingError: unknown = null;
  readonly #buffer: TickRecord[] = [];
  readonly #bufferInst: number[] = [];
  #bufferStart = 0;
  #bufferLength = 0;
  // Sharded features (null: features on this thread): the slot being filled and the one in flight.
  readonly #shards: FeatureShards | null = null;
  #fillSlot = 1;
  #fillCount = 0;
  #inFlight = -1;
  #inFlightCount = 0;
  readonly #scratch = createTickRecord();

  constructor(spec: BacktestSpec, io: BacktestIo) {
    this.#spec = spec;
    this.#io = io;
    this.#symbols = [...new Set(spec.instruments)];
    this.#index = new Map(this.#symbols.map((s, i) => [s, i]));
    const n = this.#symbols.length;
    this.#state = FeatureState.create(n);
    const k = coefficients(
      io.engineParams?.features ?? DEFAULT_FEATURE_PARAMS,
      detectorParams(spec.detectors, io.engineParams?.patterns),
    );
    this.#stepper = new FeatureStepper(this.#state, k);

    this.#limits = riskLimitsOf(spec.limits);
    this.book = new SimBook(n);
    this.#feedLatencyUs = spec.execution.feedLatencyUs;
    this.#minScore = presetMinScore(spec.agent.riskPreset);
    this.#gateSettings = {
      maxProposalsPerHour: spec.agent.maxProposalsPerHour,
      minHoldingSeconds: spec.agent.minHoldingSeconds,
      scoreFloor: this.#minScore,
    };
    this.desk = new BacktestDesk(spec.capital, this.#symbols, this.book, this.#limits);
    const x = spec.execution;
    this.venue = new SimVenue(
      this.book,
      n,
      {
        orderLatencyUs: x.orderLatencyUs,
        queuePosition: x.queuePosition,
        takerFeeBps: dec(x.takerFeeBps),
        makerFeeBps: dec(x.makerFeeBps),
        minFee: dec(x.minFee),
        model: { slippageBps: dec(x.slippageBps), maxLevels: 10 },
        entryTtlUs: ENTRY_TTL_US,
      },
      (order, q, price, fee, liquidity, tsUs) => this.desk.onFill(order, q, price, fee, liquidity, tsUs),
      (inst) => dec(this.desk.accounts.positions[inst]!.quantity),
    );
    this.desk.attach(this.venue);
    this.#now = io.now ?? (() => performance.now());
    this.#startedMs = this.#now();
    this.#lastProgressMs = this.#startedMs;
    this.#progressMs = io.progressIntervalMs ?? 500;
    // Last: nothing after this may throw once threads are started (close() ends them).
    const workers = io.featureWorkers ?? 0;
    if (workers > 0 && spec.agent.decider === 'rules') this.#shards = new FeatureShards(n, k, workers);
  }

  /* ---------------------------------------------------------------- TickSink: the hot path */

  publish(t: TickRecord): boolean {
    const id = t.symbolId;
    let inst = id < this.#instOf.length ? this.#instOf[id]! : UNRESOLVED;
    if (inst === UNRESOLVED) inst = this.#resolve(id);
    if (inst === SKIPPED) {
      this.skippedTicks++;
      return true;
    }
    if (this.#shards !== null) this.#toShards(t, inst);
    else if (this.#pending !== null) this.#defer(t, inst);
    else this.#step(t, inst);
    return true;
  }

  /** One tick: the venue, then features and detectors on this thread, then the decision. */
  #step(t: TickRecord, inst: number): void {
    this.#venueStep(t, inst);
    const detection = this.#stepper.applyTick(inst, t);
    if (detection !== 0) {
      this.#state.snapshot(inst, this.#features);
      this.#onDetection(inst, detection, t.tsEventUs, this.#state.get(inst, F.LAST_PRICE));
    }
  }

  /** The venue's part of a tick: what is due, the book, matching, the equity point. */
  #venueStep(t: TickRecord, inst: number): void {
    const ts = t.tsEventUs;
    if (this.firstTsUs < 0) this.firstTsUs = ts;
    this.lastTsUs = ts;
    this.ticks++;
    const venue = this.venue;
    if (ts > venue.nextDueUs) venue.advance(ts);
    const book = this.book;
    const firstPrice = book.first[inst] === 0;
    book.update(inst, t);
    if (firstPrice && book.first[inst]! > 0) this.desk.benchmarkBuy(inst);
    if (venue.working[inst]!.length > 0) venue.onTick(inst, t);
    if (this.curve.due(ts)) this.curve.record(ts, this.desk.equity(), this.desk.benchmarkEquity());
  }

  /* ---------------------------------------------------------------- sharded features */

  #toShards(t: TickRecord, inst: number): void {
    const shards = this.#shards!;
    shards.put(this.#fillSlot, this.#fillCount++, t, inst);
    if (this.#fillCount === shards.chunk) this.#rotate();
  }

  /** Dispatches the full slot, then walks the previous chunk (computed meanwhile) in order. */
  #rotate(): void {
    const shards = this.#shards!;
    const slot = shards.dispatch(this.#fillCount);
    const count = this.#fillCount;
    this.#fillCount = 0;
    if (this.#inFlight >= 0) {
      shards.wait(this.#inFlight);
      this.#walk(this.#inFlight, this.#inFlightCount);
    }
    this.#inFlight = slot;
    this.#inFlightCount = count;
    this.#fillSlot = 1 - slot;
  }

  #walk(slot: number, count: number): void {
    const v = this.#shards!.slots[slot]!;
    const t = this.#scratch;
    const features = this.#features;
    for (let k = 0; k < count; k++) {
      const b32 = k * (TICK.bytes / 4);
      const b64 = k * (TICK.bytes / 8);
      const b8 = k * TICK.bytes;
      const inst = v.u32[b32 + TICK.u32.symbolId]!;
      t.symbolId = inst;
      t.tsEventUs = v.u32[b32 + TICK.u32.tsEventHi]! * 4294967296 + v.u32[b32 + TICK.u32.tsEventLo]!;
      t.kind = v.u8[b8 + TICK.u8.kind]!;
      t.aggressor = v.i8[b8 + TICK.i8.aggressor]!;
      t.price = v.f64[b64 + TICK.f64.price]!;
      t.size = v.f64[b64 + TICK.f64.size]!;
      t.bid = v.f64[b64 + TICK.f64.bid]!;
      t.ask = v.f64[b64 + TICK.f64.ask]!;
      t.bidSize = v.f64[b64 + TICK.f64.bidSize]!;
      t.askSize = v.f64[b64 + TICK.f64.askSize]!;
      this.#venueStep(t, inst);
      const detection = v.detection[k]!;
      if (detection !== 0) {
        for (let j = 0; j < FEATURE_COUNT; j++) features[j] = v.features[k * FEATURE_COUNT + j]!;
        this.#onDetection(inst, detection, t.tsEventUs, v.price[k]!);
      }
    }
  }

  /** After the source's last tick: the partial chunk and the one in flight. */
  endOfTicks(): void {
    if (this.#shards === null) return;
    if (this.#fillCount > 0) this.#rotate();
    if (this.#inFlight >= 0) {
      this.#shards.wait(this.#inFlight);
      this.#walk(this.#inFlight, this.#inFlightCount);
      this.#inFlight = -1;
    }
  }

  async close(): Promise<void> {
    await this.#shards?.close();
  }

  #resolve(id: number): number {
    if (id >= this.#instOf.length) {
      const grown = new Int32Array(Math.max(id + 1, this.#instOf.length * 2)).fill(UNRESOLVED);
      grown.set(this.#instOf);
      this.#instOf = grown;
    }
    const inst = this.#index.get(this.#io.ticks.symbolOf(id)) ?? SKIPPED;
    this.#instOf[id] = inst;
    return inst;
  }

  flush(): void {
    const now = this.#now();
    if (now - this.#lastProgressMs >= this.#progressMs) {
      this.#lastProgressMs = now;
      this.#io.onProgress?.(this.progress(false));
    }
    if (!this.cancelled && this.#io.signal?.aborted) {
      this.cancelled = true;
      this.#io.ticks.stop();
    }
  }

  backpressure(): Promise<void> | null {
    return this.#pending !== null ? this.drain() : null;
  }

  /* ---------------------------------------------------------------- signals and decisions */

  /** A detection on `inst` at `tsUs`; its features are in this.#features, its price `price`. */
  #onDetection(inst: number, detection: number, tsUs: number, price: number): void {
    this.signals++;
    const code = detectionPattern(detection);
    const direction = detectionDirection(detection);
    const pattern = PATTERN_NAMES[code] ?? `pattern_${code}`;
    const stats = this.patterns.get(pattern);
    if (stats) stats.signals++;
    else this.patterns.set(pattern, { signals: 1 });
    toModelInputs(this.#features, price, code, direction, this.#inputs, 0);
    this.#io.model.score(this.#inputs, 1, this.#score);
    const score = this.#score[0]!;
    if (score < this.#minScore) {
      this.#skip('below_min_score');
      return;
    }
    // The strategy learns of the tick feedLatencyUs after it happened: that is its decision time.
    const decisionUs = tsUs + this.#feedLatencyUs;
    const nowMs = decisionUs / 1000;
    const symbol = this.#symbols[inst]!;
    const side = direction > 0 ? 'buy' : 'sell';
    const verdict = gateProposal(
      this.#gate,
      this.#gateSettings,
      { symbol, direction: direction > 0 ? 'long' : 'short', score, price },
      this.desk.gateView(inst, nowMs),
      nowMs,
    );
    if (!verdict.allow) {
      this.#skip(verdict.code);
      return;
    }
    const signal = this.#signalView(symbol, direction, pattern, score, price, tsUs, decisionUs);
    const input: DecisionInput = { signal, desk: this.#deskSnapshot(decisionUs), lessons: [] };
    const context = { inst, symbol, side, pattern, score, decisionUs, nowMs } as const;
    if (this.#spec.agent.decider === 'rules') {
      const p = this.#rules.propose(input);
      this.#act(context, 'reason' in p ? null : p);
      return;
    }
    // An LLM answers asynchronously: hold the following ticks until it has (publish → #defer).
    this.#pending = this.#io
      .decider!.decide(input)
      .then((outcome) => this.#act(context, outcome.proposal))
      .catch((e: unknown) => {
        this.#pendingError = e;
      });
  }

  #act(
    c: {
      inst: number;
      symbol: string;
      side: 'buy' | 'sell';
      pattern: string;
      score: number;
      decisionUs: number;
      nowMs: number;
    },
    proposal: TradeProposal | null,
  ): void {
    if (!proposal) {
      this.#skip('decider_declined');
      return;
    }
    this.#gate = consumeToken(this.#gate, this.#gateSettings.maxProposalsPerHour, c.nowMs);
    const request: EntryRequest = {
      inst: c.inst,
      symbol: c.symbol,
      side: proposal.side,
      orderType: proposal.orderType,
      quantity: proposal.quantity,
      limitPrice: proposal.limitPrice ?? null,
      stopPrice: proposal.stopPrice ?? null,
      targetPrice: proposal.targetPrice ?? null,
      tsDecisionUs: c.decisionUs,
      pattern: c.pattern,
      score: c.score,
    };
    this.desk.recordProposal(c.inst, proposal, c.nowMs);
    const decision = evaluateOrder(
      {
        symbol: c.symbol,
        side: proposal.side,
        orderType: proposal.orderType,
        quantity: proposal.quantity,
        limitPrice: proposal.limitPrice ?? null,
        origin: 'agent',
      },
      this.desk.riskContext(c.inst, c.decisionUs),
      this.#limits,
    );
    if (!decision.allowed) {
      this.venue.recordDenied(
        request,
        decision.denials.map((d) => (d.code ? `${d.rule}:${d.code}` : d.rule)),
      );
      this.#skip('risk_denied');
      return;
    }
    const entry: VenueOrder = this.venue.submitEntry(request);
    this.desk.recordSent(entry, c.decisionUs);
  }

  #signalView(
    symbol: string,
    direction: number,
    pattern: string,
    score: number,
    price: number,
    tsUs: number,
    decisionUs: number,
  ): SignalView {
    const features: Record<string, number | null> = {};
    for (let k = 0; k < FEATURE_COUNT; k++) {
      const v = this.#features[k]!;
      features[FEATURE_NAMES[k]!] = Number.isFinite(v) ? v : null;
    }
    return {
      id: `s${this.signals}`,
      tsSignal: formatTimestampUs(decisionUs),
      tsEvent: formatTimestampUs(tsUs),
      symbol,
      direction: direction > 0 ? 'long' : 'short',
      pattern: pattern as SignalView['pattern'],
      score,
      price: String(price),
      features,
      modelVersion: this.#io.model.version,
    };
  }

  #deskSnapshot(decisionUs: number): DeskSnapshot {
    return this.desk.snapshot(decisionUs, this.#spec.agent.riskPreset);
  }

  #skip(code: string): void {
    this.skips.set(code, (this.skips.get(code) ?? 0) + 1);
  }

  /* ---------------------------------------------------------------- awaiting an LLM decision */

  #defer(t: TickRecord, inst: number): void {
    const k = this.#bufferLength++;
    if (k === this.#buffer.length) this.#buffer.push(createTickRecord());
    copyTick(t, this.#buffer[k]!);
    this.#bufferInst[k] = inst;
  }

  /** Awaits the pending decision and replays the ticks held meanwhile (again and again). */
  async drain(): Promise<void> {
    while (this.#pending !== null) {
      await this.#pending;
      this.#pending = null;
      if (this.#pendingError) throw this.#pendingError;
      let k = this.#bufferStart;
      while (k < this.#bufferLength && this.#pending === null) {
        this.#step(this.#buffer[k]!, this.#bufferInst[k]!);
        k++;
      }
      this.#bufferStart = k;
      if (k === this.#bufferLength) {
        this.#bufferStart = 0;
        this.#bufferLength = 0;
      }
    }
  }

  /* ---------------------------------------------------------------- progress and result */

  progress(final: boolean): BacktestProgress {
    const total = this.#io.ticks.totalTicks;
    const elapsedS = Math.max(1e-9, (this.#now() - this.#startedMs) / 1000);
    const rate = this.ticks / elapsedS;
    const seen = this.ticks + this.skippedTicks;
    const fraction = final ? 1 : total && total > 0 ? Math.min(1, seen / total) : 0;
    const etaSeconds = final
      ? 0
      : total && rate > 0
        ? Math.max(0, (total - seen) / (seen / elapsedS || 1))
        : null;
    return {
      ticks: this.ticks,
      totalTicks: total,
      simTime: this.firstTsUs >= 0 ? formatTimestampUs(this.lastTsUs) : null,
      fraction,
      etaSeconds,
      ticksPerSecond: Math.round(rate),
      signals: this.signals,
      orders: this.venue.orders.length,
      fills: this.desk.fillCount,
      equity: decStr(this.desk.equity()),
    };
  }

  finish(): BacktestResult {
    this.#io.onProgress?.(this.progress(true));
    const endUs = this.lastTsUs;
    if (this.firstTsUs >= 0) {
      // Orders still on their way at the end never arrive; entries still working stay unfilled.
      this.curve.close(endUs, this.desk.equity(), this.desk.benchmarkEquity());
    }
    return buildResult({
      curve: this.curve,
      desk: this.desk,
      venue: this.venue,
      patterns: this.patterns,
      ticks: this.ticks,
      signals: this.signals,
      modelVersion: this.#io.model.version,
      firstTsUs: this.firstTsUs,
      lastTsUs: endUs,
    });
  }
}
