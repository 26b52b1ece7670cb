import type { OffHoursChannel, Priority, Tier } from '../../../drizzle/schema/index.ts';
import { invalid } from '../../lib/errors.ts';
import { offHoursQuestion, ticketIsAtRisk, ticketResponseDueAt, type ResponseClockFacts, type SlaCalendar } from '../../sla/index.ts';
import type { TicketRow, TimelineEntry } from './core.ts';
import type { TicketChanges, TicketEffect } from './effects.ts';
import { offHoursQuestionOpen } from './lifecycle.ts';

// Off-hours handling on a ticket (support guide: Basic and Pro are handled 9–17 CET on business
// days, "Off-hours support will be billed separately"). The calendar maths is in
// server/sla/off-hours.ts; this module turns it into a ticket's changes and effects.

/**
 * The rate text put to the customer with the question and recorded with the answer, so the
 * consent says what was agreed to. The guide names no figure: the contract's off-hours rate.
 */
export const offHoursRateText = 'Off-hours handling is billed separately from your Basic or Pro subscription, per started hour of engineer time outside 09:00–17:00 CET on business days, at the off-hours rate of your support contract.';

/** The consent instant of a ticket: when off-hours handling was accepted, else null. */
export function offHoursConsentAt(row: Pick<TicketRow, 'offHoursAnswer' | 'offHoursAnsweredAt'>): Date | null {
  return row.offHoursAnswer === 'accepted' ? row.offHoursAnsweredAt : null;
}

/** The facts the ticket's response clock depends on (server/sla/off-hours.ts). */
export function clockFacts(row: Pick<TicketRow, 'tier' | 'priority' | 'openedAt' | 'offHoursAnswer' | 'offHoursAnsweredAt'>, priority?: Priority): ResponseClockFacts {
  return { tier: row.tier, priority: priority ?? row.priority, openedAt: row.openedAt, offHoursConsentAt: offHoursConsentAt(row) };
}

/**
 * Asks the off-hours question when it applies (Basic/Pro, P1/P2, `at` outside business hours)
 * and was not asked before: the ticket's changes (asked, expires at the next opening, the rate
 * shown) and the effects — a public timeline entry and the `offhours.question` e-mail to the
 * customer's side. Empty when it does not apply.
 */
export function offHoursAsk(
  ticket: { id: string; tier: Tier; offHoursAskedAt: Date | null },
  priority: Priority,
  at: Date,
  calendar: SlaCalendar,
): { changes: TicketChanges; effects: TicketEffect[] } {
  if (ticket.offHoursAskedAt) return { changes: {}, effects: [] };
  const question = offHoursQuestion(ticket.tier, priority, at, calendar);
  if (!question) return { changes: {}, effects: [] };
  const expiresAt = question.expiresAt.toISOString();
  return {
    changes: { offHoursAskedAt: question.askedAt, offHoursExpiresAt: question.expiresAt, offHoursRate: offHoursRateText },
    effects: [
      {
        kind: 'timeline',
        entry: { at, actorId: null, type: 'off_hours_asked', public: true, body: offHoursRateText, data: { expiresAt } },
      },
      { kind: 'notification', ticketId: ticket.id, message: 'offhours.question', recipients: 'requester', actorId: null, body: offHoursRateText, expiresAt },
    ],
  };
}

/** The body of `POST /tickets/:id/off-hours`. Staff recording an answer given by phone name the channel and the person. */
export interface OffHoursAnswerBody {
  accept: boolean;
  channel?: Exclude<OffHoursChannel, 'portal'> | undefined;
  givenBy?: string | undefined;
  /** ISO 8601 instant the customer gave the answer (staff only); default now. */
  givenAt?: string | undefined;
}

