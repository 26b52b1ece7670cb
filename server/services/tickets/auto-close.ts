import { and, eq, isNull, lte, sql } from 'drizzle-orm';
import type { Db } from '../../../drizzle/client.ts';
import { ticketEvents, tickets } from '../../../drizzle/schema/index.ts';
import type { TicketRow } from './core.ts';
import { applyTicketOutcome, type NotificationEffect, type TicketOutcome } from './effects.ts';

export const AUTO_CLOSE_AFTER_MS = 5 * 24 * 3600_000;
export const WAITING_REMINDER_AFTER_MS = 3 * 24 * 3600_000;
export const AUTO_CLOSE_MIN_CONTACT_ATTEMPTS = 2;

/** The scheduler's close of a ticket the customer did not answer (SPEC §2.4), as data. */
export function planAutoClose(ticket: TicketRow, now: Date): TicketOutcome {
  return {
    changes: { status: 'closed', closedAt: now, closeReason: 'no_customer_response', waitingSince: null, waitingReminderAt: null },
    effects: [
      {
        kind: 'timeline',
        entry: {
          at: now,
          actorId: null,
          type: 'closed',
          fromStatus: 'waiting_on_customer',
          toStatus: 'closed',
          reason: 'no_customer_response',
          public: true,
          body: 'Closed after 5 days without an answer to our requests for information.',
        },
      },
      { kind: 'survey' },
      { kind: 'notification', ticketId: ticket.id, message: 'ticket.closed', recipients: 'requester', actorId: null, body: 'no_customer_response' },
      { kind: 'live', event: 'ticket.updated', change: 'closed' },
      { kind: 'webhook', event: 'ticket.updated', change: 'closed', reason: 'no_customer_response' },
      { kind: 'webhook', event: 'ticket.closed', change: 'closed', reason: 'no_customer_response' },
    ],
  };
}

/** The day-3 reminder to the customer of a waiting ticket (SPEC §2.4), as data. */
export function planWaitingReminder(ticket: TicketRow, now: Date): TicketOutcome {
  return {
    changes: { waitingReminderAt: now },
    effects: [
      {
        kind: 'timeline',
        entry: { at: now, actorId: null, type: 'waiting_reminder', public: true, body: 'Reminder: we are waiting for your answer to continue.' },
      },
      { kind: 'notification', ticketId: ticket.id, message: 'waiting.reminder', recipients: 'requester', actorId: null },
    ],
  };
}

/**
 * The waiting-on-customer scheduler: reminds the customer once after 3 days of waiting, and
 * closes tickets left waiting 5 days with at least 2 contact attempts logged since waiting
 * began (SPEC §2.4), reason `no_customer_response`, each with its survey invitation. Any
 * answer from the customer ends the waiting period (`waitingSince` cleared, the ticket back in
 * progress), so it restarts the count. Rows are taken with `for update skip locked` and the
 * conditions re-read, so a ticket answered meanwhile or handled by another process is left alone.
 */
export async function autoCloseWaitingTickets(
  db: Db,
  now: Date,
  publicUrl?: string,
): Promise<{ closed: number; reminded: number; notifications: NotificationEffect[] }> {
  const closeBefore = new Date(now.getTime() - AUTO_CLOSE_AFTER_MS);
  const remindBefore = new Date(now.getTime() - WAITING_REMINDER_AFTER_MS);
  return db.transaction(async (tx) => {
    const waiting = eq(tickets.status, 'waiting_on_customer');
    const toClose = await tx
      .select()
      .from(tickets)
      .where(
        and(
          waiting,
          lte(tickets.waitingSince, closeBefore),
          sql`(select count(*) from ${ticketEvents} e
                where e.ticket_id = ${tickets.id} and e.type = 'contact_attempt' and e.at >= ${tickets.waitingSince}) >= ${AUTO_CLOSE_MIN_CONTACT_ATTEMPTS}`,
        ),
      )
      .for('update', { skipLocked: true });
    const notifications: NotificationEffect[] = [];
    for (const row of toClose) notifications.push(...(await applyTicketOutcome(tx, row, planAutoClose(row, now), now, null, publicUrl)).notifications);
    const closedIds = new Set(toClose.map((r) => r.id));
    const toRemind = (
      await tx
        .select()
        .from(tickets)
        .where(and(waiting, lte(tickets.waitingSince, remindBefore), isNull(tickets.waitingReminderAt)))
        .for('update', { skipLocked: true })
    ).filter((r) => !closedIds.has(r.id));
    for (const row of toRemind) notifications.push(...(await applyTicketOutcome(tx, row, planWaitingReminder(row, now), now, null, publicUrl)).notifications);
    return { closed: toClose.length, reminded: toRemind.length, notifications };
  });
}
