import { asc, eq, gt } from 'drizzle-orm';
import type { Db } from '../../drizzle/client.ts';
import { holidays } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { conflict, invalid, notFound } from '../lib/errors.ts';
import { recordAudit } from './audit.ts';

type HolidayRow = typeof holidays.$inferSelect;

/** A holiday's date is its identity (one list of Europe/Rome dates), so `id` is the date. */
export function holidayView(row: HolidayRow) {
  return { id: row.date, date: row.date, name: row.name, createdAt: row.createdAt.toISOString() };
}

/** A real calendar date: '2026-02-30' matches the pattern but is not a day. */
export function assertCalendarDate(date: string): void {
  const parsed = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) throw invalid(`${date} is not a calendar date`, { field: 'date' });
}

export async function listHolidays(db: Db, opts: { limit: number; cursor?: string | undefined; year?: number | undefined }) {
  const after = opts.cursor ? Buffer.from(opts.cursor, 'base64url').toString('utf8') : undefined;
  if (after !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(after)) throw invalid('cursor is not valid');
  const rows = await db
    .select()
    .from(holidays)
    .where(after ? gt(holidays.date, after) : undefined)
    .orderBy(asc(holidays.date))
    .limit(opts.limit + 1);
  const more = rows.length > opts.limit;
  const items = rows.slice(0, opts.limit).map(holidayView);
  const last = items[items.length - 1];
  return more && last ? { items, nextCursor: Buffer.from(last.date).toString('base64url') } : { items };
}

export async function getHoliday(db: Db, date: string) {
  const [row] = await db.select().from(holidays).where(eq(holidays.date, date)).limit(1);
  if (!row) throw notFound('holiday');
  return holidayView(row);
}

export async function createHoliday(db: Db, actor: UserPrincipal, at: Date, input: { date: string; name: string }) {
  assertCalendarDate(input.date);
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(holidays).values({ date: input.date, name: input.name, createdAt: at }).onConflictDoNothing().returning();
    if (!row) throw conflict(`${input.date} is already a holiday`);
    await recordAudit(tx, actor, at, { action: 'holiday.create', targetType: 'holiday', targetId: row.date, details: { name: row.name } });
    return holidayView(row);
  });
}

/** Renames a holiday, or moves it to another date. */
export async function updateHoliday(db: Db, actor: UserPrincipal, at: Date, date: string, input: { date?: string | undefined; name?: string | undefined }) {
  if (input.date) assertCalendarDate(input.date);
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(holidays).where(eq(holidays.date, date)).limit(1);
    if (!before) throw notFound('holiday');
    const target = input.date ?? date;
    if (target !== date) {
      const [taken] = await tx.select({ date: holidays.date }).from(holidays).where(eq(holidays.date, target)).limit(1);
      if (taken) throw conflict(`${target} is already a holiday`);
    }
    const [row] = await tx
      .update(holidays)
      .set({ date: target, name: input.name ?? before.name })
      .where(eq(holidays.date, date))
      .returning();
    await recordAudit(tx, actor, at, { action: 'holiday.update', targetType: 'holiday', targetId: target, details: { before: holidayView(before), after: holidayView(row!) } });
    return holidayView(row!);
  });
}

export async function deleteHoliday(db: Db, actor: UserPrincipal, at: Date, date: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(holidays).where(eq(holidays.date, date)).returning();
    if (!row) throw notFound('holiday');
    await recordAudit(tx, actor, at, { action: 'holiday.delete', targetType: 'holiday', targetId: date, details: { name: row.name } });
  });
}
