import { dec, decStr } from '../accounting/decimal.ts';
import type { ChainContractView, ChainView, OptionRight } from '../schemas/option-chain.ts';
import type {
  DirectionalView,
  RecommendationEvent,
  RecommendationLayer,
  RecommendationView,
  RecommendStrategy,
  RiskPreset,
} from '../schemas/option-recommendation.ts';
import type { RuleVerdictView } from '../schemas/order.ts';
import { type PresetTargets, presetTargets } from './presets.ts';
import {
  debitVertical,
  hedgeToZero,
  pickShortLeg,
  type StrategyQuote,
  singleLong,
  sizeByMaxLoss,
} from './strategies.ts';

/**
 * The option recommender (docs/option-recommendations.md), pure apart from the risk check the
 * caller injects: given a chain, a view, a preset and capital it yields the rationale layer by
 * layer — market context, filters, scoring, sizing, the governor's verdict — then the result.
 * Every layer is yielded as soon as it is computed; a recommendation that stops early (nothing
 * passes the filters, the capital buys no unit) still yields every layer, saying why it was
 * not reached, so a reader always sees the same five steps.
 */

export type ResolvedStrategy = 'single' | 'vertical' | 'delta_hedge';

/** Scoring weights (sum 1). Each component is 0–1; the score is their weighted sum × 100. */
export const SCORE_WEIGHTS = Object.freeze({
  delta: 0.35,
  liquidity: 0.25,
  spread: 0.15,
  ivCheapness: 0.15,
  dteFit: 0.1,
});

/** Long-leg candidates keep |delta| within the target ± this band. */
export const DELTA_BAND = 0.15;
/** Candidates shown in the scoring layer. */
export const TOP_SHOWN = 5;

/** `auto`: the aggressive preset buys single options (full convexity), the others verticals (cheaper, capped). */
export function resolveStrategy(strategy: RecommendStrategy, preset: RiskPreset): ResolvedStrategy {
  if (strategy !== 'auto') return strategy;
  return preset === 'aggressive' ? 'single' : 'vertical';
}

