/**
 * Wall-clock parts of an instant in a time zone (IANA name), through one cached
 * `Intl.DateTimeFormat` per zone: building a formatter costs ~0.1 ms, and exchange calendars
 * and option expiries ask for parts on every check.
 */
export interface ZonedParts {
  readonly year: number;
  /** 1–12. */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** `Mon`, `Tue`, … */
  readonly weekday: string;
  /** `YYYY-MM-DD` in the zone. */
  readonly date: string;
  /** Minutes since local midnight. */
  readonly minuteOfDay: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function zonedParts(ts: Date, timeZone: string): ZonedParts {
  const p: Record<string, string> = {};
  for (const x of formatterOf(timeZone).formatToParts(ts)) p[x.type] = x.value;
  const hour = Number(p.hour);
  const minute = Number(p.minute);
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour,
    minute,
    second: Number(p.second),
    weekday: p.weekday ?? '',
    date: `${p.year}-${p.month}-${p.day}`,
    minuteOfDay: hour * 60 + minute,
  };
}

/** The zone's UTC offset (ms) at instant `ms`: local wall time read as UTC, minus the instant. */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const z = zonedParts(new Date(ms), timeZone);
  return Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second) - (ms - (ms % 1000));
}
