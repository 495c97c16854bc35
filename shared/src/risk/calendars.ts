import { zonedParts } from '../market/zoned-time.ts';

/**
 * Trading calendars. `24x7` (crypto) is always open. `XNYS` / `XNAS` follow NYSE/Nasdaq regular
 * hours, 09:30–16:00 America/New_York, Monday to Friday, with the exchanges' published holiday
 * and early-close (13:00) lists. `CME` (Globex equity-index futures and their options) and
 * `CBOT` (grains) trade in weekly sessions that cross midnight, with holiday closures and halts
 * (`SessionCalendar` below). A year with no list is treated as closed: we do not guess a
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

/**
 * A calendar of weekly sessions in local time. A session that crosses midnight (CME's Sunday
 * 18:00 open, CBOT's 19:00 overnight session) is written as two windows, one on each local day,
 * so "is it open" is a lookup on (weekday, minute) and never needs the previous day. Holiday
 * closures and halts are intervals of local time `[from, to)` (`YYYY-MM-DDTHH:MM`, compared as
 * strings), so a closure may run across midnight and across a weekend. Local times come from the
 * zone's rules at the instant, so daylight-saving switches move the sessions with the clock.
 */
export interface SessionCalendar {
  readonly kind: 'sessions';
  readonly timeZone: string;
  /** Weekday (0 = Sunday) → open windows `[from, to)` in local minutes of that day. */
  readonly windows: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
  readonly years: ReadonlySet<number>;
  readonly closures: ReadonlyArray<readonly [string, string]>;
}

const hm = (h: number, m = 0) => h * 60 + m;
const DAY = hm(24);

/** Holidays as the exchange announces them: the trade date and how the day is shortened. */
type HolidayKind =
  /** No trading for the trade date. */
  | 'closed'
  /** Trading halts early in the day and resumes with the next trade date's session. */
  | 'halt'
  /** An early close of the day session (the day after Thanksgiving, Christmas Eve). */
  | 'early';
type HolidayList = ReadonlyArray<readonly [string, HolidayKind]>;

