import { DateTime } from 'luxon';

// Local calendar days are handled as "epoch days" (days since 1970-01-01 on the
// proleptic Gregorian calendar), so stepping a day, finding a weekday or building
// the 'YYYY-MM-DD' key of a holiday is integer arithmetic. Luxon is asked only
// for the UTC instant of a local wall-clock time in the calendar's zone, and that
// answer is cached: a fleet recomputes the same few dozen days for every ticket.

const msPerDay = 86_400_000;
const minutesPerDay = 1440;

export type EpochDay = number;

/** ISO weekday of an epoch day: 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday). */
export function isoWeekday(day: EpochDay): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

// Howard Hinnant's days_from_civil / civil_from_days, exact for any Gregorian date.
export function epochDayFromCivil(year: number, month: number, day: number): EpochDay {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

export function civilFromEpochDay(day: EpochDay): { year: number; month: number; day: number } {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d };
}

export function isoDateOf(day: EpochDay): string {
  const { year, month, day: d } = civilFromEpochDay(day);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

const isoDatePattern = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses a strict 'YYYY-MM-DD' calendar date; undefined when malformed or not a real date. */
export function parseIsoDate(text: string): EpochDay | undefined {
  const match = isoDatePattern.exec(text);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const epochDay = epochDayFromCivil(year, month, day);
  const back = civilFromEpochDay(epochDay);
  if (back.year !== year || back.month !== month || back.day !== day) return undefined;
  return epochDay;
}

const cacheLimitPerZone = 200_000;
const instantCache = new Map<string, Map<number, number>>();

/**
 * The UTC instant (ms) of `minuteOfDay` (0–1440; 1440 is the next midnight) on a
 * local calendar day in `zone`. A wall-clock time skipped by a DST jump resolves
 * forward, as luxon does; business hours in Europe/Rome never hit that case.
 */
export function localInstant(zone: string, day: EpochDay, minuteOfDay: number): number {
  if (minuteOfDay >= minutesPerDay) return localInstant(zone, day + 1, minuteOfDay - minutesPerDay);
  let byKey = instantCache.get(zone);
  if (!byKey) {
    byKey = new Map();
    instantCache.set(zone, byKey);
  }
  const key = day * minutesPerDay + minuteOfDay;
  const cached = byKey.get(key);
  if (cached !== undefined) return cached;
  const { year, month, day: d } = civilFromEpochDay(day);
  const ms = DateTime.fromObject(
    { year, month, day: d, hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60 },
    { zone },
  ).toMillis();
  if (byKey.size >= cacheLimitPerZone) byKey.clear();
  byKey.set(key, ms);
  return ms;
}

/** The local calendar day in `zone` that contains the instant `ms`. */
export function localDayOf(zone: string, ms: number): EpochDay {
  // UTC offsets are within ±14 h, so the local day is the UTC day or a neighbour.
  let day = Math.floor(ms / msPerDay);
  while (ms < localInstant(zone, day, 0)) day -= 1;
  while (ms >= localInstant(zone, day + 1, 0)) day += 1;
  return day;
}
