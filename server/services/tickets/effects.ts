import { eq } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { replacementDispatches, tickets } from '../../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { publishLive } from '../../live/events.ts';
import { recordAudit } from '../audit.ts';
import { notifyTicket, ticketFacts } from '../notifications/outbox.ts';
import { enqueueWebhooks, type OutboundEvent } from '../webhooks.ts';
import { addTimelineEvent, liveTicket, type TicketRow, type TimelineEntry } from './core.ts';
import { createSurveyInvitation, type SurveyInvitation } from './surveys.ts';
import type { DispatchNotice } from '../notifications/templates.ts';

// Lifecycle effects as data (STYLE "Lifecycle effects as data"): an action, the opening of a
// ticket and the scheduler each return what should happen — the row's changes and a list of
// effects — and `applyTicketOutcome` is the one place that writes them, in the caller's
// transaction, in order.

export type TicketChanges = Partial<typeof tickets.$inferInsert>;

/** The messages a ticket sends to people (rendered and delivered by the notification outbox). */
export const notificationKinds = [
  'ticket.received',
  'engineer.message',
  'info.requested',
  'resolution.proposed',
  'waiting.reminder',
  'ticket.closed',
  'remote_access.requested',
  'assigned',
  'customer.replied',
  'close.proposed',
  'replacement.dispatched',
  'offhours.question',
] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/**
 * Who a notification is for: `requester` is the customer's side of the ticket (the user who
 * opened it, else the customer's contacts); `assignee` the engineer owning it (else the support
 * queue); `support` the support queue.
 */
export type NotificationRecipients = 'requester' | 'assignee' | 'support';

export interface NotificationEffect {
  kind: 'notification';
  ticketId: string;
  message: NotificationKind;
  recipients: NotificationRecipients;
  /** The user whose action caused it (null for the system); never notified of their own act. */
  actorId: string | null;
  /** Text the message quotes (a comment, the information requested, the resolution). */
  body?: string | null;
  /** Only on `ticket.closed` to the requester: the survey link (SPEC §2.4 survey integrity). */
  surveyUrl?: string;
  /** Only on `replacement.dispatched`: how the part comes, where and when. */
  dispatch?: DispatchNotice;
  /** Only on `offhours.question`: when the question lapses (the next opening of business hours). */
  expiresAt?: string;
}

/** A replacement's dispatch as stored (the ticket and customer come from the ticket). */
export type DispatchRecord = Omit<typeof replacementDispatches.$inferInsert, 'ticketId' | 'customerId' | 'id' | 'dispatchedBy'>;

export type TicketEffect =
  | { kind: 'timeline'; entry: TimelineEntry }
  | { kind: 'live'; event: 'ticket.opened' | 'ticket.updated'; change?: string }
  | { kind: 'webhook'; event: OutboundEvent['event']; change?: string; reason?: string | null }
  | NotificationEffect
  | { kind: 'audit'; action: string; details: Record<string, unknown> }
  /** Closing creates the ticket's one survey invitation; its link goes to the requester only. */
  | { kind: 'survey' }
  /** A hardware replacement sent out (one per ticket), recorded by the acting user. */
  | { kind: 'dispatch'; record: DispatchRecord };

export interface TicketOutcome {
  changes: TicketChanges;
  effects: TicketEffect[];
}

export interface AppliedOutcome {
  row: TicketRow;
  survey: SurveyInvitation | null;
  /** The notifications applied, for the caller's log and for tests. */
  notifications: NotificationEffect[];
}

/**
 * Where notification effects are applied: the outbox (SPEC §8) plans the recipients and
 * enqueues the messages in the same transaction, so a message goes out exactly when the change
 * it announces commits. `ticket` is the row after the change (its assignee, priority, target).
 * A proposal to close without resolution reaches the other party as a message of theirs.
 */
export async function applyNotification(tx: Db | Tx, ticket: TicketRow, effect: NotificationEffect, at: Date, actor: UserPrincipal | null): Promise<void> {
  const kind =
    effect.message === 'close.proposed' ? (effect.recipients === 'requester' ? 'engineer.message' : 'customer.replied') : effect.message;
  await notifyTicket(tx, ticketFacts(ticket), {
    kind,
    at,
    // The closing message carries the survey link: it reaches the requester even when they
    // closed the ticket themselves (by confirming the resolution).
    actorId: kind === 'ticket.closed' ? null : effect.actorId,
    actorName: actor?.name ?? null,
    body: effect.body ?? null,
    surveyUrl: effect.surveyUrl ?? null,
    ...(effect.dispatch ? { dispatch: effect.dispatch } : {}),
    expiresAt: effect.expiresAt ?? null,
    ...(kind === 'assigned' ? { assigneeId: ticket.assigneeId } : {}),
    ...(kind === 'waiting.reminder' && ticket.waitingSince ? { onceKey: `waiting.reminder:${ticket.id}:${ticket.waitingSince.toISOString()}` } : {}),
  });
}

/**
 * Applies an outcome to a ticket inside the caller's transaction: updates the row with the
 * changes (when there are any), then applies each effect in order — timeline entries, the
 * survey invitation, live events and webhooks (with the updated ticket), notifications and
 * audit records. `actor` is null for the system (engine, scheduler).
 */
export async function applyTicketOutcome(
  tx: Db | Tx,
  ticket: TicketRow,
  outcome: TicketOutcome,
  at: Date,
  actor: UserPrincipal | null,
  publicUrl?: string,
): Promise<AppliedOutcome> {
  let row = ticket;
  if (Object.keys(outcome.changes).length > 0) {
    const [updated] = await tx
      .update(tickets)
      .set({ ...outcome.changes, updatedAt: at })
      .where(eq(tickets.id, ticket.id))
      .returning();
    row = updated!;
  }
  let survey: SurveyInvitation | null = null;
  const notifications: NotificationEffect[] = [];
  const webhooks: OutboundEvent[] = [];
  for (const effect of outcome.effects) {
    switch (effect.kind) {
      case 'timeline':
        await addTimelineEvent(tx, row.id, effect.entry);
        break;
      case 'survey':
        survey = await createSurveyInvitation(tx, row.id, at, publicUrl);
        break;
      case 'dispatch':
        await tx.insert(replacementDispatches).values({ ...effect.record, ticketId: row.id, customerId: row.customerId, dispatchedBy: actor?.id ?? null });
        break;
      case 'live':
        await publishLive(tx, { type: effect.event, customerId: row.customerId, data: liveTicket(row, effect.change) });
        break;
      case 'webhook': {
        const live = liveTicket(row, effect.change);
        webhooks.push({
          event: effect.event,
          customerId: row.customerId,
          payload: effect.event === 'ticket.opened' ? { ticket: live } : { ticket: live, change: effect.change, reason: effect.reason ?? null },
        });
        break;
      }
      case 'notification':
        notifications.push(effect);
        break;
      case 'audit':
        await recordAudit(tx, actor, at, { action: effect.action, targetType: 'ticket', targetId: row.id, customerId: row.customerId, details: effect.details });
        break;
    }
  }
  if (webhooks.length) await enqueueWebhooks(tx, at, webhooks);
  // The closing message to the requester carries the survey link, and no other message does.
  const link = survey?.url;
  const applied = notifications.map((n) => (link && n.message === 'ticket.closed' && n.recipients === 'requester' ? { ...n, surveyUrl: link } : n));
  for (const n of applied) await applyNotification(tx, row, n, at, actor);
  return { row, survey, notifications: applied };
}
