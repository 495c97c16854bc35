import type { SignalEvaluation, SignalQualityRow } from '@aegis/shared/schemas/signal-quality';
import { MODEL_INPUT_SIZE } from '../model/inputs.ts';
import type { LabelledSet, MlpModel } from '../model/mlp.ts';
import { meanReversionSeries, momentumSeries, randomSignals, ruleSignals } from './baselines.ts';
import { engineSignals, modelInputRows, patternName } from './engine-scoring.ts';
import { type Breakdown, breakdownByKind, indexAllWindows, type WindowKind } from './event-breakdown.ts';
import type { EventKind } from './labelled-market.ts';
import { type EngineParams, type MarketRun, runMarket } from './market-run.ts';
import { forwardReturnBp, indexEvents, qualityRow, type Signal } from './signal-metrics.ts';
import { type Split, seedsOf } from './splits.ts';
import { checkTarget } from './target.ts';

/**
 * The evaluation harness: labelled markets (one per seed of a split) through the engine's
 * production feature, pattern and scoring path, compared with the truth and with baselines that
 * hold the same number of signals in the same run. Also the library H2's training uses:
 * `collectCandidates` gives model input rows, labels and metadata per split.
 */

/** Forward-return horizons (ticks of the signal's symbol); the first is the main one. */
export const HORIZONS_TICKS: readonly number[] = Object.freeze([200, 50, 1000]);
export const DEFAULT_SYMBOLS = 20;
export const DEFAULT_TICKS_PER_SEED = 2_000_000;
/** Seed of the random baseline (fixed: the same run gives the same random signals). */
export const RANDOM_BASELINE_SEED = 0x5eed5;

export interface MarketOptions extends EngineParams {
  /** Symbols per market (seed). */
  readonly symbols?: number;
  /** Ticks per market (seed), all symbols together. */
  readonly ticksPerSeed?: number;
}

/** One labelled market per seed, through the engine's features and detectors. */
export function runMarkets(seeds: readonly number[], o: MarketOptions = {}): MarketRun[] {
  const symbols = o.symbols ?? DEFAULT_SYMBOLS;
  const ticks = o.ticksPerSeed ?? DEFAULT_TICKS_PER_SEED;
  return seeds.map((seed) => runMarket({ seed, symbols, ticks }, o));
}

export interface EvaluateOptions {
  readonly split: Split;
  readonly model: MlpModel;
  readonly modelVersion: string;
  readonly horizons?: readonly number[];
}

export interface SignalSets {
  readonly engine: readonly Signal[];
  readonly momentum: readonly Signal[];
  readonly meanReversion: readonly Signal[];
  readonly random: readonly Signal[];
}

export interface EvaluationResult {
  readonly evaluation: SignalEvaluation;
  readonly signals: SignalSets;
  /** Overall signals of each source by the kind of window they fall in (a diagnostic). */
  readonly breakdown: Readonly<Record<keyof SignalSets, Breakdown>>;
}

/**
 * Scores the runs' candidates with `model` and measures them beside the baselines: rows for all
 * signals and for each pattern (baselines then hold that pattern's count).
 */
export function evaluateRuns(runs: readonly MarketRun[], o: EvaluateOptions): EvaluationResult {
  const horizons = o.horizons ?? HORIZONS_TICKS;
  const events = indexEvents(runs);
  const engine = engineSignals(runs, o.model);
  const k = engine.length;
  const momentumRule = momentumSeries(runs);
  const meanReversionRule = meanReversionSeries(runs);
  const momentum = ruleSignals(runs, momentumRule, k);
  const meanReversion = ruleSignals(runs, meanReversionRule, k);
  const random = randomSignals(runs, k, RANDOM_BASELINE_SEED);

  const patterns = [...new Set(engine.map((s) => s.pattern))].sort();
  const rows: SignalQualityRow[] = [];
  for (const pattern of ['all', ...patterns]) {
    const mine = pattern === 'all' ? engine : engine.filter((s) => s.pattern === pattern);
    const n = mine.length;
    const base = { pattern, horizons };
    rows.push(qualityRow(runs, events, mine, { ...base, source: 'engine', auc: true, calibration: true }));
    // Each rule at this row's count: its own threshold for n signals, not a prefix of the K run.
    const mom = n === k ? momentum : ruleSignals(runs, momentumRule, n);
    const rev = n === k ? meanReversion : ruleSignals(runs, meanReversionRule, n);
    rows.push(qualityRow(runs, events, mom, { ...base, source: 'momentum', auc: true, calibration: false }));
    rows.push(
      qualityRow(runs, events, rev, {
        ...base,
        source: 'mean_reversion_rule',
        auc: true,
        calibration: false,
      }),
    );
    rows.push(
      qualityRow(runs, events, random.slice(0, n), {
        ...base,
        source: 'random',
        auc: true,
        calibration: false,
      }),
    );
  }
  const evaluation: SignalEvaluation = {
    modelVersion: o.modelVersion,
    split: o.split,
    seeds: runs.map((r) => r.seed),
    symbols: runs[0]?.symbols ?? 0,
    ticks: runs.reduce((s, r) => s + r.ticks, 0),
    events: events.tradable,
    horizonsTicks: [...horizons],
    rows,
    target: checkTarget(rows, horizons[0]!),
  };
  const windows = indexAllWindows(runs);
  const by = (list: readonly Signal[]) => breakdownByKind(runs, windows, list, horizons[0]!);
  return {
    evaluation,
    signals: { engine, momentum, meanReversion, random },
    breakdown: {
      engine: by(engine),
      momentum: by(momentum),
      meanReversion: by(meanReversion),
      random: by(random),
    },
  };
}

