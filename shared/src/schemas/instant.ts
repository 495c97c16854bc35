import { z } from 'zod';

/**
 * Instants as inputs: ISO 8601 strings with an offset, checked for plausibility at the edge. A
 * date before 2000 or far in the future is a client bug (a zero timestamp, seconds sent as
 * milliseconds), never data: stored, it would sort first or last forever and skew every window.
 * The bounds are checked when the input is parsed, against this server's clock.
 */
export const EARLIEST_INSTANT_MS = Date.UTC(2000, 0, 1);

/** Allowance for clients whose clocks run ahead: events and outcomes that already happened. */
export const PAST_EVENT_SKEW_MS = 5 * 60_000;
/** Query bounds may reach a little ahead ("until tomorrow"), never years. */
export const QUERY_BOUND_AHEAD_MS = 24 * 3_600_000;

const describeAhead = (ms: number) =>
  ms >= 3_600_000 ? `${Math.round(ms / 3_600_000)} h` : `${Math.round(ms / 60_000)} min`;

/** An ISO instant between 2000-01-01 and `maxAheadMs` after now; stays a string. */
export function isoInstantString(maxAheadMs: number) {
  return z.iso
    .datetime({ offset: true })
    .refine((s) => {
      const t = Date.parse(s);
      // A malformed value already has its format issue; say nothing more about it.
      return Number.isNaN(t) || t >= EARLIEST_INSTANT_MS;
    }, 'must not be before 2000-01-01')
    .refine(
      (s) => {
        const t = Date.parse(s);
        return Number.isNaN(t) || t <= Date.now() + maxAheadMs;
      },
      `must not be more than ${describeAhead(maxAheadMs)} in the future`,
    );
}

/** A time something happened (a trade opened or closed). */
export const pastInstantString = isoInstantString(PAST_EVENT_SKEW_MS);
/** A bound of a time-range query (from, to, before), parsed to a Date for the service. */
export const queryInstant = isoInstantString(QUERY_BOUND_AHEAD_MS).transform((s) => new Date(s));
/** The same bound kept as a string (services that take ISO strings). */
export const queryInstantString = isoInstantString(QUERY_BOUND_AHEAD_MS);

/** Adds "`to` must not be before `from`" to a range (issue on `to`, naming both). */
export function rangeInOrder<T extends { from?: string | Date | undefined; to?: string | Date | undefined }>(
  r: T,
  ctx: z.RefinementCtx,
): void {
  if (r.from === undefined || r.to === undefined) return;
  if (new Date(r.to).getTime() < new Date(r.from).getTime()) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
  }
}

/**
 * An instant as an output. tRPC runs without a transformer, so a Date a procedure returns reaches
 * the client as its JSON form, an ISO string; declaring `z.date()` would make the inferred client
 * type a Date that never arrives. This takes a Date (what services return) or an ISO string and
 * gives the ISO string: the server's output validation converts, and the client's type is `string`.
 * A string that is not an ISO instant, or an invalid Date, is refused.
 */
export const isoDateTime = z
  .union([z.date(), z.iso.datetime({ offset: true })])
  .transform((v) => (typeof v === 'string' ? v : v.toISOString()));
