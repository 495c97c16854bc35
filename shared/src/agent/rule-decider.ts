import { Dec, dec, decStr } from '../accounting/decimal.ts';
import { proposalInconsistencies, type TradeProposal, tradeProposalSchema } from '../schemas/proposal.ts';
import type { Decider, DecisionInput, DecisionOutcome, RiskPreset } from './decider.ts';

/**
 * The deterministic decider (no model, no network): the same input always gives the same
 * proposal. Sizing: a notional budget per risk preset, capped by the desk's per-order limits,
 * halved when the desk lost money in the last 24 hours, and cut by a quarter for each recalled
 * loss lesson that resembles this signal (at most half). Stop at twice the realized volatility
 * (at least 0.2%), target at twice the stop distance. Signals below the preset's minimum score
 * give no proposal.
 */
const PRESETS: Record<RiskPreset, { minScore: number; notional: string; stopVolMultiple: number }> = {
  conservative: { minScore: 0.7, notional: '5000', stopVolMultiple: 2 },
  balanced: { minScore: 0.6, notional: '20000', stopVolMultiple: 2.5 },
  aggressive: { minScore: 0.5, notional: '50000', stopVolMultiple: 3 },
};

/** Lessons at least this similar count as "this situation again". */
export const LESSON_SIMILARITY = 0.3;

export class RuleDecider implements Decider {
  readonly kind = 'rules' as const;

  async decide(input: DecisionInput): Promise<DecisionOutcome> {
    const started = performance.now();
    const proposal = this.propose(input);
    const base = {
      decider: 'rules' as const,
      model: null,
      promptTokens: null,
      completionTokens: null,
      latencyMs: Math.round(performance.now() - started),
      attempts: 1,
    };
    return 'reason' in proposal
      ? { ...base, proposal: null, reason: proposal.reason }
      : { ...base, proposal };
  }

  propose({ signal, desk, lessons }: DecisionInput): TradeProposal | { reason: string } {
    const preset = PRESETS[desk.riskPreset];
    if (signal.score < preset.minScore) {
      return {
        reason: `score ${signal.score.toFixed(2)} below the ${desk.riskPreset} minimum ${preset.minScore}`,
      };
    }
    if (!signal.price || !(Number(signal.price) > 0)) return { reason: 'signal has no reference price' };
    const price = dec(signal.price);
    const side = signal.direction === 'long' ? 'buy' : 'sell';

    const applied = lessons.filter((l) => (l.similarity ?? 0) >= LESSON_SIMILARITY).slice(0, 3);
    const losses = applied.filter((l) => l.kind === 'loss');
    let budget = dec(preset.notional);
    const limits = desk.limits;
    if (limits.maxOrderNotional) budget = Dec.min(budget, dec(limits.maxOrderNotional));
    const lossDay = dec(desk.recentPnl.realized24h).isNegative();
    if (lossDay) budget = budget.div(2);
    const lessonCut = Math.min(0.5, losses.length * 0.25);
    budget = budget.times(1 - lessonCut);
    let qty = budget.div(price);
    if (limits.maxOrderQty) qty = Dec.min(qty, dec(limits.maxOrderQty));
    const lot = desk.lotSize && Number(desk.lotSize) > 0 ? dec(desk.lotSize) : dec('0.00000001');
    qty = qty.div(lot).floor().times(lot);
    if (qty.lte(0)) return { reason: 'size rounds to zero under the limits' };

    const vol = numberFeature(signal.features, 'realizedVol', 'realized_vol') ?? 0.001;
    const stopFraction = Math.max(0.002, vol * preset.stopVolMultiple);
    const stopDistance = price.times(stopFraction);
    const stop = side === 'buy' ? price.minus(stopDistance) : price.plus(stopDistance);
    const target = side === 'buy' ? price.plus(stopDistance.times(2)) : price.minus(stopDistance.times(2));
    const ofi = numberFeature(signal.features, 'orderFlowImbalance', 'order_flow_imbalance');

    const position = desk.positions.find((p) => p.symbol === signal.symbol);
    const holding = position ? dec(position.quantity) : dec(0);
    const adds = (side === 'buy' && holding.gt(0)) || (side === 'sell' && holding.lt(0));
    const riskScore = Math.round(
      Math.min(
        100,
        20 +
          Math.min(30, vol * 5000) +
          (adds ? 15 : 0) +
          (lossDay ? 15 : 0) +
          losses.length * 10 +
          { conservative: 0, balanced: 5, aggressive: 10 }[desk.riskPreset],
      ),
    );
    const confidence = Math.max(0, Math.min(1, signal.score * (1 - 0.1 * losses.length)));

    const proposal: TradeProposal = {
      instrument: signal.symbol,
      side,
      quantity: decStr(qty),
      orderType: 'limit',
      limitPrice: decStr(price.toDecimalPlaces(12)),
      stopPrice: decStr(stop.toDecimalPlaces(8)),
      targetPrice: decStr(target.toDecimalPlaces(8)),
      timeHorizon: signal.pattern === 'mean_reversion' ? 'minutes' : 'hours',
      confidence: Math.round(confidence * 1000) / 1000,
      riskScore,
      rationale: {
        marketContext:
          `${signal.symbol} at ${signal.price}; realized volatility ${vol.toPrecision(2)}` +
          (ofi === null ? '.' : `, order-flow imbalance ${ofi.toFixed(2)}.`) +
          ` Desk exposure gross ${desk.exposure.gross}, net ${desk.exposure.net}` +
          (position ? `; holds ${position.quantity} ${signal.symbol}.` : '.'),
        signalEvidence: `${signal.pattern} ${signal.direction} signal scored ${signal.score.toFixed(2)} by model ${signal.modelVersion} (minimum ${preset.minScore} for ${desk.riskPreset}).`,
        riskView:
          `Limit entry at the signal price, stop ${(stopFraction * 100).toFixed(2)}% away (${preset.stopVolMultiple}× volatility), target at twice the stop distance. ` +
          `Notional budget ${preset.notional} (${desk.riskPreset})` +
          (limits.maxOrderNotional ? `, capped by the desk's ${limits.maxOrderNotional} per order` : '') +
          (lossDay ? `, halved after ${desk.recentPnl.realized24h} realized in 24h` : '') +
          (lessonCut > 0 ? `, cut ${lessonCut * 100}% for ${losses.length} similar loss lesson(s)` : '') +
          '.',
        lessonsApplied: applied.map((l) => ({
          lessonId: l.id,
          how:
            l.kind === 'loss'
              ? `Similar loss (${l.pnl}, similarity ${(l.similarity ?? 0).toFixed(2)}): size cut 25%, confidence lowered. "${l.summary.slice(0, 200)}"`
              : `Similar win (${l.pnl}, similarity ${(l.similarity ?? 0).toFixed(2)}): setup kept. "${l.summary.slice(0, 200)}"`,
        })),
      },
    };
    // Same checks as a model's answer: the rules are not trusted more than the model.
    const parsed = tradeProposalSchema.parse(proposal);
    const problems = proposalInconsistencies(parsed, Number(signal.price));
    if (problems.length > 0) return { reason: `rule proposal inconsistent: ${problems.join('; ')}` };
    return parsed;
  }
}

function numberFeature(f: Record<string, number | null>, ...names: string[]): number | null {
  for (const n of names) {
    const v = f[n];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/** The preset's minimum score: the agent skips weaker signals before any decider is asked. */
export function presetMinScore(preset: RiskPreset): number {
  return PRESETS[preset].minScore;
}