/** A whole split: its markets, the engine's signals, the baselines, the metrics. */
export function evaluateSplit(
  o: EvaluateOptions & MarketOptions & { seeds?: readonly number[] },
): EvaluationResult {
  return evaluateRuns(runMarkets(o.seeds ?? seedsOf(o.split), o), o);
}

/** What the harness knows about one candidate (aligned with the rows of CandidateSet.set). */
export interface CandidateMeta {
  readonly seed: number;
  /** Index of the run in CandidateSet.runs. */
  readonly run: number;
  readonly symbol: number;
  readonly tick: number;
  readonly tsUs: number;
  readonly pattern: string;
  readonly patternCode: number;
  readonly direction: number;
  /** Signed forward mid return in bp per horizon of `horizons` (NaN past the end of the market). */
  readonly forwardBp: readonly number[];
  /** The tradable event whose window holds the candidate, or null. */
  readonly eventKind: EventKind | null;
  readonly eventDirection: number;
  /** The window (any labelled kind but regime_change) holding the candidate, or 'noise'. */
  readonly windowKind: WindowKind;
}

export interface CandidateSet {
  /** Model inputs (toModelInputs) and labels: 1 when the forward return at the main horizon > 0. */
  readonly set: LabelledSet;
  readonly meta: readonly CandidateMeta[];
  readonly runs: readonly MarketRun[];
  readonly horizons: readonly number[];
}

/**
 * Model-ready candidates of the engine's detectors on the labelled markets of `seeds` (training
 * uses TRAINING_SEEDS, selection VALIDATION_SEEDS). Candidates too close to the end of their
 * market for the main horizon have no label and are left out.
 */
export function collectCandidates(
  seeds: readonly number[],
  o: MarketOptions & { readonly horizons?: readonly number[] } = {},
): CandidateSet {
  const horizons = o.horizons ?? HORIZONS_TICKS;
  const runs = runMarkets(seeds, o);
  const events = indexEvents(runs);
  const windows = indexAllWindows(runs);
  const meta: CandidateMeta[] = [];
  const kept: { run: number; i: number }[] = [];
  runs.forEach((run, r) => {
    run.candidates.forEach((c, i) => {
      const forwardBp = horizons.map((h) => forwardReturnBp(run, c.symbol, c.tick, c.direction, h));
      if (Number.isNaN(forwardBp[0])) return;
      const id = events.byRun[r]![c.symbol]![c.tick]!;
      const ev = id >= 0 ? run.events[id]! : null;
      const w = windows[r]![c.symbol]![c.tick]!;
      kept.push({ run: r, i });
      meta.push({
        seed: run.seed,
        run: r,
        symbol: c.symbol,
        tick: c.tick,
        tsUs: c.tsUs,
        pattern: patternName(c.pattern),
        patternCode: c.pattern,
        direction: c.direction,
        forwardBp,
        eventKind: ev ? ev.kind : null,
        eventDirection: ev ? ev.direction : 0,
        windowKind: w >= 0 ? (run.events[w]!.kind as WindowKind) : 'noise',
      });
    });
  });
  const x = modelInputRows(kept.map((k) => runs[k.run]!.candidates[k.i]!));
  const y = new Uint8Array(meta.length);
  meta.forEach((m, i) => {
    y[i] = m.forwardBp[0]! > 0 ? 1 : 0;
  });
  return { set: { x, y, n: meta.length, d: MODEL_INPUT_SIZE }, meta, runs, horizons };
}
