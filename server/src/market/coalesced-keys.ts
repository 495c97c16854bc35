/**
 * Per-subscriber coalescing for live market data: listeners mark keys (symbols) changed, the
 * stream takes them at most once per `minIntervalMs` per key. A burst of venue prices costs one
 * event per symbol per interval and a slow client never builds a queue (only the set of changed
 * keys is kept, and the stream reads the state as it is when it sends).
 */
export class CoalescedKeys<K> {
  readonly #minIntervalMs: number;
  readonly #dirty = new Set<K>();
  readonly #lastTaken = new Map<K, number>();
  #wake: (() => void) | null = null;
  #closed = false;

  constructor(minIntervalMs: number, signal?: AbortSignal) {
    this.#minIntervalMs = minIntervalMs;
    signal?.addEventListener('abort', () => this.close(), { once: true });
    if (signal?.aborted) this.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  mark(key: K): void {
    if (this.#closed) return;
    this.#dirty.add(key);
    this.#wake?.();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  /**
   * The changed keys that are due (each not taken within the interval), waiting until at least
   * one is or `maxWaitMs` passes (then possibly none). Empty once closed.
   */
  async take(maxWaitMs = Number.POSITIVE_INFINITY): Promise<K[]> {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      if (this.#closed) return [];
      const now = Date.now();
      const due: K[] = [];
      let nextDue = Number.POSITIVE_INFINITY;
      for (const k of this.#dirty) {
        const at = (this.#lastTaken.get(k) ?? Number.NEGATIVE_INFINITY) + this.#minIntervalMs;
        if (at <= now) due.push(k);
        else nextDue = Math.min(nextDue, at);
      }
      if (due.length > 0) {
        for (const k of due) {
          this.#dirty.delete(k);
          this.#lastTaken.set(k, now);
        }
        return due;
      }
      const until = Math.min(nextDue, deadline);
      if (until <= now) return [];
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(until) ? setTimeout(resolve, until - now) : null;
        this.#wake = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }
}
