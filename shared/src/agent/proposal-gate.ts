import { AgentSkipCode } from '../schemas/agent-skip.ts';

/**
 * The proposal gate: whether a signal may become a proposal, decided before the decider is asked
 * (no model tokens are spent on a signal that would be skipped) and again under the desk's lock
 * when the proposal is stored. Pure and clock-free: the server passes wall time and PostgreSQL
 * rows, a backtest passes its simulated clock and its own book, and both get the same answer.
 *
 * Rules, in this order (the first that applies names the skip):
 * 1. No duplicate: a proposal on the same instrument and side is pending.
 * 2. No flip-flop: an opposite-side proposal is pending, or the last proposal on the instrument
 *    (its fill, when it filled) is younger than `minHoldingSeconds` — unless the position's
 *    stop or target was hit since (the signal's price crossed one of them, or the position was
 *    closed after the entry filled: a bracket leg or a trader closed it).
 * 3. Hard cap: at most `maxProposalsPerHour` agent proposals in any trailing hour.
 * 4. Token bucket: the hour's budget spread over the hour. Capacity `bucketCapacity(max)` (a
 *    small burst), refilled continuously at max/3600 tokens per second; a proposal takes one
 *    whole token. Best score first: with a full bucket any signal passes; as it empties, the
 *    score needed rises linearly, to `floor + (1 - floor) × BAR_RISE` for the last token, where
 *    `floor` is the desk preset's minimum score. A burst of signals thus gets the first tokens
 *    for its good ones and keeps the last ones for its best, and a quiet spell refills the bucket
 *    and lowers the bar again. Steady state: the bar settles where the signals scoring above it
 *    arrive at the refill rate, i.e. the budget goes to the best-scored signals of the hour.
 *
 * The hard cap (3) makes "at most max per hour" exact over any window; the bucket (4) alone
 * would allow capacity + max in the worst hour.
 */

/** How far above the floor the bar rises for the last token (fraction of the way to 1). */
export const BAR_RISE = 0.5;
const HOUR_MS = 3_600_000;

export interface ProposalGateSettings {
  readonly maxProposalsPerHour: number;
  readonly minHoldingSeconds: number;
  /** The score the bar starts from (the desk preset's minimum score). */
  readonly scoreFloor: number;
}

/** Serializable bucket state; null means a full bucket (a desk that has not proposed yet). */
export type GateState = { readonly tokens: number; readonly atMs: number } | null;

export interface GateSignal {
  readonly symbol: string;
  readonly direction: 'long' | 'short';
  readonly score: number;
  /** The signal's price (stop and target crossings are judged against it); null if unknown. */
  readonly price: number | null;
}

export type Side = 'buy' | 'sell';

export interface InstrumentHistory {
  /** Pending (unexpired) proposals on the instrument. */
  readonly pending: readonly { readonly id: string; readonly side: Side }[];
  /** The desk's last agent proposal on the instrument, whatever became of it. */
  readonly lastProposal: {
    readonly side: Side;
    readonly atMs: number;
    /** When its order (last) filled; holding time counts from here when present. */
    readonly filledAtMs: number | null;
    readonly stopPrice: number | null;
    readonly targetPrice: number | null;
  } | null;
  /** When the position on the instrument went flat after that proposal's fill, if it did. */
  readonly positionClosedAtMs: number | null;
}

export interface DeskGateView {
  /** The desk's agent proposals created in the trailing hour. */
  readonly proposalsLastHour: number;
  readonly instrument: InstrumentHistory;
}

export type GateVerdict =
  | { readonly allow: true; readonly tokens: number; readonly bar: number }
  | {
      readonly allow: false;
      readonly code: AgentSkipCode;
      readonly reason: string;
      /** The numbers the reason names, for the log and the table. */
      readonly details: Readonly<Record<string, number | string | null>>;
    };

/** Burst size: about a tenth of the hourly budget, 2 to 10 tokens, never more than the budget. */
export function bucketCapacity(maxProposalsPerHour: number): number {
  if (maxProposalsPerHour <= 0) return 0;
  return Math.min(maxProposalsPerHour, Math.max(2, Math.min(10, Math.round(maxProposalsPerHour / 10))));
}

export function refillPerSecond(maxProposalsPerHour: number): number {
  return Math.max(0, maxProposalsPerHour) / 3600;
}

/** Tokens available at `nowMs`. A clock that went backwards refills nothing. */
export function tokensAt(state: GateState, maxProposalsPerHour: number, nowMs: number): number {
  const capacity = bucketCapacity(maxProposalsPerHour);
  if (state === null) return capacity;
  const elapsedS = Math.max(0, nowMs - state.atMs) / 1000;
  return Math.min(capacity, Math.max(0, state.tokens) + elapsedS * refillPerSecond(maxProposalsPerHour));
}

/** The score a signal needs with `tokens` in the bucket (meaningful for tokens ≥ 1). */
export function scoreBar(tokens: number, maxProposalsPerHour: number, floor: number): number {
  const capacity = bucketCapacity(maxProposalsPerHour);
  const scarcity = capacity <= 1 ? 0 : Math.min(1, Math.max(0, (capacity - tokens) / (capacity - 1)));
  return floor + (1 - floor) * BAR_RISE * scarcity;
}

