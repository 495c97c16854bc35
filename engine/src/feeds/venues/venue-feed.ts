import type { Logger } from '@aegis/shared/logging';
import type { BookSink } from '../../book/book-sink.ts';
import type { Feed } from '../feed.ts';
import type { MalformedRecords } from '../malformed.ts';
import type { SymbolTable } from '../symbol-table.ts';

/**
 * A live venue feed (Coinbase Advanced Trade, Alpaca market data, a venue through ccxt): a `Feed`
 * that also knows its venue (the `instruments.venue` its prices are published under) and reports
 * its connection health for `/metrics`.
 *
 * Every venue feed:
 * - decodes each venue message ONCE at intake into the reused scratch TickRecord (no per-tick
 *   objects past the JSON parse the venue's format forces), validated with `validateTick`;
 * - interns instrument symbols with `instrumentSymbolFor(venue, venueSymbol)`
 *   (shared/src/market/instrument-symbols.ts), so the ticks carry the platform's symbols;
 * - reconnects with capped exponential backoff and jitter, resubscribing what it had;
 * - detects sequence gaps (per channel or product, as the venue numbers them), counts them,
 *   and recovers (resubscribe + fresh snapshot where the venue has one; the book is cleared until
 *   then, so no stale depth is ever published);
 * - measures clock skew (venue event time − local receive time) and counts messages beyond the
 *   allowed skew; counts malformed messages by kind (never throws on them);
 * - feeds depth into the `BookSink` and emits a quote tick (best bid/ask with sizes) after each
 *   book change, a trade tick (with the current best bid/ask) per trade.
 *
 * `position()` is null for live feeds (nothing to resume: a restart takes a fresh snapshot).
 */
export interface VenueFeed extends Feed {
  readonly venue: string;
  stats(): VenueFeedStats;
}

export interface VenueFeedStats {
  readonly venue: string;
  /** Feed name (metric label): `coinbase`, `alpaca`, `ccxt:binance`. */
  readonly feed: string;
  /** Transport: 'ws' or 'poll'. */
  readonly transport: 'ws' | 'poll';
  readonly connected: boolean;
  readonly messagesIn: number;
  /** Malformed messages (also in MalformedRecords by kind). */
  readonly malformed: number;
  readonly gaps: number;
  /** Resubscriptions / snapshot re-requests after a gap. */
  readonly resyncs: number;
  readonly reconnects: number;
  /** Book checksum mismatches (venues that send checksums). */
  readonly checksumFailures: number;
  /** Latest measured venue-minus-local clock offset, ms (NaN until measured). */
  readonly clockSkewMs: number;
  /** Messages whose event time was beyond the allowed skew (refused as ticks). */
  readonly skewed: number;
  /** Wall-clock ms of the last message, 0 = none yet. */
  readonly lastMessageAtMs: number;
}

export interface VenueFeedContext {
  readonly symbolTable: SymbolTable;
  readonly malformed: MalformedRecords;
  readonly log: Logger;
  readonly books: BookSink;
  /** Ticks dated beyond this many ms ahead of local time are refused (counted as `skewed`). */
  readonly maxFutureSkewMs: number;
  /** Reconnect backoff (defaults 250 ms doubling to 15 s, ±20 % jitter). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}
