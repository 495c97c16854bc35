import type { BookSink } from '../../book/book-sink.ts';
import { type MalformedKind, type TickRecord, type TickSink, validateTick } from '../tick.ts';

/**
 * The last step from a venue decoder's scratch tick to the tick ring, shared by the decoders that
 * keep a book and print trades into it (VenueTickEmitter for ccxt and the raw Binance decoder,
 * AlpacaDecoder): the feed's tick sequence, `validateTick`, a trade into the book (for its
 * features) once it is valid, and the sink's accept/drop count. A malformed tick goes to the
 * decoder's own `reject` (its MalformedRecords source, its log offset) and takes no sequence number.
 */
export class TickOutlet {
  readonly #books: BookSink;
  readonly #reject: (kind: MalformedKind, offset: string | number) => void;
  #seq = 0;
  /** Ticks the sink took. */
  ticksIn = 0;
  /** Valid ticks the sink refused (full ring under the `drop` policy). */
  ticksDropped = 0;

  constructor(books: BookSink, reject: (kind: MalformedKind, offset: string | number) => void) {
    this.#books = books;
    this.#reject = reject;
  }

  /** Publishes `t` (kind 1: a trade, also into the book); true when the sink took it. */
  publish(t: TickRecord, sink: TickSink, offset: string | number): boolean {
    t.seq = this.#seq;
    const bad = validateTick(t);
    if (bad) {
      this.#reject(bad, offset);
      return false;
    }
    this.#seq++;
    if (t.kind === 1) this.#books.trade(t.symbolId, t.price, t.size, t.tsEventUs);
    if (sink.publish(t)) {
      this.ticksIn++;
      return true;
    }
    this.ticksDropped++;
    return false;
  }
}