/** The state after a proposal was stored at `nowMs`: one token fewer. */
export function consumeToken(state: GateState, maxProposalsPerHour: number, nowMs: number): GateState {
  const at = state === null ? nowMs : Math.max(state.atMs, nowMs);
  return { tokens: Math.max(0, tokensAt(state, maxProposalsPerHour, nowMs) - 1), atMs: at };
}

export function sideOf(direction: 'long' | 'short'): Side {
  return direction === 'long' ? 'buy' : 'sell';
}

/** Whether the signal's price crossed the last proposal's stop or target. */
function exitCrossed(
  last: NonNullable<InstrumentHistory['lastProposal']>,
  price: number | null,
): string | null {
  if (price === null || !Number.isFinite(price)) return null;
  const { side, stopPrice: stop, targetPrice: target } = last;
  if (stop !== null && (side === 'buy' ? price <= stop : price >= stop))
    return `stop ${stop} hit at ${price}`;
  if (target !== null && (side === 'buy' ? price >= target : price <= target)) {
    return `target ${target} hit at ${price}`;
  }
  return null;
}

const fmt = (n: number, digits = 2) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));

export function gateProposal(
  state: GateState,
  settings: ProposalGateSettings,
  signal: GateSignal,
  desk: DeskGateView,
  nowMs: number,
): GateVerdict {
  const side = sideOf(signal.direction);
  const { instrument } = desk;

  const same = instrument.pending.find((p) => p.side === side);
  if (same) {
    return {
      allow: false,
      code: AgentSkipCode.DUPLICATE_PENDING,
      reason: `a ${side} proposal on ${signal.symbol} is already pending (${same.id})`,
      details: { pendingProposalId: same.id },
    };
  }
  const opposite = instrument.pending.find((p) => p.side !== side);
  if (opposite) {
    return {
      allow: false,
      code: AgentSkipCode.FLIP_FLOP,
      reason: `${side} ${signal.symbol} while a ${opposite.side} proposal on it is pending (${opposite.id})`,
      details: { pendingProposalId: opposite.id },
    };
  }
  const last = instrument.lastProposal;
  if (last && last.side !== side && settings.minHoldingSeconds > 0) {
    const since = last.filledAtMs ?? last.atMs;
    const heldS = (nowMs - since) / 1000;
    const closed = instrument.positionClosedAtMs !== null && instrument.positionClosedAtMs >= since;
    const crossed = exitCrossed(last, signal.price);
    if (heldS < settings.minHoldingSeconds && !closed && !crossed) {
      const levels = [
        last.stopPrice !== null ? `stop ${last.stopPrice}` : null,
        last.targetPrice !== null ? `target ${last.targetPrice}` : null,
      ].filter(Boolean);
      return {
        allow: false,
        code: AgentSkipCode.FLIP_FLOP,
        reason:
          `${side} ${signal.symbol} ${fmt(heldS, 0)} s after the ${last.side} ` +
          `${last.filledAtMs !== null ? 'fill' : 'proposal'}; minimum holding time ${settings.minHoldingSeconds} s` +
          (levels.length > 0 ? ` (${levels.join(', ')} not hit at ${signal.price ?? 'unknown price'})` : ''),
        details: {
          heldSeconds: Math.round(heldS),
          minHoldingSeconds: settings.minHoldingSeconds,
          stopPrice: last.stopPrice,
          targetPrice: last.targetPrice,
          price: signal.price,
        },
      };
    }
  }

  const max = settings.maxProposalsPerHour;
  if (desk.proposalsLastHour >= max) {
    return {
      allow: false,
      code: AgentSkipCode.RATE_LIMITED,
      reason: `${desk.proposalsLastHour} proposals in the last hour; the desk allows ${max} per hour`,
      details: { proposalsLastHour: desk.proposalsLastHour, maxProposalsPerHour: max },
    };
  }

  const tokens = tokensAt(state, max, nowMs);
  const capacity = bucketCapacity(max);
  if (tokens < 1) {
    const waitS = Math.ceil((1 - tokens) / refillPerSecond(max));
    return {
      allow: false,
      code: AgentSkipCode.BUDGET_EXHAUSTED,
      reason:
        `proposal budget spent: ${fmt(tokens)} of ${capacity} tokens left ` +
        `(${max} per hour, one token every ${fmt(3600 / max, 0)} s); next token in ${waitS} s`,
      details: { tokens: round2(tokens), capacity, maxProposalsPerHour: max, nextTokenInSeconds: waitS },
    };
  }
  const bar = scoreBar(tokens, max, settings.scoreFloor);
  if (signal.score < bar) {
    return {
      allow: false,
      code: AgentSkipCode.BELOW_BUDGET_BAR,
      reason:
        `score ${signal.score.toFixed(2)} below the budget bar ${bar.toFixed(2)}: ${fmt(tokens)} of ${capacity} ` +
        `tokens left (${max} per hour), the last ones are kept for better signals`,
      details: {
        score: signal.score,
        bar: round2(bar),
        tokens: round2(tokens),
        capacity,
        maxProposalsPerHour: max,
      },
    };
  }
  return { allow: true, tokens, bar };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** How many of `timesMs` fall in the hour before `nowMs` (for callers that keep their own book). */
export function countLastHour(timesMs: readonly number[], nowMs: number): number {
  let n = 0;
  for (const t of timesMs) if (t > nowMs - HOUR_MS && t <= nowMs) n++;
  return n;
}
