import type { Bus, Unsubscribe } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';

/** A payload decoded with its shared schema, or why it was refused. */
export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export interface VenueChannelsOptions<T extends { readonly venue: string }> {
  /** Names the data in logs (`venue books`, `venue prices`). */
  readonly what: string;
  readonly bus: Bus;
  readonly log: Logger;
  /** A venue's update channel and snapshot hash. */
  readonly channel: (venue: string) => string;
  readonly snapshotKey: (venue: string) => string;
  /** One item of the snapshot hash. */
  readonly decodeItem: (raw: string) => Decoded<T>;
  /** One update message: the venue it names and its items. */
  readonly decodeUpdate: (raw: string) => Decoded<{ readonly venue: string; readonly items: readonly T[] }>;
  /** A valid item of the venue it was published for. */
  readonly accept: (item: T) => void;
}

/**
 * How a server process follows what the engine publishes per venue on the bus (the L2 books of
 * market/book-feed.ts, the prices of execution/quote-feed.ts): per venue, subscribe to the update
 * channel first, then read the snapshot hash, so nothing published in between is missed. A
 * payload that fails its schema, or names another venue than its channel, is refused and counted
 * in `rejectedInvalid`, never passed on and never fatal. A venue that cannot be followed (bus
 * down) is let go, and the next `follow` retries it.
 */
export class VenueChannels<T extends { readonly venue: string }> {
  readonly #o: VenueChannelsOptions<T>;
  readonly #subscribed = new Map<string, Unsubscribe>();
  /** Payloads refused by the schema or for naming another venue than their key or channel. */
  rejectedInvalid = 0;

  constructor(o: VenueChannelsOptions<T>) {
    this.#o = o;
  }

  /** Follows each venue not followed yet; `stopped` ends the pass early. */
  async follow(venues: Iterable<string>, stopped: () => boolean): Promise<void> {
    for (const venue of venues) {
      if (stopped() || this.#subscribed.has(venue)) continue;
      try {
        const unsubscribe = await this.#o.bus.subscribe(this.#o.channel(venue), (m) =>
          this.#onUpdate(venue, m),
        );
        this.#subscribed.set(venue, unsubscribe);
        const snapshot = await this.#o.bus.hgetall(this.#o.snapshotKey(venue));
        for (const raw of Object.values(snapshot)) {
          const d = this.#o.decodeItem(raw);
          if (d.ok && d.value.venue === venue) this.#o.accept(d.value);
          else this.#invalid(venue, d.ok ? 'venue mismatch' : d.error);
        }
      } catch (err) {
        this.#o.log.warn({ err, venue }, `${this.#o.what}: cannot follow venue yet`);
        await this.#subscribed
          .get(venue)?.()
          .catch(() => {});
        this.#subscribed.delete(venue);
      }
    }
  }

  async stop(): Promise<void> {
    const subs = [...this.#subscribed.values()];
    this.#subscribed.clear();
    await Promise.all(subs.map((u) => u().catch(() => {})));
  }

  #onUpdate(venue: string, raw: string): void {
    const d = this.#o.decodeUpdate(raw);
    if (!d.ok || d.value.venue !== venue) {
      this.#invalid(venue, d.ok ? 'venue mismatch' : d.error);
      return;
    }
    for (const item of d.value.items) {
      if (item.venue === venue) this.#o.accept(item);
      else this.#invalid(venue, 'venue mismatch');
    }
  }

  #invalid(venue: string, error: string): void {
    this.rejectedInvalid++;
    if (this.rejectedInvalid === 1 || this.rejectedInvalid % 1000 === 0) {
      this.#o.log.warn(
        { venue, error, count: this.rejectedInvalid },
        `${this.#o.what}: invalid payload refused`,
      );
    }
  }
}
