/**
 * The tick: what the feeds fill and the rings carry (ring/tick-ring-writer.ts writes and reads
 * exactly these fields as one TICK record, laid out in ring/layout.ts). Feeds never allocate per
 * tick: each fills ONE reused scratch `TickRecord` and calls `sink.publish(t)`; the sink copies
 * the fields into a ring slot before returning, so the scratch can be overwritten at once.
 */
export interface TickRecord {
  symbolId: number;
  /** Feed sequence number (an integer below 2^53). */
  seq: number;
  /** Event time, microseconds since the epoch (an integer below 2^53). */
  tsEventUs: number;
  /** 1 trade, 2 quote (ring/layout.ts TICK_KIND). */
  kind: number;
  /** +1 buyer-initiated, -1 seller-initiated, 0 unknown. */
  aggressor: number;
  price: number;
  size: number;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
}

export interface TickSink {
  /** Copies the tick into the pipeline; false = dropped by the backpressure policy (counted). */
  publish(t: TickRecord): boolean;
  /** Makes every tick published so far visible to consumers (rings publish per batch). */
  flush?(): void;
  /**
   * Backpressure without blocking the thread: null when the sink has room, else a promise that
   * resolves when it has. Feeds await it at each yield point (after flush).
   */
  backpressure?(): Promise<void> | null;
}

export function createTickRecord(): TickRecord {
  return {
    symbolId: 0,
    seq: 0,
    tsEventUs: 0,
    kind: 0,
    aggressor: 0,
    price: 0,
    size: 0,
    bid: 0,
    ask: 0,
    bidSize: 0,
    askSize: 0,
  };
}

export function copyTick(from: TickRecord, to: TickRecord): TickRecord {
  to.symbolId = from.symbolId;
  to.seq = from.seq;
  to.tsEventUs = from.tsEventUs;
  to.kind = from.kind;
  to.aggressor = from.aggressor;
  to.price = from.price;
  to.size = from.size;
  to.bid = from.bid;
  to.ask = from.ask;
  to.bidSize = from.bidSize;
  to.askSize = from.askSize;
  return to;
}

/** Why a record was rejected at intake (metric label `kind`). */
export const MALFORMED = {
  /** A line/entry that could not be split into the expected fields. */
  shape: 'shape',
  /** A field that should be a number is not one. */
  number: 'number',
  timestamp: 'timestamp',
  kind: 'kind',
  aggressor: 'aggressor',
  price: 'price',
  size: 'size',
  /** bid > ask, or a negative side size. */
  quote: 'quote',
  symbol: 'symbol',
  /** A binary record cut short at the end of a file. */
  truncated: 'truncated',
  /** A stream entry that is not valid JSON / misses required fields. */
  payload: 'payload',
  /** An order-flow entry that carries a desk (`tenantId`): one desk's data, never market data. */
  deskFlow: 'desk_flow',
} as const;
export type MalformedKind = (typeof MALFORMED)[keyof typeof MALFORMED];

/** µs since the epoch of 2000-01-01 and 2200-01-01: event times outside are rejected. */
const MIN_TS_US = 946_684_800_000_000;
const MAX_TS_US = 7_258_118_400_000_000;

/**
 * The one validation of a tick, at intake (never again downstream). Returns the reason it is
 * malformed, or null when it may enter the rings. Allocation-free.
 */
export function validateTick(t: TickRecord): MalformedKind | null {
  if (!Number.isSafeInteger(t.tsEventUs) || t.tsEventUs < MIN_TS_US || t.tsEventUs > MAX_TS_US) {
    return MALFORMED.timestamp;
  }
  if (!Number.isSafeInteger(t.seq) || t.seq < 0) return MALFORMED.number;
  if (t.kind !== 1 && t.kind !== 2) return MALFORMED.kind;
  if (t.aggressor !== 1 && t.aggressor !== -1 && t.aggressor !== 0) return MALFORMED.aggressor;
  if (!(t.price > 0) || !Number.isFinite(t.price)) return MALFORMED.price;
  if (!(t.size >= 0) || !Number.isFinite(t.size)) return MALFORMED.size;
  if (!Number.isFinite(t.bid) || !Number.isFinite(t.ask) || t.bid < 0 || t.ask < 0) return MALFORMED.quote;
  if (!Number.isFinite(t.bidSize) || !Number.isFinite(t.askSize) || t.bidSize < 0 || t.askSize < 0) {
    return MALFORMED.quote;
  }
  // 0 = side unknown; a crossed book (bid above ask) is bad data, a locked one (equal) is not.
  if (t.bid > 0 && t.ask > 0 && t.bid > t.ask) return MALFORMED.quote;
  if (t.kind === 2 && (t.bid <= 0 || t.ask <= 0)) return MALFORMED.quote;
  return null;
}

/**
 * A plain decimal number (optional sign, digits, fraction, exponent) or NaN. `Number()` alone
 * would take '' as 0 and '0x10' as 16; feeds accept decimals only.
 */
export function parseDecimal(s: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : Number.NaN;
}

/** An optional decimal field: absent or empty = unknown (0), else `parseDecimal`. */
export function optionalDecimal(s: string | undefined): number {
  return s === undefined || s === '' ? 0 : parseDecimal(s);
}

/**
 * The tick's quote (bid, ask and their sizes) from optional decimal fields, as the text formats
 * carry it (tick-csv.ts, orderflow-stream.ts): absent or empty = unknown (0). False when one is
 * not a plain decimal (the tick is then malformed: MALFORMED.number).
 */
export function setQuoteFields(
  out: TickRecord,
  bid: string | undefined,
  ask: string | undefined,
  bidSize: string | undefined,
  askSize: string | undefined,
): boolean {
  out.bid = optionalDecimal(bid);
  out.ask = optionalDecimal(ask);
  out.bidSize = optionalDecimal(bidSize);
  out.askSize = optionalDecimal(askSize);
  return !(
    Number.isNaN(out.bid) ||
    Number.isNaN(out.ask) ||
    Number.isNaN(out.bidSize) ||
    Number.isNaN(out.askSize)
  );
}
