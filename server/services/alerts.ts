import { and, asc, eq } from 'drizzle-orm';
import { trace } from '@opentelemetry/api';
import { rawQuery, tableShape, type Db, type Tx } from '../../drizzle/client.ts';
import { alerts, findings, tickets, type AlertStatus, type Priority } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { customerScope } from '../auth/scope.ts';
import type { CoreDeps } from '../composition.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import { publishLive, publishLiveMany, type LiveAlert } from '../live/events.ts';
import type { ApplianceFacts, AlertState } from '../engine/conditions.ts';
import type { Rule } from '../engine/rules.ts';
import { createCalendar, type SlaCalendar } from '../sla/index.ts';
import { isEntitled } from './entitlement.ts';
import { coveringWindow, windowsOfApplianceSql } from './maintenance.ts';
import { recomputeCandidates } from './rca/index.ts';
import { recomputeHealth } from './health.ts';
import { addTimelineEvent, insertTicket, liveTicket, raisePriority, type TicketRow } from './tickets/core.ts';

export type AlertRow = typeof alerts.$inferSelect;

const tracer = trace.getTracer('vigil');

/** What one alert is about: the rule, the appliance, the component and how it reads. */
export interface AlertSubject {
  rule: Pick<Rule, 'id' | 'name' | 'priority' | 'remediationUrl' | 'forSeconds' | 'keepFiringForSeconds'>;
  appliance: ApplianceFacts;
  component: string | null;
  labels: Record<string, string>;
  fingerprint: string;
  title: string;
}

export function liveAlert(row: AlertRow): LiveAlert {
  return {
    id: row.id,
    applianceId: row.applianceId,
    customerId: row.customerId,
    fingerprint: row.fingerprint,
    ruleId: row.ruleId,
    name: row.name,
    priority: row.priority,
    component: row.component,
    status: row.status,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt?.toISOString() ?? null,
    ticketId: row.ticketId,
  };
}

export function alertView(row: AlertRow) {
  return {
    id: row.id,
    applianceId: row.applianceId,
    customerId: row.customerId,
    fingerprint: row.fingerprint,
    ruleId: row.ruleId,
    name: row.name,
    priority: row.priority,
    component: row.component,
    status: row.status,
    labels: row.labels,
    value: row.value,
    summary: row.summary,
    startsAt: row.startsAt.toISOString(),
    firingAt: row.firingAt?.toISOString() ?? null,
    endsAt: row.endsAt?.toISOString() ?? null,
    suppressedBy: row.suppressedBy,
    ticketId: row.ticketId,
  };
}

function alertValues(subject: AlertSubject, state: AlertState) {
  return {
    fingerprint: subject.fingerprint,
    ruleId: subject.rule.id,
    applianceId: subject.appliance.id,
    customerId: subject.appliance.customerId,
    name: subject.title,
    priority: subject.rule.priority,
    component: subject.component,
    status: state.status,
    labels: subject.labels,
    value: state.value,
    summary: subject.rule.name,
    startsAt: new Date(state.startsAt),
    firingAt: state.firingAt === null ? null : new Date(state.firingAt),
    lastActiveAt: new Date(state.lastActiveAt),
    clearedAt: state.clearedAt === null ? null : new Date(state.clearedAt),
    updatedAt: new Date(state.lastActiveAt),
  } as const;
}

/** Opens a pending alert (the `for` clock); a concurrent process doing the same is a no-op. */
export async function insertPendingAlert(db: Db, subject: AlertSubject, state: AlertState): Promise<void> {
  await db.insert(alerts).values(alertValues(subject, state)).onConflictDoNothing();
}

export async function dropPendingAlert(db: Db, fingerprint: string): Promise<void> {
  await db.delete(alerts).where(and(eq(alerts.fingerprint, fingerprint), eq(alerts.status, 'pending')));
}

