import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  billableOffHoursMinutes,
  defaultCalendar,
  isBusinessTime,
  offHoursQuestion,
  priorities,
  responseDueAt,
  ticketIsAtRisk,
  ticketRemainingSeconds,
  ticketResponseClock,
  ticketResponseDueAt,
  tiers,
} from '../../server/sla/index.ts';

// Off-hours handling (support guide: Basic/Pro 9–17 CET on business days, "Off-hours support
// will be billed separately"; Mission Critical 24/7). Europe/Rome: CET (UTC+1) until Sunday
// 29 March 2026 02:00, CEST (UTC+2) after; Easter Monday 6 April 2026 is a holiday here.
const cal = defaultCalendar(['2026-04-06']);
const at = (iso: string) => new Date(iso);

describe('which tickets get the off-hours question', () => {
  it('Basic and Pro P1/P2 outside business hours; never Mission Critical, P3/P4 or inside business hours', () => {
    const saturday = at('2026-03-07T09:00:00Z'); // Saturday 10:00 Rome
    for (const tier of ['basic', 'pro'] as const) {
      for (const priority of ['P1', 'P2'] as const) {
        expect(offHoursQuestion(tier, priority, saturday, cal)).toEqual({ askedAt: saturday, expiresAt: at('2026-03-09T08:00:00Z') });
      }
      expect(offHoursQuestion(tier, 'P3', saturday, cal)).toBeNull();
      expect(offHoursQuestion(tier, 'P4', saturday, cal)).toBeNull();
    }
    expect(offHoursQuestion('mission_critical', 'P1', saturday, cal)).toBeNull();
    expect(offHoursQuestion('pro', 'P1', at('2026-03-10T10:00:00Z'), cal)).toBeNull(); // Tuesday 11:00 Rome
  });

  it('opening and closing edges: 17:00 is off-hours, 09:00 is not', () => {
    expect(offHoursQuestion('pro', 'P1', at('2026-03-10T16:00:00Z'), cal)?.expiresAt).toEqual(at('2026-03-11T08:00:00Z')); // Tue 17:00 CET
    expect(offHoursQuestion('pro', 'P1', at('2026-03-10T15:59:59Z'), cal)).toBeNull();
    expect(offHoursQuestion('pro', 'P1', at('2026-03-10T08:00:00Z'), cal)).toBeNull(); // Tue 09:00 CET
    expect(offHoursQuestion('pro', 'P1', at('2026-03-10T07:59:59Z'), cal)?.expiresAt).toEqual(at('2026-03-10T08:00:00Z'));
  });

  it('follows daylight saving: Friday before the change in CET, Monday after it in CEST', () => {
    // Friday 27 March 18:00 CET → the question lapses Monday 30 March 09:00 CEST = 07:00Z.
    expect(offHoursQuestion('basic', 'P1', at('2026-03-27T17:00:00Z'), cal)?.expiresAt).toEqual(at('2026-03-30T07:00:00Z'));
    // 07:30Z is 08:30 CET on Friday 27 (asked) but 09:30 CEST on Monday 30 (business hours).
    expect(offHoursQuestion('pro', 'P2', at('2026-03-27T07:30:00Z'), cal)).not.toBeNull();
    expect(offHoursQuestion('pro', 'P2', at('2026-03-30T07:30:00Z'), cal)).toBeNull();
    expect(offHoursQuestion('pro', 'P2', at('2026-03-30T06:30:00Z'), cal)?.expiresAt).toEqual(at('2026-03-30T07:00:00Z'));
  });

  it('a holiday is off-hours all day; the question lapses at the next business opening', () => {
    // Easter Monday 6 April 10:00 CEST: asked; lapses Tuesday 7 April 09:00 CEST.
    expect(offHoursQuestion('pro', 'P1', at('2026-04-06T08:00:00Z'), cal)?.expiresAt).toEqual(at('2026-04-07T07:00:00Z'));
    expect(offHoursQuestion('pro', 'P1', at('2026-04-06T08:00:00Z'), defaultCalendar())).toBeNull();
  });

  it('property: asked exactly when the tier and priority qualify and the instant is outside business hours; lapses at an opening after it', () => {
    const instant = fc.integer({ min: Date.parse('2025-10-01T00:00:00Z'), max: Date.parse('2027-04-30T00:00:00Z') }).map((ms) => new Date(ms));
    fc.assert(
      fc.property(instant, fc.constantFrom(...tiers), fc.constantFrom(...priorities), (t, tier, priority) => {
        const q = offHoursQuestion(tier, priority, t, cal);
        const qualifies = tier !== 'mission_critical' && (priority === 'P1' || priority === 'P2') && !isBusinessTime(t, cal);
        expect(q !== null).toBe(qualifies);
        if (q) {
          expect(q.expiresAt.getTime()).toBeGreaterThan(t.getTime());
          expect(isBusinessTime(q.expiresAt, cal)).toBe(true);
          expect(isBusinessTime(new Date(q.expiresAt.getTime() - 1), cal)).toBe(false);
        }
      }),
    );
  });
});