/** The option right a directional view buys; null for neutral. */
export function rightOf(view: DirectionalView): OptionRight | null {
  return view === 'bullish' ? 'call' : view === 'bearish' ? 'put' : null;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const pct = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(digits)} %`;
const fixed = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? 'n/a' : x.toFixed(digits);

// ---------------------------------------------------------------------------------------------
// (a) Market context
// ---------------------------------------------------------------------------------------------

export function contextLayer(
  chain: ChainView,
  view: DirectionalView,
  preset: PresetTargets,
  strategy: ResolvedStrategy,
  requested: RecommendStrategy,
): RecommendationLayer {
  const ivMinusRv =
    chain.atmIv !== null && chain.realizedVol !== null ? chain.atmIv - chain.realizedVol : null;
  const right = rightOf(view);
  const viewText =
    strategy === 'delta_hedge'
      ? 'a hedge of the desk’s delta in this underlying, whatever the view'
      : right === null
        ? 'neutral: no direction to buy'
        : `${view}: buy ${right}s (the position gains as ${chain.underlying} ${right === 'call' ? 'rises' : 'falls'})`;
  const strategyText =
    requested === 'auto'
      ? `${strategy} (auto: ${preset.preset === 'aggressive' ? 'aggressive buys single options' : `${preset.preset} buys debit verticals`})`
      : strategy;
  const rows: RecommendationLayer['rows'] = [
    { label: 'Underlying price', value: chain.underlyingPrice ?? 'n/a' },
    { label: 'ATM implied volatility', value: pct(chain.atmIv), note: 'nearest expiry at least a week out' },
    {
      label: 'IV rank / percentile',
      value: `${fixed(chain.ivRank, 0)} / ${fixed(chain.ivPercentile, 0)}`,
      note: `over ${chain.ivHistoryDays} daily ATM IVs`,
    },
    {
      label: 'Realized volatility',
      value: pct(chain.realizedVol),
      note: `${chain.realizedVolReturns} returns${chain.realizedVolInterval ? ` of ${chain.realizedVolInterval} bars` : ''}`,
    },
    {
      label: 'IV − RV',
      value: ivMinusRv === null ? 'n/a' : `${(ivMinusRv * 100).toFixed(1)} vol points`,
      note:
        ivMinusRv === null
          ? undefined
          : ivMinusRv > 0
            ? 'options price more movement than the underlying has shown: premium is dear'
            : 'options price less movement than the underlying has shown: premium is cheap',
    },
    { label: 'View', value: viewText },
    {
      label: 'Preset',
      value: `${preset.preset}: |Δ| ${preset.targetDelta}, ${preset.minDte}–${preset.maxDte} days, lose at most ${pct(preset.maxLossShare, 1)} of capital`,
    },
    { label: 'Strategy', value: strategyText },
  ];
  const summary =
    `${chain.underlying} at ${chain.underlyingPrice ?? 'no price'}; ATM IV ${pct(chain.atmIv)} vs realized ${pct(chain.realizedVol)}` +
    (chain.ivRank !== null ? ` (IV rank ${chain.ivRank.toFixed(0)})` : '') +
    `; ${preset.preset} ${strategy}`;
  return { kind: 'context', title: 'Market context', summary, rows };
}

// ---------------------------------------------------------------------------------------------
// (b) Filters
// ---------------------------------------------------------------------------------------------

export interface FilterOutcome {
  readonly layer: RecommendationLayer;
  /** Long-leg candidates: every filter passed. */
  readonly candidates: readonly ChainContractView[];
  /** Tradeable contracts of the view's right (all but the delta band): the short leg's pool. */
  readonly tradable: readonly ChainContractView[];
}

interface FilterStep {
  readonly name: string;
  readonly keep: (c: ChainContractView) => boolean;
}

function filterSteps(right: OptionRight, p: PresetTargets): { tradable: FilterStep[]; band: FilterStep } {
  return {
    tradable: [
      { name: `right: ${right}s only`, keep: (c) => c.right === right },
      {
        name: 'quoted: two-sided quote with an IV and Greeks',
        keep: (c) => c.mid !== null && c.bid !== null && c.ask !== null && c.greeks !== null && c.iv !== null,
      },
      { name: `days to expiry ${p.minDte}–${p.maxDte}`, keep: (c) => c.dte >= p.minDte && c.dte <= p.maxDte },
      { name: `liquidity ≥ ${p.minLiquidity}`, keep: (c) => c.liquidity >= p.minLiquidity },
      {
        name: `spread ≤ ${p.maxSpreadPct} % of mid`,
        keep: (c) => c.spreadPct !== null && c.spreadPct <= p.maxSpreadPct,
      },
    ],
    band: {
      name: `|Δ| ${Math.max(0, p.targetDelta - DELTA_BAND).toFixed(2)}–${Math.min(1, p.targetDelta + DELTA_BAND).toFixed(2)} (target ± ${DELTA_BAND})`,
      keep: (c) =>
        c.greeks !== null && Math.abs(Math.abs(c.greeks.delta) - p.targetDelta) <= DELTA_BAND + 1e-12,
    },
  };
}

/** Applies the filters in order; each row says how many contracts that filter removed. */
export function filterChain(chain: ChainView, right: OptionRight, p: PresetTargets): FilterOutcome {
  const steps = filterSteps(right, p);
  const rows: RecommendationLayer['rows'] = [];
  let remaining: readonly ChainContractView[] = chain.contracts;
  const apply = (s: FilterStep) => {
    const next = remaining.filter(s.keep);
    rows.push({
      label: s.name,
      value: `removed ${remaining.length - next.length}`,
      note: `${next.length} remain`,
    });
    remaining = next;
  };
  for (const s of steps.tradable) apply(s);
  const tradable = remaining;
  apply(steps.band);
  return {
    layer: {
      kind: 'filters',
      title: 'Filters',
      summary: `${chain.contracts.length} contracts listed; ${remaining.length} pass every filter`,
      rows,
    },
    candidates: remaining,
    tradable,
  };
}

// ---------------------------------------------------------------------------------------------
// (c) Scoring
// ---------------------------------------------------------------------------------------------

export interface ScoreComponents {
  readonly delta: number;
  readonly liquidity: number;
  readonly spread: number;
  readonly ivCheapness: number;
  readonly dteFit: number;
  /** Σ weight × component, 0–1. */
  readonly total: number;
}

/**
 * Components, each 0–1:
 * - delta: 1 − | |Δ| − target | / DELTA_BAND (1 on target, 0 at the band's edge);
 * - liquidity: score / 100;
 * - spread: 1 − spread% / the preset's max spread%;
 * - ivCheapness: ½ (1 − IV rank/100) + ½ clamp(2 − IV/ATM IV) — a buyer prefers an underlying
 *   whose volatility is low in its own history and a strike not priced above the ATM IV
 *   (rank unknown: ½; ATM IV unknown: ½);
 * - dteFit: 1 − ½ |dte − window centre| / half-width (1 mid-window, ½ at its edges).
 */
export function scoreContract(c: ChainContractView, chain: ChainView, p: PresetTargets): ScoreComponents {
  const absDelta = c.greeks ? Math.abs(c.greeks.delta) : 0;
  const delta = clamp01(1 - Math.abs(absDelta - p.targetDelta) / DELTA_BAND);
  const liquidity = clamp01(c.liquidity / 100);
  const spread = c.spreadPct === null ? 0 : clamp01(1 - c.spreadPct / p.maxSpreadPct);
  const rankPart = chain.ivRank === null ? 0.5 : clamp01(1 - chain.ivRank / 100);
  const relPart =
    chain.atmIv !== null && chain.atmIv > 0 && c.iv !== null ? clamp01(2 - c.iv / chain.atmIv) : 0.5;
  const ivCheapness = 0.5 * rankPart + 0.5 * relPart;
  const centre = (p.minDte + p.maxDte) / 2;
  const half = (p.maxDte - p.minDte) / 2;
  const dteFit = half > 0 ? clamp01(1 - (0.5 * Math.abs(c.dte - centre)) / half) : c.dte === centre ? 1 : 0;
  const w = SCORE_WEIGHTS;
  const total =
    w.delta * delta +
    w.liquidity * liquidity +
    w.spread * spread +
    w.ivCheapness * ivCheapness +
    w.dteFit * dteFit;
  return { delta, liquidity, spread, ivCheapness, dteFit, total };
}

export interface ScoredContract {
  readonly contract: ChainContractView;
  readonly score: ScoreComponents;
}

/** Best first; ties by symbol so the same chain always ranks the same way. */
export function rankCandidates(
  candidates: readonly ChainContractView[],
  chain: ChainView,
  p: PresetTargets,
): ScoredContract[] {
  return candidates
    .map((contract) => ({ contract, score: scoreContract(contract, chain, p) }))
    .sort((a, b) => b.score.total - a.score.total || a.contract.symbol.localeCompare(b.contract.symbol));
}

const weightsText = () =>
  Object.entries(SCORE_WEIGHTS)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

function componentsNote(s: ScoreComponents, c: ChainContractView): string {
  return (
    `Δ ${fixed(c.greeks?.delta, 3)} → ${s.delta.toFixed(2)}; liquidity ${c.liquidity} → ${s.liquidity.toFixed(2)}; ` +
    `spread ${fixed(c.spreadPct, 1)} % → ${s.spread.toFixed(2)}; IV ${pct(c.iv)} → ${s.ivCheapness.toFixed(2)}; ` +
    `dte ${c.dte.toFixed(1)} → ${s.dteFit.toFixed(2)}`
  );
}

export interface StrategyPick {
  readonly layer: RecommendationLayer;
  readonly quote: StrategyQuote | null;
  readonly reason?: string;
}

/**
 * Ranks the candidates and builds the strategy from the best one that works: a single long, or
 * a vertical whose short leg is found in `tradable` (the next-ranked long leg is tried when the
 * best has no short leg).
 */
export function scoreAndPick(
  filtered: FilterOutcome,
  chain: ChainView,
  p: PresetTargets,
  strategy: 'single' | 'vertical',
): StrategyPick {
  const ranked = rankCandidates(filtered.candidates, chain, p);
  const rows: RecommendationLayer['rows'] = [
    {
      label: 'Weights',
      value: weightsText(),
      note: 'score = 100 × Σ weight × component, each component 0–1',
    },
  ];
  ranked.slice(0, TOP_SHOWN).forEach((r, i) => {
    rows.push({
      label: `#${i + 1} ${r.contract.symbol}`,
      value: (r.score.total * 100).toFixed(1),
      note: componentsNote(r.score, r.contract),
    });
  });
  const layer = (summary: string): RecommendationLayer => ({
    kind: 'scoring',
    title: 'Scoring',
    summary,
    rows,
  });
  if (ranked.length === 0) {
    const reason = 'no contract passes the filters';
    return { layer: layer(`nothing to score: ${reason}`), quote: null, reason };
  }
  let lastReason = '';
  for (const r of ranked) {
    if (strategy === 'single') {
      const q = singleLong(r.contract, chain.multiplier);
      if (q.ok) {
        return {
          layer: layer(
            `${ranked.length} scored; best ${r.contract.symbol} at ${(r.score.total * 100).toFixed(1)}`,
          ),
          quote: q.value,
        };
      }
      lastReason = q.reason;
      continue;
    }
    const short = pickShortLeg(r.contract, filtered.tradable);
    if (!short.ok) {
      lastReason = short.reason;
      rows.push({ label: `skip ${r.contract.symbol}`, value: 'no short leg', note: short.reason });
      continue;
    }
    const q = debitVertical(r.contract, short.value, chain.multiplier);
    if (!q.ok) {
      lastReason = q.reason;
      rows.push({ label: `skip ${r.contract.symbol}`, value: 'no vertical', note: q.reason });
      continue;
    }
    rows.push({
      label: 'Short leg',
      value: short.value.symbol,
      note: `|Δ| ${fixed(Math.abs(short.value.greeks?.delta ?? 0), 3)}, aiming at half the long leg's ${fixed(Math.abs(r.contract.greeks?.delta ?? 0), 3)}; same expiry, further out of the money`,
    });
    return {
      layer: layer(
        `${ranked.length} scored; long ${r.contract.symbol} (${(r.score.total * 100).toFixed(1)}), short ${short.value.symbol}`,
      ),
      quote: q.value,
    };
  }
  return {
    layer: layer(`${ranked.length} scored; none makes a ${strategy}: ${lastReason}`),
    quote: null,
    reason: lastReason,
  };
}

