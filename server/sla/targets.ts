import {
  addBusinessMinutes,
  businessSecondsBetween,
  businessWindow,
  instantMs,
  isBusinessEpochDay,
  nextBusinessEpochDay,
} from './business-hours.ts';
import { assertValidCalendar } from './calendar.ts';
import type { SlaCalendar } from './calendar.ts';
import { localDayOf, localInstant } from './local-time.ts';

export const tiers = ['basic', 'pro', 'mission_critical'] as const;
export type Tier = (typeof tiers)[number];

export const priorities = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof priorities)[number];

export type ResponseTarget =
  | { kind: 'business_hours'; minutes: number }
  | { kind: 'elapsed'; minutes: number }
  | { kind: 'nbd' };

/** The clock a target runs on: business hours (NBD included) or plain elapsed time. */
export type SlaClock = 'business_hours' | 'elapsed';

export type ReplacementTarget = { kind: 'nbd_with_cutoff' } | { kind: 'elapsed'; minutes: number };

const businessHours = (hours: number): ResponseTarget => ({ kind: 'business_hours', minutes: hours * 60 });
const elapsed = (minutes: number): ResponseTarget => ({ kind: 'elapsed', minutes });
const nbd: ResponseTarget = { kind: 'nbd' };

// SPEC §2.1, initial-response targets.
const responseTable: Readonly<Record<Tier, Readonly<Record<Priority, ResponseTarget>>>> = {
  basic: { P1: businessHours(4), P2: businessHours(8), P3: nbd, P4: nbd },
  pro: { P1: businessHours(1), P2: businessHours(4), P3: businessHours(8), P4: nbd },
  mission_critical: { P1: elapsed(30), P2: elapsed(120), P3: elapsed(240), P4: elapsed(480) },
};

const replacementTable: Readonly<Record<Tier, ReplacementTarget>> = {
  basic: { kind: 'nbd_with_cutoff' },
  pro: { kind: 'nbd_with_cutoff' },
  mission_critical: { kind: 'elapsed', minutes: 240 },
};

function assertTier(tier: Tier): void {
  if (!(tiers as readonly string[]).includes(tier)) throw new RangeError(`unknown tier ${JSON.stringify(tier)}`);
}

function assertPriority(priority: Priority): void {
  if (!(priorities as readonly string[]).includes(priority)) {
    throw new RangeError(`unknown priority ${JSON.stringify(priority)}`);
  }
}

/** The initial-response target of SPEC §2.1 for a tier and priority. */
export function responseTarget(tier: Tier, priority: Priority): ResponseTarget {
  assertTier(tier);
  assertPriority(priority);
  const target = responseTable[tier][priority];
  return target.kind === 'nbd' ? { kind: 'nbd' } : { kind: target.kind, minutes: target.minutes };
}

/** The hardware-replacement target of SPEC §2.1 for a tier. */
export function replacementTarget(tier: Tier): ReplacementTarget {
  assertTier(tier);
  const target = replacementTable[tier];
  return target.kind === 'elapsed' ? { kind: 'elapsed', minutes: target.minutes } : { kind: target.kind };
}

/** Which clock the response target of a tier and priority runs on. */
export function responseClock(tier: Tier, priority: Priority): SlaClock {
  return responseTarget(tier, priority).kind === 'elapsed' ? 'elapsed' : 'business_hours';
}

/**
 * When the initial response is due. Business-hours targets start counting at the
 * next opening; NBD is 17:00 on the first business day after the local calendar
 * day of opening; elapsed targets are plain wall-clock minutes.
 */
export function responseDueAt(tier: Tier, priority: Priority, openedAt: Date, cal: SlaCalendar): Date {
  assertValidCalendar(cal);
  const openedMs = instantMs(openedAt, 'openedAt');
  const target = responseTarget(tier, priority);
  switch (target.kind) {
    case 'business_hours':
      return addBusinessMinutes(openedAt, target.minutes, cal);
    case 'elapsed':
      return new Date(openedMs + target.minutes * 60_000);
    case 'nbd': {
      const openedDay = localDayOf(cal.zone, openedMs);
      return new Date(businessWindow(nextBusinessEpochDay(openedDay, cal), cal).close);
    }
  }
}

/**
 * When replacement hardware is due, counted from diagnosis complete. Basic and
 * Pro: the request is received on the diagnosis day if that is a business day and
 * diagnosis came no later than the cut-off instant (15:00:00 local), otherwise on
 * the next business day; parts are due 17:00 on the first business day after the
 * day received. Mission Critical: 4 h elapsed.
 */
export function replacementDueAt(tier: Tier, diagnosedAt: Date, cal: SlaCalendar): Date {
  assertValidCalendar(cal);
  const diagnosedMs = instantMs(diagnosedAt, 'diagnosedAt');
  const target = replacementTarget(tier);
  if (target.kind === 'elapsed') return new Date(diagnosedMs + target.minutes * 60_000);
  const diagnosisDay = localDayOf(cal.zone, diagnosedMs);
  const cutoff = localInstant(
    cal.zone,
    diagnosisDay,
    cal.replacementCutoffHour * 60 + (cal.replacementCutoffMinute ?? 0),
  );
  const receivedDay =
    isBusinessEpochDay(diagnosisDay, cal) && diagnosedMs <= cutoff
      ? diagnosisDay
      : nextBusinessEpochDay(diagnosisDay, cal);
  return new Date(businessWindow(nextBusinessEpochDay(receivedDay, cal), cal).close);
}

/**
 * Seconds left until `dueAt`. Before the due time it is counted on the target's
 * own clock: business seconds for Basic and Pro (NBD included), elapsed seconds
 * for Mission Critical. Once overdue it is minus the wall-clock seconds since the
 * due time, for every tier: a target missed at 17:00 on Friday is overdue all
 * weekend even though no business time passes, so the sign always agrees with
 * `now > dueAt` and overdue tickets sort by how long customers have waited.
 * `clockOverride` replaces the tier's clock (an accepted off-hours request runs 24/7).
 */
export function remainingSeconds(tier: Tier, priority: Priority, dueAt: Date, now: Date, cal: SlaCalendar, clockOverride?: SlaClock): number {
  assertValidCalendar(cal);
  const dueMs = instantMs(dueAt, 'dueAt');
  const nowMs = instantMs(now, 'now');
  const clock = clockOverride ?? responseClock(tier, priority);
  if (nowMs > dueMs || clock === 'elapsed') return (dueMs - nowMs) / 1000;
  return businessSecondsBetween(now, dueAt, cal);
}

/**
 * True when the target is not yet breached (`now <= dueAt`) and less than 25 % of
 * its total — measured on the target's own clock from `openedAt` to `dueAt` — is left.
 * `clockOverride` replaces the tier's clock (an accepted off-hours request runs 24/7, with
 * `openedAt` then the consent instant: server/sla/off-hours.ts).
 */
export function isAtRisk(
  tier: Tier,
  priority: Priority,
  openedAt: Date,
  dueAt: Date,
  now: Date,
  cal: SlaCalendar,
  clockOverride?: SlaClock,
): boolean {
  assertValidCalendar(cal);
  const openedMs = instantMs(openedAt, 'openedAt');
  const dueMs = instantMs(dueAt, 'dueAt');
  const nowMs = instantMs(now, 'now');
  if (nowMs > dueMs) return false;
  const clock = clockOverride ?? responseClock(tier, priority);
  const total = clock === 'elapsed' ? (dueMs - openedMs) / 1000 : businessSecondsBetween(openedAt, dueAt, cal);
  return remainingSeconds(tier, priority, dueAt, now, cal, clock) < total * 0.25;
}
