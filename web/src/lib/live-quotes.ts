import { type Accessor, createEffect, createSignal, on, onCleanup } from 'solid-js';
import { isServer } from 'solid-js/web';
import { errorMessageOf, isTRPCClientError, type RouterOutputs, trpc } from './trpc.ts';

export type Quote = RouterOutputs['marketData']['quote'];

export interface LiveQuotes {
  /** The latest quote per symbol (a new Map on every change, so readers re-run). */
  readonly quotes: Accessor<ReadonlyMap<string, Quote>>;
  /** Why the stream is not delivering (unknown symbol, no price source, connection lost), if so. */
  readonly error: Accessor<string | undefined>;
  /** The closest known symbols for each unknown one the server refused. */
  readonly unknown: Accessor<readonly { symbol: string; suggestions: readonly string[] }[]>;
  /** True once the first quote arrived on the current stream. */
  readonly live: Accessor<boolean>;
}

/** The `unknown` list of an unknown-instrument refusal (server: InstrumentRegistry.require). */
export function unknownInstrumentsOf(error: unknown): { symbol: string; suggestions: string[] }[] {
  if (!isTRPCClientError(error)) return [];
  const details = (error.data as { details?: { reason?: unknown; unknown?: unknown } } | undefined)?.details;
  if (details?.reason !== 'unknown_instrument' || !Array.isArray(details.unknown)) return [];
  return details.unknown.flatMap((u: unknown) => {
    const entry = u as { symbol?: unknown; suggestions?: unknown };
    return typeof entry.symbol === 'string'
      ? [
          {
            symbol: entry.symbol,
            suggestions: Array.isArray(entry.suggestions)
              ? entry.suggestions.filter((s): s is string => typeof s === 'string')
              : [],
          },
        ]
      : [];
  });
}

interface QuoteListener {
  onData(q: Quote): void;
  onError(e: unknown): void;
  onLost(): void;
}

/**
 * Streams shared by symbol set: two components that want the same symbols (the instrument page's
 * quote strip and its ticket) read one stream. A browser holds six connections per host and each
 * open stream keeps one, so a page with a chart, a book, the halt and the alerts bell has room
 * for one more stream and its queries, not two. A component joining an open stream gets the last
 * quote of every symbol at once.
 */
const shared = new Map<
  string,
  { listeners: Set<QuoteListener>; last: Map<string, Quote>; subscription: { unsubscribe: () => void } }
>();

function joinQuotes(key: string, wanted: readonly string[], listener: QuoteListener): () => void {
  let entry = shared.get(key);
  if (!entry) {
    const created = {
      listeners: new Set<QuoteListener>(),
      last: new Map<string, Quote>(),
      subscription: { unsubscribe: () => {} },
    };
    shared.set(key, created);
    created.subscription = trpc.marketData.onQuotes.subscribe(
      { symbols: [...wanted] },
      {
        // Tracked events: the quote is in `data`.
        onData: ({ data }) => {
          created.last.set(data.symbol, data);
          for (const l of created.listeners) l.onData(data);
        },
        onError: (e) => {
          // The stream ended (an unknown symbol, say): a later joiner opens a new one.
          if (shared.get(key) === created) shared.delete(key);
          for (const l of created.listeners) l.onError(e);
        },
        onConnectionStateChange: (c) => {
          if (c.state === 'connecting' && c.error) for (const l of created.listeners) l.onLost();
        },
      },
    );
    entry = created;
  } else {
    for (const q of entry.last.values()) listener.onData(q);
  }
  entry.listeners.add(listener);
  const mine = entry;
  return () => {
    mine.listeners.delete(listener);
    if (mine.listeners.size === 0) {
      mine.subscription.unsubscribe();
      if (shared.get(key) === mine) shared.delete(key);
    }
  };
}

/**
 * Live quotes of a changing set of symbols over one `marketData.onQuotes` stream (SSE). The
 * server sends the current quote of every symbol first, then changes (≤ 4/s per symbol), and a
 * reconnect starts again from the current state. A new set of symbols opens a new stream; quotes
 * of symbols still in the set are kept meanwhile, so rows do not blank out.
 */
export function createLiveQuotes(symbols: Accessor<readonly string[]>): LiveQuotes {
  const [quotes, setQuotes] = createSignal<ReadonlyMap<string, Quote>>(new Map());
  const [error, setError] = createSignal<string>();
  const [unknown, setUnknown] = createSignal<readonly { symbol: string; suggestions: readonly string[] }[]>(
    [],
  );
  const [live, setLive] = createSignal(false);
  if (isServer) return { quotes, error, unknown, live };

  const key = () => [...new Set(symbols())].sort().join(',');
  createEffect(
    on(key, (joined) => {
      const wanted = joined === '' ? [] : joined.split(',');
      const keep = new Map<string, Quote>();
      for (const s of wanted) {
        const q = quotes().get(s);
        if (q) keep.set(s, q);
      }
      setQuotes(keep);
      setError(undefined);
      setUnknown([]);
      setLive(false);
      if (wanted.length === 0) return;
      const leave = joinQuotes(joined, wanted, {
        onData: (data) => {
          const next = new Map(quotes());
          next.set(data.symbol, data);
          setQuotes(next);
          setLive(true);
          setError(undefined);
        },
        onError: (e) => {
          setUnknown(unknownInstrumentsOf(e));
          setError(errorMessageOf(e));
          setLive(false);
        },
        onLost: () => {
          setError('Connection to the server lost; reconnecting');
          setLive(false);
        },
      });
      onCleanup(leave);
    }),
  );
  return { quotes, error, unknown, live };
}

/** A decimal string as a float, for pixel positions and colours only (never for money). */
export function toNumber(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Decimals of a tick size (`0.01` → 2, `1` → 0, `0.5` → 1): how prices of the instrument print. */
export function decimalsOf(tickSize: string | null | undefined, fallback = 2): number {
  if (!tickSize) return fallback;
  const trimmed = tickSize.includes('.') ? tickSize.replace(/0+$/, '') : tickSize;
  const dot = trimmed.indexOf('.');
  return dot < 0 ? 0 : Math.min(12, trimmed.length - dot - 1);
}

/** Decimals to print a price with when the tick size is not at hand: its own, between 2 and 8. */
export function priceDecimals(value: string | null | undefined): number {
  if (!value) return 2;
  const fraction = value.split('.')[1]?.replace(/0+$/, '') ?? '';
  return Math.max(2, Math.min(8, fraction.length));
}
