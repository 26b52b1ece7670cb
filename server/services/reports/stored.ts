import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Database, Db } from '../../../drizzle/client.ts';
import { customers, reports, type ReportKind } from '../../../drizzle/schema/index.ts';
import { assertCustomerInScope, customerScope } from '../../auth/scope.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { decodeCursor, encodeCursor } from '../../lib/cursor.ts';
import { invalid, notFound } from '../../lib/errors.ts';
import { computeHealthReports, type ReportPeriod } from './compute.ts';
import { rankPortfolio } from './portfolio.ts';
import type { HealthReport, PortfolioEntry, StoredReportSummary } from './schema.ts';

const DAY_MS = 86_400_000;
export const MAX_PERIOD_DAYS = 366;
export const DEFAULT_PERIOD_DAYS = 30;
/** Weekly reports follow the support calendar's week: Monday 00:00 Europe/Rome. */
export const REPORT_ZONE = 'Europe/Rome';
const WEEKLY_BATCH = 100;

/** The requested period, or the last 30 days up to now; bounded so one request stays cheap. */
export function resolvePeriod(from: string | undefined, to: string | undefined, now: Date): ReportPeriod {
  const end = to ? new Date(to) : now;
  const start = from ? new Date(from) : new Date(end.getTime() - DEFAULT_PERIOD_DAYS * DAY_MS);
  if (start.getTime() >= end.getTime()) throw invalid('from must be before to', [{ path: 'from', message: 'must be before to' }]);
  if (end.getTime() - start.getTime() > MAX_PERIOD_DAYS * DAY_MS) {
    throw invalid(`a report covers at most ${MAX_PERIOD_DAYS} days`, [{ path: 'to', message: `at most ${MAX_PERIOD_DAYS} days after from` }]);
  }
  return { from: start, to: end };
}

/** The calendar week (Monday to Monday, Europe/Rome) before the one containing `now`. */
export function previousWeek(now: Date): ReportPeriod {
  const monday = DateTime.fromJSDate(now, { zone: REPORT_ZONE }).startOf('week');
  return { from: monday.minus({ weeks: 1 }).toJSDate(), to: monday.toJSDate() };
}

/** A customer's report computed now, for a customer the caller may see. */
export async function healthReport(database: Database, user: UserPrincipal, customerId: string, period: ReportPeriod, now: Date): Promise<HealthReport> {
  await assertCustomerInScope(database.db, user, customerId, 'customer');
  const report = (await computeHealthReports(database, [customerId], period, now)).get(customerId);
  if (!report) throw notFound('customer');
  return report;
}

/** The caller's customers ranked by risk over the period: admins and engineers see all. */
export async function portfolio(database: Database, user: UserPrincipal, period: ReportPeriod, now: Date): Promise<PortfolioEntry[]> {
  const rows = await database.db.select({ id: customers.id }).from(customers).where(customerScope(user, customers.id));
  const computed = new Map<string, HealthReport>();
  for (let i = 0; i < rows.length; i += WEEKLY_BATCH) {
    const batch = await computeHealthReports(database, rows.slice(i, i + WEEKLY_BATCH).map((r) => r.id), period, now);
    for (const [id, report] of batch) computed.set(id, report);
  }
  return rankPortfolio(computed.values());
}

const summaryColumns = {
  id: reports.id,
  customerId: reports.customerId,
  customerName: customers.name,
  kind: reports.kind,
  periodFrom: reports.periodFrom,
  periodTo: reports.periodTo,
  generatedAt: reports.generatedAt,
  uptimePercent: sql<number | null>`(${reports.data}->'availability'->>'uptimePercent')::float8`,
  compliancePercent: sql<number | null>`(${reports.data}->'responseTargets'->>'compliancePercent')::float8`,
  satisfactionAverage: sql<number | null>`(${reports.data}->'satisfaction'->>'average')::float8`,
};

