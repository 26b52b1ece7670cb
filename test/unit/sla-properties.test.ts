import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  addBusinessMinutes,
  businessSecondsBetween,
  defaultCalendar,
  isBusinessTime,
  priorities,
  remainingSeconds,
  replacementDueAt,
  responseDueAt,
  responseTarget,
  tiers,
} from '../../server/sla/index.ts';
import type { SlaCalendar } from '../../server/sla/index.ts';

const zone = 'Europe/Rome';
const minuteMs = 60_000;
const dayMs = 86_400_000;
const rangeStart = Date.UTC(2025, 0, 1);
const rangeEnd = Date.UTC(2027, 11, 31);

// The last Sundays of March and October in 2025–2027, where Europe/Rome changes offset.
const dstChanges = ['2025-03-30', '2025-10-26', '2026-03-29', '2026-10-25', '2027-03-28', '2027-10-31'].map((d) =>
  Date.parse(`${d}T00:00:00Z`),
);

// Random instants in 2025–2027, half of them within 4 days either side of a DST change.
const instantNearDst = fc
  .tuple(fc.constantFrom(...dstChanges), fc.integer({ min: -4 * dayMs, max: 4 * dayMs }))
  .map(([change, offset]) => change + offset);
const anyInstant = fc.oneof(fc.integer({ min: rangeStart, max: rangeEnd }), instantNearDst);
const anyMinuteInstant = anyInstant.map((ms) => Math.floor(ms / minuteMs) * minuteMs);
// Up to about three business days.
const businessMinutes = fc.integer({ min: 0, max: 3 * 8 * 60 + 30 });

// A calendar with a few random holidays in the fortnight after the instant.
function calendarWithHolidaysNear(ms: number, dayOffsets: number[]): SlaCalendar {
  const local = DateTime.fromMillis(ms, { zone }).startOf('day');
  return defaultCalendar(dayOffsets.map((n) => local.plus({ days: n }).toISODate() ?? ''));
}
const holidayOffsets = fc.uniqueArray(fc.integer({ min: 0, max: 14 }), { maxLength: 4 });

// --- reference implementation: one minute at a time, straight from SPEC §2.2 ---

function isBusinessMinuteRef(ms: number, cal: SlaCalendar): boolean {
  const local = DateTime.fromMillis(ms, { zone });
  return local.weekday <= 5 && local.hour >= 9 && local.hour < 17 && !cal.holidays.has(local.toISODate() ?? '');
}

const referenceStepLimit = 40 * 24 * 60;

/** The end of the m-th business minute counted from `startMs` (whole minutes only). */
function addBusinessMinutesRef(startMs: number, minutes: number, cal: SlaCalendar): number {
  let cursor = startMs;
  let counted = 0;
  for (let steps = 0; steps < referenceStepLimit; steps += 1) {
    if (minutes === 0 ? isBusinessMinuteRef(cursor, cal) : counted === minutes) return cursor;
    if (isBusinessMinuteRef(cursor, cal)) counted += 1;
    cursor += minuteMs;
  }
  throw new Error('reference did not finish');
}

function businessSecondsBetweenRef(fromMs: number, toMs: number, cal: SlaCalendar): number {
  let seconds = 0;
  for (let cursor = fromMs; cursor < toMs; cursor += minuteMs) {
    if (isBusinessMinuteRef(cursor, cal)) seconds += 60;
  }
  return seconds;
}

/** Inside business hours, or exactly at a business day's 17:00 close. */
function isOpenOrClosingInstant(at: Date, cal: SlaCalendar): boolean {
  const local = DateTime.fromJSDate(at, { zone });
  const isClosing =
    local.weekday <= 5 &&
    !cal.holidays.has(local.toISODate() ?? '') &&
    local.hour === 17 &&
    local.minute === 0 &&
    local.second === 0 &&
    local.millisecond === 0;
  return isClosing || isBusinessMinuteRef(at.getTime(), cal);
}

const businessTargets = tiers.flatMap((tier) =>
  priorities.filter((p) => responseTarget(tier, p).kind !== 'elapsed').map((priority) => ({ tier, priority })),
);
const allTargets = tiers.flatMap((tier) => priorities.map((priority) => ({ tier, priority })));

