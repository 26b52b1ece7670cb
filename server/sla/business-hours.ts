import { assertValidCalendar, maxCalendarSearchDays, SlaCalendarError } from './calendar.ts';
import type { SlaCalendar } from './calendar.ts';
import { isoDateOf, isoWeekday, localDayOf, localInstant, parseIsoDate } from './local-time.ts';
import type { EpochDay } from './local-time.ts';

// Everything here steps one local calendar day at a time and does interval
// arithmetic inside each business day, so the cost is proportional to the number
// of days spanned, never to the number of minutes.

export function instantMs(at: Date, what: string): number {
  const ms = at instanceof Date ? at.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`${what} must be a valid Date`);
  return ms;
}

export function isBusinessEpochDay(day: EpochDay, cal: SlaCalendar): boolean {
  return isoWeekday(day) <= 5 && !cal.holidays.has(isoDateOf(day));
}

/** Opening and closing instants (ms) of a local day, whether or not it is a business day. */
export function businessWindow(day: EpochDay, cal: SlaCalendar): { open: number; close: number } {
  return {
    open: localInstant(cal.zone, day, cal.openHour * 60),
    close: localInstant(cal.zone, day, cal.closeHour * 60),
  };
}

function searchExhausted(what: string, from: EpochDay): SlaCalendarError {
  return new SlaCalendarError(
    `${what}: no answer within ${maxCalendarSearchDays} days after ${isoDateOf(from)} — ` +
      'check the calendar (holidays covering years, or an amount of time that is too large)',
  );
}

/** The local calendar date ('YYYY-MM-DD') of an instant in the calendar's zone. */
export function localDateOf(at: Date, cal: SlaCalendar): string {
  assertValidCalendar(cal);
  return isoDateOf(localDayOf(cal.zone, instantMs(at, 'at')));
}

/** Whether a local date ('YYYY-MM-DD') is a business day: Monday–Friday and not a holiday. */
export function isBusinessDay(localDate: string, cal: SlaCalendar): boolean {
  assertValidCalendar(cal);
  const day = parseIsoDate(localDate);
  if (day === undefined) throw new RangeError(`local date ${JSON.stringify(localDate)} is not YYYY-MM-DD`);
  return isBusinessEpochDay(day, cal);
}

/** Whether the instant falls inside business hours: opening inclusive, closing exclusive. */
export function isBusinessTime(at: Date, cal: SlaCalendar): boolean {
  assertValidCalendar(cal);
  const ms = instantMs(at, 'at');
  const day = localDayOf(cal.zone, ms);
  if (!isBusinessEpochDay(day, cal)) return false;
  const { open, close } = businessWindow(day, cal);
  return ms >= open && ms < close;
}

/**
 * The instant at which `minutes` of business time have elapsed on the clock
 * started at `start`. A start outside business hours counts from the next
 * opening; a target that runs out exactly at closing is due at closing (17:00),
 * not at the next opening. With 0 minutes the answer is when the clock starts.
 */
export function addBusinessMinutes(start: Date, minutes: number, cal: SlaCalendar): Date {
  assertValidCalendar(cal);
  const startMs = instantMs(start, 'start');
  if (!Number.isFinite(minutes) || minutes < 0) {
    throw new RangeError(`minutes must be a finite number ≥ 0, got ${minutes}`);
  }
  let remaining = Math.round(minutes * 60_000);
  const firstDay = localDayOf(cal.zone, startMs);
  for (let day = firstDay; day - firstDay <= maxCalendarSearchDays; day += 1) {
    if (!isBusinessEpochDay(day, cal)) continue;
    const { open, close } = businessWindow(day, cal);
    const from = Math.max(startMs, open);
    if (from >= close) continue;
    const available = close - from;
    if (remaining <= available) return new Date(from + remaining);
    remaining -= available;
  }
  throw searchExhausted(`adding ${minutes} business minutes to ${start.toISOString()}`, firstDay);
}

/**
 * Business time between two instants, in seconds; negative when `to` is before
 * `from`. Only the parts of [from, to] inside business hours count.
 */
export function businessSecondsBetween(from: Date, to: Date, cal: SlaCalendar): number {
  assertValidCalendar(cal);
  const fromMs = instantMs(from, 'from');
  const toMs = instantMs(to, 'to');
  // `|| 0` keeps a reversed empty interval from answering -0.
  if (toMs < fromMs) return -businessMsBetween(toMs, fromMs, cal) / 1000 || 0;
  return businessMsBetween(fromMs, toMs, cal) / 1000;
}

function businessMsBetween(fromMs: number, toMs: number, cal: SlaCalendar): number {
  const lastDay = localDayOf(cal.zone, toMs);
  let total = 0;
  for (let day = localDayOf(cal.zone, fromMs); day <= lastDay; day += 1) {
    if (!isBusinessEpochDay(day, cal)) continue;
    const { open, close } = businessWindow(day, cal);
    const overlap = Math.min(close, toMs) - Math.max(open, fromMs);
    if (overlap > 0) total += overlap;
  }
  return total;
}

/** The first business day strictly after the given local day. */
export function nextBusinessEpochDay(after: EpochDay, cal: SlaCalendar): EpochDay {
  for (let day = after + 1; day - after <= maxCalendarSearchDays; day += 1) {
    if (isBusinessEpochDay(day, cal)) return day;
  }
  throw searchExhausted('looking for the next business day', after);
}

/** Closing time (17:00 local) of the first business day strictly after the local date. */
export function nextBusinessDayClose(afterLocalDate: string, cal: SlaCalendar): Date {
  assertValidCalendar(cal);
  const after = parseIsoDate(afterLocalDate);
  if (after === undefined) throw new RangeError(`local date ${JSON.stringify(afterLocalDate)} is not YYYY-MM-DD`);
  return new Date(businessWindow(nextBusinessEpochDay(after, cal), cal).close);
}
