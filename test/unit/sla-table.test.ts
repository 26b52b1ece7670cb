import { describe, expect, it } from 'vitest';
import {
  addBusinessMinutes,
  businessSecondsBetween,
  createCalendar,
  defaultCalendar,
  isAtRisk,
  isBusinessDay,
  isBusinessTime,
  localDateOf,
  nextBusinessDayClose,
  priorities,
  remainingSeconds,
  replacementDueAt,
  replacementTarget,
  responseDueAt,
  responseTarget,
  SlaCalendarError,
  tiers,
} from '../../server/sla/index.ts';
import type { Priority, SlaCalendar, Tier } from '../../server/sla/index.ts';

// Every expected value below was worked out by hand. Europe/Rome is UTC+1 (CET)
// in winter and UTC+2 (CEST) from the last Sunday of March (2025-03-30) to the
// last Sunday of October (2025-10-26). The comment on each literal is local time.

const at = (iso: string): Date => new Date(iso);

const plain = defaultCalendar();
// Easter Monday, Liberation Day (a Friday), Christmas and St Stephen's 2025.
const italian2025 = defaultCalendar(['2025-04-21', '2025-04-25', '2025-12-25', '2025-12-26']);
// A fictional holiday on Monday 20 January 2025, right after the test Friday.
const mondayOff = defaultCalendar(['2025-01-20']);

interface ResponseCase {
  name: string;
  tier: Tier;
  priority: Priority;
  openedAt: string;
  dueAt: string;
  cal?: SlaCalendar;
}

function responseCases(group: string, cases: ResponseCase[]) {
  describe(group, () => {
    it.each(cases)('$name', ({ tier, priority, openedAt, dueAt, cal }) => {
      expect(responseDueAt(tier, priority, at(openedAt), cal ?? plain).toISOString()).toBe(dueAt);
    });
  });
}

describe('responseTarget', () => {
  it('is the table of SPEC §2.1 for every tier and priority', () => {
    const table = Object.fromEntries(
      tiers.map((tier) => [tier, Object.fromEntries(priorities.map((p) => [p, responseTarget(tier, p)]))]),
    );
    expect(table).toEqual({
      basic: {
        P1: { kind: 'business_hours', minutes: 240 },
        P2: { kind: 'business_hours', minutes: 480 },
        P3: { kind: 'nbd' },
        P4: { kind: 'nbd' },
      },
      pro: {
        P1: { kind: 'business_hours', minutes: 60 },
        P2: { kind: 'business_hours', minutes: 240 },
        P3: { kind: 'business_hours', minutes: 480 },
        P4: { kind: 'nbd' },
      },
      mission_critical: {
        P1: { kind: 'elapsed', minutes: 30 },
        P2: { kind: 'elapsed', minutes: 120 },
        P3: { kind: 'elapsed', minutes: 240 },
        P4: { kind: 'elapsed', minutes: 480 },
      },
    });
  });

  it('gives the hardware-replacement target per tier', () => {
    expect(replacementTarget('basic')).toEqual({ kind: 'nbd_with_cutoff' });
    expect(replacementTarget('pro')).toEqual({ kind: 'nbd_with_cutoff' });
    expect(replacementTarget('mission_critical')).toEqual({ kind: 'elapsed', minutes: 240 });
  });

  it('rejects an unknown tier or priority', () => {
    expect(() => responseTarget('gold' as Tier, 'P1')).toThrow(/unknown tier/);
    expect(() => responseTarget('pro', 'P5' as Priority)).toThrow(/unknown priority/);
  });
});