/** Records the condition still holding (or no longer holding) on open alerts: one statement for many. */
export async function touchAlerts(
  database: CoreDeps['database'],
  rows: { fingerprint: string; lastActiveAt: number; clearedAt: number | null; value: number | null }[],
): Promise<void> {
  if (rows.length === 0) return;
  await database.query(
    `update alerts a set last_active_at = greatest(a.last_active_at, u.last_active_at), cleared_at = u.cleared_at, value = u.value, updated_at = u.last_active_at
       from jsonb_to_recordset($1::text::jsonb) as u(fingerprint text, last_active_at timestamptz, cleared_at timestamptz, value float8)
      where a.fingerprint = u.fingerprint and a.status <> 'resolved'
        and a.fingerprint = any(array(select x->>'fingerprint' from jsonb_array_elements($1::text::jsonb) as x))`,
    [
      JSON.stringify(
        rows.map((r) => ({
          fingerprint: r.fingerprint,
          last_active_at: new Date(r.lastActiveAt).toISOString(),
          cleared_at: r.clearedAt === null ? null : new Date(r.clearedAt).toISOString(),
          value: r.value,
        })),
      ),
    ],
  );
}

// Building a calendar validates its zone and dates, which costs more than reading the holidays:
// the calendar is rebuilt only when the holidays (or the cut-off) differ from the last read.
let calendarMemo: { key: string; calendar: SlaCalendar } | null = null;

function calendarOf(dates: readonly string[], replacementCutoff: string): SlaCalendar {
  const key = `${replacementCutoff}|${dates.join(',')}`;
  if (calendarMemo?.key === key) return calendarMemo.calendar;
  const [hour, minute] = replacementCutoff.split(':').map(Number);
  const calendar = createCalendar({ holidays: [...dates], replacementCutoffHour: hour ?? 15, replacementCutoffMinute: minute ?? 0 });
  calendarMemo = { key, calendar };
  return calendar;
}

async function lockAppliance(tx: Tx, applianceId: string): Promise<void> {
  // Serialises ticket decisions per appliance across processes: two alerts firing at once on
  // two collectors still end up in one ticket when they are related.
  await rawQuery(tx, 'select pg_advisory_xact_lock(hashtext($1::text))', ['vigil-appliance:' + applianceId]);
}

/**
 * A firing alert: recorded (or promoted from pending) and then routed: a finding for an
 * appliance without entitlement, nothing during maintenance, evidence on the parent's
 * ticket under dependency suppression, attached to a related open ticket, or a new ticket.
 * Only the process that wins the insert or the promotion does the routing.
 */
export async function fireAlert(deps: CoreDeps, subject: AlertSubject, state: AlertState, fromPending: boolean): Promise<AlertRow | null> {
  return tracer.startActiveSpan('engine.alert.fire', async (span) => {
    span.setAttributes({ 'vigil.rule_id': subject.rule.id, 'vigil.appliance_id': subject.appliance.id, 'vigil.priority': subject.rule.priority });
    try {
      const result = await deps.database.db.transaction(async (tx) => {
        await lockAppliance(tx, subject.appliance.id);
        const [row] = fromPending ? await promoteAlert(tx, subject, state) : await insertFiringAlert(tx, subject, state);
        if (!row) return null;
        const routed = await routeFiringAlert(tx, deps, subject, row);
        await recomputeHealth(tx, [subject.appliance.id], row.firingAt ?? row.startsAt);
        return routed;
      });
      if (result) deps.metrics.alertsTotal.inc({ status: 'firing' });
      return result;
    } finally {
      span.end();
    }
  });
}

// The firing path runs for every alert: its statements are raw SQL, since building them with
// the query builder cost more than running them.
const alertShape = tableShape<AlertRow>(alerts);
const ticketShape = tableShape<TicketRow>(tickets);
const alertColumns = alertShape.columns;
const ticketColumns = ticketShape.columns;
const alertRows = async (tx: Tx, text: string, params: unknown[]) => alertShape.read(await rawQuery(tx, text, params));
const iso = (d: Date | null) => (d === null ? null : d.toISOString());

