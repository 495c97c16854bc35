import { AppError } from '@aegis/shared/errors';
import type { AssetClass, InstrumentView, TradingCalendar } from '@aegis/shared/schemas/market-data';
import { instrumentSymbol } from '@aegis/shared/schemas/order';

/**
 * What a venue's published instrument list becomes before it meets the registry: one entry per
 * instrument the loader supports, in the registry's terms, plus the count of entries it could not
 * use (malformed, or a kind the registry does not carry), which are reported and never fatal.
 */
export interface CatalogueEntry {
  readonly symbol: string;
  readonly venue: string;
  readonly venueSymbol: string;
  readonly name: string | null;
  readonly assetClass: AssetClass;
  readonly currency: string;
  readonly tickSize: string;
  readonly lotSize: string;
  readonly multiplier: string;
  readonly calendar: TradingCalendar;
  readonly status: InstrumentView['status'];
}

export interface Catalogue {
  readonly venue: string;
  readonly entries: readonly CatalogueEntry[];
  /** Entries the venue listed that were left out, by reason (`malformed`, `unsupported`). */
  readonly skipped: Readonly<Record<string, number>>;
  /** True when the venue's whole list was read (so rows it no longer lists may be delisted). */
  readonly complete: boolean;
}

export interface CatalogueRequest {
  /** Only these venue symbols (none: everything the loader supports). */
  readonly venueSymbols?: readonly string[] | undefined;
  readonly timeoutMs?: number | undefined;
}

/** Tallies skipped entries by reason. */
export class SkipCounter {
  readonly counts: Record<string, number> = {};
  add(reason: string): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
  }
}

const DECIMAL = /^\d+(\.\d+)?$/;
/** A decimal string greater than zero, as the registry stores tick and lot sizes. */
export const isPositiveDecimal = (s: unknown): s is string =>
  typeof s === 'string' && DECIMAL.test(s) && /[1-9]/.test(s);

/** Symbols the platform can name (the same check the procedures' inputs make). */
export const isValidSymbol = (s: string): boolean => instrumentSymbol.safeParse(s).success;

/**
 * GET a venue's JSON with a timeout. A refusal, a timeout or a body that is not JSON is the venue
 * being unavailable, named as such; the URL is named without its query (no keys go in URLs).
 */
export async function fetchVenueJson(
  venue: string,
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', ...headers },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new AppError(
      'UNAVAILABLE',
      `venue: ${venue} did not answer ${url.pathname}`,
      { field: 'venue' },
      { cause },
    );
  }
  if (res.status === 401 || res.status === 403)
    throw new AppError(
      'PRECONDITION_FAILED',
      `venue: ${venue} refused the request (HTTP ${res.status}): check its API keys`,
      {
        field: 'venue',
      },
    );
  if (!res.ok)
    throw new AppError('UNAVAILABLE', `venue: ${venue} answered HTTP ${res.status} on ${url.pathname}`, {
      field: 'venue',
    });
  try {
    return await res.json();
  } catch (cause) {
    throw new AppError(
      'UNAVAILABLE',
      `venue: ${venue} sent a body that is not JSON on ${url.pathname}`,
      { field: 'venue' },
      { cause },
    );
  }
}
