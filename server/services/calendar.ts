import { asc } from 'drizzle-orm';
import type { Db, Tx } from '../../drizzle/client.ts';
import { holidays } from '../../drizzle/schema/index.ts';
import { createCalendar, type SlaCalendar } from '../sla/index.ts';

/** The support calendar: Europe/Rome business hours, the holidays in the database, the replacement cut-off. */
export async function loadCalendar(db: Db | Tx, replacementCutoff = '15:00'): Promise<SlaCalendar> {
  const rows = await db.select({ date: holidays.date }).from(holidays).orderBy(asc(holidays.date));
  const [hour, minute] = replacementCutoff.split(':').map(Number);
  return createCalendar({
    holidays: rows.map((r) => r.date),
    replacementCutoffHour: hour ?? 15,
    replacementCutoffMinute: minute ?? 0,
  });
}
