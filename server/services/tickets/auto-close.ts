import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../../../drizzle/client.ts';
import { ticketEvents, tickets } from '../../../drizzle/schema/index.ts';
import { publishLive } from '../../live/events.ts';
import { enqueueWebhooks } from '../webhooks.ts';
import { addTimelineEvent, liveTicket } from './core.ts';
import { createSurveyInvitation } from './surveys.ts';
import { notifyTicket, ticketFacts } from '../notifications/outbox.ts';

export const AUTO_CLOSE_AFTER_MS = 5 * 24 * 3600_000;
export const AUTO_CLOSE_MIN_CONTACT_ATTEMPTS = 2;

/**
 * Closes tickets left in `waiting_on_customer` for 5 days with at least 2 contact attempts
 * logged since they started waiting (SPEC §2.4), reason `no_customer_response`, each with
 * its survey invitation. The update re-checks the status, so a ticket the customer answered
 * meanwhile, or one another process closed, is left alone.
 */
export async function autoCloseWaitingTickets(db: Db, now: Date, publicUrl?: string): Promise<{ closed: number }> {
  const cutoff = new Date(now.getTime() - AUTO_CLOSE_AFTER_MS);
  return db.transaction(async (tx) => {
    const closed = await tx
      .update(tickets)
      .set({ status: 'closed', closedAt: now, closeReason: 'no_customer_response', waitingSince: null, updatedAt: now })
      .where(
        and(
          eq(tickets.status, 'waiting_on_customer'),
          lte(tickets.waitingSince, cutoff),
          sql`(select count(*) from ${ticketEvents} e
                where e.ticket_id = ${tickets.id} and e.type = 'contact_attempt' and e.at >= ${tickets.waitingSince}) >= ${AUTO_CLOSE_MIN_CONTACT_ATTEMPTS}`,
        ),
      )
      .returning();
    for (const row of closed) {
      await addTimelineEvent(tx, row.id, {
        at: now,
        actorId: null,
        type: 'closed',
        fromStatus: 'waiting_on_customer',
        toStatus: 'closed',
        reason: 'no_customer_response',
        public: true,
        body: 'Closed after 5 days without an answer to our requests for information.',
      });
      const survey = await createSurveyInvitation(tx, row.id, now, publicUrl);
      await notifyTicket(tx, ticketFacts(row), { kind: 'ticket.closed', at: now, body: 'Closed after 5 days without an answer to our requests for information.', surveyUrl: survey?.url ?? null });
      await publishLive(tx, { type: 'ticket.updated', customerId: row.customerId, data: liveTicket(row, 'closed') });
    }
    await enqueueWebhooks(
      tx,
      now,
      closed.flatMap((row) => {
        const payload = { ticket: liveTicket(row, 'closed'), change: 'closed', reason: 'no_customer_response' };
        return [
          { event: 'ticket.updated' as const, customerId: row.customerId, payload },
          { event: 'ticket.closed' as const, customerId: row.customerId, payload },
        ];
      }),
    );
    return { closed: closed.length };
  });
}
