import { addBusinessMinutes, businessSecondsBetween, instantMs, isBusinessTime } from './business-hours.ts';
import { assertValidCalendar } from './calendar.ts';
import type { SlaCalendar } from './calendar.ts';
import { isAtRisk, remainingSeconds, responseClock, responseDueAt, responseTarget } from './targets.ts';
import type { Priority, SlaClock, Tier } from './targets.ts';

// Off-hours handling (support guide, Basic and Pro: "Case handling during standard business
// hours (9-17 CET, Mon-Fri). *Off-hours support will be billed separately."; SPEC §2.1–2.2).
// Pure: the instants and the calendar come in, nothing is read or written.

/** The tiers whose handling is business hours only, so off-hours handling is an extra (Mission Critical is 24/7). */
export const offHoursTiers: readonly Tier[] = ['basic', 'pro'];
/** Priorities urgent enough to be worth asking about off-hours handling: Emergency and Critical (SPEC §2.3). */
export const offHoursPriorities: readonly Priority[] = ['P1', 'P2'];

/** The question to put to the customer: when it is asked and when it lapses. */
export interface OffHoursQuestion {
  askedAt: Date;
  /** The next opening of business hours: from then on normal handling runs anyway. */
  expiresAt: Date;
}

/**
 * Whether a ticket of this tier and priority, at instant `at` (its opening, or the priority
 * change that made it urgent), gets the off-hours question: Basic or Pro, P1 or P2, and `at`
 * outside business hours on the support calendar (weekends, holidays, before 09:00 or from
 * 17:00 Europe/Rome, DST-aware). Null otherwise. The question lapses at the next opening.
 */
export function offHoursQuestion(tier: Tier, priority: Priority, at: Date, cal: SlaCalendar): OffHoursQuestion | null {
  assertValidCalendar(cal);
  instantMs(at, 'at');
  if (!offHoursTiers.includes(tier) || !offHoursPriorities.includes(priority)) return null;
  if (isBusinessTime(at, cal)) return null;
  return { askedAt: at, expiresAt: addBusinessMinutes(at, 0, cal) };
}

/** What a ticket's response clock depends on. `offHoursConsentAt` is when off-hours handling was accepted, else null. */
export interface ResponseClockFacts {
  tier: Tier;
  priority: Priority;
  openedAt: Date;
  offHoursConsentAt: Date | null;
}

/**
 * The clock a ticket's response target runs on and the instant it starts: normally the tier's
 * clock from the opening; after an accepted off-hours request a business-hours target runs on
 * plain elapsed time from the consent instant (NBD targets stay NBD: there is no 24/7 reading
 * of "next business day").
 */
export function ticketResponseClock(t: ResponseClockFacts): { clock: SlaClock; startsAt: Date } {
  const target = responseTarget(t.tier, t.priority);
  if (t.offHoursConsentAt && target.kind === 'business_hours') return { clock: 'elapsed', startsAt: t.offHoursConsentAt };
  return { clock: responseClock(t.tier, t.priority), startsAt: t.openedAt };
}

/**
 * When the ticket's first response is due. Without consent, `responseDueAt` of SPEC §2.2 from
 * the opening. With consent, the same number of minutes on the 24/7 clock from the consent
 * instant — never later than the business-hours due time (consent can only speed handling up).
 * Example: Pro P1 opened Saturday 10:00 Rome, consent 10:20 → due Saturday 11:20 (not Monday 10:00).
 */
export function ticketResponseDueAt(t: ResponseClockFacts, cal: SlaCalendar): Date {
  const business = responseDueAt(t.tier, t.priority, t.openedAt, cal);
  const target = responseTarget(t.tier, t.priority);
  if (!t.offHoursConsentAt || target.kind !== 'business_hours') return business;
  const elapsed = instantMs(t.offHoursConsentAt, 'offHoursConsentAt') + target.minutes * 60_000;
  return new Date(Math.min(elapsed, business.getTime()));
}

/** `remainingSeconds` on the ticket's own clock (24/7 after consent). */
export function ticketRemainingSeconds(t: ResponseClockFacts, dueAt: Date, now: Date, cal: SlaCalendar): number {
  return remainingSeconds(t.tier, t.priority, dueAt, now, cal, ticketResponseClock(t).clock);
}

/** `isAtRisk` on the ticket's own clock, measured from the instant that clock started. */
export function ticketIsAtRisk(t: ResponseClockFacts, dueAt: Date, now: Date, cal: SlaCalendar): boolean {
  const { clock, startsAt } = ticketResponseClock(t);
  return isAtRisk(t.tier, t.priority, startsAt, dueAt, now, cal, clock);
}

/**
 * Billable off-hours minutes of a piece of work that started at `at` and lasted `minutes`: the
 * part of it after the consent instant that falls outside business hours, rounded down to
 * whole minutes. Zero without consent (declined or never asked): off-hours work nobody agreed
 * to pay for is not billed. Throws RangeError for a negative or non-finite duration.
 */
export function billableOffHoursMinutes(at: Date, minutes: number, consentAt: Date | null, cal: SlaCalendar): number {
  assertValidCalendar(cal);
  const startMs = instantMs(at, 'at');
  if (!Number.isFinite(minutes) || minutes < 0) throw new RangeError(`minutes must be a finite number ≥ 0, got ${minutes}`);
  if (consentAt === null) return 0;
  const endMs = startMs + minutes * 60_000;
  const fromMs = Math.max(startMs, instantMs(consentAt, 'consentAt'));
  if (fromMs >= endMs) return 0;
  const business = businessSecondsBetween(new Date(fromMs), new Date(endMs), cal);
  return Math.floor((endMs - fromMs) / 60_000 - business / 60 + 1e-9);
}