async function insertFiringAlert(tx: Tx, subject: AlertSubject, state: AlertState): Promise<AlertRow[]> {
  const v = alertValues(subject, state);
  return alertRows(
    tx,
    `insert into alerts (fingerprint, rule_id, appliance_id, customer_id, name, priority, component, status, labels, value, summary, starts_at, firing_at, last_active_at, cleared_at, updated_at)
     values ($1::text, $2::text::uuid, $3::text::uuid, $4::text::uuid, $5::text, $6::text, $7::text, $8::text, $9::text::jsonb, $10::text::float8, $11::text,
             $12::text::timestamptz, $13::text::timestamptz, $14::text::timestamptz, $15::text::timestamptz, $16::text::timestamptz)
     on conflict do nothing
     returning ${alertColumns}`,
    [
      v.fingerprint,
      v.ruleId,
      v.applianceId,
      v.customerId,
      v.name,
      v.priority,
      v.component,
      v.status,
      JSON.stringify(v.labels),
      v.value === null ? null : String(v.value),
      v.summary,
      iso(v.startsAt),
      iso(v.firingAt),
      iso(v.lastActiveAt),
      iso(v.clearedAt),
      iso(v.updatedAt),
    ],
  );
}

async function promoteAlert(tx: Tx, subject: AlertSubject, state: AlertState): Promise<AlertRow[]> {
  const lastActiveAt = new Date(state.lastActiveAt).toISOString();
  return alertRows(
    tx,
    `update alerts set status = 'firing', firing_at = $2::text::timestamptz, last_active_at = $3::text::timestamptz, value = $4::text::float8,
            cleared_at = null, name = $5::text, updated_at = $3::text::timestamptz
      where fingerprint = $1::text and status = 'pending'
      returning ${alertColumns}`,
    [subject.fingerprint, new Date(state.firingAt ?? state.lastActiveAt).toISOString(), lastActiveAt, state.value === null ? null : String(state.value), subject.title],
  );
}

async function routeFiringAlert(tx: Tx, deps: CoreDeps, subject: AlertSubject, row: AlertRow): Promise<AlertRow> {
  const at = row.firingAt ?? row.startsAt;
  const { appliance } = subject;
  const setAlert = async (patch: { suppressedBy?: string; ticketId?: string | null }) => {
    const [updated] = await alertRows(
      tx,
      `update alerts set suppressed_by = $2::text, ticket_id = $3::text::uuid where id = $1::text::uuid returning ${alertColumns}`,
      [row.id, patch.suppressedBy ?? row.suppressedBy, patch.ticketId === undefined ? row.ticketId : patch.ticketId],
    );
    return updated!;
  };

  if (!isEntitled(appliance.tier, appliance.serenity)) {
    await tx.insert(findings).values({
      applianceId: appliance.id,
      customerId: appliance.customerId,
      ruleId: subject.rule.id,
      alertId: row.id,
      state: 'not_covered',
      priority: subject.rule.priority,
      summary: subject.title,
      firstSeenAt: at,
      lastSeenAt: at,
    });
    const updated = await setAlert({ suppressedBy: 'not_covered' });
    await publishLive(tx, { type: 'alert.firing', customerId: updated.customerId, data: liveAlert(updated) });
    return updated;
  }

  const { windows, ...related } = await relatedContext(tx, appliance.customerId, appliance.id, row, deps.config.CORRELATION_WINDOW_MINUTES * 60_000);
  if (coveringWindow(windows, { customerId: appliance.customerId, applianceId: appliance.id, labels: subject.labels, alertname: subject.rule.name, ruleId: subject.rule.id }, at)) return setAlert({ suppressedBy: 'maintenance' });
  if (related.firingAncestor) {
    const parent = related.firingAncestor;
    const updated = await setAlert({ suppressedBy: 'dependency', ticketId: parent.ticketId });
    if (parent.ticketId) {
      await addTimelineEvent(tx, parent.ticketId, {
        at,
        actorId: null,
        type: 'alert_attached',
        body: subject.title,
        data: { alertId: row.id, priority: row.priority, component: row.component, suppressedBy: 'dependency', parentAlertId: parent.id },
      });
      await reopenClearedState(tx, parent.ticketId);
      await recomputeCandidates(tx, parent.ticketId, at, { alertId: row.id, rows: false });
    }
    await publishLive(tx, { type: 'alert.firing', customerId: updated.customerId, data: liveAlert(updated) });
    return updated;
  }

  // The support calendar is read only when a response target is computed: a new ticket or a raised priority.
  const calendar = async () => calendarOf((await rawQuery<{ date: string }>(tx, 'select date::text as date from holidays order by date')).map((h) => h.date), deps.config.REPLACEMENT_CUTOFF);
  const correlated = related.ticket;
  if (correlated) {
    // Independent writes sent together; the candidates then read the attached alert.
    const [updated, , reopened] = await Promise.all([
      setAlert({ ticketId: correlated.id }),
      addTimelineEvent(tx, correlated.id, {
        at,
        actorId: null,
        type: 'alert_attached',
        body: subject.title,
        data: { alertId: row.id, priority: row.priority, component: row.component, reason: related.reason },
      }),
      correlated.allAlertsClearedAt !== null || correlated.suggestedResolution !== null ? reopenClearedState(tx, correlated.id) : null,
    ]);
    await recomputeCandidates(tx, correlated.id, at, { alertId: row.id, rows: false });
    const current = reopened ?? correlated;
    const raised = await raisePriority(tx, calendar, current, row.priority, at, `alert ${subject.title} (${row.priority}) joined the ticket`);
    await publishLiveMany(tx, [
      ...(raised ? [] : [{ type: 'ticket.updated', customerId: current.customerId, data: liveTicket(current, 'alert_attached') } as const]),
      { type: 'alert.firing', customerId: updated.customerId, data: liveAlert(updated) },
    ]);
    return updated;
  }

  const ticket = await tracer.startActiveSpan('engine.ticket.open', async (span) => {
    try {
      return await insertTicket(tx, await calendar(), {
        customerId: appliance.customerId,
        applianceId: appliance.id,
        priority: row.priority,
        proposedPriority: row.priority,
        source: 'auto',
        summary: subject.title,
        description: [
          `Detected by rule "${subject.rule.name}"${row.component ? ` on ${row.component}` : ''}.`,
          row.value !== null ? `Observed value: ${row.value}.` : '',
          subject.rule.remediationUrl ? `Remediation: ${subject.rule.remediationUrl}` : '',
        ]
          .filter(Boolean)
          .join('\n'),
        caseInfo: {
          serialNumber: appliance.serial,
          hardwareId: appliance.hardwareId,
          osVersion: appliance.osVersion,
          hypervisorVersion: appliance.hypervisorVersion,
          ...(row.priority === 'P1' ? { unavailableSince: row.startsAt.toISOString() } : {}),
        },
        openedAt: at,
      });
    } finally {
      span.end();
    }
  });
  deps.metrics.ticketsOpened.inc({ source: 'auto', priority: row.priority });
  const updated = await setAlert({ ticketId: ticket.id });
  await recomputeCandidates(tx, ticket.id, at, { rows: false });
  await publishLive(tx, { type: 'alert.firing', customerId: updated.customerId, data: liveAlert(updated) });
  return updated;
}

