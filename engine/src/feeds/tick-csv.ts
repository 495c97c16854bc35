import {
  MALFORMED,
  type MalformedKind,
  parseDecimal,
  setQuoteFields,
  type TickRecord,
  validateTick,
} from './tick.ts';

/**
 * Recorded ticks as CSV, one tick per line after a header:
 *
 *   ts,symbol,seq,kind,aggressor,price,size,bid,ask,bid_size,ask_size
 *   2026-01-01T00:00:00.000125Z,AAPL,1,trade,buy,187.25,100,187.24,187.25,300,200
 *
 * - ts: ISO 8601 with up to 9 fractional digits and a zone (Z or ±hh:mm), or an integer count
 *   since the epoch: up to 16 digits are µs, 17 to 19 digits are ns (venues' native precision).
 *   The engine keeps µs: nanoseconds are truncated toward the past (a tick is never dated later
 *   than it happened). Written as ISO with exactly 6 digits (lossless at µs).
 * - kind: trade | quote (or 1 | 2, T | Q); aggressor: buy | sell | B | S (buyer / seller
 *   initiated, any case) | empty (or 1 | -1 | 0).
 * - bid/ask/sizes: empty = unknown (0). Numbers are written in shortest round-trip form.
 * Text is the interchange format; the binary `.ticks` file is the fast replay path.
 */
export const CSV_HEADER = 'ts,symbol,seq,kind,aggressor,price,size,bid,ask,bid_size,ask_size';
const FIELD_COUNT = 11;
const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** `symbolIdOf` maps a symbol to its id (interning it) or returns -1. */
export function parseCsvLine(
  line: string,
  symbolIdOf: (symbol: string) => number,
  out: TickRecord,
): MalformedKind | null {
  const f = line.split(',');
  if (f.length !== FIELD_COUNT) return MALFORMED.shape;
  const ts = parseTimestampUs(f[0] as string);
  if (ts === null) return MALFORMED.timestamp;
  const symbolId = symbolIdOf((f[1] as string).trim());
  if (symbolId < 0) return MALFORMED.symbol;
  const seq = parseNumber(f[2] as string);
  const kind = parseKind(f[3] as string);
  if (kind === null) return MALFORMED.kind;
  const aggressor = parseAggressor(f[4] as string);
  if (aggressor === null) return MALFORMED.aggressor;
  const price = parseNumber(f[5] as string);
  const size = parseNumber(f[6] as string);
  if (Number.isNaN(seq) || Number.isNaN(price) || Number.isNaN(size)) return MALFORMED.number;
  const quoted = setQuoteFields(
    out,
    (f[7] as string).trim(),
    (f[8] as string).trim(),
    (f[9] as string).trim(),
    (f[10] as string).trim(),
  );
  if (!quoted) return MALFORMED.number;
  out.symbolId = symbolId;
  out.seq = seq;
  out.tsEventUs = ts;
  out.kind = kind;
  out.aggressor = aggressor;
  out.price = price;
  out.size = size;
  return validateTick(out);
}

export function formatCsvLine(t: TickRecord, symbol: string): string {
  const opt = (x: number) => (x === 0 ? '' : String(x));
  return [
    formatTimestampUs(t.tsEventUs),
    symbol,
    String(t.seq),
    t.kind === 1 ? 'trade' : 'quote',
    t.aggressor === 1 ? 'buy' : t.aggressor === -1 ? 'sell' : '',
    String(t.price),
    String(t.size),
    opt(t.bid),
    opt(t.ask),
    opt(t.bidSize),
    opt(t.askSize),
  ].join(',');
}

export function parseTimestampUs(text: string): number | null {
  const s = text.trim();
  if (/^\d{1,16}$/.test(s)) return Number(s);
  // ns since the epoch exceed 2^53: drop the last three digits as text, never through a double.
  if (/^\d{17,19}$/.test(s)) return Number(s.slice(0, -3));
  const m = ISO.exec(s);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return ms * 1000 + Number(frac);
}

export function formatTimestampUs(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = us - ms * 1000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

function parseNumber(s: string): number {
  return parseDecimal(s.trim());
}

function parseKind(s: string): number | null {
  switch (s.trim().toLowerCase()) {
    case 'trade':
    case 't':
    case '1':
      return 1;
    case 'quote':
    case 'q':
    case '2':
      return 2;
    default:
      return null;
  }
}

function parseAggressor(s: string): number | null {
  switch (s.trim().toLowerCase()) {
    case 'buy':
    case 'b':
    case '1':
    case '+1':
      return 1;
    case 'sell':
    case 's':
    case '-1':
      return -1;
    case '':
    case '0':
      return 0;
    default:
      return null;
  }
}
