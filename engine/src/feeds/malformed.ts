import type { Logger } from '@aegis/shared/logging';
import type { MalformedKind } from './tick.ts';

/** At most one log line per source per this many ms; the rest are counted and summarised. */
const LOG_INTERVAL_MS = 10_000;

/**
 * Counts malformed records per source and kind, and logs at most ONE line per source per
 * interval naming the source, the offset (line, record index or stream id) and the kind, with
 * how many were suppressed since the last line. The engine never stops for bad data: the record
 * is skipped and the feed goes on.
 */
export class MalformedRecords {
  readonly #log: Logger;
  readonly #counts = new Map<string, Map<MalformedKind, number>>();
  readonly #lastLogAt = new Map<string, number>();
  readonly #suppressed = new Map<string, number>();
  readonly #intervalMs: number;

  constructor(log: Logger, options: { intervalMs?: number } = {}) {
    this.#log = log;
    this.#intervalMs = options.intervalMs ?? LOG_INTERVAL_MS;
  }

  record(source: string, kind: MalformedKind, offset: string | number): void {
    let perKind = this.#counts.get(source);
    if (!perKind) {
      perKind = new Map();
      this.#counts.set(source, perKind);
    }
    perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
    const now = Date.now();
    const last = this.#lastLogAt.get(source);
    if (last !== undefined && now - last < this.#intervalMs) {
      this.#suppressed.set(source, (this.#suppressed.get(source) ?? 0) + 1);
      return;
    }
    this.#lastLogAt.set(source, now);
    const suppressed = this.#suppressed.get(source) ?? 0;
    this.#suppressed.set(source, 0);
    this.#log.warn(
      { source, offset: String(offset), kind, suppressedSinceLastLog: suppressed },
      'feed: malformed record skipped',
    );
  }

  count(source: string, kind?: MalformedKind): number {
    const perKind = this.#counts.get(source);
    if (!perKind) return 0;
    if (kind) return perKind.get(kind) ?? 0;
    let n = 0;
    for (const v of perKind.values()) n += v;
    return n;
  }

  /** [source, kind, count] for the metrics exposition. */
  entries(): [string, MalformedKind, number][] {
    const out: [string, MalformedKind, number][] = [];
    for (const [source, perKind] of this.#counts)
      for (const [kind, n] of perKind) out.push([source, kind, n]);
    return out;
  }
}
