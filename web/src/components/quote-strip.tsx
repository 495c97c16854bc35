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
  /** The bid or the ask, with its size beside the label unless compact. */
  const side = (field: 'bid' | 'ask', label: string) => {
    const sizeOf = () => (field === 'bid' ? props.quote?.bidSize : props.quote?.askSize);
    return (
      <div class={`quote-cell quote-${field}`}>
        <dt>
          {label}
          <Show when={!props.compact && sizeOf()}>
            <span class="quote-size"> × {size(sizeOf())}</span>
          </Show>
        </dt>
        <dd data-field={field} data-value={props.quote?.[field] ?? ''}>
          {price(props.quote?.[field])}
        </dd>
      </div>
    );
  };
  return (
    <dl
      class={`tile-grid quote-strip ${props.compact ? 'quote-strip-compact' : ''}`}
      aria-label={props.label ?? `Quote ${props.quote?.symbol ?? ''}`.trim()}
      data-live={props.live ? 'true' : 'false'}
    >
      {side('bid', 'Bid')}
      {side('ask', 'Ask')}
      <div class="quote-cell">
        <dt>Spread</dt>
        <dd data-field="spread" data-value={props.quote?.spread ?? ''}>
          {price(props.quote?.spread)}
        </dd>
      </div>
      <div class="quote-cell">
        <dt>Last</dt>
        <dd data-field="last" data-value={props.quote?.last ?? ''}>
          {price(props.quote?.last)}
        </dd>
      </div>
    </dl>
  );
}
