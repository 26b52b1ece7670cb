import { and, asc, eq } from 'drizzle-orm';
import { isoTime } from '../schemas/common.ts';
import { z } from '@hono/zod-openapi';
import { DateTime, IANAZone } from 'luxon';
import { tableShape, type Db } from '../../drizzle/client.ts';
import { appliances, customers, maintenanceWindows, type WeeklyRecurrence } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { invalid, notFound } from '../lib/errors.ts';
import { matchersOf, matchesAll, matchOps } from '../engine/matchers.ts';
import { LabelMatchers } from '../engine/rules.ts';
import { recordAudit } from './audit.ts';

type WindowRow = typeof maintenanceWindows.$inferSelect;
const windowShape = tableShape<WindowRow>(maintenanceWindows);

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM');

export const MaintenanceWindowInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    customerId: z.uuid().nullable().default(null),
    applianceId: z.uuid().nullable().default(null),
    // Matchers on the alert's labels; `alertname` (the rule's or event's name) and `rule_id` can be matched too.
    labels: LabelMatchers.nullable().default(null),
    startsAt: isoTime.nullable().default(null),
    endsAt: isoTime.nullable().default(null),
    recurrence: z
      .object({ days: z.array(z.number().int().min(1).max(7)).min(1).max(7), start: hhmm, end: hhmm })
      .strict()
      .nullable()
      .default(null),
    timezone: z
      .string()
      .default('Europe/Rome')
      .refine((tz) => IANAZone.isValidZone(tz), 'must be an IANA time zone such as Europe/Rome'),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (!w.recurrence && (!w.startsAt || !w.endsAt)) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'a one-off window needs startsAt and endsAt' });
    if (w.startsAt && w.endsAt && new Date(w.endsAt) <= new Date(w.startsAt)) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'endsAt must be after startsAt' });
    if (w.recurrence && w.recurrence.start === w.recurrence.end) ctx.addIssue({ code: 'custom', path: ['recurrence', 'end'], message: 'end must differ from start' });
    if (!w.customerId && !w.applianceId && !w.labels) ctx.addIssue({ code: 'custom', path: ['customerId'], message: 'scope the window to a customer, an appliance or labels' });
    // An empty label set matches every appliance: it would silence the whole fleet.
    if (w.labels && Object.keys(w.labels).length === 0) ctx.addIssue({ code: 'custom', path: ['labels'], message: 'name at least one label, or use null for no label scope' });
  })
  .openapi('MaintenanceWindowInput');
export type MaintenanceWindowInput = z.infer<typeof MaintenanceWindowInput>;

export const MaintenanceWindow = z
  .object({
    id: z.string(),
    name: z.string(),
    customerId: z.string().nullable(),
    applianceId: z.string().nullable(),
    labels: z.record(z.string(), z.union([z.string(), z.object({ op: z.enum(matchOps), value: z.string() })])).nullable(),
    startsAt: z.string().nullable(),
    endsAt: z.string().nullable(),
    recurrence: z.object({ days: z.array(z.number()), start: z.string(), end: z.string() }).nullable(),
    timezone: z.string(),
    createdAt: z.string(),
  })
  .openapi('MaintenanceWindow');