describe('SLA calendar properties', () => {
  it('agrees with a minute-by-minute reference on addBusinessMinutes (random holidays, DST)', () => {
    fc.assert(
      fc.property(anyMinuteInstant, businessMinutes, holidayOffsets, (startMs, minutes, offsets) => {
        const cal = calendarWithHolidaysNear(startMs, offsets);
        expect(addBusinessMinutes(new Date(startMs), minutes, cal).getTime()).toBe(
          addBusinessMinutesRef(startMs, minutes, cal),
        );
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('agrees with a minute-by-minute reference on businessSecondsBetween', () => {
    fc.assert(
      fc.property(
        anyMinuteInstant,
        fc.integer({ min: 0, max: 6 * 24 * 60 }),
        holidayOffsets,
        (fromMs, spanMinutes, offsets) => {
          const cal = calendarWithHolidaysNear(fromMs, offsets);
          const toMs = fromMs + spanMinutes * minuteMs;
          const expected = businessSecondsBetweenRef(fromMs, toMs, cal);
          expect(businessSecondsBetween(new Date(fromMs), new Date(toMs), cal)).toBe(expected);
          expect(businessSecondsBetween(new Date(toMs), new Date(fromMs), cal)).toBe(expected === 0 ? 0 : -expected);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  it('agrees with the reference on isBusinessTime', () => {
    fc.assert(
      fc.property(anyInstant, holidayOffsets, (ms, offsets) => {
        const cal = calendarWithHolidaysNear(ms - 7 * dayMs, offsets);
        expect(isBusinessTime(new Date(ms), cal)).toBe(isBusinessMinuteRef(ms, cal));
      }),
      { numRuns: 500 },
    );
  });

  it('never puts a business-hours or NBD due time inside closed hours (17:00 close allowed)', () => {
    fc.assert(
      fc.property(anyInstant, fc.constantFrom(...businessTargets), holidayOffsets, (ms, { tier, priority }, offsets) => {
        const cal = calendarWithHolidaysNear(ms, offsets);
        expect(isOpenOrClosingInstant(responseDueAt(tier, priority, new Date(ms), cal), cal)).toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(anyInstant, businessMinutes, holidayOffsets, (ms, minutes, offsets) => {
        const cal = calendarWithHolidaysNear(ms, offsets);
        expect(isOpenOrClosingInstant(addBusinessMinutes(new Date(ms), minutes, cal), cal)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('puts NBD at 17:00 of the first business day after the local opening date', () => {
    fc.assert(
      fc.property(anyInstant, fc.constantFrom('basic', 'pro'), holidayOffsets, (ms, tier, offsets) => {
        const cal = calendarWithHolidaysNear(ms, offsets);
        let day = DateTime.fromMillis(ms, { zone }).startOf('day').plus({ days: 1 });
        while (day.weekday > 5 || cal.holidays.has(day.toISODate() ?? '')) day = day.plus({ days: 1 });
        expect(responseDueAt(tier, 'P4', new Date(ms), cal).getTime()).toBe(day.set({ hour: 17 }).toMillis());
      }),
      { numRuns: 500 },
    );
  });

  it('is monotonic in the start', () => {
    fc.assert(
      fc.property(
        anyInstant,
        fc.integer({ min: 0, max: 5 * dayMs }),
        businessMinutes,
        holidayOffsets,
        (startMs, delay, minutes, offsets) => {
          const cal = calendarWithHolidaysNear(startMs, offsets);
          const early = addBusinessMinutes(new Date(startMs), minutes, cal).getTime();
          const late = addBusinessMinutes(new Date(startMs + delay), minutes, cal).getTime();
          expect(late).toBeGreaterThanOrEqual(early);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is strictly increasing in minutes, by at least the wall-clock difference', () => {
    fc.assert(
      fc.property(anyInstant, businessMinutes, businessMinutes, holidayOffsets, (startMs, a, b, offsets) => {
        const cal = calendarWithHolidaysNear(startMs, offsets);
        const [fewer, more] = a <= b ? [a, b] : [b, a];
        const first = addBusinessMinutes(new Date(startMs), fewer, cal).getTime();
        const second = addBusinessMinutes(new Date(startMs), more, cal).getTime();
        expect(second - first).toBeGreaterThanOrEqual((more - fewer) * minuteMs);
      }),
      { numRuns: 500 },
    );
  });

  it('measures back exactly what it added: businessSecondsBetween(start, start + m) = 60 m', () => {
    fc.assert(
      fc.property(anyInstant, businessMinutes, holidayOffsets, (startMs, minutes, offsets) => {
        const cal = calendarWithHolidaysNear(startMs, offsets);
        const start = new Date(startMs);
        expect(businessSecondsBetween(start, addBusinessMinutes(start, minutes, cal), cal)).toBe(minutes * 60);
      }),
      { numRuns: 500 },
    );
  });

  it('adds business time between consecutive instants', () => {
    fc.assert(
      fc.property(anyInstant, fc.integer({ min: 0, max: 3 * dayMs }), fc.integer({ min: 0, max: 3 * dayMs }), (a, d1, d2) => {
        const cal = defaultCalendar();
        const [x, y, z] = [new Date(a), new Date(a + d1), new Date(a + d1 + d2)];
        // Seconds carry milliseconds as fractions, so compare to the microsecond.
        expect(businessSecondsBetween(x, y, cal) + businessSecondsBetween(y, z, cal)).toBeCloseTo(businessSecondsBetween(x, z, cal), 6);
      }),
      { numRuns: 300 },
    );
  });

  it('never puts a due time before the opening or the diagnosis', () => {
    fc.assert(
      fc.property(anyInstant, fc.constantFrom(...allTargets), holidayOffsets, (ms, { tier, priority }, offsets) => {
        const cal = calendarWithHolidaysNear(ms, offsets);
        const openedAt = new Date(ms);
        expect(responseDueAt(tier, priority, openedAt, cal).getTime()).toBeGreaterThanOrEqual(ms);
        expect(replacementDueAt(tier, openedAt, cal).getTime()).toBeGreaterThan(ms);
      }),
      { numRuns: 1000 },
    );
  });

  it('reports a negative remaining time exactly when the target is overdue', () => {
    fc.assert(
      fc.property(
        anyInstant,
        fc.constantFrom(...allTargets),
        fc.integer({ min: -5 * dayMs, max: 5 * dayMs }),
        (openedMs, { tier, priority }, nowOffset) => {
          const cal = defaultCalendar();
          const dueAt = responseDueAt(tier, priority, new Date(openedMs), cal);
          const now = new Date(dueAt.getTime() + nowOffset);
          const remaining = remainingSeconds(tier, priority, dueAt, now, cal);
          expect(remaining < 0).toBe(now.getTime() > dueAt.getTime());
        },
      ),
      { numRuns: 500 },
    );
  });
});
