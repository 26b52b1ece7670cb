import { asc, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { users, workLogs } from '../../../drizzle/schema/index.ts';
import { invalid } from '../../lib/errors.ts';
import { billableOffHoursMinutes, type SlaCalendar } from '../../sla/index.ts';
import type { TicketRow } from './core.ts';
import type { TicketOutcome } from './effects.ts';
import { offHoursConsentAt } from './off-hours.ts';

// Work time engineers log on a ticket; on a ticket whose customer accepted off-hours handling,
// the part logged outside business hours is billable (support guide: "Off-hours support will
// be billed separately").

/** `POST /tickets/:id/work-log`: `minutes` worked (1–1440) starting at `at` (default: `minutes` before now). */
export interface WorkLogInput {
  minutes: number;
  note?: string | undefined;
  /** ISO 8601: when the work started. */
  at?: string | undefined;
}

/** Sum of the billable off-hours minutes logged on a ticket. */
export async function billableMinutesOf(db: Db | Tx, ticketId: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<number>`coalesce(sum(${workLogs.billableOffHoursMinutes}), 0)::int` })
    .from(workLogs)
    .where(eq(workLogs.ticketId, ticketId));
  return Number(row?.total ?? 0);
}

/**
 * Plans one work-log entry: the row to insert (with its billable off-hours minutes, fixed now)
 * and the ticket's effects — an internal timeline entry and a live update. The work must end
 * after the ticket's opening and by now (`openedAt < at + minutes ≤ now`), else
 * `invalid_request` naming the field.
 */
export function planWorkLog(ticket: TicketRow, input: WorkLogInput, engineerId: string, now: Date, calendar: SlaCalendar) {
  const at = input.at ? new Date(input.at) : new Date(now.getTime() - input.minutes * 60_000);
  const endMs = at.getTime() + input.minutes * 60_000;
  // Work may begin before the ticket exists (the phone call that opened it), not end before it.
  if (endMs <= ticket.openedAt.getTime()) throw invalid('the work must end after the ticket opened', { field: 'at', openedAt: ticket.openedAt.toISOString() });
  if (endMs > now.getTime()) throw invalid('the work must have ended by now (at + minutes ≤ now)', { field: 'at' });
  const billable = billableOffHoursMinutes(at, input.minutes, offHoursConsentAt(ticket), calendar);
  const row = { ticketId: ticket.id, engineerId, at, minutes: input.minutes, note: input.note ?? '', billableOffHoursMinutes: billable, createdAt: now };
  const outcome: TicketOutcome = {
    changes: {},
    effects: [
      {
        kind: 'timeline',
        entry: { at: now, actorId: engineerId, type: 'work_logged', public: false, body: input.note ?? null, data: { at: at.toISOString(), minutes: input.minutes, billableOffHoursMinutes: billable } },
      },
      { kind: 'live', event: 'ticket.updated', change: 'work_logged' },
    ],
  };
  return { row, outcome };
}

/** The work log of a ticket, oldest first, with the engineers' names and the totals. */
export async function workLogView(db: Db | Tx, ticketId: string) {
  const rows = await db
    .select({ log: workLogs, engineerName: users.name })
    .from(workLogs)
    .leftJoin(users, eq(users.id, workLogs.engineerId))
    .where(eq(workLogs.ticketId, ticketId))
    .orderBy(asc(workLogs.at), asc(workLogs.createdAt));
  const items = rows.map(({ log, engineerName }) => ({
    id: log.id,
    engineerId: log.engineerId,
    engineerName,
    at: log.at.toISOString(),
    minutes: log.minutes,
    note: log.note,
    billableOffHoursMinutes: log.billableOffHoursMinutes,
  }));
  return {
    items,
    totalMinutes: items.reduce((s, i) => s + i.minutes, 0),
    billableOffHoursMinutes: items.reduce((s, i) => s + i.billableOffHoursMinutes, 0),
  };
}