describe('the response clock after consent', () => {
  const openedAt = at('2026-03-07T09:00:00Z'); // Saturday 10:00 Rome
  const consent = at('2026-03-07T09:20:00Z');

  it('runs 24/7 from the consent for the same number of minutes', () => {
    expect(ticketResponseDueAt({ tier: 'pro', priority: 'P1', openedAt, offHoursConsentAt: consent }, cal)).toEqual(at('2026-03-07T10:20:00Z'));
    expect(ticketResponseDueAt({ tier: 'basic', priority: 'P2', openedAt, offHoursConsentAt: consent }, cal)).toEqual(at('2026-03-07T17:20:00Z'));
    expect(ticketResponseClock({ tier: 'pro', priority: 'P1', openedAt, offHoursConsentAt: consent })).toEqual({ clock: 'elapsed', startsAt: consent });
  });

  it('without consent it is the business-hours target; NBD targets stay NBD', () => {
    expect(ticketResponseDueAt({ tier: 'pro', priority: 'P1', openedAt, offHoursConsentAt: null }, cal)).toEqual(responseDueAt('pro', 'P1', openedAt, cal));
    expect(ticketResponseDueAt({ tier: 'pro', priority: 'P4', openedAt, offHoursConsentAt: consent }, cal)).toEqual(responseDueAt('pro', 'P4', openedAt, cal));
    expect(ticketResponseClock({ tier: 'pro', priority: 'P4', openedAt, offHoursConsentAt: consent }).clock).toBe('business_hours');
  });

  it('counts remaining time and risk on the 24/7 clock', () => {
    const facts = { tier: 'pro' as const, priority: 'P1' as const, openedAt, offHoursConsentAt: consent };
    const due = ticketResponseDueAt(facts, cal);
    const now = at('2026-03-07T10:10:00Z');
    expect(ticketRemainingSeconds(facts, due, now, cal)).toBe(600);
    expect(ticketIsAtRisk(facts, due, now, cal)).toBe(true);
    expect(ticketIsAtRisk(facts, due, at('2026-03-07T09:40:00Z'), cal)).toBe(false);
    // The same instants on the business clock: the weekend does not count, nothing is at risk.
    expect(ticketIsAtRisk({ ...facts, offHoursConsentAt: null }, responseDueAt('pro', 'P1', openedAt, cal), now, cal)).toBe(false);
  });
});

describe('billable off-hours minutes', () => {
  it('counts only time outside business hours after the consent', () => {
    const consent = at('2026-03-06T15:00:00Z'); // Friday 16:00 CET
    // Friday 16:30–17:30 CET: 30 minutes after closing.
    expect(billableOffHoursMinutes(at('2026-03-06T15:30:00Z'), 60, consent, cal)).toBe(30);
    // Saturday 10:00–11:00 Rome, consent at 10:20: 40 minutes.
    expect(billableOffHoursMinutes(at('2026-03-07T09:00:00Z'), 60, at('2026-03-07T09:20:00Z'), cal)).toBe(40);
    // Inside business hours: nothing; without consent: nothing.
    expect(billableOffHoursMinutes(at('2026-03-09T09:00:00Z'), 60, consent, cal)).toBe(0);
    expect(billableOffHoursMinutes(at('2026-03-07T09:00:00Z'), 60, null, cal)).toBe(0);
    // Work done before the consent is not billed.
    expect(billableOffHoursMinutes(at('2026-03-07T08:00:00Z'), 30, at('2026-03-07T09:00:00Z'), cal)).toBe(0);
  });

  it('counts real minutes across the spring-forward night and holidays', () => {
    const consent = at('2026-03-27T17:00:00Z');
    // Saturday 28 March 23:00 CET to Sunday 03:00 CEST: 180 real minutes, all billable.
    expect(billableOffHoursMinutes(at('2026-03-28T22:00:00Z'), 180, consent, cal)).toBe(180);
    // Easter Monday 10:00–12:00 CEST is a holiday: billable.
    expect(billableOffHoursMinutes(at('2026-04-06T08:00:00Z'), 120, consent, cal)).toBe(120);
  });

  it('rejects a negative duration', () => {
    expect(() => billableOffHoursMinutes(at('2026-03-07T09:00:00Z'), -1, null, cal)).toThrow(RangeError);
  });
});