// ---------------------------------------------------------------------------------------------
// (d) Sizing
// ---------------------------------------------------------------------------------------------

export interface Sizing {
  readonly layer: RecommendationLayer;
  /** Whole units; "0" ⇒ no recommendation. */
  readonly quantity: string;
  readonly reason?: string;
}

export function sizeStrategy(
  quote: StrategyQuote,
  capital: string,
  p: PresetTargets,
  multiplier: string,
): Sizing {
  const { budget, quantity } = sizeByMaxLoss(capital, p.maxLossShare, quote.maxLossPerUnit);
  const rows: RecommendationLayer['rows'] = [
    ...quote.legs.map((l) => ({
      label: `${l.side} ${l.ratio} ${l.contract.symbol}`,
      value: l.price,
      note: `mid; Δ ${l.delta.toFixed(3)}`,
    })),
    {
      label: quote.strategy === 'vertical' ? 'Net debit per unit' : 'Premium per unit',
      value: quote.netPrice,
    },
    { label: 'Multiplier', value: multiplier },
    { label: 'Max loss per unit', value: quote.maxLossPerUnit, note: quote.lossFormula },
    {
      label: 'Loss budget',
      value: budget,
      note: `capital ${capital} × ${pct(p.maxLossShare, 1)} (${p.preset})`,
    },
    {
      label: 'Quantity',
      value: quantity,
      note: `floor(${budget} / ${quote.maxLossPerUnit})`,
    },
  ];
  if (quantity === '0') {
    const reason = `one unit risks ${quote.maxLossPerUnit}, more than the loss budget ${budget} (capital ${capital} × ${pct(p.maxLossShare, 1)})`;
    return {
      layer: { kind: 'sizing', title: 'Sizing', summary: `no unit fits: ${reason}`, rows },
      quantity,
      reason,
    };
  }
  const q = dec(quantity);
  rows.push(
    {
      label: 'Max loss',
      value: decStr(q.times(dec(quote.maxLossPerUnit))),
      note: 'quantity × max loss per unit',
    },
    {
      label: 'Max gain',
      value: quote.maxGainPerUnit === null ? 'unbounded' : decStr(q.times(dec(quote.maxGainPerUnit))),
      note: quote.gainFormula,
    },
    { label: 'Breakeven at expiry', value: quote.breakevens.join(', ') },
    {
      label: 'Net delta',
      value: (quote.deltaPerUnit * Number(quantity)).toFixed(2),
      note: 'quantity × Σ leg Δ × multiplier',
    },
  );
  return {
    layer: {
      kind: 'sizing',
      title: 'Sizing',
      summary: `${quantity} × ${quote.strategy}, max loss ${decStr(q.times(dec(quote.maxLossPerUnit)))} of a ${budget} budget`,
      rows,
    },
    quantity,
  };
}