/** A new alert on a ticket whose alerts had all cleared: the suggestion no longer stands. */
async function reopenClearedState(tx: Tx, ticketId: string): Promise<TicketRow | null> {
  const [row] = await tx.update(tickets).set({ allAlertsClearedAt: null, suggestedResolution: null }).where(eq(tickets.id, ticketId)).returning();
  return row ?? null;
}

/** Ancestors of a component through the topology's parent links: `vm:x` → `datastore:y` → `pool:z`. */
function ancestorsOf(component: string | null, parents: Map<string, string | null>): string[] {
  const out: string[] = [];
  let current = component ? (parents.get(component) ?? null) : null;
  while (current && !out.includes(current)) {
    out.push(current);
    current = parents.get(current) ?? null;
  }
  return out;
}

async function relatedContext(tx: Tx, customerId: string, applianceId: string, alert: AlertRow, windowMs: number) {
  // Everything the routing reads, in one statement: the maintenance windows that may apply,
  // the topology, the alerts that can matter (the firing ones, a parent suppressing this one,
  // and those of the appliance's open tickets) and the open tickets.
  const [read] = await rawQuery<{ windows: Record<string, unknown>[]; parts: { id: string; parentId: string | null }[]; others: Record<string, unknown>[]; tickets: Record<string, unknown>[] }>(
    tx,
    `select
       (select coalesce(json_agg(w), '[]') from (${windowsOfApplianceSql}) w) as windows,
       (select coalesce(json_agg(c), '[]') from (select id, parent_id as "parentId" from components where appliance_id = $2::text::uuid) c) as parts,
       (select coalesce(json_agg(a), '[]') from (
          select ${alertColumns} from alerts
           where appliance_id = $2::text::uuid and id <> $3::text::uuid and status <> 'pending'
             and (status = 'firing' or ticket_id in (select id from tickets where appliance_id = $2::text::uuid and status not in ('resolved', 'closed')))) a) as others,
       (select coalesce(json_agg(t order by t."openedAt"), '[]') from (
          select ${ticketColumns} from tickets where appliance_id = $2::text::uuid and status not in ('resolved', 'closed')) t) as tickets`,
    [customerId, applianceId, alert.id],
  );
  const windows = read!.windows;
  const parts = read!.parts;
  const others = alertShape.read(read!.others);
  const openTickets = ticketShape.read(read!.tickets);
  const parents = new Map(parts.map((p) => [p.id, p.parentId]));
  const ancestors = ancestorsOf(alert.component, parents);
  const firingAncestor =
    others
      .filter((o) => o.status === 'firing' && o.component && ancestors.includes(o.component) && o.suppressedBy !== 'maintenance')
      .sort((a, b) => ancestors.indexOf(b.component!) - ancestors.indexOf(a.component!))[0] ?? null;
  if (firingAncestor) return { windows, firingAncestor, ticket: null, reason: 'dependency' };

  if (openTickets.length === 0) return { windows, firingAncestor: null, ticket: null, reason: null };
  const inSubtree = (other: AlertRow) => {
    if (!alert.component || !other.component) return false;
    if (other.component === alert.component || ancestors.includes(other.component)) return true;
    return ancestorsOf(other.component, parents).includes(alert.component);
  };
  for (const ticket of openTickets) {
    const ticketAlerts = others.filter((o) => o.ticketId === ticket.id);
    if (ticketAlerts.some(inSubtree)) return { windows, firingAncestor: null, ticket, reason: 'component' };
    if (ticketAlerts.some((o) => Math.abs(o.startsAt.getTime() - alert.startsAt.getTime()) <= windowMs)) {
      return { windows, firingAncestor: null, ticket, reason: 'time' };
    }
  }
  return { windows, firingAncestor: null, ticket: null as TicketRow | null, reason: null };
}