/**
 * Plans the answer to the off-hours question (the lifecycle table already checked it is open).
 * The customer answers for themselves (`channel` portal, at `now`); staff record an answer the
 * customer gave elsewhere and must say how (`channel`) and who (`givenBy`), optionally when
 * (`givenAt`, between the question and now). Accepting records the consent and — while no
 * response outcome is recorded (SPEC §2.4: outcomes are history) — moves the response due time
 * to the 24/7 clock from the consent instant, re-marking at-risk/breached like a priority change.
 * Declining changes no clock. Throws `invalid_request` for a body that does not fit the caller.
 */
export function planOffHoursAnswer(
  ticket: TicketRow,
  input: OffHoursAnswerBody,
  actor: { id: string; staff: boolean },
  now: Date,
  calendar: SlaCalendar,
  entry: TimelineEntry,
): { changes: TicketChanges; effects: TicketEffect[] } {
  if (!actor.staff && (input.channel || input.givenBy || input.givenAt)) {
    throw invalid('channel, givenBy and givenAt are for staff recording an answer given outside the portal', { field: 'channel' });
  }
  if (actor.staff && (!input.channel || !input.givenBy)) {
    throw invalid('staff recording an answer must say how it was given (channel) and by whom (givenBy)', { field: input.channel ? 'givenBy' : 'channel' });
  }
  const givenAt = input.givenAt ? new Date(input.givenAt) : now;
  if (Number.isNaN(givenAt.getTime()) || givenAt > now || (ticket.offHoursAskedAt && givenAt < ticket.offHoursAskedAt)) {
    throw invalid('givenAt must lie between the question and now', { field: 'givenAt' });
  }
  const answer = input.accept ? ('accepted' as const) : ('declined' as const);
  const channel: OffHoursChannel = input.channel ?? 'portal';
  const changes: TicketChanges = {
    offHoursAnswer: answer,
    offHoursAnsweredAt: givenAt,
    offHoursRecordedBy: actor.id,
    offHoursChannel: channel,
    offHoursGivenBy: input.givenBy ?? null,
  };
  const details: Record<string, unknown> = { answer, channel, givenBy: input.givenBy ?? null, givenAt: givenAt.toISOString(), rate: ticket.offHoursRate };
  if (input.accept && ticket.firstResponseAt === null && ticket.responseOutcome === null) {
    const facts = { ...clockFacts(ticket), offHoursConsentAt: givenAt };
    const due = ticketResponseDueAt(facts, calendar);
    const breached = now > due;
    const atRisk = !breached && ticketIsAtRisk(facts, due, now, calendar);
    Object.assign(changes, {
      responseDueAt: due,
      breachedAt: breached ? (ticket.breachedAt ?? now) : null,
      atRiskAt: atRisk || breached ? (ticket.atRiskAt ?? now) : null,
    });
    details.responseDueAt = due.toISOString();
    details.previousResponseDueAt = ticket.responseDueAt.toISOString();
  }
  entry.type = input.accept ? 'off_hours_accepted' : 'off_hours_declined';
  entry.body = ticket.offHoursRate;
  entry.data = details;
  return { changes, effects: [{ kind: 'audit', action: 'ticket.off_hours', details }] };
}

/** Where the question stands: open, answered either way, or lapsed unanswered at the opening. */
export type OffHoursState = 'asked' | 'accepted' | 'declined' | 'expired';

/** The `offHours` block of a ticket's detail: null when never asked. `billableMinutes` sums the work logs. */
export function offHoursView(row: TicketRow, billableMinutes: number, now: Date) {
  if (!row.offHoursAskedAt) return null;
  const state: OffHoursState = row.offHoursAnswer ?? (offHoursQuestionOpen({ ...row, now }) ? 'asked' : 'expired');
  return {
    state,
    askedAt: row.offHoursAskedAt.toISOString(),
    expiresAt: row.offHoursExpiresAt?.toISOString() ?? null,
    rate: row.offHoursRate,
    answeredAt: row.offHoursAnsweredAt?.toISOString() ?? null,
    channel: row.offHoursChannel,
    givenBy: row.offHoursGivenBy,
    billableMinutes,
  };
}