// ---------------------------------------------------------------------------------------------
// Delta hedge
// ---------------------------------------------------------------------------------------------

/** One position counted in the desk's delta on an underlying. */
export interface ExposurePosition {
  readonly symbol: string;
  /** Signed decimal string. */
  readonly quantity: string;
  /** Delta of one unit in underlying units (multiplier applied); null: not computable. */
  readonly unitDelta: number | null;
  /** Where the delta came from: the chain's Greeks, the instrument's stored Greeks, or linear. */
  readonly source: 'chain' | 'stored' | 'linear' | 'none';
}

export interface DeskExposure {
  readonly positions: readonly ExposurePosition[];
  /** The underlying's contract multiplier and lot size (the hedge trades it). */
  readonly underlyingMultiplier: string;
  readonly lotSize: string;
}

export interface HedgeSizing {
  readonly filters: RecommendationLayer;
  readonly scoring: RecommendationLayer;
  readonly sizing: RecommendationLayer;
  readonly netDelta: number;
  readonly order: {
    readonly side: 'buy' | 'sell';
    readonly quantity: string;
    readonly netDeltaAfter: number;
  } | null;
  readonly reason?: string;
}

export function hedgeLayers(chain: ChainView, exposure: DeskExposure): HedgeSizing {
  const counted = exposure.positions.filter((p) => p.unitDelta !== null);
  const missing = exposure.positions.filter((p) => p.unitDelta === null);
  const filters: RecommendationLayer = {
    kind: 'filters',
    title: 'Filters',
    summary: `${exposure.positions.length} positions on ${chain.underlying}; ${counted.length} with a delta`,
    rows: [
      {
        label: `positions on ${chain.underlying} (its options and itself)`,
        value: `${exposure.positions.length} found`,
      },
      {
        label: 'delta computable (price and volatility known)',
        value: `removed ${missing.length}`,
        note:
          missing.length > 0
            ? `left out: ${missing.map((m) => m.symbol).join(', ')}`
            : `${counted.length} remain`,
      },
    ],
  };
  const netDelta = counted.reduce((s, p) => s + (p.unitDelta as number) * Number(p.quantity), 0);
  const scoring: RecommendationLayer = {
    kind: 'scoring',
    title: 'Scoring',
    summary: `one instrument hedges: ${chain.underlying} itself; nothing to rank`,
    rows: counted.map((p) => ({
      label: p.symbol,
      value: ((p.unitDelta as number) * Number(p.quantity)).toFixed(2),
      note: `${p.quantity} × Δ ${(p.unitDelta as number).toFixed(4)} per unit (${p.source})`,
    })),
  };
  const unitDelta = Number(exposure.underlyingMultiplier);
  const plan = hedgeToZero(netDelta, unitDelta, exposure.lotSize);
  const exact = unitDelta !== 0 ? -netDelta / unitDelta : 0;
  const rows: RecommendationLayer['rows'] = [
    { label: 'Net delta', value: netDelta.toFixed(4), note: 'Σ quantity × unit delta (underlying units)' },
    { label: `Delta of one ${chain.underlying}`, value: exposure.underlyingMultiplier },
    { label: 'Exact hedge', value: exact.toFixed(6), note: '−net delta / unit delta' },
    { label: 'Lot size', value: exposure.lotSize },
  ];
  if (plan.kind !== 'order') {
    const reason =
      plan.kind === 'inside_band'
        ? `the net delta ${netDelta.toFixed(4)} is within half a lot of zero: nothing to hedge`
        : plan.reason;
    rows.push({ label: 'Quantity', value: '0', note: reason });
    return {
      filters,
      scoring,
      sizing: { kind: 'sizing', title: 'Sizing', summary: `no hedge: ${reason}`, rows },
      netDelta,
      order: null,
      reason,
    };
  }
  rows.push(
    { label: 'Quantity', value: `${plan.side} ${plan.quantity}`, note: 'rounded to the nearest whole lot' },
    { label: 'Net delta after', value: plan.netDeltaAfter.toFixed(4) },
  );
  return {
    filters,
    scoring,
    sizing: {
      kind: 'sizing',
      title: 'Sizing',
      summary: `${plan.side} ${plan.quantity} ${chain.underlying}: net delta ${netDelta.toFixed(2)} → ${plan.netDeltaAfter.toFixed(2)}`,
      rows,
    },
    netDelta,
    order: { side: plan.side, quantity: plan.quantity, netDeltaAfter: plan.netDeltaAfter },
  };
}

