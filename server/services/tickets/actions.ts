import type { Priority, TicketStatus } from '../../../drizzle/schema/index.ts';
import type { SiteRow } from '../sites.ts';
import { dispatchSiteOf, isDeliverable } from '../sites.ts';
import { arrivalChanges, dispatchKindFor } from './replacement.ts';
import type { DispatchNotice } from '../notifications/templates.ts';
import { invalid } from '../../lib/errors.ts';
import { replacementDueAt, ticketIsAtRisk, ticketResponseDueAt, type SlaCalendar } from '../../sla/index.ts';
import type { TicketRow, TimelineEntry } from './core.ts';
import type { DispatchRecord, NotificationEffect, TicketChanges, TicketEffect, TicketOutcome } from './effects.ts';
import { clockFacts, offHoursAsk, planOffHoursAnswer, type OffHoursAnswerBody } from './off-hours.ts';

/** How the customer's side was reached or answered outside the portal. */
export const contactChannels = ['email', 'phone', 'chat', 'other'] as const;
export type ContactChannel = (typeof contactChannels)[number];

export type ActionBody =
  | { action: 'acknowledge'; message?: string | undefined }
  | { action: 'assign'; assigneeId: string; reason?: string | undefined }
  | { action: 'comment'; body: string; public: boolean }
  | { action: 'request-info'; body: string }
  | { action: 'contact-attempt'; channel: ContactChannel; note?: string | undefined }
  | { action: 'reply'; body: string }
  | { action: 'customer-answered'; channel: ContactChannel; body: string }
  | { action: 'priority'; priority: Priority; reason?: string | undefined }
  | { action: 'diagnosis-complete'; note?: string | undefined }
  | ({ action: 'dispatch' } & DispatchBody)
  | { action: 'replacement-arrived'; arrivedAt?: string | undefined; note?: string | undefined }
  | { action: 'resolve'; resolution: string }
  | { action: 'confirm' }
  | { action: 'reject'; reason: string }
  | { action: 'propose-close'; reason: string }
  | { action: 'agree-close'; note?: string | undefined }
  | { action: 'close'; reason: 'closed_without_resolution'; customerAgreement: string; channel: ContactChannel; note?: string | undefined }
  | { action: 'reopen'; reason: string }
  | { action: 'request-remote-access'; reason: string }
  | ({ action: 'off-hours' } & OffHoursAnswerBody);

/**
 * A replacement's dispatch (support guide): by courier — carrier, tracking number, when it was
 * shipped (default: now) — or with a field engineer — a user of Vigil or a name, and the
 * planned visit; to a site of the ticket's customer. Times are ISO 8601.
 */
export type DispatchBody =
  | { kind: 'courier'; siteId: string; carrier: string; trackingNumber: string; shippedAt?: string | undefined; note?: string | undefined }
  | {
      kind: 'field_engineer';
      siteId: string;
      engineerUserId?: string | undefined;
      engineerName?: string | undefined;
      plannedVisitAt: string;
      note?: string | undefined;
    };

/** Who acts, as the planner needs it. */
export interface ActingUser {
  id: string;
  staff: boolean;
}

/** What some actions read besides the ticket: the calendar, and the assignee for `assign`. */
export interface ActionFacts {
  calendar: SlaCalendar;
  assignee?: { id: string; role: string; name: string; senior: boolean; disabledAt: Date | null } | null;
  /** For `dispatch`: the site named, already known to be the ticket customer's. */
  site?: SiteRow | null;
  /** For `dispatch` by field engineer with `engineerUserId`: that user. */
  fieldEngineer?: { id: string; role: string; name: string; disabledAt: Date | null } | null;
}

/**
 * The first public response from support: records when, and the target's outcome as it stands
 * now — met, or missed by how many seconds (SPEC §2.1, §2.4). A miss the scheduler already
 * recorded when the target passed unanswered stays a miss, measured against the target it
 * recorded; later priority changes never rewrite either.
 */
