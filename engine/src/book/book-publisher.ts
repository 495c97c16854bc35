import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import {
  BOOK_PUBLISH_LEVELS,
  type BookFeatures,
  type VenueBook,
  venueBooksChannel,
  venueBooksKey,
} from '@aegis/shared/market/venue-books';
import { decimalFromNumber, isoFromMicros } from '@aegis/shared/market/venue-prices';
import { wallClockUs } from '../feeds/feed.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import { PublishRounds, sendVenueChunk, warnRoundFailed } from '../writer/publish-rounds.ts';
import type { BookRegistry } from './book-registry.ts';
import { ASK, BID, type BookSide } from './book-sink.ts';

/**
 * Publishes one venue's L2 books from a `BookRegistry` to the bus, beside the venue prices
 * (shared/src/market/venue-books.ts):
 *
 *   hash    <prefix>books:<venue>            field = instrument, value = VenueBook JSON
 *   channel <prefix>books:<venue>:updates    VenueBookUpdate JSON: the books changed since the
 *                                            previous round
 *
 * Modelled on the price publisher (writer/price-publisher.ts): the hot path (the registry's book
 * changes) only sets a changed flag; every `publishMs` a round drains the registry's changed-set
 * and sends each changed book whole (top `levels` per side, decimal strings, features) with one
 * HSET and one PUBLISH. Coalesced: a book that changed a thousand times in the interval is sent
 * once. At most one round in flight (a slow bus delays books, it never queues rounds); a failed
 * round puts its instruments back in the changed-set, so the next round sends their newest state.
 * A cleared book is published with empty sides and null features (readers drop the stale depth at
 * once). Every few seconds every book is marked again, so a Redis that restarted empty gets its
 * snapshot back; readers keep the highest `seq` per instrument, so repeats are harmless.
 *
 * Large venues: a round is split into chunks of `CHUNK_BOOKS` books (one HSET + one PUBLISH each),
 * which bounds a message at a few MB whatever the number of instruments.
 */
export interface BookPublisherOptions {
  readonly bus: Bus;
  /** Venue the books belong to (`instruments.venue`). */
  readonly venue: string;
  /** Bus key prefix, e.g. `aegis:` (the engine's stream prefix). */
  readonly prefix: string;
  /** The venue's books (one registry per venue: the publisher drains its changed-set). */
  readonly registry: BookRegistry;
  readonly symbolTable: SymbolTable;
  /** Ms between publish rounds. */
  readonly publishMs: number;
  readonly log: Logger;
  /** Levels per side to publish (default and maximum BOOK_PUBLISH_LEVELS). */
  readonly levels?: number;
  /** Ms between full republishes of every book (default 5000). */
  readonly fullRepublishMs?: number;
}

/** Books per HSET/PUBLISH pair (a 50-level book is ~4 KB of JSON). */
export const CHUNK_BOOKS = 500;
const DEFAULT_FULL_REPUBLISH_MS = 5_000;
/** The largest instant a JS Date holds (8.64e15 ms), in µs. */
const MAX_DATE_US = 8.64e18;
/** `venueBookSchema`'s instrument rule; the symbol table also admits `^` (index symbols). */
const INSTRUMENT_RE = /^[A-Za-z0-9._:/-]{1,64}$/;

export class BookPublisher {
  readonly #o: BookPublisherOptions;
  readonly #key: string;
  readonly #channel: string;
  readonly #levels: number;
  readonly #drain: Int32Array;
  readonly #scratch: Float64Array;
  readonly #rounds: PublishRounds;
  rounds = 0;
  booksPublished = 0;
  publishErrors = 0;
  /** Books left out of a round because the instrument has no name valid on the bus. */
  skippedNames = 0;