// Opened Monday 13 January 2025, 10:00 CET = 09:00Z.
responseCases('responseDueAt — every tier × priority, opened Monday 10:00', [
  { name: 'basic P1 4 bh', tier: 'basic', priority: 'P1', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-13T13:00:00.000Z' }, // Mon 14:00
  { name: 'basic P2 8 bh', tier: 'basic', priority: 'P2', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-14T09:00:00.000Z' }, // Tue 10:00 (7 h Mon + 1 h Tue)
  { name: 'basic P3 NBD', tier: 'basic', priority: 'P3', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Tue 17:00
  { name: 'basic P4 NBD', tier: 'basic', priority: 'P4', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Tue 17:00
  { name: 'pro P1 1 bh', tier: 'pro', priority: 'P1', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-13T10:00:00.000Z' }, // Mon 11:00
  { name: 'pro P2 4 bh', tier: 'pro', priority: 'P2', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-13T13:00:00.000Z' }, // Mon 14:00
  { name: 'pro P3 8 bh', tier: 'pro', priority: 'P3', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-14T09:00:00.000Z' }, // Tue 10:00
  { name: 'pro P4 NBD', tier: 'pro', priority: 'P4', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Tue 17:00
  { name: 'mission_critical P1 30 min', tier: 'mission_critical', priority: 'P1', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-13T09:30:00.000Z' }, // Mon 10:30
  { name: 'mission_critical P2 2 h', tier: 'mission_critical', priority: 'P2', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-13T11:00:00.000Z' }, // Mon 12:00
  { name: 'mission_critical P3 4 h', tier: 'mission_critical', priority: 'P3', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-13T13:00:00.000Z' }, // Mon 14:00
  { name: 'mission_critical P4 8 h', tier: 'mission_critical', priority: 'P4', openedAt: '2025-01-13T09:00:00.000Z', dueAt: '2025-01-13T17:00:00.000Z' }, // Mon 18:00, after hours: 24/7 clock
]);

// Opened Friday 17 January 2025, 15:00 CET = 14:00Z.
responseCases('responseDueAt — Friday afternoon', [
  { name: 'basic P1: 2 h Friday + 2 h Monday (SPEC example)', tier: 'basic', priority: 'P1', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-20T10:00:00.000Z' }, // Mon 11:00
  { name: 'basic P2: 2 h Friday + 6 h Monday', tier: 'basic', priority: 'P2', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-20T14:00:00.000Z' }, // Mon 15:00
  { name: 'basic P3 NBD: Monday close', tier: 'basic', priority: 'P3', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-20T16:00:00.000Z' }, // Mon 17:00
  { name: 'pro P1 stays on Friday', tier: 'pro', priority: 'P1', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-17T15:00:00.000Z' }, // Fri 16:00
  { name: 'pro P2: 2 h Friday + 2 h Monday', tier: 'pro', priority: 'P2', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-20T10:00:00.000Z' }, // Mon 11:00
  { name: 'pro P3: 2 h Friday + 6 h Monday', tier: 'pro', priority: 'P3', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-20T14:00:00.000Z' }, // Mon 15:00
  { name: 'pro P4 NBD', tier: 'pro', priority: 'P4', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-20T16:00:00.000Z' }, // Mon 17:00
  { name: 'mission_critical P1 ignores the weekend', tier: 'mission_critical', priority: 'P1', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-17T14:30:00.000Z' }, // Fri 15:30
  { name: 'mission_critical P4 runs into Friday night', tier: 'mission_critical', priority: 'P4', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-17T22:00:00.000Z' }, // Fri 23:00
  { name: 'NBD when that Monday is a holiday (SPEC example)', tier: 'basic', priority: 'P4', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-21T16:00:00.000Z', cal: mondayOff }, // Tue 17:00
  { name: 'basic P1 when that Monday is a holiday', tier: 'basic', priority: 'P1', openedAt: '2025-01-17T14:00:00.000Z', dueAt: '2025-01-21T10:00:00.000Z', cal: mondayOff }, // Tue 11:00
]);

responseCases('responseDueAt — weekends', [
  { name: 'basic P1 opened Saturday 11:00 starts Monday 09:00', tier: 'basic', priority: 'P1', openedAt: '2025-01-18T10:00:00.000Z', dueAt: '2025-01-20T12:00:00.000Z' }, // Sat 11:00 → Mon 13:00
  { name: 'pro P2 opened Saturday', tier: 'pro', priority: 'P2', openedAt: '2025-01-18T10:00:00.000Z', dueAt: '2025-01-20T12:00:00.000Z' }, // Sat 11:00 → Mon 13:00
  { name: 'basic P4 NBD opened Saturday → Monday close', tier: 'basic', priority: 'P4', openedAt: '2025-01-18T10:00:00.000Z', dueAt: '2025-01-20T16:00:00.000Z' }, // Sat 11:00 → Mon 17:00
  { name: 'basic P3 NBD opened Sunday late → Monday close', tier: 'basic', priority: 'P3', openedAt: '2025-01-19T22:30:00.000Z', dueAt: '2025-01-20T16:00:00.000Z' }, // Sun 23:30 → Mon 17:00
  { name: 'pro P1 opened Sunday 23:30', tier: 'pro', priority: 'P1', openedAt: '2025-01-19T22:30:00.000Z', dueAt: '2025-01-20T09:00:00.000Z' }, // Sun 23:30 → Mon 10:00
  { name: 'mission_critical P3 runs through Saturday', tier: 'mission_critical', priority: 'P3', openedAt: '2025-01-18T10:00:00.000Z', dueAt: '2025-01-18T14:00:00.000Z' }, // Sat 11:00 → Sat 15:00
]);

responseCases('responseDueAt — before opening and after closing', [
  { name: 'basic P1 opened Tuesday 07:45', tier: 'basic', priority: 'P1', openedAt: '2025-01-14T06:45:00.000Z', dueAt: '2025-01-14T12:00:00.000Z' }, // Tue 07:45 → Tue 13:00
  { name: 'pro P3 opened Tuesday 08:00 ends exactly at 17:00', tier: 'pro', priority: 'P3', openedAt: '2025-01-14T07:00:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Tue 08:00 → Tue 17:00
  { name: 'basic P3 NBD opened Tuesday 07:45 → Wednesday', tier: 'basic', priority: 'P3', openedAt: '2025-01-14T06:45:00.000Z', dueAt: '2025-01-15T16:00:00.000Z' }, // Tue 07:45 → Wed 17:00
  { name: 'NBD uses the local date, not the UTC date', tier: 'basic', priority: 'P4', openedAt: '2025-01-12T23:30:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Mon 00:30 (Sunday in UTC) → Tue 17:00
  { name: 'basic P1 opened Monday 20:00', tier: 'basic', priority: 'P1', openedAt: '2025-01-13T19:00:00.000Z', dueAt: '2025-01-14T12:00:00.000Z' }, // Mon 20:00 → Tue 13:00
  { name: 'basic P3 NBD opened Monday 20:00 (SPEC example)', tier: 'basic', priority: 'P3', openedAt: '2025-01-13T19:00:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Mon 20:00 → Tue 17:00
  { name: 'NBD opened Monday 23:30 local', tier: 'pro', priority: 'P4', openedAt: '2025-01-13T22:30:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Mon 23:30 → Tue 17:00
  { name: 'pro P1 opened exactly at 17:00 counts from Tuesday', tier: 'pro', priority: 'P1', openedAt: '2025-01-13T16:00:00.000Z', dueAt: '2025-01-14T09:00:00.000Z' }, // Mon 17:00 → Tue 10:00
  { name: 'pro P1 opened exactly at 09:00', tier: 'pro', priority: 'P1', openedAt: '2025-01-13T08:00:00.000Z', dueAt: '2025-01-13T09:00:00.000Z' }, // Mon 09:00 → Mon 10:00
  { name: 'pro P1 opened 16:59: 1 min Monday + 59 min Tuesday', tier: 'pro', priority: 'P1', openedAt: '2025-01-13T15:59:00.000Z', dueAt: '2025-01-14T08:59:00.000Z' }, // Mon 16:59 → Tue 09:59
  { name: 'basic P2 opened 09:00 is due at that day’s close', tier: 'basic', priority: 'P2', openedAt: '2025-01-13T08:00:00.000Z', dueAt: '2025-01-13T16:00:00.000Z' }, // Mon 09:00 → Mon 17:00
]);

responseCases('responseDueAt — holidays', [
  { name: 'basic P1 Friday before Easter Monday', tier: 'basic', priority: 'P1', openedAt: '2025-04-18T13:00:00.000Z', dueAt: '2025-04-22T09:00:00.000Z', cal: italian2025 }, // Fri 15:00 CEST → Tue 11:00
  { name: 'basic P3 NBD Friday before Easter Monday', tier: 'basic', priority: 'P3', openedAt: '2025-04-18T13:00:00.000Z', dueAt: '2025-04-22T15:00:00.000Z', cal: italian2025 }, // Fri → Tue 17:00 CEST
  { name: 'pro P1 opened on the holiday itself', tier: 'pro', priority: 'P1', openedAt: '2025-04-21T08:00:00.000Z', dueAt: '2025-04-22T08:00:00.000Z', cal: italian2025 }, // Mon (holiday) 10:00 → Tue 10:00
  { name: 'pro P4 NBD opened on the holiday', tier: 'pro', priority: 'P4', openedAt: '2025-04-21T08:00:00.000Z', dueAt: '2025-04-22T15:00:00.000Z', cal: italian2025 }, // Mon (holiday) → Tue 17:00
  { name: 'basic P2 over a Friday holiday and the weekend', tier: 'basic', priority: 'P2', openedAt: '2025-04-24T14:00:00.000Z', dueAt: '2025-04-28T14:00:00.000Z', cal: italian2025 }, // Thu 16:00 → 1 h Thu + 7 h Mon → Mon 16:00
  { name: 'basic P2 over Christmas and St Stephen', tier: 'basic', priority: 'P2', openedAt: '2025-12-24T15:00:00.000Z', dueAt: '2025-12-29T15:00:00.000Z', cal: italian2025 }, // Wed 16:00 CET → Mon 29 16:00
  { name: 'the same without the holiday list', tier: 'basic', priority: 'P2', openedAt: '2025-12-24T15:00:00.000Z', dueAt: '2025-12-25T15:00:00.000Z' }, // Wed 16:00 → Thu 16:00
  { name: 'mission_critical ignores holidays', tier: 'mission_critical', priority: 'P2', openedAt: '2025-12-24T15:00:00.000Z', dueAt: '2025-12-24T17:00:00.000Z', cal: italian2025 }, // Wed 16:00 → Wed 18:00
]);

responseCases('responseDueAt — spring DST change (Sunday 30 March 2025, 02:00 CET → 03:00 CEST)', [
  { name: 'basic P2 opened Friday 13:00 CET', tier: 'basic', priority: 'P2', openedAt: '2025-03-28T12:00:00.000Z', dueAt: '2025-03-31T11:00:00.000Z' }, // Fri 13:00 CET → Mon 13:00 CEST
  { name: 'basic P3 NBD opened Friday', tier: 'basic', priority: 'P3', openedAt: '2025-03-28T12:00:00.000Z', dueAt: '2025-03-31T15:00:00.000Z' }, // Mon 17:00 CEST
  { name: 'pro P3 opened Friday 16:00 CET', tier: 'pro', priority: 'P3', openedAt: '2025-03-28T15:00:00.000Z', dueAt: '2025-03-31T14:00:00.000Z' }, // 1 h Fri + 7 h Mon → Mon 16:00 CEST
  { name: 'pro P1 opened Saturday', tier: 'pro', priority: 'P1', openedAt: '2025-03-29T11:00:00.000Z', dueAt: '2025-03-31T08:00:00.000Z' }, // Sat 12:00 CET → Mon 10:00 CEST
  { name: 'mission_critical P4 across the jump is 8 real hours', tier: 'mission_critical', priority: 'P4', openedAt: '2025-03-29T21:00:00.000Z', dueAt: '2025-03-30T05:00:00.000Z' }, // Sat 22:00 CET → Sun 07:00 CEST
  { name: 'basic P2 opened Friday before the 2026 change', tier: 'basic', priority: 'P2', openedAt: '2026-03-27T12:00:00.000Z', dueAt: '2026-03-30T11:00:00.000Z' }, // Fri 27 13:00 CET → Mon 30 13:00 CEST
]);

responseCases('responseDueAt — autumn DST change (Sunday 26 October 2025, 03:00 CEST → 02:00 CET)', [
  { name: 'basic P2 opened Friday 13:00 CEST', tier: 'basic', priority: 'P2', openedAt: '2025-10-24T11:00:00.000Z', dueAt: '2025-10-27T12:00:00.000Z' }, // Fri 13:00 CEST → Mon 13:00 CET
  { name: 'pro P4 NBD opened Friday', tier: 'pro', priority: 'P4', openedAt: '2025-10-24T11:00:00.000Z', dueAt: '2025-10-27T16:00:00.000Z' }, // Mon 17:00 CET
  { name: 'basic P1 opened Sunday 01:30 CEST', tier: 'basic', priority: 'P1', openedAt: '2025-10-25T23:30:00.000Z', dueAt: '2025-10-27T12:00:00.000Z' }, // Sun 01:30 CEST → Mon 13:00 CET
  { name: 'mission_critical P2 across the repeated hour is 2 real hours', tier: 'mission_critical', priority: 'P2', openedAt: '2025-10-25T23:30:00.000Z', dueAt: '2025-10-26T01:30:00.000Z' }, // Sun 01:30 CEST → Sun 02:30 CET (second time round)
]);

describe('replacementDueAt', () => {
  const cases: { name: string; tier: Tier; diagnosedAt: string; dueAt: string; cal?: SlaCalendar }[] = [
    { name: 'Monday 14:00 → Tuesday (SPEC example)', tier: 'pro', diagnosedAt: '2025-01-13T13:00:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Mon 14:00 → Tue 17:00
    { name: 'Monday 14:59 → Tuesday', tier: 'basic', diagnosedAt: '2025-01-13T13:59:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Mon 14:59 → Tue 17:00
    { name: 'Monday 15:00 exactly is no later than the cut-off → Tuesday', tier: 'basic', diagnosedAt: '2025-01-13T14:00:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Mon 15:00 → Tue 17:00
    { name: 'Monday 15:00:30 is later than the cut-off → Wednesday', tier: 'basic', diagnosedAt: '2025-01-13T14:00:30.000Z', dueAt: '2025-01-15T16:00:00.000Z' }, // Mon 15:00:30 → Wed 17:00
    { name: 'Monday 15:01 → received Tuesday → Wednesday', tier: 'basic', diagnosedAt: '2025-01-13T14:01:00.000Z', dueAt: '2025-01-15T16:00:00.000Z' }, // Mon 15:01 → Wed 17:00
    { name: 'Monday 16:00 → Wednesday (SPEC example)', tier: 'pro', diagnosedAt: '2025-01-13T15:00:00.000Z', dueAt: '2025-01-15T16:00:00.000Z' }, // Mon 16:00 → Wed 17:00
    { name: 'Monday 07:00, before opening, is received that day', tier: 'pro', diagnosedAt: '2025-01-13T06:00:00.000Z', dueAt: '2025-01-14T16:00:00.000Z' }, // Mon 07:00 → Tue 17:00
    { name: 'Friday 14:00 → Monday', tier: 'basic', diagnosedAt: '2025-01-17T13:00:00.000Z', dueAt: '2025-01-20T16:00:00.000Z' }, // Fri 14:00 → Mon 17:00
    { name: 'Friday 15:01 → received Monday → Tuesday', tier: 'basic', diagnosedAt: '2025-01-17T14:01:00.000Z', dueAt: '2025-01-21T16:00:00.000Z' }, // Fri 15:01 → Tue 17:00
    { name: 'Saturday → received Monday → Tuesday (SPEC example)', tier: 'pro', diagnosedAt: '2025-01-18T09:00:00.000Z', dueAt: '2025-01-21T16:00:00.000Z' }, // Sat 10:00 → Tue 17:00
    { name: 'Sunday before the cut-off hour is still not a business day', tier: 'basic', diagnosedAt: '2025-01-19T13:00:00.000Z', dueAt: '2025-01-21T16:00:00.000Z' }, // Sun 14:00 → Tue 17:00
    { name: 'on a holiday → received Tuesday → Wednesday', tier: 'basic', diagnosedAt: '2025-04-21T08:00:00.000Z', dueAt: '2025-04-23T15:00:00.000Z', cal: italian2025 }, // Easter Mon 10:00 CEST → Wed 17:00 CEST
    { name: 'Friday 14:00 before a holiday Monday → Tuesday', tier: 'pro', diagnosedAt: '2025-04-18T12:00:00.000Z', dueAt: '2025-04-22T15:00:00.000Z', cal: italian2025 }, // Fri 14:00 CEST → Tue 17:00 CEST
    { name: 'Friday 15:01 before a holiday Monday → received Tuesday → Wednesday', tier: 'pro', diagnosedAt: '2025-04-18T13:01:00.000Z', dueAt: '2025-04-23T15:00:00.000Z', cal: italian2025 }, // Fri 15:01 CEST → Wed 17:00 CEST
    { name: 'Thursday 15:30 before a holiday Friday → received Monday → Tuesday', tier: 'basic', diagnosedAt: '2025-04-24T13:30:00.000Z', dueAt: '2025-04-29T15:00:00.000Z', cal: italian2025 }, // Thu 15:30 CEST → Tue 29 17:00 CEST
    { name: 'summer time: 15:00 CEST is the cut-off', tier: 'basic', diagnosedAt: '2025-03-31T13:00:00.000Z', dueAt: '2025-04-01T15:00:00.000Z' }, // Mon 15:00 CEST → Tue 17:00 CEST
    { name: 'summer time: 15:01 CEST is after it', tier: 'basic', diagnosedAt: '2025-03-31T13:01:00.000Z', dueAt: '2025-04-02T15:00:00.000Z' }, // Mon 15:01 CEST → Wed 17:00 CEST
    { name: 'summer time: 14:30Z is 16:30 CEST, after the cut-off', tier: 'pro', diagnosedAt: '2025-03-31T14:30:00.000Z', dueAt: '2025-04-02T15:00:00.000Z' }, // Mon 16:30 CEST → Wed 17:00 CEST
    { name: 'mission_critical: 4 h elapsed on a Saturday', tier: 'mission_critical', diagnosedAt: '2025-01-18T09:00:00.000Z', dueAt: '2025-01-18T13:00:00.000Z' }, // Sat 10:00 → Sat 14:00
    { name: 'mission_critical: 4 h elapsed into the evening', tier: 'mission_critical', diagnosedAt: '2025-01-13T15:00:00.000Z', dueAt: '2025-01-13T19:00:00.000Z' }, // Mon 16:00 → Mon 20:00
    { name: 'mission_critical: 4 h elapsed across the spring jump', tier: 'mission_critical', diagnosedAt: '2025-03-30T00:30:00.000Z', dueAt: '2025-03-30T04:30:00.000Z' }, // Sun 01:30 CET → Sun 06:30 CEST
  ];
  it.each(cases)('$name', ({ tier, diagnosedAt, dueAt, cal }) => {
    expect(replacementDueAt(tier, at(diagnosedAt), cal ?? plain).toISOString()).toBe(dueAt);
  });

  it('honours a configured cut-off of 12:30', () => {
    const early = createCalendar({ replacementCutoffHour: 12, replacementCutoffMinute: 30 });
    expect(replacementDueAt('basic', at('2025-01-13T11:30:00.000Z'), early).toISOString()).toBe('2025-01-14T16:00:00.000Z'); // Mon 12:30 → Tue 17:00
    expect(replacementDueAt('basic', at('2025-01-13T11:31:00.000Z'), early).toISOString()).toBe('2025-01-15T16:00:00.000Z'); // Mon 12:31 → Wed 17:00
  });
});

describe('addBusinessMinutes', () => {
  it('adds nothing when the clock is running and starts it at the next opening otherwise', () => {
    expect(addBusinessMinutes(at('2025-01-13T10:17:00.000Z'), 0, plain).toISOString()).toBe('2025-01-13T10:17:00.000Z'); // Mon 11:17
    expect(addBusinessMinutes(at('2025-01-18T10:00:00.000Z'), 0, plain).toISOString()).toBe('2025-01-20T08:00:00.000Z'); // Sat → Mon 09:00
    expect(addBusinessMinutes(at('2025-01-13T16:00:00.000Z'), 0, plain).toISOString()).toBe('2025-01-14T08:00:00.000Z'); // Mon 17:00 → Tue 09:00
  });

  it('crosses a whole working week', () => {
    // Mon 09:00 + 5 × 8 h → Fri 17:00
    expect(addBusinessMinutes(at('2025-01-13T08:00:00.000Z'), 5 * 480, plain).toISOString()).toBe('2025-01-17T16:00:00.000Z');
    // Mon 09:00 + 5 × 8 h + 1 min → Mon 09:01 of the next week
    expect(addBusinessMinutes(at('2025-01-13T08:00:00.000Z'), 5 * 480 + 1, plain).toISOString()).toBe('2025-01-20T08:01:00.000Z');
  });

  it('works in another IANA zone with its own DST dates', () => {
    const newYork = createCalendar({ zone: 'America/New_York' });
    // US DST started Sunday 9 March 2025. Fri 7 Mar 16:00 EST (21:00Z) + 2 h → Mon 10 Mar 10:00 EDT (14:00Z)
    expect(addBusinessMinutes(at('2025-03-07T21:00:00.000Z'), 120, newYork).toISOString()).toBe('2025-03-10T14:00:00.000Z');
  });

  it('rejects negative or non-finite minutes and invalid dates', () => {
    expect(() => addBusinessMinutes(at('2025-01-13T08:00:00.000Z'), -1, plain)).toThrow(RangeError);
    expect(() => addBusinessMinutes(at('2025-01-13T08:00:00.000Z'), Number.NaN, plain)).toThrow(RangeError);
    expect(() => addBusinessMinutes(new Date('not a date'), 10, plain)).toThrow(/valid Date/);
    expect(() => responseDueAt('basic', 'P1', new Date(Number.NaN), plain)).toThrow(/openedAt/);
  });
});

describe('businessSecondsBetween', () => {
  it.each([
    { name: 'Friday 15:00 → Monday 11:00 is 4 h', from: '2025-01-17T14:00:00.000Z', to: '2025-01-20T10:00:00.000Z', seconds: 4 * 3600 },
    { name: 'reversed is negative', from: '2025-01-20T10:00:00.000Z', to: '2025-01-17T14:00:00.000Z', seconds: -4 * 3600 },
    { name: 'Friday 16:00 CET → Monday 10:00 CEST across the spring change is 2 h', from: '2025-03-28T15:00:00.000Z', to: '2025-03-31T08:00:00.000Z', seconds: 2 * 3600 },
    { name: 'Friday 16:00 CEST → Monday 10:00 CET across the autumn change is 2 h', from: '2025-10-24T14:00:00.000Z', to: '2025-10-27T09:00:00.000Z', seconds: 2 * 3600 },
    { name: 'Monday 18:00 → Tuesday 08:00 is none', from: '2025-01-13T17:00:00.000Z', to: '2025-01-14T07:00:00.000Z', seconds: 0 },
    { name: 'Monday 09:00 → Friday 17:00 is 40 h', from: '2025-01-13T08:00:00.000Z', to: '2025-01-17T16:00:00.000Z', seconds: 40 * 3600 },
    { name: 'the same instant is none', from: '2025-01-13T10:00:00.000Z', to: '2025-01-13T10:00:00.000Z', seconds: 0 },
  ])('$name', ({ from, to, seconds }) => {
    expect(businessSecondsBetween(at(from), at(to), plain)).toBe(seconds);
  });

  it('skips holidays', () => {
    // Thu 24 Apr 16:00 CEST → Mon 28 Apr 10:00 CEST: 1 h Thu + (Fri 25 is a holiday) + 1 h Mon
    expect(businessSecondsBetween(at('2025-04-24T14:00:00.000Z'), at('2025-04-28T08:00:00.000Z'), italian2025)).toBe(2 * 3600);
    expect(businessSecondsBetween(at('2025-04-24T14:00:00.000Z'), at('2025-04-28T08:00:00.000Z'), plain)).toBe(10 * 3600);
  });
});

describe('isBusinessTime, isBusinessDay, localDateOf', () => {
  it.each([
    { name: 'Monday 09:00 opening is inside', iso: '2025-01-13T08:00:00.000Z', inside: true },
    { name: 'Monday 16:59:59.999 is inside', iso: '2025-01-13T15:59:59.999Z', inside: true },
    { name: 'Monday 17:00 closing is outside', iso: '2025-01-13T16:00:00.000Z', inside: false },
    { name: 'Monday 08:59:59.999 is outside', iso: '2025-01-13T07:59:59.999Z', inside: false },
    { name: 'Saturday 11:00 is outside', iso: '2025-01-18T10:00:00.000Z', inside: false },
    { name: '07:00Z in winter is 08:00 CET, outside', iso: '2025-01-14T07:00:00.000Z', inside: false },
    { name: '07:00Z in summer is 09:00 CEST, inside', iso: '2025-07-15T07:00:00.000Z', inside: true },
    { name: '15:30Z in summer is 17:30 CEST, outside', iso: '2025-07-15T15:30:00.000Z', inside: false },
  ])('$name', ({ iso, inside }) => {
    expect(isBusinessTime(at(iso), plain)).toBe(inside);
  });

  it('treats a holiday as closed all day', () => {
    expect(isBusinessTime(at('2025-04-21T10:00:00.000Z'), italian2025)).toBe(false); // Easter Monday 12:00 CEST
    expect(isBusinessTime(at('2025-04-21T10:00:00.000Z'), plain)).toBe(true);
    expect(isBusinessDay('2025-04-21', italian2025)).toBe(false);
    expect(isBusinessDay('2025-04-22', italian2025)).toBe(true);
    expect(isBusinessDay('2025-04-19', plain)).toBe(false); // Saturday
  });

  it('gives the local date, which is not the UTC date around midnight', () => {
    expect(localDateOf(at('2025-01-12T23:30:00.000Z'), plain)).toBe('2025-01-13'); // Mon 00:30 CET
    expect(localDateOf(at('2025-07-13T22:30:00.000Z'), plain)).toBe('2025-07-14'); // Mon 00:30 CEST
    expect(localDateOf(at('2025-07-13T21:59:59.999Z'), plain)).toBe('2025-07-13'); // Sun 23:59:59.999 CEST
  });
});

describe('nextBusinessDayClose', () => {
  it.each([
    { after: '2025-01-13', close: '2025-01-14T16:00:00.000Z', cal: plain }, // Mon → Tue 17:00 CET
    { after: '2025-01-17', close: '2025-01-20T16:00:00.000Z', cal: plain }, // Fri → Mon 17:00 CET
    { after: '2025-01-18', close: '2025-01-20T16:00:00.000Z', cal: plain }, // Sat → Mon 17:00 CET
    { after: '2025-01-17', close: '2025-01-21T16:00:00.000Z', cal: mondayOff }, // Fri, Monday off → Tue 17:00 CET
    { after: '2025-03-28', close: '2025-03-31T15:00:00.000Z', cal: plain }, // Fri → Mon 17:00 CEST
    { after: '2025-10-24', close: '2025-10-27T16:00:00.000Z', cal: plain }, // Fri → Mon 17:00 CET
    { after: '2025-12-24', close: '2025-12-29T16:00:00.000Z', cal: italian2025 }, // Wed before Christmas → Mon 29 17:00 CET
  ])('after $after', ({ after, close, cal }) => {
    expect(nextBusinessDayClose(after, cal).toISOString()).toBe(close);
  });

  it('rejects a malformed or impossible date', () => {
    expect(() => nextBusinessDayClose('2025-02-30', plain)).toThrow(RangeError);
    expect(() => nextBusinessDayClose('13/01/2025', plain)).toThrow(RangeError);
  });
});

describe('remainingSeconds', () => {
  it.each([
    { name: 'basic P1 on Friday 16:00, due Monday 11:00: 1 h Fri + 2 h Mon', tier: 'basic', priority: 'P1', due: '2025-01-20T10:00:00.000Z', now: '2025-01-17T15:00:00.000Z', seconds: 3 * 3600 },
    { name: 'the same seen on Saturday: 2 h', tier: 'basic', priority: 'P1', due: '2025-01-20T10:00:00.000Z', now: '2025-01-18T12:00:00.000Z', seconds: 2 * 3600 },
    { name: 'basic P3 NBD on Monday 20:00, due Tuesday 17:00: 8 h', tier: 'basic', priority: 'P3', due: '2025-01-14T16:00:00.000Z', now: '2025-01-13T19:00:00.000Z', seconds: 8 * 3600 },
    { name: 'pro P4 NBD over the spring change', tier: 'pro', priority: 'P4', due: '2025-03-31T15:00:00.000Z', now: '2025-03-28T15:00:00.000Z', seconds: 9 * 3600 }, // Fri 16:00 CET → Mon 17:00 CEST
    { name: 'exactly at the due time: 0', tier: 'pro', priority: 'P2', due: '2025-01-13T13:00:00.000Z', now: '2025-01-13T13:00:00.000Z', seconds: 0 },
    { name: 'mission_critical P1 is elapsed', tier: 'mission_critical', priority: 'P1', due: '2025-01-18T09:30:00.000Z', now: '2025-01-18T09:10:00.000Z', seconds: 1200 },
    { name: 'mission_critical overdue by 30 min', tier: 'mission_critical', priority: 'P1', due: '2025-01-18T09:30:00.000Z', now: '2025-01-18T10:00:00.000Z', seconds: -1800 },
    { name: 'basic overdue one second after Friday close', tier: 'basic', priority: 'P2', due: '2025-01-17T16:00:00.000Z', now: '2025-01-17T16:00:01.000Z', seconds: -1 },
    { name: 'basic overdue over the weekend counts wall-clock time', tier: 'basic', priority: 'P2', due: '2025-01-17T16:00:00.000Z', now: '2025-01-20T08:30:00.000Z', seconds: -(64 * 3600 + 1800) }, // Fri 17:00 → Mon 09:30
  ] as const)('$name', ({ tier, priority, due, now, seconds }) => {
    expect(remainingSeconds(tier, priority, at(due), at(now), plain)).toBe(seconds);
  });
});

describe('isAtRisk (less than 25 % of the target left, not breached)', () => {
  it.each([
    // basic P1 opened Mon 10:00, due Mon 14:00: total 4 h, at risk below 1 h left
    { name: 'basic P1 at 12:59 has 61 min left', tier: 'basic', priority: 'P1', opened: '2025-01-13T09:00:00.000Z', due: '2025-01-13T13:00:00.000Z', now: '2025-01-13T11:59:00.000Z', risk: false },
    { name: 'basic P1 at 13:00 has exactly 25 % left', tier: 'basic', priority: 'P1', opened: '2025-01-13T09:00:00.000Z', due: '2025-01-13T13:00:00.000Z', now: '2025-01-13T12:00:00.000Z', risk: false },
    { name: 'basic P1 at 13:01', tier: 'basic', priority: 'P1', opened: '2025-01-13T09:00:00.000Z', due: '2025-01-13T13:00:00.000Z', now: '2025-01-13T12:01:00.000Z', risk: true },
    { name: 'basic P1 at the due instant', tier: 'basic', priority: 'P1', opened: '2025-01-13T09:00:00.000Z', due: '2025-01-13T13:00:00.000Z', now: '2025-01-13T13:00:00.000Z', risk: true },
    { name: 'basic P1 once breached', tier: 'basic', priority: 'P1', opened: '2025-01-13T09:00:00.000Z', due: '2025-01-13T13:00:00.000Z', now: '2025-01-13T13:00:01.000Z', risk: false },
    // basic P1 opened Fri 15:00, due Mon 11:00: 4 business hours, 68 wall-clock hours
    { name: 'Sunday 20:00: half the business time left (elapsed would say 22 %)', tier: 'basic', priority: 'P1', opened: '2025-01-17T14:00:00.000Z', due: '2025-01-20T10:00:00.000Z', now: '2025-01-19T19:00:00.000Z', risk: false },
    { name: 'Monday 10:30: 30 min left', tier: 'basic', priority: 'P1', opened: '2025-01-17T14:00:00.000Z', due: '2025-01-20T10:00:00.000Z', now: '2025-01-20T09:30:00.000Z', risk: true },
    // mission_critical P1 opened 10:00, due 10:30: at risk below 7.5 min left
    { name: 'mission_critical P1 with 8 min left', tier: 'mission_critical', priority: 'P1', opened: '2025-01-18T09:00:00.000Z', due: '2025-01-18T09:30:00.000Z', now: '2025-01-18T09:22:00.000Z', risk: false },
    { name: 'mission_critical P1 with 7 min left', tier: 'mission_critical', priority: 'P1', opened: '2025-01-18T09:00:00.000Z', due: '2025-01-18T09:30:00.000Z', now: '2025-01-18T09:23:00.000Z', risk: true },
    // pro P4 NBD opened Mon 10:00, due Tue 17:00: 15 business hours, at risk below 3 h 45 min left
    { name: 'pro P4 NBD on Monday evening', tier: 'pro', priority: 'P4', opened: '2025-01-13T09:00:00.000Z', due: '2025-01-14T16:00:00.000Z', now: '2025-01-13T19:00:00.000Z', risk: false },
    { name: 'pro P4 NBD on Tuesday 13:15, exactly 3 h 45 min left', tier: 'pro', priority: 'P4', opened: '2025-01-13T09:00:00.000Z', due: '2025-01-14T16:00:00.000Z', now: '2025-01-14T12:15:00.000Z', risk: false },
    { name: 'pro P4 NBD on Tuesday 13:16', tier: 'pro', priority: 'P4', opened: '2025-01-13T09:00:00.000Z', due: '2025-01-14T16:00:00.000Z', now: '2025-01-14T12:16:00.000Z', risk: true },
  ] as const)('$name', ({ tier, priority, opened, due, now, risk }) => {
    expect(isAtRisk(tier, priority, at(opened), at(due), at(now), plain)).toBe(risk);
  });
});

describe('calendars', () => {
  it('defaults to 09:00–17:00 Europe/Rome with a 15:00 cut-off', () => {
    const cal = defaultCalendar(['2025-04-21']);
    expect(cal).toMatchObject({ zone: 'Europe/Rome', openHour: 9, closeHour: 17, replacementCutoffHour: 15, replacementCutoffMinute: 0 });
    expect([...cal.holidays]).toEqual(['2025-04-21']);
  });

  it('rejects invalid settings with a readable message', () => {
    expect(() => defaultCalendar(['2025-13-01'])).toThrow(/holidays are not YYYY-MM-DD dates: "2025-13-01"/);
    expect(() => createCalendar({ zone: 'Mars/Olympus_Mons' })).toThrow(/not an IANA time zone/);
    expect(() => createCalendar({ openHour: 17, closeHour: 9 })).toThrow(/closeHour/);
    expect(() => createCalendar({ replacementCutoffMinute: 60 })).toThrow(/replacementCutoffMinute/);
    const handMade: SlaCalendar = { zone: 'Europe/Rome', openHour: 9, closeHour: 17, holidays: new Set(['25/12/2025']), replacementCutoffHour: 15 };
    expect(() => isBusinessTime(at('2025-01-13T10:00:00.000Z'), handMade)).toThrow(SlaCalendarError);
  });

  it('accepts a hand-made calendar literal', () => {
    const handMade: SlaCalendar = { zone: 'Europe/Rome', openHour: 9, closeHour: 17, holidays: new Set(), replacementCutoffHour: 15 };
    expect(responseDueAt('basic', 'P1', at('2025-01-17T14:00:00.000Z'), handMade).toISOString()).toBe('2025-01-20T10:00:00.000Z');
  });

  describe('a calendar whose holidays cover years', () => {
    const everyDay = (fromYear: number, toYear: number): string[] => {
      const days: string[] = [];
      for (let d = new Date(Date.UTC(fromYear, 0, 1)); d.getUTCFullYear() <= toYear; d.setUTCDate(d.getUTCDate() + 1)) {
        days.push(d.toISOString().slice(0, 10));
      }
      return days;
    };
    const closedForFiveYears = defaultCalendar(everyDay(2025, 2029));
    const closedForTwoYears = defaultCalendar(everyDay(2025, 2026));
    const opened = at('2025-01-13T09:00:00.000Z');

    it('fails with a clear error instead of looping', () => {
      expect(() => addBusinessMinutes(opened, 60, closedForFiveYears)).toThrow(SlaCalendarError);
      expect(() => addBusinessMinutes(opened, 60, closedForFiveYears)).toThrow(/no answer within 1098 days after 2025-01-13/);
      expect(() => responseDueAt('basic', 'P3', opened, closedForFiveYears)).toThrow(SlaCalendarError);
      expect(() => replacementDueAt('pro', opened, closedForFiveYears)).toThrow(SlaCalendarError);
      expect(() => nextBusinessDayClose('2025-01-13', closedForFiveYears)).toThrow(SlaCalendarError);
    });

    it('still answers when the first business day is less than 3 years away', () => {
      // First business day is Friday 1 January 2027: 09:00 CET + 1 h → 10:00 CET
      expect(addBusinessMinutes(opened, 60, closedForTwoYears).toISOString()).toBe('2027-01-01T09:00:00.000Z');
    });

    it('still tells the business time between instants (there is none)', () => {
      expect(businessSecondsBetween(opened, at('2029-12-31T00:00:00.000Z'), closedForFiveYears)).toBe(0);
    });
  });
});
