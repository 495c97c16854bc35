import { createSignal } from 'solid-js';
import { isServer } from 'solid-js/web';
import { formatDecimal } from './decimal-format.ts';
import { decimalsOf } from './live-quotes.ts';
import { trpc } from './trpc.ts';

/**
 * Tick and lot sizes of the instruments the console knows (`instruments.list`, the platform's
 * registry), loaded once per page load on first use, so tables print a price to its tick size's
 * decimals and a quantity to its lot size's (`50.000000000000` → `50`, `0.12340000` → `0.1234`).
 * Until the registry answers (or for a symbol it does not list) the value's own digits are used.
 */
export interface InstrumentSizes {
  readonly tickSize: string;
  readonly lotSize: string;
}

const [sizes, setSizes] = createSignal<ReadonlyMap<string, InstrumentSizes>>(new Map());
/** When the registry was last asked (0: never): a failed load is retried a minute later at most. */
let requestedAt = 0;
let loaded = false;
const RETRY_MS = 60_000;

function ensureLoaded(): void {
  if (isServer || loaded || (requestedAt > 0 && Date.now() - requestedAt < RETRY_MS)) return;
  requestedAt = Date.now();
  trpc.instruments.list
    .query({ limit: 1000 })
    .then((page) => {
      loaded = true;
      setSizes(new Map(page.items.map((i) => [i.symbol, { tickSize: i.tickSize, lotSize: i.lotSize }])));
    })
    .catch(() => {
      // The registry is a nicety for formatting: without it, values print with their own digits.
    });
}

/** The sizes of one symbol (reactive: re-reads once the registry has loaded). */
export function sizesOf(symbol: string | null | undefined): InstrumentSizes | undefined {
  ensureLoaded();
  return symbol ? sizes().get(symbol) : undefined;
}

/** Drops trailing fraction zeros of a formatted number ("50.000" → "50", "0.1230" → "0.123"). */
export function trimZeros(formatted: string): string {
  return formatted.includes('.') ? formatted.replace(/\.?0+$/, '') : formatted;
}

/**
 * A quantity: rounded to the lot size's decimals and shown without trailing zeros. Without a
 * known lot size: up to 8 decimals, trailing zeros dropped.
 */
export function formatQuantityWith(
  value: string | null | undefined,
  lotSize: string | undefined,
  options: { sign?: boolean } = {},
): string {
  if (value === null || value === undefined) return '—';
  return trimZeros(formatDecimal(value, lotSize ? decimalsOf(lotSize, 8) : 8, options));
}

/** A price to the tick size's decimals (fixed, so a column's decimals line up); else 2 to 8 of its own. */
export function formatPriceWith(value: string | null | undefined, tickSize: string | undefined): string {
  if (value === null || value === undefined) return '—';
  if (tickSize) return formatDecimal(value, decimalsOf(tickSize));
  const own = (value.split('.')[1] ?? '').replace(/0+$/, '').length;
  return formatDecimal(value, Math.max(2, Math.min(8, own)));
}

export function formatQuantity(
  value: string | null | undefined,
  symbol: string | null | undefined,
  options: { sign?: boolean } = {},
): string {
  return formatQuantityWith(value, sizesOf(symbol)?.lotSize, options);
}

export function formatPrice(value: string | null | undefined, symbol: string | null | undefined): string {
  return formatPriceWith(value, sizesOf(symbol)?.tickSize);
}
