import { IANAZone } from 'luxon';
import { parseIsoDate } from './local-time.ts';

/** The support calendar of SPEC §2.2. Holidays are local dates ('YYYY-MM-DD') in `zone`. */
export interface SlaCalendar {
  zone: string;
  openHour: number;
  closeHour: number;
  holidays: ReadonlySet<string>;
  replacementCutoffHour: number;
  replacementCutoffMinute?: number;
}

export interface SlaCalendarOptions {
  zone?: string;
  openHour?: number;
  closeHour?: number;
  holidays?: Iterable<string>;
  replacementCutoffHour?: number;
  replacementCutoffMinute?: number;
}

/**
 * No answer is searched for further than this many calendar days: a calendar whose
 * holidays cover years would otherwise loop for ever.
 */
export const maxCalendarSearchDays = 3 * 366;

export class SlaCalendarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlaCalendarError';
  }
}

/** Builds a validated, frozen calendar; anything not given takes the SPEC default. */
export function createCalendar(options: SlaCalendarOptions = {}): SlaCalendar {
  const calendar: SlaCalendar = {
    zone: options.zone ?? 'Europe/Rome',
    openHour: options.openHour ?? 9,
    closeHour: options.closeHour ?? 17,
    holidays: new Set(options.holidays ?? []),
    replacementCutoffHour: options.replacementCutoffHour ?? 15,
    replacementCutoffMinute: options.replacementCutoffMinute ?? 0,
  };
  assertValidCalendar(calendar);
  return Object.freeze(calendar);
}

/** 09:00–17:00 Monday–Friday Europe/Rome, replacement cut-off 15:00 (SPEC §2.2). */
export function defaultCalendar(holidays?: Iterable<string>): SlaCalendar {
  return createCalendar(holidays === undefined ? {} : { holidays });
}

// A calendar object is checked once; the maths then trusts it.
const validated = new WeakSet<SlaCalendar>();

export function assertValidCalendar(cal: SlaCalendar): void {
  if (validated.has(cal)) return;
  const problems: string[] = [];
  if (typeof cal.zone !== 'string' || !IANAZone.isValidZone(cal.zone)) {
    problems.push(`zone ${JSON.stringify(cal.zone)} is not an IANA time zone`);
  }
  if (!Number.isInteger(cal.openHour) || cal.openHour < 0 || cal.openHour > 23) {
    problems.push(`openHour ${cal.openHour} must be an integer 0–23`);
  }
  if (!Number.isInteger(cal.closeHour) || cal.closeHour < 1 || cal.closeHour > 24 || cal.closeHour <= cal.openHour) {
    problems.push(`closeHour ${cal.closeHour} must be an integer 1–24 after openHour`);
  }
  if (!Number.isInteger(cal.replacementCutoffHour) || cal.replacementCutoffHour < 0 || cal.replacementCutoffHour > 23) {
    problems.push(`replacementCutoffHour ${cal.replacementCutoffHour} must be an integer 0–23`);
  }
  const cutoffMinute = cal.replacementCutoffMinute ?? 0;
  if (!Number.isInteger(cutoffMinute) || cutoffMinute < 0 || cutoffMinute > 59) {
    problems.push(`replacementCutoffMinute ${cutoffMinute} must be an integer 0–59`);
  }
  if (!(cal.holidays instanceof Set)) {
    problems.push('holidays must be a Set of YYYY-MM-DD dates');
  } else {
    const bad = [...cal.holidays].filter((d) => typeof d !== 'string' || parseIsoDate(d) === undefined);
    if (bad.length > 0) problems.push(`holidays are not YYYY-MM-DD dates: ${bad.slice(0, 5).map((d) => JSON.stringify(d)).join(', ')}`);
  }
  if (problems.length > 0) throw new SlaCalendarError(`invalid SLA calendar: ${problems.join('; ')}`);
  validated.add(cal);
}
