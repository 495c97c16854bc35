/**
 * Trading calendars. `24x7` (crypto) is always open. `XNYS` / `XNAS` follow NYSE/Nasdaq regular
 * hours, 09:30–16:00 America/New_York, Monday to Friday, with the exchanges' published holiday
 * and early-close (13:00) lists. A year with no list is treated as closed: we do not guess a
 * holiday schedule (update the lists each year from the exchange's announcement).
 */
export interface ExchangeCalendar {
  readonly timeZone: string;
  readonly openMinute: number;
  readonly closeMinute: number;
  readonly earlyCloseMinute: number;
  readonly years: ReadonlySet<number>;
  readonly holidays: ReadonlySet<string>;
  readonly earlyCloses: ReadonlySet<string>;
}

const US_EQUITY: ExchangeCalendar = {
  timeZone: 'America/New_York',
  openMinute: 9 * 60 + 30,
  closeMinute: 16 * 60,
  earlyCloseMinute: 13 * 60,
  years: new Set([2025, 2026, 2027]),
  holidays: new Set([
    // 2025
    '2025-01-01',
    '2025-01-09',
    '2025-01-20',
    '2025-02-17',
    '2025-04-18',
    '2025-05-26',
    '2025-06-19',
    '2025-07-04',
    '2025-09-01',
    '2025-11-27',
    '2025-12-25',
    // 2026
    '2026-01-01',
    '2026-01-19',
    '2026-02-16',
    '2026-04-03',
    '2026-05-25',
    '2026-06-19',
    '2026-07-03',
    '2026-09-07',
    '2026-11-26',
    '2026-12-25',
    // 2027
    '2027-01-01',
    '2027-01-18',
    '2027-02-15',
    '2027-03-26',
    '2027-05-31',
    '2027-06-18',
    '2027-07-05',
    '2027-09-06',
    '2027-11-25',
    '2027-12-24',
  ]),
  earlyCloses: new Set(['2025-07-03', '2025-11-28', '2025-12-24', '2026-11-27', '2026-12-24', '2027-11-26']),
};

export const CALENDARS: Readonly<Record<string, ExchangeCalendar | '24x7'>> = {
  '24x7': '24x7',
  XNYS: US_EQUITY,
  XNAS: US_EQUITY,
};

const formatters = new Map<string, Intl.DateTimeFormat>();
function localParts(ts: Date, timeZone: string) {
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
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(ts).map((x) => [x.type, x.value]));
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    year: Number(p.year),
    minute: Number(p.hour) * 60 + Number(p.minute),
    weekday: p.weekday as string,
  };
}

export type SessionState =
  | { readonly open: true }
  | {
      readonly open: false;
      readonly reason: 'closed' | 'weekend' | 'holiday' | 'unknown_calendar' | 'no_calendar_year';
    };

/** Is the instrument's market in its regular session at `ts`? */
export function sessionState(calendarId: string, ts: Date): SessionState {
  const cal = CALENDARS[calendarId];
  if (!cal) return { open: false, reason: 'unknown_calendar' };
  if (cal === '24x7') return { open: true };
  const l = localParts(ts, cal.timeZone);
  if (!cal.years.has(l.year)) return { open: false, reason: 'no_calendar_year' };
  if (l.weekday === 'Sat' || l.weekday === 'Sun') return { open: false, reason: 'weekend' };
  if (cal.holidays.has(l.date)) return { open: false, reason: 'holiday' };
  const close = cal.earlyCloses.has(l.date) ? cal.earlyCloseMinute : cal.closeMinute;
  return l.minute >= cal.openMinute && l.minute < close ? { open: true } : { open: false, reason: 'closed' };
}
