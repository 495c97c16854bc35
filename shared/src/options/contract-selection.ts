import type { ChainContractView, ChainView, OptionRight } from '../schemas/option-chain.ts';
import type { RecommendationLayer } from '../schemas/option-recommendation.ts';
import { fixed, pct } from './layer-text.ts';
import type { PresetTargets } from './presets.ts';
import { debitVertical, pickShortLeg, type StrategyQuote, singleLong } from './strategies.ts';

/**
 * Choosing contracts from a chain (docs/option-recommendations.md): the filters layer (each
 * filter and what it removed), the scoring layer (weights, components, the best candidates) and
 * the strategy built from the best candidate that makes one.
 */

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

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

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