// ---------------------------------------------------------------------------------------------
// (e) Risk, and the stream
// ---------------------------------------------------------------------------------------------

/** The order the governor is asked about (a dry run; nothing is placed). */
export type ProposedOrder =
  | {
      readonly kind: 'order';
      readonly symbol: string;
      readonly side: 'buy' | 'sell';
      readonly quantity: string;
      /** Null: a market order (the hedge). */
      readonly limitPrice: string | null;
    }
  | {
      readonly kind: 'combo';
      readonly legs: readonly {
        readonly symbol: string;
        readonly side: 'buy' | 'sell';
        readonly ratio: number;
      }[];
      readonly quantity: string;
      /** Signed net price per unit: positive a debit. */
      readonly netLimitPrice: string;
    };

export interface RiskOutcome {
  readonly allowed: boolean;
  readonly verdicts: readonly RuleVerdictView[];
  /** Why no verdict could be had (the check itself failed), if so. */
  readonly unavailable?: string;
  /** The strategy's maximum loss as the governor valued it (combos); null: unbounded. */
  readonly maxLoss?: string | null;
}

export interface RecommendRequest {
  readonly view: DirectionalView;
  readonly preset: RiskPreset;
  readonly strategy: RecommendStrategy;
  /** Decimal string; the caller resolved the saved one. */
  readonly capital: string;
}

