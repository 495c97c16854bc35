import { describe, expect, it } from 'vitest';
import { sessionState } from './calendars.ts';

const state = (cal: string, iso: string) => {
  const s = sessionState(cal, new Date(iso));
  return s.open ? 'open' : s.reason;
};

describe('CME Globex equity-index calendar (New York time)', () => {
  it('opens Sunday 18:00 and closes Friday 17:00, winter and summer time', () => {
    // 2026-03-01 is a Sunday in EST (UTC−5).
    expect(state('CME', '2026-03-01T22:59:00Z')).toBe('weekend');
    expect(state('CME', '2026-03-01T23:00:00Z')).toBe('open');
    expect(state('CME', '2026-03-06T21:59:00Z')).toBe('open'); // Friday 16:59 EST
    expect(state('CME', '2026-03-06T22:00:00Z')).toBe('weekend'); // Friday 17:00 EST
    expect(state('CME', '2026-03-07T15:00:00Z')).toBe('weekend'); // Saturday
    // 2026-03-08: daylight saving starts at 02:00; the 18:00 open is 22:00 UTC.
    expect(state('CME', '2026-03-08T21:59:00Z')).toBe('weekend');
    expect(state('CME', '2026-03-08T22:00:00Z')).toBe('open');
    // 2026-11-01: standard time again; the 18:00 open is 23:00 UTC.
    expect(state('CME', '2026-11-01T22:30:00Z')).toBe('weekend');
    expect(state('CME', '2026-11-01T23:00:00Z')).toBe('open');
  });

  it('has the daily 17:00–18:00 maintenance break and trades through midnight', () => {
    expect(state('CME', '2026-03-04T21:59:59Z')).toBe('open'); // Wednesday 16:59:59 EST
    expect(state('CME', '2026-03-04T22:00:00Z')).toBe('closed');
    expect(state('CME', '2026-03-04T22:59:59Z')).toBe('closed');
    expect(state('CME', '2026-03-04T23:00:00Z')).toBe('open');
    expect(state('CME', '2026-03-05T04:59:00Z')).toBe('open'); // 23:59
    expect(state('CME', '2026-03-05T05:00:00Z')).toBe('open'); // 00:00 Thursday
    expect(state('CME', '2026-07-08T20:59:00Z')).toBe('open'); // 16:59 EDT
    expect(state('CME', '2026-07-08T21:00:00Z')).toBe('closed'); // 17:00 EDT
  });

  it('holidays: Good Friday closed from Thursday 17:00; MLK halts 13:00–18:00; Christmas', () => {
    expect(state('CME', '2026-04-02T20:59:00Z')).toBe('open'); // Thursday 16:59 EDT
    expect(state('CME', '2026-04-02T22:30:00Z')).toBe('holiday'); // would be the evening session
    expect(state('CME', '2026-04-03T14:00:00Z')).toBe('holiday'); // Good Friday
    expect(state('CME', '2026-04-05T22:00:00Z')).toBe('open'); // Sunday 18:00 EDT
    expect(state('CME', '2026-01-19T17:59:00Z')).toBe('open'); // MLK 12:59 EST
    expect(state('CME', '2026-01-19T18:00:00Z')).toBe('holiday');
    expect(state('CME', '2026-01-19T23:00:00Z')).toBe('open'); // 18:00: the next trade date
    expect(state('CME', '2026-12-24T18:14:00Z')).toBe('open'); // 13:14 EST
    expect(state('CME', '2026-12-24T18:15:00Z')).toBe('holiday');
    expect(state('CME', '2026-12-25T15:00:00Z')).toBe('holiday');
    expect(state('CME', '2027-01-01T12:00:00Z')).toBe('holiday');
    expect(state('CME', '2027-01-01T23:00:00Z')).toBe('weekend'); // a Friday
  });

  it('a year without a holiday list is closed', () => {
    expect(state('CME', '2028-03-01T15:00:00Z')).toBe('no_calendar_year');
    expect(state('CBOT', '2024-03-06T15:00:00Z')).toBe('no_calendar_year');
  });
});

describe('CBOT grains calendar (Chicago time)', () => {
  it('overnight 19:00–07:45 from Sunday, day session 08:30–13:20', () => {
    // 2026-03-01 Sunday, CST (UTC−6): 19:00 CST is 01:00 UTC Monday.
    expect(state('CBOT', '2026-03-02T00:59:00Z')).toBe('weekend');
    expect(state('CBOT', '2026-03-02T01:00:00Z')).toBe('open');
    expect(state('CBOT', '2026-03-02T13:44:00Z')).toBe('open'); // 07:44
    expect(state('CBOT', '2026-03-02T13:45:00Z')).toBe('closed'); // 07:45: the morning break
    expect(state('CBOT', '2026-03-02T14:30:00Z')).toBe('open'); // 08:30
    expect(state('CBOT', '2026-03-02T19:19:00Z')).toBe('open'); // 13:19
    expect(state('CBOT', '2026-03-02T19:20:00Z')).toBe('closed'); // 13:20
    expect(state('CBOT', '2026-03-03T01:00:00Z')).toBe('open'); // Monday 19:00
    expect(state('CBOT', '2026-03-03T06:00:00Z')).toBe('open'); // Tuesday 00:00
    expect(state('CBOT', '2026-03-06T19:20:00Z')).toBe('weekend'); // Friday 13:20
    expect(state('CBOT', '2026-03-07T01:00:00Z')).toBe('weekend'); // Friday 19:00: no session
  });

  it('daylight saving: the Sunday 19:00 open follows the clock', () => {
    // 2026-03-08: CDT (UTC−5) from 02:00; 19:00 CDT is 00:00 UTC.
    expect(state('CBOT', '2026-03-08T23:59:00Z')).toBe('weekend');
    expect(state('CBOT', '2026-03-09T00:00:00Z')).toBe('open');
  });

  it('holidays close the trade date with its overnight session; early closes at 12:05', () => {
    // MLK 2026-01-19: no Sunday-evening session, no Monday; Monday 19:00 opens Tuesday.
    expect(state('CBOT', '2026-01-19T01:00:00Z')).toBe('holiday');
    expect(state('CBOT', '2026-01-19T16:00:00Z')).toBe('holiday');
    expect(state('CBOT', '2026-01-20T01:00:00Z')).toBe('open');
    // Day after Thanksgiving 2026-11-27: 08:30–12:05 only.
    expect(state('CBOT', '2026-11-27T03:00:00Z')).toBe('holiday'); // Thursday 21:00
    expect(state('CBOT', '2026-11-27T14:30:00Z')).toBe('open'); // 08:30 CST
    expect(state('CBOT', '2026-11-27T18:04:00Z')).toBe('open'); // 12:04
    expect(state('CBOT', '2026-11-27T18:05:00Z')).toBe('holiday'); // 12:05
  });
});

describe('the other calendars keep their behaviour', () => {
  it('XNYS/XNAS regular hours and 24x7', () => {
    expect(state('XNYS', '2026-11-25T14:30:00Z')).toBe('open');
    expect(state('XNAS', '2026-11-25T21:00:00Z')).toBe('closed');
    expect(state('XNYS', '2026-11-26T16:00:00Z')).toBe('holiday');
    expect(state('XNYS', '2026-11-28T16:00:00Z')).toBe('weekend');
    expect(state('24x7', '2026-11-28T16:00:00Z')).toBe('open');
    expect(state('XLON', '2026-11-25T14:30:00Z')).toBe('unknown_calendar');
  });
});
