import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../../../drizzle/client.ts';
import { tickets } from '../../../drizzle/schema/index.ts';
import { addTimelineEvent } from '../tickets/core.ts';
import { notifyTicket, ticketFacts } from './outbox.ts';

/** A Mission Critical P1 still `new` this long after opening goes to the seniors (SPEC §8). */
export const UNACKNOWLEDGED_AFTER_MS = 10 * 60_000;
/** The customer is reminded after this long in `waiting_on_customer` (SPEC §2.4). */
export const WAITING_REMINDER_AFTER_MS = 3 * 24 * 3600_000;

/**
 * Escalations and reminders by time, once each: a Mission Critical P1 not acknowledged within
 * 10 minutes → the seniors (timeline `escalated`); a ticket waiting on the customer for 3 days
 * → the customer (timeline `waiting_reminder`, once per waiting period). The timeline entry
 * written in the same transaction is what makes a second run (or a second process) skip it.
 */
export async function runTimedNotifications(db: Db, now: Date): Promise<{ escalated: number; reminded: number }> {
  return db.transaction(async (tx) => {
    const unacknowledged = await tx
      .select()
      .from(tickets)
      .where(
        and(
          eq(tickets.tier, 'mission_critical'),
          eq(tickets.priority, 'P1'),
          eq(tickets.status, 'new'),
          lte(tickets.openedAt, new Date(now.getTime() - UNACKNOWLEDGED_AFTER_MS)),
          sql`not exists (select 1 from ticket_events e where e.ticket_id = ${tickets.id} and e.type = 'escalated')`,
        ),
      )
      .for('update', { skipLocked: true });
    for (const row of unacknowledged) {
      await addTimelineEvent(tx, row.id, { at: now, actorId: null, type: 'escalated', public: false, reason: 'not acknowledged within 10 minutes', data: { to: 'seniors' } });
      await notifyTicket(tx, ticketFacts(row), { kind: 'unacknowledged', at: now, onceKey: `unacknowledged:${row.id}` });
    }
    const waiting = await tx
      .select()
      .from(tickets)
      .where(
        and(
          eq(tickets.status, 'waiting_on_customer'),
          lte(tickets.waitingSince, new Date(now.getTime() - WAITING_REMINDER_AFTER_MS)),
          sql`not exists (select 1 from ticket_events e where e.ticket_id = ${tickets.id} and e.type = 'waiting_reminder' and e.at >= ${tickets.waitingSince})`,
        ),
      )
      .for('update', { skipLocked: true });
    for (const row of waiting) {
      await addTimelineEvent(tx, row.id, { at: now, actorId: null, type: 'waiting_reminder', public: true, body: 'Reminder sent: we are waiting for information from you.' });
      await notifyTicket(tx, ticketFacts(row), { kind: 'waiting.reminder', at: now, onceKey: `waiting.reminder:${row.id}:${row.waitingSince!.toISOString()}` });
    }
    return { escalated: unacknowledged.length, reminded: waiting.length };
  });
}
