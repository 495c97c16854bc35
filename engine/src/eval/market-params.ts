/**
 * The labelled market's parameters in one place (docs/signal-evaluation.md gives the reasons).
 * Ranges are [min, max], drawn uniformly per event; tick counts are ticks of the symbol; depth
 * targets are multiples of the symbol's base depth; probabilities are per tick of the symbol.
 */

/** Noise: the market between events. */
export const NOISE = {
  /** Per-tick volatility of the efficient price, bp (per symbol, uniform). */
  sigmaBpMin: 0.6,
  sigmaBpMax: 1.4,
  /** Quoted spread, bp of the mid (at least one 0.01 tick). */
  spreadBpMin: 2,
  spreadBpMax: 8,
  /** Base depth at the touch, lots (log-uniform per symbol). */
  depthMin: 200,
  depthMax: 2000,
  /** Share of ticks that are trades. */
  pTrade: 0.45,
  /** Uninformed flow is persistent (order splitting): P(next trade has the last one's sign). */
  pSameSign: 0.6,
  /** Depth refill rate toward the target, per tick. */
  refill: 0.15,
  /**
   * Each side's depth target swings slowly and without information: log multiplier AR(1) with
   * this persistence per tick and shock (stationary σ = shock / sqrt(1 − persistence²) ≈ 0.55).
   */
  moodPersistence: 0.995,
  moodShock: 0.055,
  /** Log-normal noise on displayed sizes (σ of the log). */
  sizeNoise: 0.35,
  /** Pure noise between two events: a cool-off of this many ticks, then EVENT_HAZARD_PER_TICK. */
  coolOffTicks: [300, 800] as const,
};

/**
 * Mean trade size as a share of the symbol's base depth at the touch (log-normal, σ 0.8 of the
 * log): a typical trade takes a slice of the queue, not all of it, so depletion is a matter of
 * rates (flow against refill), visible but not absolute.
 */
export const TRADE_SIZE_OF_DEPTH = 0.08;
/** Permanent impact of a mean-size trade's surprise (sign − E[sign]), bp; scales with sqrt(size / mean). */
export const IMPACT_BP = 0.35;

/** Per-tick probability that an event starts once the cool-off is over (mean wait ~900 ticks). */
export const EVENT_HAZARD_PER_TICK = 1 / 900;
/** Event mix: ofi_drift, exhaustion_reversion, liquidity_withdrawal, absorbed_flow (sums to 1). */
export const EVENT_MIX = [0.35, 0.3, 0.15, 0.2] as const;

/** Order-flow imbalance followed by drift. */
export const OFI = {
  flowTicks: [40, 100] as const,
  driftTicks: [150, 350] as const,
  /** Total move of the efficient price over both phases, bp. */
  moveBp: [15, 40] as const,
  /** Share of the move that happens during the flow phase (the price has barely moved yet). */
  flowShareOfMove: 0.15,
  flow: { pTrade: 0.65, pWith: 0.78, sizeMult: 1.6, hitDepth: 0.8, otherDepth: 1.1, refill: 0.12 },
  drift: { pTrade: 0.55, pWith: 0.62, sizeMult: 1.2, hitDepth: 0.9, otherDepth: 1.05, refill: 0.15 },
};

/** Exhaustion followed by reversion; the spike runs against the event's direction. */
export const EXHAUSTION = {
  spikeTicks: [15, 35] as const,
  reversionTicks: [80, 200] as const,
  /** Overshoot built during the spike, bp. */
  spikeBp: [20, 45] as const,
  /** Share of the overshoot left when the reversion ends (it becomes permanent). */
  keep: 0.15,
  spike: {
    pTrade: 0.8,
    pWith: 0.85,
    /** Trade size multiple at the start and at the end of the spike (volume thins). */
    sizeStart: 2.5,
    sizeEnd: 0.4,
    /** The side being hit refills fast and deep: passive liquidity leans against the spike. */
    hitDepth: 1.3,
    otherDepth: 0.85,
    refill: 0.3,
    spreadMult: 1.5,
    volMult: 1.3,
  },
  reversion: { pTrade: 0.5, pWith: 0.6 },
};

/** Liquidity withdrawal: thin book, wide spread, high volatility, balanced flow. */
export const WITHDRAWAL = {
  ticks: [100, 300] as const,
  depth: 0.25,
  refill: 0.1,
  spreadMult: 3,
  volMult: 2.5,
  pTrade: 0.3,
};

/** Absorbed flow: one-sided aggression met by a passive side that reloads (no drift). */
export const ABSORBED = {
  ticks: [40, 120] as const,
  pTrade: 0.65,
  pWith: 0.78,
  sizeMult: 1.6,
  hitDepth: 1.5,
  refill: 0.35,
};

/** Volatility/spread regimes: calm (×1) and volatile (these multiples). */
export const REGIME = {
  switchPerTick: 1 / 10_000,
  volMult: 1.7,
  spreadMult: 1.5,
  depthMult: 0.7,
};
