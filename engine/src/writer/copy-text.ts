/**
 * PostgreSQL COPY text-format encoding of the engine's rows, without per-row Date objects:
 * timestamps are formatted from integer microseconds with the date-time prefix cached per
 * second (ticks arrive in bursts within the same second).
 */
let cachedSecond = -1;
let cachedPrefix = '';

/** µs since the epoch → `YYYY-MM-DD HH:MM:SS.ffffff+00` (timestamptz input). */
export function timestampText(us: number): string {
  const second = Math.floor(us / 1e6);
  if (second !== cachedSecond) {
    cachedSecond = second;
    // toISOString: YYYY-MM-DDTHH:mm:ss.sssZ — keep the date and time to the second.
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ');
  }
  const micros = us - second * 1e6;
  return `${cachedPrefix}.${micros < 10 ? '00000' : micros < 100 ? '0000' : micros < 1000 ? '000' : micros < 10000 ? '00' : micros < 100000 ? '0' : ''}${micros}+00`;
}

/** A price/size for a numeric column; 0 (unknown) → NULL for the optional quote columns. */
export function optionalNumeric(x: number): string {
  return x === 0 ? '\\N' : String(x);
}

/** A float8 value ('NaN' and 'Infinity' are valid float8 input). */
export function float8(x: number): string {
  return String(x);
}
