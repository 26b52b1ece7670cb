import { eq } from 'drizzle-orm';
import { rawQuery, type Db, type Tx } from '../../../drizzle/client.ts';
import { tickets, type Priority } from '../../../drizzle/schema/index.ts';
import { publishLive, type LiveTicket } from '../../live/events.ts';
import { enqueueWebhooks } from '../webhooks.ts';
import {
  isBusinessTime,
  ticketIsAtRisk,
  ticketRemainingSeconds,
  ticketResponseClock,
  ticketResponseDueAt,
  type SlaCalendar,
} from '../../sla/index.ts';
import { clockFacts } from './off-hours.ts';

export type TicketRow = typeof tickets.$inferSelect;

export interface TimelineEntry {
  at: Date;
  actorId: string | null;
  type: string;
  fromStatus?: string | null;
  toStatus?: string | null;
  reason?: string | null;
  body?: string | null;
  public?: boolean;
  data?: Record<string, unknown>;
}

/** Appends to a ticket's timeline (its audit trail): every transition, comment and change. */
export async function addTimelineEvent(tx: Db | Tx, ticketId: string, entry: TimelineEntry): Promise<void> {
  // Raw SQL: every alert joining a ticket writes one, and building the insert cost more than running it.
  await rawQuery(
    tx,
    `insert into ticket_events (ticket_id, at, actor_id, type, from_status, to_status, reason, body, public, data)
     values ($1::text::uuid, $2::text::timestamptz, $3::text::uuid, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text::boolean, $10::text::jsonb)`,
    [
      ticketId,
      entry.at.toISOString(),
      entry.actorId,
      entry.type,
      entry.fromStatus ?? null,
      entry.toStatus ?? null,
      entry.reason ?? null,
      entry.body ?? null,
      String(entry.public ?? false),
      JSON.stringify(entry.data ?? {}),
    ],
  );
}

export function liveTicket(row: TicketRow, change?: string): LiveTicket {
  return {
    id: row.id,
    number: row.number,
    customerId: row.customerId,
    applianceId: row.applianceId,
    priority: row.priority,
    status: row.status,
    source: row.source,
    summary: row.summary,
    tier: row.tier,
    openedAt: row.openedAt.toISOString(),
    responseDueAt: row.responseDueAt.toISOString(),
    ...(change ? { change } : {}),
  };
}

/** The `sla` block of a ticket (SPEC §5.2), as of `now`. */
export function slaView(row: TicketRow, calendar: SlaCalendar, now: Date) {
  const responded = row.firstResponseAt !== null;
  const until = row.firstResponseAt ?? now;
  // The ticket's own clock: 24/7 from the consent once off-hours handling was accepted.
  const facts = clockFacts(row);
  const remaining = ticketRemainingSeconds(facts, row.responseDueAt, until, calendar);
  const open = row.status !== 'resolved' && row.status !== 'closed';
  const { clock } = ticketResponseClock(facts);
  return {
    responseDueAt: row.responseDueAt.toISOString(),
    firstResponseAt: row.firstResponseAt?.toISOString() ?? null,
    // A recorded outcome is history (SPEC §2.4); before the response, a passed target is a miss.
    breached: row.responseOutcome ? row.responseOutcome === 'missed' : row.breachedAt !== null || now > row.responseDueAt,
    outcome: row.responseOutcome
      ? { result: row.responseOutcome, dueAt: row.responseOutcomeDueAt?.toISOString() ?? null, missedBySeconds: row.responseMissedBySeconds }
      : null,
    remainingSeconds: Math.round(remaining),
    replacementDueAt: row.replacementDueAt?.toISOString() ?? null,
    atRisk: !responded && open && ticketIsAtRisk(facts, row.responseDueAt, now, calendar),
    // Whether the response clock is ticking right now (business-hours clocks pause when closed).
    clockRunning: !responded && open && (clock === 'elapsed' || isBusinessTime(now, calendar)),
  };
}

/** The list shape of a ticket (SPEC §5.2: lists may omit alerts, candidates and timeline). */
export function ticketSummaryView(row: TicketRow, calendar: SlaCalendar, now: Date) {
  return {
    id: row.id,
    number: row.number,
    customerId: row.customerId,
    applianceId: row.applianceId,
    tier: row.tier,
    priority: row.priority,
    proposedPriority: row.proposedPriority,
    status: row.status,
    source: row.source,
    summary: row.summary,
    description: row.description,
    openedAt: row.openedAt.toISOString(),
    assigneeId: row.assigneeId,
    caseInfo: row.caseInfo,
    closeReason: row.closeReason,
    suggestedResolution: row.suggestedResolution,
    allAlertsClearedAt: row.allAlertsClearedAt?.toISOString() ?? null,
    sla: slaView(row, calendar, now),
  };
}

/**
 * Raises a ticket's priority when a worse alert joins it (never lowers it): the response
 * target is recomputed from the original opening time (SPEC §2.2). Returns the updated row,
 * or null when the ticket already had that priority or a higher one. The support calendar is
 * read only when the target is recomputed.
 */
export async function raisePriority(
  tx: Db | Tx,
  calendar: () => Promise<SlaCalendar>,
  ticket: TicketRow,
  priority: Priority,
  at: Date,
  reason: string,
): Promise<TicketRow | null> {
  if (priority >= ticket.priority) return null;
  const support = await calendar();
  const [row] = await tx
    .update(tickets)
    .set({
      priority,
      proposedPriority: priority,
      responseDueAt: ticketResponseDueAt(clockFacts(ticket, priority), support),
      updatedAt: at,
    })
    .where(eq(tickets.id, ticket.id))
    .returning();
  if (!row) return null;
  await addTimelineEvent(tx, ticket.id, {
    at,
    actorId: null,
    type: 'priority_raised',
    reason,
    public: true,
    data: { from: ticket.priority, to: priority },
  });
  const live = liveTicket(row, 'priority');
  await publishLive(tx, { type: 'ticket.updated', customerId: row.customerId, data: live });
  await enqueueWebhooks(tx, at, [{ event: 'ticket.updated', customerId: row.customerId, payload: { ticket: live, change: 'priority', reason } }]);
  return row;
}
