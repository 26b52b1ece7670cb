import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import {
  alerts,
  appliances,
  attachments,
  replacementDispatches,
  sites,
  ticketEvents,
  tickets,
  users,
  workLogs,
  type Priority,
  type TicketSource,
  type TicketStatus,
  type Tier,
} from '../../../drizzle/schema/index.ts';
import type { CaseInfo } from '../../../drizzle/schema/tickets.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { customerScope, isStaff } from '../../auth/scope.ts';
import { DomainError, invalid, notFound } from '../../lib/errors.ts';
import type { SlaCalendar } from '../../sla/index.ts';
import { loadCalendar } from '../calendar.ts';
import { alertView } from '../alerts.ts';
import { candidateViews, listCandidates } from '../rca/index.ts';
import { planAction, type ActionBody } from './actions.ts';
import { ticketSummaryView, type TicketRow } from './core.ts';
import { applyTicketOutcome, type NotificationEffect, type TicketOutcome } from './effects.ts';
import { allowedActions, checkTransition, type TicketAction } from './lifecycle.ts';
import { openTicket, type OpenTicketPorts } from './open.ts';
import { surveyForViewer } from './surveys.ts';
import { replacementView } from './replacement.ts';
import { offHoursView } from './off-hours.ts';
import { billableMinutesOf, planWorkLog, workLogView, type WorkLogInput } from './work-log.ts';

/** What ticket operations need besides the database: the instant and two settings. */
export interface TicketContext {
  now: Date;
  replacementCutoff: string;
  publicUrl?: string | undefined;
  ticketsOpened: OpenTicketPorts['ticketsOpened'];
}

const closedStatuses: TicketStatus[] = ['resolved', 'closed'];
const caseInfoKeys = ['serialNumber', 'hardwareId', 'osVersion', 'hypervisorVersion', 'unavailableSince', 'reproducible', 'stepsTaken'] as const;

/** The case-information checklist: what the ticket still lacks (SPEC §2.4). */
export function missingCaseInfo(info: CaseInfo): string[] {
  return caseInfoKeys.filter((k) => info[k] === undefined || info[k] === null || info[k] === '');
}

/** The ticket if the user's scope holds it (locked for update when asked), else 404. */
export async function ticketInScope(db: Db | Tx, user: UserPrincipal, id: string, lock = false): Promise<TicketRow> {
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
  /** How the ticket was opened (SPEC §2.4: the guide's channels plus `auto` and `appliance`). */
  source?: TicketSource | undefined;
  open?: boolean | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * The queue's position of a ticket: its group (0 open and unanswered, 1 open and answered,
 * 2 resolved or closed), a sort instant in epoch milliseconds (the response due instant for
 * open tickets, minus the opening instant for the rest so the newest come first), the
 * priority and the number. Tuples compare in this order.
 */
type QueueKey = [group: number, instant: number, priority: string, number: number];

function decodeQueueCursor(cursor: string | undefined): QueueKey | null {
  if (!cursor) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('cursor is not valid', { field: 'cursor' });
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === 4 &&
    Number.isInteger(parsed[0]) &&
    Number.isFinite(parsed[1]) &&
    typeof parsed[2] === 'string' &&
    /^P[1-4]$/.test(parsed[2]) &&
    Number.isSafeInteger(parsed[3]);
  if (!ok) throw invalid('cursor is not valid', { field: 'cursor' });
  return parsed as QueueKey;
}

const encodeQueueCursor = (key: QueueKey) => Buffer.from(JSON.stringify(key)).toString('base64url');

const queueGroup = sql<number>`(case when ${tickets.status} in ('resolved', 'closed') then 2 when ${tickets.firstResponseAt} is null then 0 else 1 end)`;
const queueInstant = sql<number>`(case when ${tickets.status} in ('resolved', 'closed')
  then -floor(extract(epoch from ${tickets.openedAt}) * 1000) else floor(extract(epoch from ${tickets.responseDueAt}) * 1000) end)::float8`;