function shiftDate(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
const at = (date: string, minute: number) =>
  `${date}T${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/**
 * CME Globex equity-index futures (E-mini S&P 500 and peers) and their options, in New York
 * time: Sunday 18:00 to Friday 17:00 with a daily maintenance break 17:00–18:00. On a full
 * holiday (New Year's Day, Good Friday, Christmas) there is no session from the previous
 * day's 17:00 close until 18:00 on the holiday; on the other US holidays (MLK, Presidents',
 * Memorial, Juneteenth, Independence, Labor, Thanksgiving days) trading halts at 13:00 and
 * resumes at 18:00; on early-close days (the day after Thanksgiving, Christmas Eve, 3 July) it
 * closes at 13:15.
 */
const CME_HOLIDAYS: HolidayList = [
  ['2025-01-01', 'closed'],
  // National Day of Mourning (President Carter): equity products closed at 11:30 ET.
  ['2025-01-09', 'halt'],
  ['2025-01-20', 'halt'],
  ['2025-02-17', 'halt'],
  ['2025-04-18', 'closed'],
  ['2025-05-26', 'halt'],
  ['2025-06-19', 'halt'],
  ['2025-07-03', 'early'],
  ['2025-07-04', 'halt'],
  ['2025-09-01', 'halt'],
  ['2025-11-27', 'halt'],
  ['2025-11-28', 'early'],
  ['2025-12-24', 'early'],
  ['2025-12-25', 'closed'],
  ['2026-01-01', 'closed'],
  ['2026-01-19', 'halt'],
  ['2026-02-16', 'halt'],
  ['2026-04-03', 'closed'],
  ['2026-05-25', 'halt'],
  ['2026-06-19', 'halt'],
  ['2026-07-03', 'halt'],
  ['2026-09-07', 'halt'],
  ['2026-11-26', 'halt'],
  ['2026-11-27', 'early'],
  ['2026-12-24', 'early'],
  ['2026-12-25', 'closed'],
  ['2027-01-01', 'closed'],
  ['2027-01-18', 'halt'],
  ['2027-02-15', 'halt'],
  ['2027-03-26', 'closed'],
  ['2027-05-31', 'halt'],
  ['2027-06-18', 'halt'],
  ['2027-07-05', 'halt'],
  ['2027-09-06', 'halt'],
  ['2027-11-25', 'halt'],
  ['2027-11-26', 'early'],
  ['2027-12-23', 'early'],
  ['2027-12-24', 'closed'],
];

function cmeClosures(list: HolidayList): Array<readonly [string, string]> {
  return list.map(([date, kind]): readonly [string, string] => {
    if (kind === 'closed') return [at(shiftDate(date, -1), hm(17)), at(date, hm(18))];
    if (date === '2025-01-09') return [at(date, hm(11, 30)), at(date, hm(18))];
    return [at(date, kind === 'halt' ? hm(13) : hm(13, 15)), at(date, hm(18))];
  });
}

const CME: SessionCalendar = {
  kind: 'sessions',
  timeZone: 'America/New_York',
  windows: [
    [[hm(18), DAY]], // Sunday: the week opens at 18:00
    [
      [0, hm(17)],
      [hm(18), DAY],
    ],
    [
      [0, hm(17)],
      [hm(18), DAY],
    ],
    [
      [0, hm(17)],
      [hm(18), DAY],
    ],
    [
      [0, hm(17)],
      [hm(18), DAY],
    ],
    [[0, hm(17)]], // Friday: the week closes at 17:00
    [],
  ],
  years: new Set([2025, 2026, 2027]),
  closures: cmeClosures(CME_HOLIDAYS),
};

/**
 * CBOT grains (corn, soybeans, wheat), in Chicago time: an overnight session 19:00–07:45 from
 * Sunday evening to Friday morning and a day session 08:30–13:20 Monday to Friday. A holiday
 * trade date has neither its overnight session (which would have opened at 19:00 the evening
 * before) nor its day session; on an early-close date the overnight session does not open and
 * the day session runs 08:30–12:05.
 */
const CBOT_HOLIDAYS: HolidayList = [
  ['2025-01-01', 'closed'],
  ['2025-01-09', 'closed'],
  ['2025-01-20', 'closed'],
  ['2025-02-17', 'closed'],
  ['2025-04-18', 'closed'],
  ['2025-05-26', 'closed'],
  ['2025-06-19', 'closed'],
  ['2025-07-04', 'closed'],
  ['2025-09-01', 'closed'],
  ['2025-11-27', 'closed'],
  ['2025-11-28', 'early'],
  ['2025-12-24', 'early'],
  ['2025-12-25', 'closed'],
  ['2026-01-01', 'closed'],
  ['2026-01-19', 'closed'],
  ['2026-02-16', 'closed'],
  ['2026-04-03', 'closed'],
  ['2026-05-25', 'closed'],
  ['2026-06-19', 'closed'],
  ['2026-07-03', 'closed'],
  ['2026-09-07', 'closed'],
  ['2026-11-26', 'closed'],
  ['2026-11-27', 'early'],
  ['2026-12-24', 'early'],
  ['2026-12-25', 'closed'],
  ['2027-01-01', 'closed'],
  ['2027-01-18', 'closed'],
  ['2027-02-15', 'closed'],
  ['2027-03-26', 'closed'],
  ['2027-05-31', 'closed'],
  ['2027-06-18', 'closed'],
  ['2027-07-05', 'closed'],
  ['2027-09-06', 'closed'],
  ['2027-11-25', 'closed'],
  ['2027-11-26', 'early'],
  ['2027-12-23', 'early'],
  ['2027-12-24', 'closed'],
];

function cbotClosures(list: HolidayList): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const [date, kind] of list) {
    // The trade date's overnight session opens the evening before (Sunday for a Monday).
    const eve = at(shiftDate(date, -1), hm(19));
    if (kind === 'early') {
      out.push([eve, at(date, hm(8, 30))], [at(date, hm(12, 5)), at(date, hm(19))]);
    } else {
      out.push([eve, at(date, hm(19))]);
    }
  }
  return out;
}

const overnightClose = [0, hm(7, 45)] as const;
const daySession = [hm(8, 30), hm(13, 20)] as const;
const overnightOpen = [hm(19), DAY] as const;
const CBOT: SessionCalendar = {
  kind: 'sessions',
  timeZone: 'America/Chicago',
  windows: [
    [overnightOpen],
    [overnightClose, daySession, overnightOpen],
    [overnightClose, daySession, overnightOpen],
    [overnightClose, daySession, overnightOpen],
    [overnightClose, daySession, overnightOpen],
    [overnightClose, daySession],
    [],
  ],
  years: new Set([2025, 2026, 2027]),
  closures: cbotClosures(CBOT_HOLIDAYS),
};

export const CALENDARS: Readonly<Record<string, ExchangeCalendar | SessionCalendar | '24x7'>> = {
  '24x7': '24x7',
  XNYS: US_EQUITY,
  XNAS: US_EQUITY,
  CME,
  CBOT,
};

function localParts(ts: Date, timeZone: string) {
  const z = zonedParts(ts, timeZone);
  return { date: z.date, year: z.year, minute: z.minuteOfDay, weekday: z.weekday };
}

export type SessionState =
  | { readonly open: true }
  | {
      readonly open: false;
      readonly reason: 'closed' | 'weekend' | 'holiday' | 'unknown_calendar' | 'no_calendar_year';
    };

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function sessionsState(cal: SessionCalendar, ts: Date): SessionState {
  const l = localParts(ts, cal.timeZone);
  if (!cal.years.has(l.year)) return { open: false, reason: 'no_calendar_year' };
  const day = WEEKDAYS.indexOf(l.weekday);
  const windows = cal.windows[day] ?? [];
  if (windows.length === 0) return { open: false, reason: 'weekend' };
  if (!windows.some(([from, to]) => l.minute >= from && l.minute < to)) {
    // Between Friday's close and Sunday's open is the weekend; other gaps are daily breaks.
    const weekend =
      (day === 5 && l.minute >= windows[windows.length - 1]![1]) || (day === 0 && l.minute < windows[0]![0]);
    return { open: false, reason: weekend ? 'weekend' : 'closed' };
  }
  const local = at(l.date, l.minute);
  if (cal.closures.some(([from, to]) => local >= from && local < to))
    return { open: false, reason: 'holiday' };
  return { open: true };
}

/** Is the instrument's market in its regular session at `ts`? */
export function sessionState(calendarId: string, ts: Date): SessionState {
  const cal = CALENDARS[calendarId];
  if (!cal) return { open: false, reason: 'unknown_calendar' };
  if (cal === '24x7') return { open: true };
  if ('kind' in cal) return sessionsState(cal, ts);
  const l = localParts(ts, cal.timeZone);
  if (!cal.years.has(l.year)) return { open: false, reason: 'no_calendar_year' };
  if (l.weekday === 'Sat' || l.weekday === 'Sun') return { open: false, reason: 'weekend' };
  if (cal.holidays.has(l.date)) return { open: false, reason: 'holiday' };
  const close = cal.earlyCloses.has(l.date) ? cal.earlyCloseMinute : cal.closeMinute;
  return l.minute >= cal.openMinute && l.minute < close ? { open: true } : { open: false, reason: 'closed' };
}
