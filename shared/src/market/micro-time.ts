/**
 * Instants with microsecond precision: µs since the epoch as an integer below 2^53, and ISO 8601
 * text with exactly six fractional digits (`2026-01-02T03:04:05.123456Z`). A JS Date keeps
 * milliseconds only, and postgres.js serializes a timestamptz parameter through a Date, so µs
 * instants travel as this text and SQL casts it (`${iso}::text::timestamptz`). At ~90 ticks per
 * millisecond, only µs trace a signal or a fill back to its tick.
 */

/** µs since the epoch → ISO with six fractional digits (UTC). */
export function isoFromMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = Math.round(us - ms * 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/** ISO 8601 (any zone, up to 9 fractional digits) → µs since the epoch; digits past µs are dropped. */
export function microsFromIso(iso: string): number {
  const m = /\.\d{3}(\d{1,6})/.exec(iso);
  const extra = m ? Number((m[1] as string).slice(0, 3).padEnd(3, '0')) : 0;
  return Date.parse(iso) * 1000 + extra;
}

/** The wall clock in µs (performance.timeOrigin + now(): sub-ms resolution, unlike Date.now()). */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}
