import type { RingBuffer } from './ring-buffer.ts';

/** One consumer cursor of one ring, named for logs (`tick[0]/features`). */
export interface WatchedCursor {
  readonly name: string;
  readonly ring: RingBuffer;
  readonly consumer: number;
}

interface CursorState {
  cursor: number;
  /** When records were first seen waiting at this cursor position; null while none wait. */
  waitingSince: number | null;
}

/**
 * Whether each watched consumer keeps up with its producer: a consumer is stalled when records
 * have been waiting for it (readable > 0) for longer than `maxStallMs` without its cursor moving.
 * An idle ring (nothing published) is never stalled, and a consumer that is merely behind but
 * advancing is not either — only one that stopped. This is what a supervisor needs from
 * readiness: a feature worker that died between restarts, an inference thread that stopped
 * reading, a signal publisher stuck on a bus that accepts pings but never answers an append.
 *
 * Sampled (cheap: two atomic loads per cursor), never per tick; a sample on each readiness
 * probe keeps the clock honest when probes are rare.
 */
export class RingProgress {
  readonly #watched: readonly WatchedCursor[];
  readonly #state: CursorState[];
  readonly #maxStallMs: number;
  readonly #now: () => number;

  constructor(
    watched: readonly WatchedCursor[],
    maxStallMs: number,
    now: () => number = () => performance.now(),
  ) {
    this.#watched = watched;
    this.#maxStallMs = maxStallMs;
    this.#now = now;
    this.#state = watched.map((w) => ({ cursor: w.ring.cursor(w.consumer), waitingSince: null }));
  }

  /** Reads every cursor once and updates when each began to wait. */
  sample(): void {
    const now = this.#now();
    for (let i = 0; i < this.#watched.length; i++) {
      const w = this.#watched[i]!;
      const s = this.#state[i]!;
      const cursor = w.ring.cursor(w.consumer);
      const waiting = w.ring.readable(w.consumer) > 0;
      if (!waiting) s.waitingSince = null;
      else if (cursor !== s.cursor || s.waitingSince === null) s.waitingSince = now;
      s.cursor = cursor;
    }
  }

  /** Names of the consumers stalled now (a sample is taken first). */
  stalled(): string[] {
    this.sample();
    const now = this.#now();
    const out: string[] = [];
    for (let i = 0; i < this.#watched.length; i++) {
      const since = this.#state[i]!.waitingSince;
      if (since !== null && now - since > this.#maxStallMs) out.push(this.#watched[i]!.name);
    }
    return out;
  }

  /** True when there is at least one ring to watch and no consumer is stalled. */
  ok(): boolean {
    return this.#watched.length > 0 && this.stalled().length === 0;
  }
}
