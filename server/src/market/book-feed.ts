import { instruments } from '@aegis/shared/db';
import {
  decodeVenueBook,
  decodeVenueBookUpdate,
  type VenueBook,
  venueBooksChannel,
  venueBooksKey,
} from '@aegis/shared/market/venue-books';
import type { ExecutionDeps } from '../execution/types.ts';
import { VenueChannels } from './venue-channels.ts';

/**
 * This process's copy of the L2 books the engine publishes beside the venue prices
 * (shared/src/market/venue-books.ts), read the way execution/quote-feed.ts reads prices, so every
 * server process serves the same ladder for `marketData.book`.
 *
 * Per venue named in `instruments`, followed through VenueChannels (update channel first, then the
 * snapshot hash, so nothing published in between is missed). Per venue and instrument the book with the
 * highest `seq` wins (the engine's per-instrument book version): the snapshot/update overlap and
 * the engine's periodic full republish never move a book backwards. Books are kept per venue; the
 * market-data service asks for the instrument's own venue, so a book another venue publishes under
 * the same symbol is never shown for it.
 *
 * Payloads are decoded with the shared schema; one that fails (or names another venue than its
 * channel) is refused and counted in `rejectedInvalid`, never stored and never fatal.
 */
export interface BookFeedOptions {
  /** Bus key prefix of the price source, e.g. `aegis:` (the engine's ENGINE_STREAM_PREFIX). */
  readonly prefix: string;
  /** How often the venue list is re-read (and failed subscriptions retried). */
  readonly refreshMs: number;
}

export type BookListener = (book: VenueBook) => void;

export class BookFeed {
  readonly #deps: ExecutionDeps;
  readonly #o: BookFeedOptions;
  readonly #channels: VenueChannels<VenueBook>;
  /** `venue \0 instrument` → newest book (highest seq). */
  readonly #books = new Map<string, VenueBook>();
  readonly #listeners = new Set<BookListener>();
  #timer: NodeJS.Timeout | null = null;
  #refreshing: Promise<void> | null = null;
  #stopped = true;
  received = 0;
  /** Valid books older than (or as old as) the one held: the overlap, counted for diagnosis. */
  ignoredStale = 0;

  constructor(deps: ExecutionDeps, o: BookFeedOptions) {
    this.#deps = deps;
    this.#o = o;
    this.#channels = new VenueChannels<VenueBook>({
      what: 'venue books',
      bus: deps.bus,
      log: deps.log,
      channel: (venue) => venueBooksChannel(o.prefix, venue),
      snapshotKey: (venue) => venueBooksKey(o.prefix, venue),
      decodeItem: decodeVenueBook,
      decodeUpdate: (raw) => {
        const d = decodeVenueBookUpdate(raw);
        return d.ok ? { ok: true, value: { venue: d.value.venue, items: d.value.books } } : d;
      },
      accept: (b) => this.#accept(b),
    });
  }

  /** Payloads refused by the schema or for naming another venue than their key or channel. */
  get rejectedInvalid(): number {
    return this.#channels.rejectedInvalid;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#refreshing?.catch(() => {});
    await this.#channels.stop();
  }

  /** The newest book of `instrument` on `venue`, or null when the engine published none. */
  get(venue: string, instrument: string): VenueBook | null {
    return this.#books.get(`${venue}\u0000${instrument}`) ?? null;
  }

  /** Called with every book accepted (newer than the one held). */
  subscribe(listener: BookListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Follows venues added to `instruments` since the last call (subscribe, then snapshot). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh()
      .catch((err: unknown) => this.#deps.log.warn({ err }, 'venue books: refresh failed; retrying'))
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const rows = await this.#deps.db.selectDistinct({ venue: instruments.venue }).from(instruments);
    // Bus down: the next refresh retries; until then the ladder falls back to the top of book.
    await this.#channels.follow(
      rows.map((r) => r.venue),
      () => this.#stopped,
    );
  }

  #accept(b: VenueBook): void {
    this.received++;
    const k = `${b.venue}\u0000${b.instrument}`;
    const held = this.#books.get(k);
    if (held && held.seq >= b.seq) {
      this.ignoredStale++;
      return;
    }
    this.#books.set(k, b);
    for (const l of this.#listeners) l(b);
  }
}