export function firstResponseChanges(ticket: TicketRow, now: Date): TicketChanges {
  if (ticket.firstResponseAt !== null) return {};
  const dueAt = ticket.responseOutcome === 'missed' && ticket.responseOutcomeDueAt ? ticket.responseOutcomeDueAt : ticket.responseDueAt;
  const met = ticket.responseOutcome !== 'missed' && now <= dueAt;
  return {
    firstResponseAt: now,
    responseOutcome: met ? 'met' : 'missed',
    responseOutcomeDueAt: dueAt,
    responseOutcomePriority: ticket.responseOutcome === 'missed' && ticket.responseOutcomePriority ? ticket.responseOutcomePriority : ticket.priority,
    responseMissedBySeconds: met ? null : Math.ceil((now.getTime() - dueAt.getTime()) / 1000),
  };
}

/**
 * Plans one lifecycle action on a ticket the caller may take it on (the lifecycle table said
 * so and gave `to`): the row's changes and the effects — the timeline entry (actor, time,
 * from, to, reason), the live event, webhooks, notifications and audit records. Pure: nothing
 * is written here; `applyTicketOutcome` writes it. Throws `invalid_request` for a body the
 * action cannot take (a reassignment without a reason, an inactive assignee).
 */
export function planAction(ticket: TicketRow, to: TicketStatus, input: ActionBody, actor: ActingUser, now: Date, facts: ActionFacts): TicketOutcome {
  const changes: TicketChanges = {};
  const entry: TimelineEntry = {
    at: now,
    actorId: actor.id,
    type: input.action.replace(/-/g, '_'),
    fromStatus: ticket.status,
    toStatus: to,
    reason: null,
    body: null,
    public: true,
    data: {},
  };
  const effects: TicketEffect[] = [];
  const webhooks: TicketEffect[] = [];
  const notify = (message: NotificationEffect['message'], recipients: NotificationEffect['recipients'], body?: string | null) =>
    effects.push({ kind: 'notification', ticketId: ticket.id, message, recipients, actorId: actor.id, body: body ?? null });
  let change: string = input.action;
  let firstResponse = false;
  // Both parties agreed (SPEC §2.4); `agreement` says who recorded it and how.
  const closeWithoutResolution = (note: string | undefined, agreement: Record<string, unknown>) => {
    Object.assign(changes, { closedAt: now, closeReason: 'closed_without_resolution', waitingSince: null, waitingReminderAt: null });
    entry.type = 'closed';
    entry.reason = 'closed_without_resolution';
    entry.body = note ?? null;
    entry.data = { agreement };
  };

  switch (input.action) {
    case 'acknowledge':
      entry.type = 'acknowledged';
      if (input.message) {
        entry.body = input.message;
        firstResponse = true;
        notify('engineer.message', 'requester', input.message);
      }
      break;
    case 'assign': {
      const assignee = facts.assignee;
      if (!assignee || assignee.disabledAt || (assignee.role !== 'engineer' && assignee.role !== 'admin')) {
        throw invalid('assigneeId must name an active engineer', { field: 'assigneeId' });
      }
      const reassignment = ticket.assigneeId !== null && ticket.assigneeId !== assignee.id;
      if (reassignment && !input.reason) throw invalid('a reassignment needs a reason', { field: 'reason' });
      changes.assigneeId = assignee.id;
      entry.type = reassignment ? 'reassigned' : 'assigned';
      entry.reason = input.reason ?? null;
      entry.public = false;
      entry.data = { fromAssigneeId: ticket.assigneeId, toAssigneeId: assignee.id, assigneeName: assignee.name, senior: assignee.senior };
      if (assignee.id !== actor.id) notify('assigned', 'assignee', input.reason ?? null);
      break;
    }
    case 'comment': {
      const isPublic = !actor.staff || input.public;
      entry.type = isPublic ? 'comment' : 'note';
      entry.body = input.body;
      entry.public = isPublic;
      if (actor.staff) {
        firstResponse = isPublic;
        if (isPublic) notify('engineer.message', 'requester', input.body);
      } else {
        // Any public message from the customer's side answers a waiting ticket (SPEC §2.4).
        if (ticket.status === 'waiting_on_customer') Object.assign(changes, { waitingSince: null, waitingReminderAt: null });
        notify('customer.replied', 'assignee', input.body);
      }
      break;
    }
    case 'request-info':
      entry.type = 'info_requested';
      entry.body = input.body;
      Object.assign(changes, { waitingSince: now, waitingReminderAt: null });
      firstResponse = true;
      notify('info.requested', 'requester', input.body);
      break;
    case 'contact-attempt':
      entry.type = 'contact_attempt';
      entry.body = input.note ?? null;
      entry.public = false;
      entry.data = { channel: input.channel };
      break;
    case 'reply':
      entry.type = 'customer_reply';
      entry.body = input.body;
      Object.assign(changes, { waitingSince: null, waitingReminderAt: null });
      notify('customer.replied', 'assignee', input.body);
      break;
    case 'customer-answered':
      // The customer's answer, recorded by the engineer who took it (phone, chat, mail outside Vigil).
      entry.type = 'customer_answered';
      entry.body = input.body;
      entry.data = { channel: input.channel };
      Object.assign(changes, { waitingSince: null, waitingReminderAt: null });
      break;
    case 'priority': {
      if (input.priority !== ticket.priority && !input.reason) throw invalid('changing the priority needs a reason', { field: 'reason' });
      // On the ticket's clock: 24/7 from the consent once off-hours handling was accepted.
      const clock = clockFacts(ticket, input.priority);
      const due = ticketResponseDueAt(clock, facts.calendar);
      const responded = ticket.firstResponseAt !== null;
      Object.assign(changes, { priority: input.priority, priorityConfirmedAt: now, responseDueAt: due });
      // Before the response the marks follow the new target; a recorded outcome never moves.
      if (!responded && ticket.responseOutcome === null) {
        const breached = now > due;
        const atRisk = !breached && ticketIsAtRisk(clock, due, now, facts.calendar);
        changes.breachedAt = breached ? (ticket.breachedAt ?? now) : null;
        changes.atRiskAt = atRisk || breached ? (ticket.atRiskAt ?? now) : null;
      }
      entry.type = input.priority === ticket.priority ? 'priority_confirmed' : 'priority_changed';
      entry.reason = input.reason ?? null;
      entry.data = { fromPriority: ticket.priority, toPriority: input.priority, proposedPriority: ticket.proposedPriority, responseDueAt: due.toISOString() };
      change = 'priority';
      effects.push({
        kind: 'audit',
        action: 'ticket.priority',
        details: { from: ticket.priority, to: input.priority, proposed: ticket.proposedPriority, reason: input.reason ?? null, responseDueAt: due.toISOString() },
      });
      // Raised to P1/P2 outside business hours: the off-hours question is asked now, if never before.
      const ask = offHoursAsk(ticket, input.priority, now, facts.calendar);
      Object.assign(changes, ask.changes);
      effects.push(...ask.effects);
      break;
    }
    case 'off-hours': {
      const planned = planOffHoursAnswer(ticket, input, actor, now, facts.calendar, entry);
      Object.assign(changes, planned.changes);
      effects.push(...planned.effects);
      change = 'off_hours';
      break;
    }
    case 'diagnosis-complete': {
      const due = replacementDueAt(ticket.tier, now, facts.calendar);
      Object.assign(changes, { diagnosedAt: now, replacementDueAt: due });
      entry.type = 'diagnosis_complete';
      entry.body = input.note ?? null;
      entry.data = { replacementDueAt: due.toISOString() };
      break;
    }
    case 'dispatch': {
      const dispatch = planDispatch(ticket, input, now, facts);
      changes.replacementDispatchedAt = now;
      entry.type = 'replacement_dispatched';
      entry.body = input.note ?? null;
      entry.data = { ...dispatch.notice, replacementDueAt: ticket.replacementDueAt?.toISOString() ?? null };
      change = 'replacement_dispatched';
      effects.push({ kind: 'dispatch', record: dispatch.record });
      effects.push({ kind: 'notification', ticketId: ticket.id, message: 'replacement.dispatched', recipients: 'requester', actorId: actor.id, body: input.note ?? null, dispatch: dispatch.notice });
      break;
    }
    case 'replacement-arrived': {
      const arrivedAt = input.arrivedAt ? new Date(input.arrivedAt) : now;
      if (arrivedAt.getTime() > now.getTime()) throw invalid('arrivedAt is in the future', { field: 'arrivedAt' });
      if (ticket.diagnosedAt && arrivedAt.getTime() < ticket.diagnosedAt.getTime()) {
        throw invalid('arrivedAt is before the diagnosis was complete', { field: 'arrivedAt', diagnosedAt: ticket.diagnosedAt.toISOString() });
      }
      const arrival = arrivalChanges(ticket, arrivedAt);
      Object.assign(changes, arrival);
      entry.type = 'replacement_arrived';
      entry.body = input.note ?? null;
      entry.data = {
        arrivedAt: arrivedAt.toISOString(),
        replacementDueAt: ticket.replacementDueAt?.toISOString() ?? null,
        outcome: arrival.replacementOutcome ?? null,
        missedBySeconds: arrival.replacementMissedBySeconds ?? null,
      };
      change = 'replacement_arrived';
      effects.push({
        kind: 'audit',
        action: 'ticket.replacement_arrived',
        details: { arrivedAt: arrivedAt.toISOString(), outcome: arrival.replacementOutcome ?? null, missedBySeconds: arrival.replacementMissedBySeconds ?? null },
      });
      break;
    }
    case 'resolve':
      Object.assign(changes, { resolution: input.resolution, resolvedAt: now, waitingSince: null, waitingReminderAt: null });
      entry.type = 'resolved';
      entry.body = input.resolution;
      notify('resolution.proposed', 'requester', input.resolution);
      break;
    case 'confirm':
      Object.assign(changes, { closedAt: now, closeReason: 'resolution_confirmed' });
      entry.type = 'closed';
      entry.reason = 'resolution_confirmed';
      break;
    case 'reject':
      changes.resolvedAt = null;
      entry.type = 'resolution_rejected';
      entry.reason = input.reason;
      notify('customer.replied', 'assignee', input.reason);
      break;
    case 'propose-close':
      Object.assign(changes, { closeProposedAt: now, closeProposedBy: actor.id });
      entry.type = 'close_proposed';
      entry.reason = input.reason;
      entry.body = input.reason;
      notify('close.proposed', 'requester', input.reason);
      break;
    case 'agree-close':
      closeWithoutResolution(input.note, { by: 'customer', channel: 'portal', proposedAt: ticket.closeProposedAt?.toISOString() ?? null });
      break;
    case 'close':
      // The engineer records the customer's agreement, quoting it (SPEC §2.4: one party alone cannot close).
      closeWithoutResolution(input.note, { by: 'engineer', channel: input.channel, quote: input.customerAgreement });
      effects.push({ kind: 'audit', action: 'ticket.close_without_resolution', details: { channel: input.channel, quote: input.customerAgreement } });
      break;
    case 'reopen':
      Object.assign(changes, { closedAt: null, closeReason: null, resolvedAt: null, closeProposedAt: null, closeProposedBy: null });
      entry.type = 'reopened';
      entry.reason = input.reason;
      if (!actor.staff) notify('customer.replied', 'assignee', input.reason);
      break;
    case 'request-remote-access':
      changes.remoteAccessRequestedAt = now;
      entry.type = 'remote_access_requested';
      entry.reason = input.reason;
      entry.body = `Remote access requested: ${input.reason}`;
      change = 'remote_access_requested';
      webhooks.push({ kind: 'webhook', event: 'ticket.remote_access_requested', change, reason: input.reason });
      notify('remote_access.requested', 'requester', input.reason);
      break;
  }

  // The response target is met only by a public response from support, and only once.
  if (firstResponse && actor.staff && ticket.firstResponseAt === null) {
    Object.assign(changes, firstResponseChanges(ticket, now));
    entry.data = { ...entry.data, firstResponse: true };
  }
  changes.status = to;
  if (to === 'closed') {
    effects.push({ kind: 'survey' });
    notify('ticket.closed', 'requester', entry.reason);
    webhooks.push({ kind: 'webhook', event: 'ticket.closed', change, reason: entry.reason });
  }
  return {
    changes,
    effects: [
      { kind: 'timeline', entry },
      ...effects,
      { kind: 'live', event: 'ticket.updated', change },
      { kind: 'webhook', event: 'ticket.updated', change, reason: entry.reason },
      ...webhooks,
    ],
  };
}