/**
 * The queue, keyset-paged in the database (SPEC §2.4 queue order): open tickets still waiting
 * for their first response by due instant — so a business-hours target due tonight comes
 * before a 24/7 one due Monday — then priority; then answered open tickets the same way; then
 * resolved and closed ones, newest first. The cursor is the last row's queue key.
 */
export async function listTickets(db: Db, user: UserPrincipal, calendar: SlaCalendar, now: Date, filter: TicketFilter) {
  const after = decodeQueueCursor(filter.cursor);
  const rows = await db
    .select({ ticket: tickets, group: queueGroup, instant: queueInstant })
    .from(tickets)
    .where(
      and(
        customerScope(user, tickets.customerId),
        filter.status ? eq(tickets.status, filter.status) : undefined,
        filter.priority ? eq(tickets.priority, filter.priority) : undefined,
        filter.customerId ? eq(tickets.customerId, filter.customerId) : undefined,
        filter.applianceId ? eq(tickets.applianceId, filter.applianceId) : undefined,
        filter.assigneeId ? eq(tickets.assigneeId, filter.assigneeId) : undefined,
        filter.tier ? eq(tickets.tier, filter.tier) : undefined,
        filter.source ? eq(tickets.source, filter.source) : undefined,
        filter.open === true ? sql`${tickets.status} not in ('resolved', 'closed')` : filter.open === false ? inArray(tickets.status, closedStatuses) : undefined,
        after ? sql`(${queueGroup}, ${queueInstant}, ${tickets.priority}, ${tickets.number}) > (${after[0]}::int, ${after[1]}::float8, ${after[2]}::text, ${after[3]}::bigint)` : undefined,
      ),
    )
    .orderBy(queueGroup, queueInstant, asc(tickets.priority), asc(tickets.number))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const items = page.map((r) => ticketSummaryView(r.ticket, calendar, now));
  const last = page.at(-1);
  return rows.length > filter.limit && last
    ? { items, nextCursor: encodeQueueCursor([Number(last.group), Number(last.instant), last.ticket.priority, last.ticket.number]) }
    : { items };
}

export async function getTicketDetail(db: Db, user: UserPrincipal, calendar: SlaCalendar, now: Date, id: string, publicUrl?: string) {
  const row = await ticketInScope(db, user, id);
  return detailView(db, user, calendar, now, row, publicUrl);
}

async function detailView(db: Db | Tx, user: UserPrincipal, calendar: SlaCalendar, now: Date, row: TicketRow, publicUrl?: string) {
  const staff = isStaff(user);
  const [alertRows, candidates, timeline, files, survey, dispatches] = await Promise.all([
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
    surveyForViewer(db, row.id, user.role, publicUrl),
    row.replacementDispatchedAt ? db.select().from(replacementDispatches).where(eq(replacementDispatches.ticketId, row.id)).limit(1) : Promise.resolve([]),
  ]);
  const billable = row.offHoursAskedAt ? await billableMinutesOf(db, row.id) : 0;
  return {
    ...ticketSummaryView(row, calendar, now),
    resolution: row.resolution,
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    closedAt: row.closedAt?.toISOString() ?? null,
    diagnosedAt: row.diagnosedAt?.toISOString() ?? null,
    waitingSince: row.waitingSince?.toISOString() ?? null,
    remoteAccessRequestedAt: row.remoteAccessRequestedAt?.toISOString() ?? null,
    waitingReminderAt: row.waitingReminderAt?.toISOString() ?? null,
    closeProposedAt: row.closeProposedAt?.toISOString() ?? null,
    replacement: replacementView(row, dispatches[0] ?? null, now, calendar),
    missingCaseInfo: missingCaseInfo(row.caseInfo),
    allowedActions: allowedActions({ ...row, now }, user.role),
    // The off-hours question and its answer (null when never asked), with billable minutes logged.
    offHours: offHoursView(row, billable, now),
    // Only on the customer's own view: the link while unanswered (SPEC §2.4 survey integrity).
    ...(survey ? { survey } : {}),
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
      .select({ id: appliances.id })
      .from(appliances)
      .where(and(eq(appliances.id, input.applianceId), customerScope(user, appliances.customerId)))
      .limit(1);
    if (!appliance) throw notFound('appliance');
    const calendar = await loadCalendar(tx, ctx.replacementCutoff);
    const given = input.caseInfo ?? {};
    const opened = await openTicket(
      tx,
      { receivedAt: ctx.now, calendar, ticketsOpened: ctx.ticketsOpened, publicUrl: ctx.publicUrl },
      {
        source,
        applianceId: appliance.id,
        priority: input.priority ?? 'P3',
        summary: input.summary,
        description: input.description,
        caseInfo: given,
        openedBy: user.id,
      },
    );
    return opened.row;
  });
  const calendar = await loadCalendar(db, ctx.replacementCutoff);
  return detailView(db, user, calendar, ctx.now, row, ctx.publicUrl);
}