/**
 * Resolves a firing alert. Always recorded and always carried to its ticket, whatever
 * suppressed it: `alert_resolved` on the timeline, and once every alert of the ticket has
 * resolved, `all_alerts_cleared` with a suggested resolution (the ticket stays open).
 */
export async function resolveAlert(deps: CoreDeps, fingerprint: string, at: Date, value: number | null): Promise<AlertRow | null> {
  return tracer.startActiveSpan('engine.alert.resolve', async (span) => {
    try {
      const row = await deps.database.db.transaction(async (tx) => {
        const [row] = await tx
          .update(alerts)
          .set({ status: 'resolved', endsAt: at, updatedAt: at, ...(value !== null ? { value } : {}) })
          .where(and(eq(alerts.fingerprint, fingerprint), eq(alerts.status, 'firing')))
          .returning();
        if (!row) return null;
        await lockAppliance(tx, row.applianceId);
        await tx.update(findings).set({ state: 'resolved', resolvedAt: at, lastSeenAt: at }).where(eq(findings.alertId, row.id));
        if (row.ticketId) await carryResolutionToTicket(tx, row, at);
        await recomputeHealth(tx, [row.applianceId], at);
        if (row.suppressedBy !== 'maintenance') await publishLive(tx, { type: 'alert.resolved', customerId: row.customerId, data: liveAlert(row) });
        return row;
      });
      if (row) deps.metrics.alertsTotal.inc({ status: 'resolved' });
      return row;
    } finally {
      span.end();
    }
  });
}

/**
 * Ends the open alerts of rules that are disabled or deleted: nothing evaluates them any more,
 * so they would otherwise stay open for ever. A firing one resolves like any other (its ticket
 * hears of it); a pending one is dropped. Runs after a rule change and in every scheduled cycle.
 */
export async function retireAlertsOfInactiveRules(deps: CoreDeps, at: Date): Promise<number> {
  const open = await deps.database.query<{ fingerprint: string; status: AlertStatus }>(
    `select a.fingerprint, a.status from alerts a left join rules r on r.id = a.rule_id
      where a.status <> 'resolved' and (r.id is null or not r.enabled)`,
  );
  for (const alert of open) {
    if (alert.status === 'pending') await dropPendingAlert(deps.database.db, alert.fingerprint);
    else await resolveAlert(deps, alert.fingerprint, at, null);
  }
  return open.length;
}