/**
 * Checks a dispatch against the guide and the facts, and returns the row to store and the
 * notice to send. 400 `invalid_request` when the kind is not the tier's (Basic by courier, Pro
 * and Mission Critical by field engineer), the site has no delivery address, the shipping time
 * is in the future or before the diagnosis, or the engineer is neither an active engineer of
 * Vigil nor named.
 */
function planDispatch(ticket: TicketRow, input: DispatchBody, now: Date, facts: ActionFacts): { record: DispatchRecord; notice: DispatchNotice } {
  const expected = dispatchKindFor(ticket.tier);
  if (input.kind !== expected) {
    throw invalid(`a ${ticket.tier} ticket's replacement goes ${expected === 'courier' ? 'by courier' : 'with a field engineer on site'} (support guide)`, {
      field: 'kind',
      expected,
    });
  }
  const site = facts.site;
  if (!site) throw invalid('siteId must name a site of the ticket\'s customer', { field: 'siteId' });
  if (!isDeliverable(site)) throw invalid('the site has no delivery address: add an address line and a city first', { field: 'siteId' });
  const snapshot = dispatchSiteOf(site);
  const address = [...snapshot.addressLines, [snapshot.postalCode, snapshot.city].filter(Boolean).join(' '), snapshot.country ?? ''].filter((l) => l !== '').join(', ');
  const base = { kind: input.kind, siteId: site.id, site: snapshot, note: input.note ?? null, dispatchedAt: now };
  if (input.kind === 'courier') {
    const shippedAt = input.shippedAt ? new Date(input.shippedAt) : now;
    if (shippedAt.getTime() > now.getTime()) throw invalid('shippedAt is in the future', { field: 'shippedAt' });
    // A part is shipped for this diagnosis, not before it (the replacement clock starts there).
    if (ticket.diagnosedAt && shippedAt.getTime() < ticket.diagnosedAt.getTime()) {
      throw invalid('shippedAt is before the diagnosis was complete', { field: 'shippedAt', diagnosedAt: ticket.diagnosedAt.toISOString() });
    }
    return {
      record: { ...base, carrier: input.carrier, trackingNumber: input.trackingNumber, shippedAt },
      notice: { kind: input.kind, siteName: site.name, address, carrier: input.carrier, trackingNumber: input.trackingNumber, shippedAt: shippedAt.toISOString(), engineerName: null, plannedVisitAt: null },
    };
  }
  let engineerName = input.engineerName ?? null;
  if (input.engineerUserId) {
    const engineer = facts.fieldEngineer;
    if (!engineer || engineer.disabledAt || (engineer.role !== 'engineer' && engineer.role !== 'admin')) {
      throw invalid('engineerUserId must name an active engineer', { field: 'engineerUserId' });
    }
    engineerName = engineer.name;
  }
  if (!engineerName) throw invalid('a field engineer needs engineerUserId or engineerName', { field: 'engineerName' });
  const plannedVisitAt = new Date(input.plannedVisitAt);
  return {
    record: { ...base, engineerName, engineerUserId: input.engineerUserId ?? null, plannedVisitAt },
    notice: { kind: input.kind, siteName: site.name, address, carrier: null, trackingNumber: null, shippedAt: null, engineerName, plannedVisitAt: plannedVisitAt.toISOString() },
  };
}