export interface RecommendDeps {
  readonly chain: ChainView;
  /** The desk's positions on the underlying (delta_hedge only). */
  readonly exposure?: () => Promise<DeskExposure>;
  readonly check: (order: ProposedOrder) => Promise<RiskOutcome>;
}

function riskLayer(outcome: RiskOutcome | null, notReached?: string): RecommendationLayer {
  if (!outcome) {
    return {
      kind: 'risk',
      title: 'Risk governor',
      summary: `not checked: ${notReached ?? 'nothing to check'}`,
      rows: [],
    };
  }
  const failed = outcome.verdicts.filter((v) => v.status === 'failed');
  return {
    kind: 'risk',
    title: 'Risk governor',
    summary: outcome.unavailable
      ? `no verdict: ${outcome.unavailable}`
      : outcome.allowed
        ? `allowed: ${outcome.verdicts.filter((v) => v.status === 'passed').length} rules passed`
        : `denied by ${failed.map((v) => v.rule).join(', ')}`,
    rows: [
      ...(outcome.maxLoss !== undefined
        ? [
            {
              label: 'Max loss (governor)',
              value: outcome.maxLoss ?? 'unbounded',
              note: 'at the order’s net price',
            },
          ]
        : []),
      ...outcome.verdicts.map((v) => ({
        label: v.rule,
        value: v.status,
        note:
          [
            v.message,
            v.limit !== undefined ? `limit ${v.limit}` : '',
            v.requested !== undefined ? `requested ${v.requested}` : '',
          ]
            .filter(Boolean)
            .join('; ') || undefined,
      })),
    ],
    verdicts: [...outcome.verdicts],
  };
}

const notReachedLayer = (kind: 'filters' | 'scoring' | 'sizing', reason: string): RecommendationLayer => ({
  kind,
  title: kind === 'filters' ? 'Filters' : kind === 'scoring' ? 'Scoring' : 'Sizing',
  summary: `not reached: ${reason}`,
  rows: [],
});

const layer = (l: RecommendationLayer): RecommendationEvent => ({ type: 'layer', layer: l });

function* stopAfter(from: 'filters' | 'scoring' | 'sizing', reason: string): Generator<RecommendationEvent> {
  const kinds = ['filters', 'scoring', 'sizing'] as const;
  for (const k of kinds.slice(kinds.indexOf(from))) yield layer(notReachedLayer(k, reason));
  yield layer(riskLayer(null, reason));
  yield { type: 'result', recommendation: null, reason };
}

function legView(l: StrategyQuote['legs'][number]): RecommendationView['legs'][number] {
  return {
    symbol: l.contract.symbol,
    right: l.contract.right,
    strike: l.contract.strike,
    expiry: l.contract.expiry,
    side: l.side,
    ratio: l.ratio,
    price: l.price,
    delta: l.delta,
  };
}

