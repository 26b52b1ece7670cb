import { and, inArray, isNotNull, isNull, lt, notInArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { tickets } from '../../../drizzle/schema/index.ts';
import { LIVE_CHANNEL } from '../../live/events.ts';
import { ticketIsAtRisk, type SlaCalendar } from '../../sla/index.ts';
import { enqueueWebhooks } from '../webhooks.ts';
import { addTimelineEvent, liveTicket, type TicketRow } from './core.ts';
import { isReplacementAtRisk } from './replacement.ts';
import { clockFacts } from './off-hours.ts';
import { notifyTicket, ticketFacts } from '../notifications/outbox.ts';

const closed: ('resolved' | 'closed')[] = ['resolved', 'closed'];

/** Publishes several `ticket.updated` events in one statement; delivered on commit. */
async function publishUpdates(tx: Db | Tx, rows: TicketRow[], change: string): Promise<void> {
  if (rows.length === 0) return;
  const events = JSON.stringify(rows.map((r) => ({ type: 'ticket.updated', customerId: r.customerId, data: liveTicket(r, change) })));
  await tx.execute(sql`select pg_notify(${LIVE_CHANNEL}, e::text) from jsonb_array_elements(${events}::jsonb) as e`);
}

async function announce(tx: Db | Tx, now: Date, rows: TicketRow[], change: 'at_risk' | 'breached'): Promise<void> {
  await publishUpdates(tx, rows, change);
  await enqueueWebhooks(
    tx,
    now,
    rows.map((r) => ({ event: change === 'at_risk' ? 'ticket.at_risk' : 'ticket.breached', customerId: r.customerId, payload: { ticket: liveTicket(r, change) } })),
  );
  for (const r of rows) {
    await addTimelineEvent(tx, r.id, {
      at: now,
      actorId: null,
      type: change === 'at_risk' ? 'sla_at_risk' : 'sla_breached',
      public: false,
      data: { responseDueAt: r.responseDueAt.toISOString() },
    });
    await notifyTicket(tx, ticketFacts(r), { kind: change, at: now });
  }
}

/**
 * Marks open tickets still waiting for a first response: at risk when less than 25 % of the
 * target is left, breached once the due time has passed — recording the miss as the target's
 * outcome against the target then in force (the first response adds by how long). Each mark is a conditional update
 * (`… is null`), so a mark is set, announced and sent to webhooks once, however many
 * processes run the job.
 */
export async function markSlaRisks(db: Db, calendar: SlaCalendar, now: Date): Promise<{ atRisk: number; breached: number }> {
  return db.transaction(async (tx) => {
    const waiting = and(notInArray(tickets.status, closed), isNull(tickets.firstResponseAt));
    const breached = await tx
      .update(tickets)
      // The miss is history from here on (SPEC §2.4): a later priority change cannot undo it.
      .set({ breachedAt: now, responseOutcome: 'missed', responseOutcomeDueAt: sql`${tickets.responseDueAt}`, responseOutcomePriority: sql`${tickets.priority}`, updatedAt: now })
      .where(and(waiting, isNull(tickets.breachedAt), lt(tickets.responseDueAt, now)))
      .returning();

    const candidates = await tx
      .select({
        id: tickets.id,
        tier: tickets.tier,
        priority: tickets.priority,
        openedAt: tickets.openedAt,
        responseDueAt: tickets.responseDueAt,
        offHoursAnswer: tickets.offHoursAnswer,
        offHoursAnsweredAt: tickets.offHoursAnsweredAt,
      })
      .from(tickets)
      .where(and(waiting, isNull(tickets.atRiskAt), isNull(tickets.breachedAt)));
    // On each ticket's own clock: 24/7 from the consent after an accepted off-hours request.
    const risky = candidates.filter((t) => ticketIsAtRisk(clockFacts(t), t.responseDueAt, now, calendar)).map((t) => t.id);
    const atRisk = risky.length
      ? await tx
          .update(tickets)
          .set({ atRiskAt: now, updatedAt: now })
          .where(and(inArray(tickets.id, risky), isNull(tickets.atRiskAt), isNull(tickets.firstResponseAt)))
          .returning()
      : [];

    await announce(tx, now, atRisk, 'at_risk');
    await announce(tx, now, breached, 'breached');
    return { atRisk: atRisk.length, breached: breached.length };
  });
}

/** Announces one replacement mark on each row: live event, `ticket.updated` webhook, internal timeline entry, e-mail to engineers. */
async function announceReplacement(tx: Db | Tx, now: Date, rows: TicketRow[], mark: 'at_risk' | 'breached'): Promise<void> {
  const change = `replacement_${mark}`;
  await publishUpdates(tx, rows, change);
  await enqueueWebhooks(
    tx,
    now,
    rows.map((r) => ({ event: 'ticket.updated', customerId: r.customerId, payload: { ticket: liveTicket(r, change), change, reason: null } })),
  );
  for (const r of rows) {
    await addTimelineEvent(tx, r.id, { at: now, actorId: null, type: change, public: false, data: { replacementDueAt: r.replacementDueAt?.toISOString() ?? null } });
    await notifyTicket(tx, ticketFacts(r), { kind: mark === 'at_risk' ? 'replacement.at_risk' : 'replacement.breached', at: now });
  }
}

/**
 * Marks open, diagnosed tickets whose replacement part has not arrived: at risk when less than
 * 25 % of the replacement window is left, breached once its due time has passed (SPEC §2.2;
 * the support guide's replacement targets). Engineers are warned like for the response target:
 * the assignee (or every engineer), and on a breach the seniors too. A mark is a conditional
 * update, set and announced once however many processes run the job. The outcome itself is
 * recorded when the arrival is.
 */
export async function markReplacementRisks(db: Db, calendar: SlaCalendar, now: Date): Promise<{ atRisk: number; breached: number }> {
  return db.transaction(async (tx) => {
    const waiting = and(notInArray(tickets.status, closed), isNotNull(tickets.replacementDueAt), isNull(tickets.replacementArrivedAt));
    const breached = await tx
      .update(tickets)
      .set({ replacementBreachedAt: now, updatedAt: now })
      .where(and(waiting, isNull(tickets.replacementBreachedAt), lt(tickets.replacementDueAt, now)))
      .returning();
    const candidates = await tx
      .select({ id: tickets.id, tier: tickets.tier, diagnosedAt: tickets.diagnosedAt, dueAt: tickets.replacementDueAt })
      .from(tickets)
      .where(and(waiting, isNull(tickets.replacementAtRiskAt), isNull(tickets.replacementBreachedAt)));
    const risky = candidates
      .filter((t) => t.diagnosedAt && t.dueAt && isReplacementAtRisk(t.tier, t.diagnosedAt, t.dueAt, now, calendar))
      .map((t) => t.id);
    const atRisk = risky.length
      ? await tx
          .update(tickets)
          .set({ replacementAtRiskAt: now, updatedAt: now })
          .where(and(inArray(tickets.id, risky), isNull(tickets.replacementAtRiskAt), isNull(tickets.replacementArrivedAt)))
          .returning()
      : [];
    await announceReplacement(tx, now, atRisk, 'at_risk');
    await announceReplacement(tx, now, breached, 'breached');
    return { atRisk: atRisk.length, breached: breached.length };
  });
}