async function carryResolutionToTicket(tx: Tx, row: AlertRow, at: Date): Promise<void> {
  const ticketId = row.ticketId!;
  await addTimelineEvent(tx, ticketId, {
    at,
    actorId: null,
    type: 'alert_resolved',
    body: row.name,
    data: { alertId: row.id, component: row.component, priority: row.priority },
  });
  const ticketAlerts = await tx.select({ status: alerts.status, name: alerts.name }).from(alerts).where(eq(alerts.ticketId, ticketId));
  if (ticketAlerts.some((a) => a.status !== 'resolved')) return;
  const suggestion =
    `All ${ticketAlerts.length} alert${ticketAlerts.length === 1 ? '' : 's'} of this ticket cleared by ${at.toISOString()}: ` +
    `${[...new Set(ticketAlerts.map((a) => a.name))].join('; ')}. Confirm with the customer that the problem is gone, then resolve.`;
  const [ticket] = await tx
    .update(tickets)
    .set({ allAlertsClearedAt: at, suggestedResolution: suggestion, updatedAt: at })
    .where(eq(tickets.id, ticketId))
    .returning();
  await addTimelineEvent(tx, ticketId, { at, actorId: null, type: 'all_alerts_cleared', body: suggestion, data: { alerts: ticketAlerts.length } });
  if (ticket) await publishLive(tx, { type: 'ticket.updated', customerId: ticket.customerId, data: liveTicket(ticket, 'all_alerts_cleared') });
}

// ----------------------------------------------------------------------------------------
// Reading

export interface AlertFilter {
  status?: AlertStatus | undefined;
  applianceId?: string | undefined;
  customerId?: string | undefined;
  ticketId?: string | undefined;
  priority?: Priority | undefined;
  limit: number;
  cursor?: string | undefined;
}

export async function listAlerts(db: Db, user: UserPrincipal, filter: AlertFilter) {
  const cursor = decodeCursor(filter.cursor);
  const rows = await db
    .select()
    .from(alerts)
    .where(
      and(
        customerScope(user, alerts.customerId),
        filter.status ? eq(alerts.status, filter.status) : undefined,
        filter.applianceId ? eq(alerts.applianceId, filter.applianceId) : undefined,
        filter.customerId ? eq(alerts.customerId, filter.customerId) : undefined,
        filter.ticketId ? eq(alerts.ticketId, filter.ticketId) : undefined,
        filter.priority ? eq(alerts.priority, filter.priority) : undefined,
        afterCursor(cursor, alerts.createdAt, alerts.id),
      ),
    )
    .orderBy(asc(alerts.createdAt), asc(alerts.id))
    .limit(filter.limit + 1);
  return page(rows, filter.limit, alertView);
}

type FindingRow = typeof findings.$inferSelect;

export function findingView(row: FindingRow) {
  return {
    id: row.id,
    applianceId: row.applianceId,
    customerId: row.customerId,
    ruleId: row.ruleId,
    alertId: row.alertId,
    state: row.state,
    priority: row.priority,
    summary: row.summary,
    firstSeenAt: row.firstSeenAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
  };
}

export async function listFindings(
  db: Db,
  user: UserPrincipal,
  filter: { state?: 'not_covered' | 'resolved' | undefined; applianceId?: string | undefined; customerId?: string | undefined; limit: number; cursor?: string | undefined },
) {
  const cursor = decodeCursor(filter.cursor);
  const rows = await db
    .select({ finding: findings, createdAt: findings.firstSeenAt })
    .from(findings)
    .where(
      and(
        customerScope(user, findings.customerId),
        filter.state ? eq(findings.state, filter.state) : undefined,
        filter.applianceId ? eq(findings.applianceId, filter.applianceId) : undefined,
        filter.customerId ? eq(findings.customerId, filter.customerId) : undefined,
        afterCursor(cursor, findings.firstSeenAt, findings.id),
      ),
    )
    .orderBy(asc(findings.firstSeenAt), asc(findings.id))
    .limit(filter.limit + 1);
  return page(
    rows.map((r) => ({ ...r.finding, createdAt: r.createdAt })),
    filter.limit,
    findingView,
  );
}