/** The recommendation, layer by layer, then the result. */
export async function* recommendStream(
  req: RecommendRequest,
  deps: RecommendDeps,
): AsyncGenerator<RecommendationEvent> {
  const p = presetTargets(req.preset);
  const strategy = resolveStrategy(req.strategy, req.preset);
  const { chain } = deps;
  yield layer(contextLayer(chain, req.view, p, strategy, req.strategy));

  if (strategy === 'delta_hedge') {
    if (!deps.exposure) {
      yield* stopAfter('filters', 'the desk’s positions are not available here');
      return;
    }
    const h = hedgeLayers(chain, await deps.exposure());
    yield layer(h.filters);
    yield layer(h.scoring);
    yield layer(h.sizing);
    if (!h.order) {
      yield layer(riskLayer(null, h.reason));
      yield { type: 'result', recommendation: null, reason: h.reason ?? 'nothing to hedge' };
      return;
    }
    const outcome = await deps.check({
      kind: 'order',
      symbol: chain.underlying,
      side: h.order.side,
      quantity: h.order.quantity,
      limitPrice: null,
    });
    yield layer(riskLayer(outcome));
    yield {
      type: 'result',
      recommendation: {
        symbol: chain.underlying,
        strategy: 'delta_hedge',
        legs: [
          {
            symbol: chain.underlying,
            right: null,
            strike: null,
            expiry: null,
            side: h.order.side,
            ratio: 1,
            price: chain.underlyingPrice,
            delta: 1,
          },
        ],
        quantity: h.order.quantity,
        netPrice: chain.underlyingPrice ?? '0',
        // A hedge has no bounded loss of its own: it offsets the options' delta.
        maxLoss: 'unbounded',
        maxGain: null,
        breakevens: [],
        netDelta: h.order.netDeltaAfter,
        allowed: outcome.allowed,
      },
    };
    return;
  }

  const right = rightOf(req.view);
  if (right === null) {
    // A debit vertical or a long option needs a direction; a neutral view is better served by
    // hedging what the desk holds (strategy delta_hedge) than by a guess.
    yield* stopAfter(
      'filters',
      'a neutral view has no direction for a long option or a debit vertical; choose bullish or bearish, or the delta_hedge strategy',
    );
    return;
  }
  if (chain.underlyingPrice === null) {
    yield* stopAfter('filters', `${chain.underlying} has no price`);
    return;
  }

  const filtered = filterChain(chain, right, p);
  yield layer(filtered.layer);

  const pick = scoreAndPick(filtered, chain, p, strategy);
  yield layer(pick.layer);
  if (!pick.quote) {
    const reason = pick.reason ?? 'no contract fits';
    yield* stopAfter('sizing', reason);
    return;
  }
  const quote = pick.quote;

  const sizing = sizeStrategy(quote, req.capital, p, chain.multiplier);
  yield layer(sizing.layer);
  if (sizing.quantity === '0') {
    const reason = sizing.reason ?? 'the capital buys no unit';
    yield layer(riskLayer(null, reason));
    yield { type: 'result', recommendation: null, reason };
    return;
  }

  const order: ProposedOrder =
    quote.strategy === 'single'
      ? {
          kind: 'order',
          symbol: quote.legs[0]!.contract.symbol,
          side: 'buy',
          quantity: sizing.quantity,
          limitPrice: quote.netPrice,
        }
      : {
          kind: 'combo',
          legs: quote.legs.map((l) => ({ symbol: l.contract.symbol, side: l.side, ratio: l.ratio })),
          quantity: sizing.quantity,
          netLimitPrice: quote.netPrice,
        };
  const outcome = await deps.check(order);
  yield layer(riskLayer(outcome));

  const q = dec(sizing.quantity);
  yield {
    type: 'result',
    recommendation: {
      symbol: chain.underlying,
      strategy: quote.strategy,
      legs: quote.legs.map(legView),
      quantity: sizing.quantity,
      netPrice: quote.netPrice,
      maxLoss: decStr(q.times(dec(quote.maxLossPerUnit))),
      maxGain: quote.maxGainPerUnit === null ? null : decStr(q.times(dec(quote.maxGainPerUnit))),
      breakevens: [...quote.breakevens],
      netDelta: quote.deltaPerUnit * Number(sizing.quantity),
      allowed: outcome.allowed,
    },
  };
}
