import { Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal-format.ts';
import { priceDecimals, type Quote } from '../lib/live-quotes.ts';
import '../market.css';

/**
 * Bid, ask, spread and last of one instrument, as the one price source has them (the server's
 * `marketData.onQuotes`). `decimals` comes from the instrument's tick size where known.
 * Each figure is a <dl> pair, so a screen reader reads "Bid 50,000.10".
 */
export function QuoteStrip(props: {
  quote: Quote | undefined;
  decimals?: number;
  live?: boolean;
  compact?: boolean;
  label?: string;
}) {
  const d = () => props.decimals ?? priceDecimals(props.quote?.last ?? props.quote?.bid ?? null);
  const price = (v: string | null | undefined) => (v ? formatDecimal(v, d()) : '—');
  const size = (v: string | null | undefined) => (v ? formatDecimal(v, 4) : '');
  /**
   * One figure: its label, the size beside it where one is given (the bid's and the ask's)
   * unless compact, and its price (data-field/data-value: the figure's name and raw value).
   */
  const figure = (
    field: 'bid' | 'ask' | 'spread' | 'last',
    label: string,
    sizeOf?: () => string | null | undefined,
  ) => (
    <div class={`quote-cell quote-${field}`}>
      <dt>
        {label}
        <Show when={!props.compact && sizeOf?.()}>
          {(shown) => <span class="quote-size"> × {size(shown())}</span>}
        </Show>
      </dt>
      <dd data-field={field} data-value={props.quote?.[field] ?? ''}>
        {price(props.quote?.[field])}
      </dd>
    </div>
  );
  return (
    <dl
      class={`tile-grid quote-strip ${props.compact ? 'quote-strip-compact' : ''}`}
      aria-label={props.label ?? `Quote ${props.quote?.symbol ?? ''}`.trim()}
      data-live={props.live ? 'true' : 'false'}
    >
      {figure('bid', 'Bid', () => props.quote?.bidSize)}
      {figure('ask', 'Ask', () => props.quote?.askSize)}
      {figure('spread', 'Spread')}
      {figure('last', 'Last')}
    </dl>
  );
}