type SummaryRow = { [K in keyof typeof summaryColumns]: unknown } & { id: string; generatedAt: Date; periodFrom: Date; periodTo: Date };

function summaryView(row: SummaryRow): StoredReportSummary {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: row.id,
    customerId: String(row.customerId),
    customerName: String(row.customerName),
    kind: row.kind as ReportKind,
    periodFrom: row.periodFrom.toISOString(),
    periodTo: row.periodTo.toISOString(),
    generatedAt: row.generatedAt.toISOString(),
    uptimePercent: n(row.uptimePercent),
    compliancePercent: n(row.compliancePercent),
    satisfactionAverage: n(row.satisfactionAverage),
  };
}

/** Stored reports the caller may see, newest first. */
export async function listReports(
  db: Db,
  user: UserPrincipal,
  opts: { limit: number; cursor?: string | undefined; customerId?: string | undefined; kind?: ReportKind | undefined },
): Promise<{ items: StoredReportSummary[]; nextCursor?: string }> {
  const cursor = decodeCursor(opts.cursor);
  const rows = await db
    .select(summaryColumns)
    .from(reports)
    .innerJoin(customers, eq(customers.id, reports.customerId))
    .where(
      and(
        customerScope(user, reports.customerId),
        opts.customerId ? eq(reports.customerId, opts.customerId) : undefined,
        opts.kind ? eq(reports.kind, opts.kind) : undefined,
        cursor
          ? or(lt(reports.generatedAt, cursor.createdAt), and(eq(reports.generatedAt, cursor.createdAt), lt(reports.id, cursor.id)))
          : undefined,
      ),
    )
    .orderBy(desc(reports.generatedAt), desc(reports.id))
    .limit(opts.limit + 1);
  const items = rows.slice(0, opts.limit).map(summaryView);
  const last = rows.length > opts.limit ? rows[opts.limit - 1] : undefined;
  return last ? { items, nextCursor: encodeCursor({ createdAt: last.generatedAt, id: last.id }) } : { items };
}

export async function getStoredReport(db: Db, user: UserPrincipal, id: string): Promise<{ summary: StoredReportSummary; report: HealthReport }> {
  const [row] = await db
    .select({ ...summaryColumns, data: reports.data })
    .from(reports)
    .innerJoin(customers, eq(customers.id, reports.customerId))
    .where(and(eq(reports.id, id), customerScope(user, reports.customerId)))
    .limit(1);
  if (!row) throw notFound('report');
  return { summary: summaryView(row), report: row.data as unknown as HealthReport };
}

/**
 * Stores last week's report for every customer that has none yet. Safe on several processes
 * at once: the unique (customer, kind, period start) index makes the second insert a no-op.
 */
export async function generateWeeklyReports(database: Database, now: Date): Promise<{ period: ReportPeriod; customers: number; stored: number }> {
  const period = previousWeek(now);
  const { db } = database;
  const pending = await db
    .select({ id: customers.id })
    .from(customers)
    .where(
      sql`not exists (select 1 from ${reports} r where r.customer_id = ${customers.id} and r.kind = 'weekly' and r.period_from = ${period.from.toISOString()}::timestamptz)`,
    )
    .orderBy(customers.id);
  let stored = 0;
  for (let i = 0; i < pending.length; i += WEEKLY_BATCH) {
    const computed = await computeHealthReports(database, pending.slice(i, i + WEEKLY_BATCH).map((r) => r.id), period, now);
    if (computed.size === 0) continue;
    const inserted = await db
      .insert(reports)
      .values(
        [...computed.values()].map((report) => ({
          customerId: report.customer.id,
          kind: 'weekly' as const,
          periodFrom: period.from,
          periodTo: period.to,
          generatedAt: now,
          data: report as unknown as Record<string, unknown>,
        })),
      )
      .onConflictDoNothing({ target: [reports.customerId, reports.kind, reports.periodFrom] })
      .returning({ id: reports.id });
    stored += inserted.length;
  }
  return { period, customers: pending.length, stored };
}