export function windowView(row: WindowRow) {
  return {
    id: row.id,
    name: row.name,
    customerId: row.customerId,
    applianceId: row.applianceId,
    labels: row.labels ?? null,
    startsAt: row.startsAt?.toISOString() ?? null,
    endsAt: row.endsAt?.toISOString() ?? null,
    recurrence: row.recurrence ?? null,
    timezone: row.timezone,
    createdAt: row.createdAt.toISOString(),
  };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Whether a window covers the instant `at`. Recurring windows are read on the wall clock
 * of their zone (so 01:00–04:00 stays 01:00–04:00 local across a daylight-saving change); an
 * end before the start runs past midnight into the next day.
 */
export function windowCovers(window: Pick<WindowRow, 'startsAt' | 'endsAt' | 'recurrence' | 'timezone'>, at: Date): boolean {
  const t = at.getTime();
  if (!window.recurrence) {
    return !!window.startsAt && !!window.endsAt && t >= window.startsAt.getTime() && t < window.endsAt.getTime();
  }
  if (window.startsAt && t < window.startsAt.getTime()) return false;
  if (window.endsAt && t >= window.endsAt.getTime()) return false;
  const r: WeeklyRecurrence = window.recurrence;
  const local = DateTime.fromMillis(t, { zone: window.timezone });
  const minute = local.hour * 60 + local.minute;
  const start = minutesOf(r.start);
  const end = minutesOf(r.end);
  if (start < end) return r.days.includes(local.weekday) && minute >= start && minute < end;
  // Crossing midnight: the evening part belongs to the listed day, the morning part to the day after.
  const yesterday = local.minus({ days: 1 }).weekday;
  return (r.days.includes(local.weekday) && minute >= start) || (r.days.includes(yesterday) && minute < end);
}

/**
 * What a window's scope is matched against: the alert's appliance and labels, and the names
 * a window may match besides them (SPEC §9): `alertname` (the rule's or event's name, unless
 * the labels carry their own, as Alertmanager's do) and `rule_id`.
 */
export interface WindowTarget {
  customerId: string;
  applianceId: string;
  labels: Record<string, string>;
  alertname?: string | undefined;
  ruleId?: string | undefined;
}

/** Customer, appliance, then the label matchers (`=`, `!=`, `=~`, `!~`, RE2) of the window. */
export function windowScopeMatches(window: Pick<WindowRow, 'customerId' | 'applianceId' | 'labels'>, target: WindowTarget): boolean {
  // A window with no scope at all (an empty label set stored before that was refused) would
  // silence the whole fleet: it matches nothing instead.
  const scoped = Boolean(window.customerId || window.applianceId || (window.labels && Object.keys(window.labels).length > 0));
  if (!scoped) return false;
  if (window.customerId && window.customerId !== target.customerId) return false;
  if (window.applianceId && window.applianceId !== target.applianceId) return false;
  if (!window.labels) return true;
  const labels = { ...target.labels };
  if (target.alertname !== undefined && labels.alertname === undefined) labels.alertname = target.alertname;
  if (target.ruleId !== undefined) labels.rule_id = target.ruleId;
  return matchesAll(matchersOf(window.labels), labels);
}

/**
 * SQL selecting the windows that may concern an appliance (`$1` its customer, `$2` the
 * appliance), with the columns of `WindowRow`; `coveringWindow` then picks the one in force.
 */
export const windowsOfApplianceSql = `select ${windowShape.columns} from maintenance_windows
  where (customer_id is null or customer_id = $1::text::uuid) and (appliance_id is null or appliance_id = $2::text::uuid)`;

/** The columns of a window row, for raw SQL read back with `readWindows`. */
export const windowColumns = windowShape.columns;

/** The rows read by `windowsOfApplianceSql` (JSON), as window rows. */
export function readWindows(rows: Record<string, unknown>[]): WindowRow[] {
  return windowShape.read(rows);
}

/** Of the windows read by `windowsOfApplianceSql`, the one covering an alert of this appliance at `at`, if any. */
export function coveringWindow(
  rows: Record<string, unknown>[],
  target: WindowTarget,
  at: Date,
): WindowRow | null {
  return windowShape.read(rows).find((w) => windowScopeMatches(w, target) && windowCovers(w, at)) ?? null;
}

async function checkReferences(db: Db, input: MaintenanceWindowInput) {
  if (input.customerId) {
    const [c] = await db.select({ id: customers.id }).from(customers).where(eq(customers.id, input.customerId)).limit(1);
    if (!c) throw invalid('customerId does not name a customer', { field: 'customerId' });
  }
  if (input.applianceId) {
    const [a] = await db.select({ customerId: appliances.customerId }).from(appliances).where(eq(appliances.id, input.applianceId)).limit(1);
    if (!a) throw invalid('applianceId does not name an appliance', { field: 'applianceId' });
    if (input.customerId && a.customerId !== input.customerId) throw invalid('the appliance belongs to another customer', { field: 'applianceId' });
  }
}

function values(input: MaintenanceWindowInput) {
  return {
    name: input.name,
    customerId: input.customerId,
    applianceId: input.applianceId,
    labels: input.labels,
    startsAt: input.startsAt ? new Date(input.startsAt) : null,
    endsAt: input.endsAt ? new Date(input.endsAt) : null,
    recurrence: input.recurrence,
    timezone: input.timezone,
  };
}

export async function listWindows(db: Db, filter: { customerId?: string | undefined; applianceId?: string | undefined }) {
  const rows = await db
    .select()
    .from(maintenanceWindows)
    .where(
      and(
        filter.customerId ? eq(maintenanceWindows.customerId, filter.customerId) : undefined,
        filter.applianceId ? eq(maintenanceWindows.applianceId, filter.applianceId) : undefined,
      ),
    )
    .orderBy(asc(maintenanceWindows.createdAt), asc(maintenanceWindows.id));
  return { items: rows.map(windowView) };
}

export async function getWindow(db: Db, id: string) {
  const [row] = await db.select().from(maintenanceWindows).where(eq(maintenanceWindows.id, id)).limit(1);
  if (!row) throw notFound('maintenance window');
  return windowView(row);
}

export async function createWindow(db: Db, actor: UserPrincipal, at: Date, input: MaintenanceWindowInput) {
  await checkReferences(db, input);
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(maintenanceWindows).values({ ...values(input), createdBy: actor.id }).returning();
    await recordAudit(tx, actor, at, { action: 'maintenance_window.create', targetType: 'maintenance_window', targetId: row!.id, customerId: row!.customerId, details: { name: row!.name } });
    return windowView(row!);
  });
}

export async function updateWindow(db: Db, actor: UserPrincipal, at: Date, id: string, input: MaintenanceWindowInput) {
  await checkReferences(db, input);
  return db.transaction(async (tx) => {
    const [row] = await tx.update(maintenanceWindows).set(values(input)).where(eq(maintenanceWindows.id, id)).returning();
    if (!row) throw notFound('maintenance window');
    await recordAudit(tx, actor, at, { action: 'maintenance_window.update', targetType: 'maintenance_window', targetId: id, customerId: row.customerId });
    return windowView(row);
  });
}

export async function deleteWindow(db: Db, actor: UserPrincipal, at: Date, id: string) {
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(maintenanceWindows).where(eq(maintenanceWindows.id, id)).returning();
    if (!row) throw notFound('maintenance window');
    await recordAudit(tx, actor, at, { action: 'maintenance_window.delete', targetType: 'maintenance_window', targetId: id, customerId: row.customerId });
  });
}
