import { createHash } from 'node:crypto';
import {
  describeEventTimeProblem,
  type EventTimeRules,
  eventTimeProblem,
} from '@aegis/shared/market/event-time';
import {
  type IngestProblem,
  type OrderflowEvent,
  orderflowEventSchema,
} from '@aegis/shared/schemas/orderflow';

/**
 * Validation, canonical form, content hash and stream encoding of order-flow events: the pure
 * half of ingestion (service.ts does the database and bus half).
 */

export interface CanonicalEvent {
  readonly event: OrderflowEvent;
  /** Event time in UTC with exactly six fractional digits (PostgreSQL keeps microseconds). */
  readonly tsEvent: string;
  /** SHA-256 hex of the canonical JSON (keys sorted, time normalized). */
  readonly contentHash: string;
}

/**
 * Validates every element; returns the events, or every problem with its index, its field
 * within the event and its full input path (`events[3].tsEvent`).
 *
 * Event times (market/event-time.ts): history is welcome (replays, backfills) back to
 * 2000-01-01; earlier is a sender bug (1970: a zero or a unit mix-up). The future beyond a small
 * clock skew (default 2 s) is a clock or feed error and refused.
 */
export function validateBatch(
  raw: readonly unknown[],
  now = Date.now(),
  rules: EventTimeRules = {},
): { ok: true; events: CanonicalEvent[] } | { ok: false; problems: IngestProblem[] } {
  const problems: IngestProblem[] = [];
  const events: CanonicalEvent[] = [];
  const problem = (index: number, field: string, message: string) =>
    problems.push({ index, field, path: `events[${index}]${field ? `.${field}` : ''}`, message });
  raw.forEach((item, index) => {
    const parsed = orderflowEventSchema.safeParse(item);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
        const field = [...issue.path.map(String), ...(keys.length === 1 ? keys : [])].join('.');
        problem(index, field, issue.message);
      }
      return;
    }
    const tsEvent = toUtcMicros(parsed.data.tsEvent);
    if (tsEvent === null) {
      problem(index, 'tsEvent', 'not a valid time');
      return;
    }
    const implausible = eventTimeProblem(Date.parse(tsEvent), now, rules);
    if (implausible !== null) {
      problem(index, 'tsEvent', describeEventTimeProblem(implausible, rules));
      return;
    }
    events.push(canonicalize(parsed.data, tsEvent));
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, events };
}

function canonicalize(event: OrderflowEvent, tsEvent: string): CanonicalEvent {
  const normalized = { ...event, tsEvent };
  const contentHash = createHash('sha256').update(stableJson(normalized)).digest('hex');
  return { event, tsEvent, contentHash };
}

/** JSON with object keys sorted at every level, so equal content hashes equally. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value as Record<string, unknown>)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * `2026-01-02T03:04:05.1234567+01:00` → `2026-01-02T02:04:05.123456Z`. `Date` keeps only
 * milliseconds, so the fraction is carried separately (truncated to µs, as PostgreSQL stores).
 */
export function toUtcMicros(iso: string): string | null {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/i.exec(iso);
  if (!m) return null;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(seconds)) return null;
  const fraction = (m[2] ?? '').slice(0, 6).padEnd(6, '0');
  return `${new Date(seconds).toISOString().slice(0, 19)}.${fraction}Z`;
}
