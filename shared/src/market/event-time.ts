/**
 * Plausibility of market-data event times (tsEvent), one rule for every edge that takes them:
 * the engine's price publisher, the servers' price reader, the risk governor's reference-age
 * rule and `orderflow.ingest`.
 *
 * - The future: a clock or feed error, never a market. A small skew between machines is
 *   tolerated (NTP keeps hosts within milliseconds; 2 s covers a bad one); anything beyond it
 *   is refused. Accepting it would be worse than useless: a "newest wins" book would keep the
 *   future quote and ignore every real one until the wall clock caught up.
 * - The distant past: no electronic market data a desk could feed predates 2000-01-01; an
 *   earlier time (1970 is the usual one: a zero or a seconds/ms mix-up) is a bug in the sender.
 *   History after that is welcome (replays, backfills); how fresh a price must be to trade on
 *   is the governor's reference-age limit, not this rule.
 */

/** Tolerated clock skew into the future (ms). */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 2_000;

/** Earliest plausible event time: 2000-01-01T00:00:00Z. */
export const EVENT_TIME_FLOOR_MS = Date.UTC(2000, 0, 1);

export type EventTimeProblem = 'future' | 'too_old';

export interface EventTimeRules {
  /** Ms an event time may lie ahead of `now` (default DEFAULT_MAX_FUTURE_SKEW_MS). */
  readonly maxFutureSkewMs?: number;
}

/** null when plausible; otherwise which rule the time breaks. */
export function eventTimeProblem(
  tsMs: number,
  nowMs: number,
  rules: EventTimeRules = {},
): EventTimeProblem | null {
  if (!Number.isFinite(tsMs) || tsMs < EVENT_TIME_FLOOR_MS) return 'too_old';
  if (tsMs > nowMs + (rules.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS)) return 'future';
  return null;
}

/** The message an edge returns for a refused event time. */
export function describeEventTimeProblem(problem: EventTimeProblem, rules: EventTimeRules = {}): string {
  return problem === 'future'
    ? `must not be more than ${rules.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS} ms in the future`
    : 'must not be before 2000-01-01T00:00:00Z';
}
