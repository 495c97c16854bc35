import { createEffect, createMemo, createSignal, For, on, onCleanup, Show } from 'solid-js';
import { isServer } from 'solid-js/web';
import { formatDecimal } from '../lib/decimal-format.ts';
import { toNumber } from '../lib/live-quotes.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { EmptyState } from './panel.tsx';
import '../market.css';

type Book = RouterOutputs['marketData']['book'];

export interface LadderPick {
  readonly price: string;
  /** Lifting an offer buys, hitting a bid sells. */
  readonly side: 'buy' | 'sell';
}

interface Level {
  readonly price: string;
  readonly size: string;
  /** Size from the best price out to this level (display only). */
  readonly cumulative: number;
  readonly depth: number;
}

/** Levels with their cumulative size, best first; `depth` is the share of the deepest side. */
function withDepth(levels: readonly (readonly [string, string])[]): { rows: Level[]; total: number } {
  let cum = 0;
  const rows = levels.map(([price, size]) => {
    cum += toNumber(size) ?? 0;
    return { price, size, cumulative: cum, depth: 0 };
  });
  return { rows, total: cum };
}

const TOOLTIP = 'Click a level to put its price in the order ticket: an ask buys, a bid sells';

/**
 * The L2 ladder of one instrument, live from `marketData.onBook` (the engine's published book;
 * the server falls back to the top of book where the venue has no depth feed). Asks above in
 * descending price with the best ask next to the spread row, bids below; each level shows price,
 * size and cumulative size with a depth bar scaled to the deeper side. A click picks the level's
 * price for the order ticket.
 */
export function BookLadder(props: {
  symbol: string;
  levels?: number;
  decimals: number;
  sizeDecimals?: number;
  onPick?: (pick: LadderPick) => void;
}) {
  const [book, setBook] = createSignal<Book>();
  const [error, setError] = createSignal<string>();
  if (!isServer) {
    createEffect(
      on(
        () => props.symbol,
        (symbol) => {
          setBook(undefined);
          setError(undefined);
          const subscription = trpc.marketData.onBook.subscribe(
            { symbol, levels: props.levels ?? 15 },
            {
              onData: ({ data }) => {
                setBook(data);
                setError(undefined);
              },
              onError: (e) => setError(errorMessageOf(e)),
              onConnectionStateChange: (c) => {
                if (c.state === 'connecting' && c.error)
                  setError('Connection to the server lost; reconnecting');
              },
            },
          );
          onCleanup(() => subscription.unsubscribe());
        },
      ),
    );
  }

  const model = createMemo(() => {
    const b = book();
    if (!b) return null;
    const asks = withDepth(b.asks);
    const bids = withDepth(b.bids);
    const deepest = Math.max(asks.total, bids.total, 1e-12);
    for (const r of asks.rows) (r as { depth: number }).depth = r.cumulative / deepest;
    for (const r of bids.rows) (r as { depth: number }).depth = r.cumulative / deepest;
    const bestBid = b.bids[0]?.[0];
    const bestAsk = b.asks[0]?.[0];
    const spread =
      bestBid && bestAsk
        ? (toNumber(bestAsk)! - toNumber(bestBid)!).toFixed(Math.min(12, props.decimals))
        : null;
    return { book: b, asks: asks.rows.slice().reverse(), bids: bids.rows, spread };
  });

  const sizeDecimals = () => props.sizeDecimals ?? 4;
  const row = (side: 'ask' | 'bid', level: Level) => (
    <li class={`ladder-row ladder-${side}`} data-side={side} data-price={level.price} data-size={level.size}>
      <button
        type="button"
        class="ladder-hit"
        title={TOOLTIP}
        aria-label={`${side === 'ask' ? 'Ask' : 'Bid'} ${formatDecimal(level.price, props.decimals)}, size ${formatDecimal(level.size, sizeDecimals())}: ${side === 'ask' ? 'buy' : 'sell'} limit at this price`}
        onClick={() => props.onPick?.({ price: level.price, side: side === 'ask' ? 'buy' : 'sell' })}
      >
        <span class="ladder-depth" style={{ width: `${Math.max(1, level.depth * 100).toFixed(1)}%` }} />
        <span class="ladder-price">{formatDecimal(level.price, props.decimals)}</span>
        <span class="ladder-size">{formatDecimal(level.size, sizeDecimals())}</span>
        <span class="ladder-cum">{formatDecimal(String(level.cumulative), sizeDecimals())}</span>
      </button>
    </li>
  );

  return (
    <div class="ladder" data-depth={book()?.depth ?? ''} data-ts={book()?.tsEvent ?? ''}>
      <div class="ladder-head" aria-hidden="true">
        <span>Price</span>
        <span>Size</span>
        <span>Total</span>
      </div>
      <Show
        when={model()}
        fallback={
          <Show
            when={error()}
            fallback={
              <div class="skeleton" role="status" aria-busy="true">
                <span class="visually-hidden">Loading the book</span>
              </div>
            }
          >
            <EmptyState title="No book" tone="error">
              {error()}
            </EmptyState>
          </Show>
        }
      >
        {(m) => (
          <Show
            when={m().book.depth !== 'none'}
            fallback={
              <EmptyState title="No book yet">The venue has not sent a book for {props.symbol}.</EmptyState>
            }
          >
            <ol class="ladder-side ladder-asks" aria-label={`Asks, ${props.symbol}`}>
              <For each={m().asks}>{(level) => row('ask', level)}</For>
            </ol>
            <div class="ladder-spread" data-spread={m().spread ?? ''}>
              <span>Spread</span>
              <span class="mono">{m().spread ? formatDecimal(m().spread, props.decimals) : '—'}</span>
              <span class="dim">{m().book.depth === 'top' ? 'top of book only' : 'L2'}</span>
            </div>
            <ol class="ladder-side ladder-bids" aria-label={`Bids, ${props.symbol}`}>
              <For each={m().bids}>{(level) => row('bid', level)}</For>
            </ol>
          </Show>
        )}
      </Show>
      <Show when={model() && error()}>
        <p class="ladder-note" role="status">
          {error()}
        </p>
      </Show>
    </div>
  );
}
