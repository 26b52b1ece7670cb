import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../../../drizzle/client.ts';
import { tickets } from '../../../drizzle/schema/index.ts';
import { addTimelineEvent } from '../tickets/core.ts';
import { notifyTicket, ticketFacts } from './outbox.ts';

/** A Mission Critical P1 still `new` this long after opening goes to the seniors (SPEC §8). */
export const UNACKNOWLEDGED_AFTER_MS = 10 * 60_000;

/**
 * Escalation by time, once: a Mission Critical P1 not acknowledged within 10 minutes → the
 * seniors (timeline `escalated`; SPEC §8). The timeline entry written in the same transaction
 * is what makes a second run (or a second process) skip it. The day-3 waiting reminder is the
 * waiting-on-customer scheduler's (`server/services/tickets/auto-close.ts`), sent through the
 * ticket's notification effects.
 */
export async function runTimedNotifications(db: Db, now: Date): Promise<{ escalated: number }> {
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
    return { escalated: unacknowledged.length };
  });
}