// ---------------------------------------------------------------------------------------
// The lifecycle

export type { ActionBody } from './actions.ts';

export interface ActionResult {
  ticket: TicketDetail;
  /** The notifications the action applied (the outbox sends them). */
  notifications: NotificationEffect[];
}

/** 403 `forbidden_action`: the caller sees the ticket but may not take this action now (SPEC §2.4). */
function forbiddenAction(action: TicketAction, ticket: TicketRow, allowed: TicketAction[]): DomainError {
  const message =
    action === 'off-hours'
      ? 'the off-hours question is not open on this ticket: never asked, already answered, or business hours have begun'
      : `you cannot ${action} this ticket while it is ${ticket.status}`;
  return new DomainError('forbidden_action', message, {
    status: ticket.status,
    action,
    allowedActions: allowed,
  });
}

/**
 * Takes one lifecycle action on a ticket: the lifecycle table decides (403 `forbidden_action`
 * with the allowed actions when it says no), `planAction` returns the changes and effects, and
 * `applyTicketOutcome` writes them — all in one transaction on the locked ticket row.
 */
export async function performAction(db: Db, user: UserPrincipal, ctx: TicketContext, ticketId: string, input: ActionBody): Promise<ActionResult> {
  const applied = await db.transaction((tx) => applyActionIn(tx, user, ctx, ticketId, input));
  const calendar = await loadCalendar(db, ctx.replacementCutoff);
  const ticket = await detailView(db, user, calendar, ctx.now, applied.row, ctx.publicUrl);
  return { ticket, notifications: applied.notifications };
}

/**
 * The lifecycle action inside the caller's transaction — for callers that must commit it
 * together with their own record (an inbound e-mail and the row that says it was applied, so
 * a message fed twice is applied once). Same checks and effects as `performAction`.
 *
 * @throws DomainError not_found (ticket out of the user's scope), forbidden_action (403).
 */
export async function applyActionIn(tx: Tx, user: UserPrincipal, ctx: TicketContext, ticketId: string, input: ActionBody) {
  const { now } = ctx;
  const ticket = await ticketInScope(tx, user, ticketId, true);
  const check = checkTransition(input.action, { ...ticket, now }, user.role);
  if (!check.ok) throw forbiddenAction(input.action, ticket, check.allowedActions);
  const calendar = await loadCalendar(tx, ctx.replacementCutoff);
  const assignee =
    input.action === 'assign'
      ? ((
          await tx
            .select({ id: users.id, role: users.role, name: users.name, senior: users.senior, disabledAt: users.disabledAt })
            .from(users)
            .where(eq(users.id, input.assigneeId))
            .limit(1)
        )[0] ?? null)
      : null;
  // A dispatch goes to a site of the ticket's own customer: any other site does not exist here.
  const site =
    input.action === 'dispatch'
      ? ((await tx.select().from(sites).where(and(eq(sites.id, input.siteId), eq(sites.customerId, ticket.customerId))).limit(1))[0] ?? null)
      : null;
  if (input.action === 'dispatch' && !site) throw notFound('site');
  const fieldEngineer =
    input.action === 'dispatch' && input.kind === 'field_engineer' && input.engineerUserId
      ? ((
          await tx
            .select({ id: users.id, role: users.role, name: users.name, disabledAt: users.disabledAt })
            .from(users)
            .where(eq(users.id, input.engineerUserId))
            .limit(1)
        )[0] ?? null)
      : null;
  const outcome = planAction(ticket, check.to, input, { id: user.id, staff: isStaff(user) }, now, { calendar, assignee, site, fieldEngineer });
  return applyTicketOutcome(tx, ticket, outcome, now, user, ctx.publicUrl);
}

