// One file over 400 lines: the five layers run in sequence on one shared state, and a reader
// follows the rationale top to bottom here in the order it is yielded.

import { dec, decStr } from '../accounting/decimal.ts';
import type { ChainView, OptionRight } from '../schemas/option-chain.ts';
import type {
  DirectionalView,
  RecommendationEvent,
  RecommendationLayer,
  RecommendationView,
  RecommendStrategy,
  RiskPreset,
} from '../schemas/option-recommendation.ts';
import type { RuleVerdictView } from '../schemas/order.ts';
import { filterChain, scoreAndPick } from './contract-selection.ts';
import { type DeskExposure, hedgeLayers } from './hedge-layers.ts';
import { fixed, pct } from './layer-text.ts';
import { type PresetTargets, presetTargets } from './presets.ts';
import { type StrategyQuote, sizeByMaxLoss } from './strategies.ts';

export type { DeskExposure, ExposurePosition } from './hedge-layers.ts';

/**
 * The option recommender (docs/option-recommendations.md), pure apart from the risk check the
 * caller injects: given a chain, a view, a preset and capital it yields the rationale layer by
 * layer — market context, filters, scoring, sizing, the governor's verdict — then the result.
 * Every layer is yielded as soon as it is computed; a recommendation that stops early (nothing
 * passes the filters, the capital buys no unit) still yields every layer, saying why it was
 * not reached, so a reader always sees the same five steps.
 */

export type ResolvedStrategy = 'single' | 'vertical' | 'delta_hedge';

/** `auto`: the aggressive preset buys single options (full convexity), the others verticals (cheaper, capped). */
export function resolveStrategy(strategy: RecommendStrategy, preset: RiskPreset): ResolvedStrategy {
  if (strategy !== 'auto') return strategy;
  return preset === 'aggressive' ? 'single' : 'vertical';
}

/** The option right a directional view buys; null for neutral. */
export function rightOf(view: DirectionalView): OptionRight | null {
  return view === 'bullish' ? 'call' : view === 'bearish' ? 'put' : null;
}

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
