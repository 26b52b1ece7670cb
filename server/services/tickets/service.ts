import { and, asc, desc, eq, inArray, isNull, notInArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import {
  alerts,
  appliances,
  attachments,
  ticketEvents,
  tickets,
  users,
  type Priority,
  type TicketSource,
  type TicketStatus,
  type Tier,
} from '../../../drizzle/schema/index.ts';
import type { CaseInfo } from '../../../drizzle/schema/tickets.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { customerScope, isStaff } from '../../auth/scope.ts';
import { publishLive } from '../../live/events.ts';
import { conflict, DomainError, invalid, notFound } from '../../lib/errors.ts';
import { isAtRisk, remainingSeconds, replacementDueAt, responseDueAt, type SlaCalendar } from '../../sla/index.ts';
import { recordAudit } from '../audit.ts';
import { loadCalendar } from '../calendar.ts';
import { enqueueWebhooks, type OutboundEvent } from '../webhooks.ts';
import { addTimelineEvent, insertTicket, liveTicket, ticketSummaryView, type TicketRow } from './core.ts';
import { allowedActions, checkTransition } from './lifecycle.ts';
import { alertView } from '../alerts.ts';
import { candidateViews, listCandidates } from '../rca/index.ts';
import { createSurveyInvitation, type SurveyInvitation } from './surveys.ts';

/** What ticket operations need besides the database: the instant and two settings. */
export interface TicketContext {
  now: Date;
  replacementCutoff: string;
  publicUrl?: string | undefined;
}

const closedStatuses: TicketStatus[] = ['resolved', 'closed'];
const caseInfoKeys = ['serialNumber', 'hardwareId', 'osVersion', 'hypervisorVersion', 'unavailableSince', 'reproducible', 'stepsTaken'] as const;

/** The case-information checklist: what the ticket still lacks (SPEC §2.4). */
export function missingCaseInfo(info: CaseInfo): string[] {
  return caseInfoKeys.filter((k) => info[k] === undefined || info[k] === null || info[k] === '');
}

async function ticketInScope(db: Db | Tx, user: UserPrincipal, id: string, lock = false): Promise<TicketRow> {
  const query = db
    .select()
    .from(tickets)
    .where(and(eq(tickets.id, id), customerScope(user, tickets.customerId)))
    .limit(1);
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('ticket');
  return row;
}

// ---------------------------------------------------------------------------------------
// Reading

export interface TicketFilter {
  status?: TicketStatus | undefined;
  priority?: Priority | undefined;
  customerId?: string | undefined;
  applianceId?: string | undefined;
  assigneeId?: string | undefined;
  tier?: Tier | undefined;
  open?: boolean | undefined;
  limit: number;
  cursor?: string | undefined;
}

function decodeOffset(cursor: string | undefined): number {
  if (!cursor) return 0;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid('cursor is not valid');
  return Number(match[1]);
}

const encodeOffset = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');

/**
 * The queue: tickets still waiting for their first response come first, by time left on
 * their own clock (business seconds for Basic and Pro, elapsed for Mission Critical, overdue
 * ones most overdue first); then other open tickets by due time; then resolved and closed
 * ones, newest first. Time left is calendar maths, so the first group is ordered here
 * rather than in SQL; the rest is paged by the database.
 */
export async function listTickets(db: Db, user: UserPrincipal, calendar: SlaCalendar, now: Date, filter: TicketFilter) {
  const offset = decodeOffset(filter.cursor);
  const base = and(
    customerScope(user, tickets.customerId),
    filter.status ? eq(tickets.status, filter.status) : undefined,
    filter.priority ? eq(tickets.priority, filter.priority) : undefined,
    filter.customerId ? eq(tickets.customerId, filter.customerId) : undefined,
    filter.applianceId ? eq(tickets.applianceId, filter.applianceId) : undefined,
    filter.assigneeId ? eq(tickets.assigneeId, filter.assigneeId) : undefined,
    filter.tier ? eq(tickets.tier, filter.tier) : undefined,
    filter.open === true ? notInArray(tickets.status, closedStatuses) : filter.open === false ? inArray(tickets.status, closedStatuses) : undefined,
  );
  const waiting = and(notInArray(tickets.status, closedStatuses), isNull(tickets.firstResponseAt));
  const queue = await db
    .select({ id: tickets.id, number: tickets.number, tier: tickets.tier, priority: tickets.priority, responseDueAt: tickets.responseDueAt })
    .from(tickets)
    .where(and(base, waiting));
  const ranked = queue
    .map((t) => ({ id: t.id, number: t.number, left: remainingSeconds(t.tier, t.priority, t.responseDueAt, now, calendar) }))
    .sort((a, b) => a.left - b.left || a.number - b.number);

  const fromQueue = ranked.slice(offset, offset + filter.limit + 1).map((t) => t.id);
  const restOffset = Math.max(0, offset - ranked.length);
  const restLimit = filter.limit + 1 - fromQueue.length;
  const [queueRows, restRows] = await Promise.all([
    fromQueue.length ? db.select().from(tickets).where(inArray(tickets.id, fromQueue)) : Promise.resolve([] as TicketRow[]),
    restLimit > 0
      ? db
          .select()
          .from(tickets)
          .where(and(base, sql`not (${waiting})`))
          .orderBy(
            sql`case when ${tickets.status} in ('resolved', 'closed') then 1 else 0 end`,
            sql`case when ${tickets.status} not in ('resolved', 'closed') then ${tickets.responseDueAt} end asc`,
            desc(tickets.openedAt),
            asc(tickets.id),
          )
          .offset(restOffset)
          .limit(restLimit)
      : Promise.resolve([] as TicketRow[]),
  ]);
  const byId = new Map(queueRows.map((r) => [r.id, r]));
  const rows = [...fromQueue.map((id) => byId.get(id)).filter((r): r is TicketRow => r !== undefined), ...restRows];
  const more = rows.length > filter.limit;
  const items = rows.slice(0, filter.limit).map((r) => ticketSummaryView(r, calendar, now));
  return more ? { items, nextCursor: encodeOffset(offset + filter.limit) } : { items };
}

export async function getTicketDetail(db: Db, user: UserPrincipal, calendar: SlaCalendar, now: Date, id: string) {
  const row = await ticketInScope(db, user, id);
  return detailView(db, user, calendar, now, row);
}

async function detailView(db: Db | Tx, user: UserPrincipal, calendar: SlaCalendar, now: Date, row: TicketRow) {
  const staff = isStaff(user);
  const [alertRows, candidates, timeline, files] = await Promise.all([
    db.select().from(alerts).where(eq(alerts.ticketId, row.id)).orderBy(asc(alerts.startsAt)),
    listCandidates(db, row.id),
    db
      .select({ event: ticketEvents, actorName: users.name })
      .from(ticketEvents)
      .leftJoin(users, eq(users.id, ticketEvents.actorId))
      .where(and(eq(ticketEvents.ticketId, row.id), staff ? undefined : eq(ticketEvents.public, true)))
      .orderBy(asc(ticketEvents.at), asc(ticketEvents.seq)),
    db
      .select({ id: attachments.id, name: attachments.name, contentType: attachments.contentType, sizeBytes: attachments.sizeBytes, createdAt: attachments.createdAt })
      .from(attachments)
      .where(eq(attachments.ticketId, row.id))
      .orderBy(asc(attachments.createdAt)),
  ]);
  return {
    ...ticketSummaryView(row, calendar, now),
    resolution: row.resolution,
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    closedAt: row.closedAt?.toISOString() ?? null,
    diagnosedAt: row.diagnosedAt?.toISOString() ?? null,
    waitingSince: row.waitingSince?.toISOString() ?? null,
    remoteAccessRequestedAt: row.remoteAccessRequestedAt?.toISOString() ?? null,
    missingCaseInfo: missingCaseInfo(row.caseInfo),
    allowedActions: allowedActions(row.status, user.role),
    alerts: alertRows.map(alertView),
    rootCauseCandidates: await candidateViews(db, user, candidates),
    timeline: timeline.map(({ event: e, actorName }) => ({
      id: e.id,
      at: e.at.toISOString(),
      actorId: e.actorId,
      actorName: e.actorId ? actorName : 'Vigil',
      type: e.type,
      from: e.fromStatus,
      to: e.toStatus,
      reason: e.reason,
      body: e.body,
      public: e.public,
      data: e.data,
    })),
    attachments: files.map((f) => ({ ...f, createdAt: f.createdAt.toISOString() })),
  };
}

export type TicketDetail = Awaited<ReturnType<typeof detailView>>;

/** An attachment of a ticket the user may see; text types are stored as text, others base64. */
export async function getAttachment(db: Db, user: UserPrincipal, ticketId: string, attachmentId: string) {
  await ticketInScope(db, user, ticketId);
  const [row] = await db
    .select()
    .from(attachments)
    .where(and(eq(attachments.id, attachmentId), eq(attachments.ticketId, ticketId)))
    .limit(1);
  if (!row) throw notFound('attachment');
  const textual = /^text\/|json|xml/i.test(row.contentType);
  return { name: row.name, contentType: row.contentType, bytes: textual ? Buffer.from(row.content, 'utf8') : Buffer.from(row.content, 'base64') };
}

/**
 * Engineers who may take a ticket, least loaded first; for Mission Critical tickets senior
 * engineers come first and are marked suggested (SPEC §2.1).
 */
export async function listAssignees(db: Db, user: UserPrincipal, ticketId: string) {
  const ticket = await ticketInScope(db, user, ticketId);
  const missionCritical = ticket.tier === 'mission_critical';
  const rows = await db
    .select({
      id: users.id,
      name: users.name,
      email: users.email,
      role: users.role,
      senior: users.senior,
      openTickets: sql<number>`(select count(*)::int from ${tickets} t where t.assignee_id = ${users.id} and t.status not in ('resolved', 'closed'))`,
    })
    .from(users)
    .where(and(inArray(users.role, ['engineer', 'admin']), isNull(users.disabledAt)));
  const sorted = rows.sort(
    (a, b) =>
      (missionCritical ? Number(b.senior) - Number(a.senior) : 0) ||
      Number(b.role === 'engineer') - Number(a.role === 'engineer') ||
      a.openTickets - b.openTickets ||
      a.name.localeCompare(b.name),
  );
  return {
    items: sorted.map((u) => ({ ...u, suggested: missionCritical ? u.senior : u.role === 'engineer', current: u.id === ticket.assigneeId })),
  };
}

// ---------------------------------------------------------------------------------------
// Opening by hand

export interface CreateTicketInput {
  applianceId: string;
  summary: string;
  description: string;
  priority?: Priority | undefined;
  source?: TicketSource | undefined;
  caseInfo?: CaseInfo | undefined;
}

/** A ticket opened by a person: customers for their own appliances from the portal, staff for any. */
export async function createTicket(db: Db, user: UserPrincipal, ctx: TicketContext, input: CreateTicketInput) {
  const customer = user.role === 'customer';
  if (!customer && !isStaff(user)) throw notFound('route');
  const source = input.source ?? 'portal';
  if (source === 'auto' || source === 'appliance') throw invalid('source must be portal, email, phone or chat', { field: 'source' });
  if (customer && source !== 'portal') throw invalid('customers open tickets from the portal', { field: 'source' });
  const row = await db.transaction(async (tx) => {
    const [appliance] = await tx
      .select()
      .from(appliances)
      .where(and(eq(appliances.id, input.applianceId), customerScope(user, appliances.customerId)))
      .limit(1);
    if (!appliance) throw notFound('appliance');
    const given = input.caseInfo ?? {};
    const caseInfo: CaseInfo = {
      ...given,
      serialNumber: given.serialNumber ?? appliance.serial,
      hardwareId: given.hardwareId ?? appliance.hardwareId,
      osVersion: given.osVersion ?? appliance.osVersion,
      hypervisorVersion: given.hypervisorVersion ?? appliance.hypervisorVersion,
    };
    const calendar = await loadCalendar(tx, ctx.replacementCutoff);
    return insertTicket(tx, calendar, {
      customerId: appliance.customerId,
      applianceId: appliance.id,
      priority: input.priority ?? 'P3',
      source,
      summary: input.summary,
      description: input.description,
      caseInfo,
      openedAt: ctx.now,
      openedBy: user.id,
    });
  });
  const calendar = await loadCalendar(db, ctx.replacementCutoff);
  return detailView(db, user, calendar, ctx.now, row);
}

// ---------------------------------------------------------------------------------------
// The lifecycle

export type ActionBody =
  | { action: 'acknowledge'; message?: string | undefined }
  | { action: 'assign'; assigneeId: string; reason?: string | undefined }
  | { action: 'comment'; body: string; public: boolean }
  | { action: 'request-info'; body: string }
  | { action: 'contact-attempt'; channel: string; note?: string | undefined }
  | { action: 'reply'; body: string }
  | { action: 'priority'; priority: Priority; reason?: string | undefined }
  | { action: 'diagnosis-complete'; note?: string | undefined }
  | { action: 'resolve'; resolution: string }
  | { action: 'confirm' }
  | { action: 'reject'; reason: string }
  | { action: 'close'; reason: 'closed_without_resolution'; note?: string | undefined }
  | { action: 'reopen'; reason: string }
  | { action: 'request-remote-access'; reason: string };

export interface ActionResult {
  ticket: TicketDetail;
  survey?: SurveyInvitation;
}

type TicketChanges = Partial<typeof tickets.$inferInsert>;

/**
 * Takes one lifecycle action on a ticket: checks the role and the status against the
 * transition table, applies the action's changes, records the timeline (actor, time, from,
 * to, reason), publishes `ticket.updated` and queues outbound webhooks, all in one
 * transaction on the locked ticket row.
 */
export async function performAction(db: Db, user: UserPrincipal, ctx: TicketContext, ticketId: string, input: ActionBody): Promise<ActionResult> {
  const { now } = ctx;
  const staff = isStaff(user);
  const { row, survey } = await db.transaction(async (tx) => {
    const ticket = await ticketInScope(tx, user, ticketId, true);
    const check = checkTransition(input.action, ticket.status, user.role);
    if (!check.ok) {
      if (check.reason === 'role') throw notFound('ticket');
      throw new DomainError('conflict', `cannot ${input.action} a ticket that is ${ticket.status}`, {
        status: ticket.status,
        action: input.action,
        allowedActions: check.allowedActions,
      });
    }
    const to = check.to;
    const calendar = await loadCalendar(tx, ctx.replacementCutoff);
    const changes: TicketChanges = {};
    let firstResponse = false;
    let change: string = input.action;
    let survey: SurveyInvitation | null = null;
    const webhookEvents: OutboundEvent['event'][] = ['ticket.updated'];
    const event = {
      at: now,
      actorId: user.id,
      type: input.action.replace(/-/g, '_'),
      fromStatus: ticket.status,
      toStatus: to,
      reason: null as string | null,
      body: null as string | null,
      public: true,
      data: {} as Record<string, unknown>,
    };

    switch (input.action) {
      case 'acknowledge':
        event.type = 'acknowledged';
        if (input.message) {
          event.body = input.message;
          firstResponse = true;
        }
        break;
      case 'assign': {
        const [assignee] = await tx
          .select({ id: users.id, role: users.role, name: users.name, senior: users.senior, disabledAt: users.disabledAt })
          .from(users)
          .where(eq(users.id, input.assigneeId))
          .limit(1);
        if (!assignee || assignee.disabledAt || (assignee.role !== 'engineer' && assignee.role !== 'admin')) {
          throw invalid('assigneeId must name an active engineer', { field: 'assigneeId' });
        }
        const reassignment = ticket.assigneeId !== null && ticket.assigneeId !== assignee.id;
        if (reassignment && !input.reason) throw invalid('a reassignment needs a reason', { field: 'reason' });
        changes.assigneeId = assignee.id;
        event.type = reassignment ? 'reassigned' : 'assigned';
        event.reason = input.reason ?? null;
        event.public = false;
        event.data = { fromAssigneeId: ticket.assigneeId, toAssigneeId: assignee.id, assigneeName: assignee.name, senior: assignee.senior };
        break;
      }
      case 'comment': {
        const isPublic = !staff || input.public;
        event.type = isPublic ? 'comment' : 'note';
        event.body = input.body;
        event.public = isPublic;
        firstResponse = staff && isPublic;
        break;
      }
      case 'request-info':
        event.type = 'info_requested';
        event.body = input.body;
        changes.waitingSince = now;
        firstResponse = true;
        break;
      case 'contact-attempt':
        event.type = 'contact_attempt';
        event.body = input.note ?? null;
        event.public = false;
        event.data = { channel: input.channel };
        break;
      case 'reply':
        event.type = 'customer_reply';
        event.body = input.body;
        changes.waitingSince = null;
        break;
      case 'priority': {
        if (input.priority !== ticket.priority && !input.reason) throw invalid('changing the priority needs a reason', { field: 'reason' });
        const due = responseDueAt(ticket.tier, input.priority, ticket.openedAt, calendar);
        const responded = ticket.firstResponseAt !== null;
        const breached = responded ? ticket.firstResponseAt! > due : now > due;
        const atRisk = !responded && !breached && isAtRisk(ticket.tier, input.priority, ticket.openedAt, due, now, calendar);
        Object.assign(changes, {
          priority: input.priority,
          priorityConfirmedAt: now,
          responseDueAt: due,
          breachedAt: breached ? (ticket.breachedAt ?? now) : null,
          atRiskAt: atRisk || breached ? (ticket.atRiskAt ?? now) : null,
        });
        event.type = input.priority === ticket.priority ? 'priority_confirmed' : 'priority_changed';
        event.reason = input.reason ?? null;
        event.data = { fromPriority: ticket.priority, toPriority: input.priority, proposedPriority: ticket.proposedPriority, responseDueAt: due.toISOString() };
        change = 'priority';
        await recordAudit(tx, user, now, {
          action: 'ticket.priority',
          targetType: 'ticket',
          targetId: ticket.id,
          customerId: ticket.customerId,
          details: { from: ticket.priority, to: input.priority, proposed: ticket.proposedPriority, reason: input.reason ?? null, responseDueAt: due.toISOString() },
        });
        break;
      }
      case 'diagnosis-complete': {
        if (ticket.diagnosedAt) throw conflict('diagnosis is already complete', { diagnosedAt: ticket.diagnosedAt.toISOString() });
        const due = replacementDueAt(ticket.tier, now, calendar);
        changes.diagnosedAt = now;
        changes.replacementDueAt = due;
        event.type = 'diagnosis_complete';
        event.body = input.note ?? null;
        event.data = { replacementDueAt: due.toISOString() };
        break;
      }
      case 'resolve':
        changes.resolution = input.resolution;
        changes.resolvedAt = now;
        changes.waitingSince = null;
        event.type = 'resolved';
        event.body = input.resolution;
        break;
      case 'confirm':
        changes.closedAt = now;
        changes.closeReason = 'resolution_confirmed';
        event.type = 'closed';
        event.reason = 'resolution_confirmed';
        webhookEvents.push('ticket.closed');
        break;
      case 'reject':
        changes.resolvedAt = null;
        event.type = 'resolution_rejected';
        event.reason = input.reason;
        break;
      case 'close':
        changes.closedAt = now;
        changes.closeReason = 'closed_without_resolution';
        changes.waitingSince = null;
        event.type = 'closed';
        event.reason = 'closed_without_resolution';
        event.body = input.note ?? null;
        webhookEvents.push('ticket.closed');
        break;
      case 'reopen':
        Object.assign(changes, { closedAt: null, closeReason: null, resolvedAt: null });
        event.type = 'reopened';
        event.reason = input.reason;
        break;
      case 'request-remote-access':
        changes.remoteAccessRequestedAt = now;
        event.type = 'remote_access_requested';
        event.reason = input.reason;
        event.body = `Remote access requested: ${input.reason}`;
        change = 'remote_access_requested';
        webhookEvents.push('ticket.remote_access_requested');
        break;
    }

    // The response target is met only by a public response from support, and only once.
    if (firstResponse && staff && ticket.firstResponseAt === null) {
      changes.firstResponseAt = now;
      event.data = { ...event.data, firstResponse: true };
    }
    changes.status = to;
    changes.updatedAt = now;
    const [updated] = await tx.update(tickets).set(changes).where(eq(tickets.id, ticket.id)).returning();
    await addTimelineEvent(tx, ticket.id, event);
    if (to === 'closed') survey = await createSurveyInvitation(tx, ticket.id, now, ctx.publicUrl);
    const live = liveTicket(updated!, change);
    await publishLive(tx, { type: 'ticket.updated', customerId: updated!.customerId, data: live });
    await enqueueWebhooks(
      tx,
      now,
      webhookEvents.map((e) => ({ event: e, customerId: updated!.customerId, payload: { ticket: live, change, reason: event.reason } })),
    );
    return { row: updated!, survey };
  });
  const calendar = await loadCalendar(db, ctx.replacementCutoff);
  const ticket = await detailView(db, user, calendar, now, row);
  return survey ? { ticket, survey } : { ticket };
}