export interface CaseInfoPatch {
  caseInfo: CaseInfo;
}

/**
 * Edits a ticket's case information (SPEC §2.4): the customer and engineers, on any ticket not
 * closed. Given keys replace, `null` clears, absent keys stay. Audited with before and after;
 * a public timeline entry lists the fields changed. A patch that changes nothing writes nothing.
 */
export async function updateCaseInfo(db: Db, user: UserPrincipal, ctx: TicketContext, ticketId: string, patch: CaseInfoPatch) {
  const { now } = ctx;
  const row = await db.transaction(async (tx) => {
    const ticket = await ticketInScope(tx, user, ticketId, true);
    if (!(isStaff(user) || user.role === 'customer')) throw forbiddenAction('comment', ticket, allowedActions(ticket, user.role));
    if (ticket.status === 'closed') throw new DomainError('forbidden_action', 'a closed ticket’s case information is final; reopen it first', { status: ticket.status, allowedActions: allowedActions(ticket, user.role) });
    const before = ticket.caseInfo;
    const after: CaseInfo = { ...before, ...patch.caseInfo };
    const changed = caseInfoKeys.filter((k) => k in patch.caseInfo && JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null));
    if (changed.length === 0) return ticket;
    const outcome: TicketOutcome = {
      changes: { caseInfo: after },
      effects: [
        { kind: 'timeline', entry: { at: now, actorId: user.id, type: 'case_info_updated', public: true, data: { fields: changed } } },
        { kind: 'audit', action: 'ticket.case_info', details: { fields: changed, before: pick(before, changed), after: pick(after, changed) } },
        { kind: 'live', event: 'ticket.updated', change: 'case_info' },
        { kind: 'webhook', event: 'ticket.updated', change: 'case_info' },
      ],
    };
    return (await applyTicketOutcome(tx, ticket, outcome, now, user, ctx.publicUrl)).row;
  });
  const calendar = await loadCalendar(db, ctx.replacementCutoff);
  return detailView(db, user, calendar, now, row, ctx.publicUrl);
}

function pick(info: CaseInfo, keys: readonly (keyof CaseInfo)[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, info[k] ?? null]));
}

// ---------------------------------------------------------------------------------------
// Work log (billable off-hours time)

/**
 * Logs engineer work time on a ticket (staff only; customers and others get 404 as for any
 * staff route): the entry, its billable off-hours minutes (outside business hours after an
 * accepted off-hours request), an internal timeline entry — in one transaction. Returns the
 * ticket's whole work log with totals. 400 when the work does not lie between opening and now.
 */
export async function addWorkLog(db: Db, user: UserPrincipal, ctx: TicketContext, ticketId: string, input: WorkLogInput) {
  if (!isStaff(user)) throw notFound('route');
  return db.transaction(async (tx) => {
    const ticket = await ticketInScope(tx, user, ticketId, true);
    const calendar = await loadCalendar(tx, ctx.replacementCutoff);
    const planned = planWorkLog(ticket, input, user.id, ctx.now, calendar);
    await tx.insert(workLogs).values(planned.row);
    await applyTicketOutcome(tx, ticket, planned.outcome, ctx.now, user, ctx.publicUrl);
    return workLogView(tx, ticket.id);
  });
}

/** A ticket's work log with totals, for staff (404 for anyone else, as for a staff-only route). */
export async function listWorkLog(db: Db, user: UserPrincipal, ticketId: string) {
  if (!isStaff(user)) throw notFound('route');
  const ticket = await ticketInScope(db, user, ticketId);
  return workLogView(db, ticket.id);
}
