// Pure SLA calendar maths (SPEC §2.1–2.2): no database, no clock reads. Every
// function takes the instants and the calendar it needs; times are UTC Dates.
export { tiers, priorities, responseTarget, replacementTarget, responseClock } from './targets.ts';
export { responseDueAt, replacementDueAt, remainingSeconds, isAtRisk } from './targets.ts';
export type { Tier, Priority, ResponseTarget, ReplacementTarget, SlaClock } from './targets.ts';
export { createCalendar, defaultCalendar, maxCalendarSearchDays, SlaCalendarError } from './calendar.ts';
export type { SlaCalendar, SlaCalendarOptions } from './calendar.ts';
export {
  addBusinessMinutes,
  businessSecondsBetween,
  isBusinessTime,
  isBusinessDay,
  localDateOf,
  nextBusinessDayClose,
} from './business-hours.ts';
export {
  offHoursTiers,
  offHoursPriorities,
  offHoursQuestion,
  ticketResponseClock,
  ticketResponseDueAt,
  ticketRemainingSeconds,
  ticketIsAtRisk,
  billableOffHoursMinutes,
} from './off-hours.ts';
export type { OffHoursQuestion, ResponseClockFacts } from './off-hours.ts';