  constructor(options: BookPublisherOptions) {
    this.#o = options;
    this.#key = venueBooksKey(options.prefix, options.venue);
    this.#channel = venueBooksChannel(options.prefix, options.venue);
    this.#levels = Math.max(
      1,
      Math.min(BOOK_PUBLISH_LEVELS, Math.floor(options.levels ?? BOOK_PUBLISH_LEVELS)),
    );
    this.#drain = new Int32Array(options.registry.capacity);
    this.#scratch = new Float64Array(2 * this.#levels);
    this.#rounds = new PublishRounds({
      publishMs: options.publishMs,
      fullRepublishMs: options.fullRepublishMs ?? DEFAULT_FULL_REPUBLISH_MS,
      markAll: () => options.registry.markAll(),
      round: () => {
        if (options.registry.changedCount === 0) return null;
        const n = options.registry.drainChanged(this.#drain);
        return this.#publish(this.#drain.slice(0, n));
      },
    });
  }

  get venue(): string {
    return this.#o.venue;
  }

  /** Counters for /metrics. */
  stats(): { rounds: number; booksPublished: number; publishErrors: number; skippedNames: number } {
    return {
      rounds: this.rounds,
      booksPublished: this.booksPublished,
      publishErrors: this.publishErrors,
      skippedNames: this.skippedNames,
    };
  }

  start(): void {
    this.#rounds.start();
  }

  /** Stops the timer and sends a last round: what the feeds saw last is what servers keep. */
  stop(): Promise<void> {
    return this.#rounds.stop();
  }

  /** One round now (the timer's job; tests call it to avoid waiting). */
  publishNow(): Promise<void> {
    return this.#rounds.now();
  }

  /** The VenueBook of one instrument as published now, null when it has no publishable name. */
  bookOf(id: number, tsIngest: string): VenueBook | null {
    const reg = this.#o.registry;
    if (id >= this.#o.symbolTable.size) return null;
    const instrument = this.#o.symbolTable.symbolOf(id);
    if (!INSTRUMENT_RE.test(instrument)) return null;
    const has = reg.hasBook(id);
    const f = has ? reg.features(id) : null;
    const eventUs = reg.lastEventUs(id);
    return {
      venue: this.#o.venue,
      instrument,
      bids: has ? this.#side(id, BID) : [],
      asks: has ? this.#side(id, ASK) : [],
      seq: reg.version(id),
      // A time no Date can hold would throw and fail every round it is in: never let it.
      tsEvent: eventUs > 0 && eventUs < MAX_DATE_US ? isoFromMicros(eventUs) : tsIngest,
      tsIngest,
      features: f ? roundFeatures(f) : null,
    };
  }

  async #publish(ids: Int32Array): Promise<void> {
    const tsIngest = isoFromMicros(wallClockUs());
    let fields: Record<string, string> = {};
    let json: string[] = [];
    let sent = 0;
    try {
      for (const id of ids) {
        const book = this.bookOf(id, tsIngest);
        if (!book) {
          this.skippedNames++;
          continue;
        }
        const one = JSON.stringify(book);
        fields[book.instrument] = one;
        json.push(one);
        if (json.length === CHUNK_BOOKS) {
          await this.#send(fields, json);
          sent += json.length;
          fields = {};
          json = [];
        }
      }
      if (json.length > 0) {
        await this.#send(fields, json);
        sent += json.length;
      }
      if (sent > 0) this.rounds++;
      this.booksPublished += sent;
    } catch (err) {
      this.publishErrors++;
      // Resend the whole round next time, with whatever is newest by then (readers keep the
      // highest seq, so the chunks that did go out are harmless to repeat).
      for (const id of ids) this.#o.registry.markChanged(id);
      warnRoundFailed(this.#o.log, 'venue books', this.#o.venue, this.publishErrors, err);
    }
  }

  /** One chunk as a VenueBookUpdate (publish-rounds.ts). */
  #send(fields: Record<string, string>, json: string[]): Promise<void> {
    return sendVenueChunk(this.#o.bus, this.#key, this.#channel, this.#o.venue, 'books', fields, json);
  }

  #side(id: number, side: BookSide): [string, string][] {
    const n = this.#o.registry.levels(id, side, this.#levels, this.#scratch);
    const out: [string, string][] = [];
    for (let j = 0; j < n; j++) {
      const price = decimalFromNumber(this.#scratch[2 * j] as number);
      const size = decimalFromNumber(this.#scratch[2 * j + 1] as number);
      // Validated at intake, so never null; a level that still cannot be written is left out
      // rather than failing the whole book.
      if (price !== null && size !== null) out.push([price, size]);
    }
    return out;
  }
}

/** Features rounded to 12 significant digits: stable JSON, and the schema's bounds stay exact. */
function roundFeatures(f: BookFeatures): BookFeatures {
  return {
    imbalance: Math.min(1, Math.max(-1, Number(f.imbalance.toPrecision(12)))),
    levels: f.levels,
    withdrawal: Math.min(1, Math.max(0, Number(f.withdrawal.toPrecision(12)))),
  };
}
