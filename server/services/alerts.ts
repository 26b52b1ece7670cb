import { and, asc, eq } from 'drizzle-orm';
import { trace } from '@opentelemetry/api';
import { asDate, rawQuery, tableShape, type Db, type Tx } from '../../drizzle/client.ts';
import { alerts, findings, tickets, type AlertResolution, type AlertStatus, type FindingKind, type FindingState, type Priority, type SuppressionReason, type TicketStatus } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { customerScope } from '../auth/scope.ts';
import type { CoreDeps } from '../composition.ts';
import { afterCursor, decodeCursor, page } from '../lib/cursor.ts';
import { publishLive, publishLiveMany, type LiveAlert } from '../live/events.ts';
import type { ApplianceFacts, AlertState } from '../engine/conditions.ts';
import type { Rule } from '../engine/rules.ts';
import { createCalendar, type SlaCalendar } from '../sla/index.ts';
import { readWindows, windowColumns, windowCovers, windowScopeMatches, windowsOfApplianceSql } from './maintenance.ts';
import { decideRoute, isTicketOpen, type Related, type RelatedAlert, type RouteDecision, type RoutedAlert, type RouteFacts } from './routing.ts';
import { recomputeCandidates } from './rca/index.ts';
import { recomputeHealth } from './health.ts';
import { addTimelineEvent, liveTicket, raisePriority, type TicketRow } from './tickets/core.ts';
import { openTicket } from './tickets/open.ts';
import { applyTicketOutcome } from './tickets/effects.ts';
import { offHoursAsk } from './tickets/off-hours.ts';
import { enqueueWebhooks } from './webhooks.ts';

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
    resolution: row.resolution,
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
        const routed = await routeFiringAlert(tx, deps, subject, row, deps.clock.now());
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

/**
 * Routes a firing alert: gathers the facts (one statement), decides with the pure
 * `decideRoute`, and applies the decision. The ticket a decision names is locked and checked
 * open before anything is attached to it, so an engineer closing it meanwhile makes the
 * routing decide again rather than attach to a closed ticket.
 */
async function routeFiringAlert(tx: Tx, deps: CoreDeps, subject: AlertSubject, row: AlertRow, now: Date): Promise<AlertRow> {
  const { decision, openTickets } = await decideFor(tx, deps, subject, row, now);
  return applyRoute(tx, deps, subject, row, decision, openTickets, now);
}

/** Gathers the facts and decides; a decision naming a ticket holds that ticket's row lock, open. */
async function decideFor(tx: Tx, deps: CoreDeps, subject: AlertSubject, row: AlertRow, now: Date) {
  const gathered = await gatherRouteFacts(tx, deps, subject.appliance, row);
  const routed: RoutedAlert = {
    id: row.id,
    customerId: row.customerId,
    applianceId: row.applianceId,
    component: row.component,
    priority: row.priority,
    labels: subject.labels,
    startsAt: row.startsAt,
    // A maintenance window may match the alert's name and rule (SPEC §9).
    alertname: subject.rule.name,
    ruleId: subject.rule.id,
  };
  let decision = decideRoute(routed, gathered.facts, gathered.related, gathered.windows, now);
  // Terminates: each pass removes the ticket it named, and a decision names only listed tickets.
  while (decision.reason === 'dependency' || decision.reason === 'correlated') {
    const ticketId = decision.ticketId;
    const [locked] = await rawQuery<{ status: TicketStatus }>(tx, 'select status from tickets where id = $1::text::uuid for update', [ticketId]);
    if (locked && isTicketOpen(locked.status)) break;
    gathered.related = { ...gathered.related, tickets: gathered.related.tickets.filter((t) => t.id !== ticketId) };
    gathered.openTickets = gathered.openTickets.filter((t) => t.id !== ticketId);
    decision = decideRoute(routed, gathered.facts, gathered.related, gathered.windows, now);
  }
  return { decision, openTickets: gathered.openTickets };
}

/**
 * Routes again the firing alerts held back by a reason that may have ended (SPEC §7
 * "Suppression ends"): a maintenance window no longer in force, an appliance now entitled
 * (tier upgraded, SERENITY added), a parent whose ticket closed while this alert still fires.
 * Runs in the minute job and right after the changes that end a reason (a customer's tier or
 * add-on, a window edited or deleted); `customerId` narrows it to one customer. An alert whose
 * reason still holds is left as it is. Returns how many alerts moved.
 */
export async function rerouteSuppressedAlerts(deps: CoreDeps, now: Date, customerId: string | null = null): Promise<number> {
  // Candidates in one statement; entitlement as in entitlement.ts (SPEC §2.1).
  const candidates = await deps.database.query<{ id: string; suppressedBy: SuppressionReason; customerId: string; applianceId: string; labels: Record<string, string> }>(
    `select a.id::text as id, a.suppressed_by as "suppressedBy", a.customer_id::text as "customerId", a.appliance_id::text as "applianceId", a.labels
       from alerts a join customers c on c.id = a.customer_id
      where a.status = 'firing' and a.rule_id is not null
        and ($1::text is null or a.customer_id = $1::text::uuid)
        and (a.suppressed_by = 'maintenance'
             or (a.suppressed_by = 'not_covered' and (c.tier = 'mission_critical' or (c.tier = 'pro' and c.serenity)))
             or (a.suppressed_by = 'dependency'
                 and not exists (select 1 from tickets t where t.id = a.ticket_id and t.status not in ('resolved', 'closed'))))`,
    [customerId],
  );
  if (candidates.length === 0) return 0;
  // Alerts still inside a window stay as they are without a transaction each.
  const windows = candidates.some((c) => c.suppressedBy === 'maintenance') ? readWindows(await deps.database.query(`select ${windowColumns} from maintenance_windows`)) : [];
  let moved = 0;
  for (const candidate of candidates) {
    if (candidate.suppressedBy === 'maintenance' && windows.some((w) => windowScopeMatches(w, candidate) && windowCovers(w, now))) continue;
    const changed = await deps.database.db.transaction(async (tx) => {
      await lockAppliance(tx, candidate.applianceId);
      const [row] = await alertRows(tx, `select ${alertColumns} from alerts where id = $1::text::uuid and status = 'firing' and suppressed_by = $2::text`, [candidate.id, candidate.suppressedBy]);
      if (!row || !row.ruleId) return false;
      const subject = await subjectOfRow(tx, row);
      if (!subject) return false;
      const { decision, openTickets } = await decideFor(tx, deps, subject, row, now);
      if (decision.reason === row.suppressedBy && (decision.reason !== 'dependency' || decision.ticketId === row.ticketId)) return false;
      await applyRoute(tx, deps, subject, row, decision, openTickets, now);
      return true;
    });
    if (changed) moved++;
  }
  return moved;
}

/** An alert's subject rebuilt from its row, its rule and its appliance (the re-routing reads no sample). */
async function subjectOfRow(tx: Tx, row: AlertRow): Promise<AlertSubject | null> {
  const [read] = await rawQuery<{ rule: Record<string, unknown>; appliance: ApplianceFacts }>(
    tx,
    `select json_build_object('id', r.id, 'name', r.name, 'priority', r.priority, 'remediationUrl', r.remediation_url, 'forSeconds', r.for_seconds, 'keepFiringForSeconds', r.keep_firing_for_seconds) as rule,
            json_build_object('id', a.id, 'customerId', a.customer_id, 'tier', c.tier, 'serenity', c.serenity, 'model', a.model, 'serial', a.serial,
                              'hardwareId', a.hardware_id, 'osVersion', a.os_version, 'hypervisorVersion', a.hypervisor_version) as appliance
       from rules r, appliances a join customers c on c.id = a.customer_id
      where r.id = $1::text::uuid and a.id = $2::text::uuid`,
    [row.ruleId, row.applianceId],
  );
  if (!read) return null;
  return { rule: read.rule as unknown as AlertSubject['rule'], appliance: read.appliance, component: row.component, labels: row.labels, fingerprint: row.fingerprint, title: row.name };
}

// What routing reads of the other alerts, not their whole rows: an appliance flooding events
// has hundreds firing (SPEC §10 allows 600 new ones an hour), each routed against all the others.
const relatedAlertColumns = `id, component, status, suppressed_by as "suppressedBy", ticket_id as "ticketId", starts_at as "startsAt"`;

/** The facts routing reads, in one statement: windows, topology, related alerts, open tickets. */
async function gatherRouteFacts(tx: Tx, deps: CoreDeps, appliance: ApplianceFacts, alert: AlertRow) {
  // The alerts that can matter: the firing ones, and those of the appliance's open tickets.
  const [read] = await rawQuery<{ windows: Record<string, unknown>[]; parts: { id: string; parentId: string | null }[]; others: (Omit<RelatedAlert, 'startsAt'> & { startsAt: string })[]; tickets: Record<string, unknown>[] }>(
    tx,
    `select
       (select coalesce(json_agg(w), '[]') from (${windowsOfApplianceSql}) w) as windows,
       (select coalesce(json_agg(c), '[]') from (select id, parent_id as "parentId" from components where appliance_id = $2::text::uuid) c) as parts,
       (select coalesce(json_agg(a), '[]') from (
          select ${relatedAlertColumns} from alerts
           where appliance_id = $2::text::uuid and id <> $3::text::uuid and status <> 'pending'
             and (status = 'firing' or ticket_id in (select id from tickets where appliance_id = $2::text::uuid and status not in ('resolved', 'closed')))) a) as others,
       (select coalesce(json_agg(t order by t."openedAt"), '[]') from (
          select ${ticketColumns} from tickets where appliance_id = $2::text::uuid and status not in ('resolved', 'closed')) t) as tickets`,
    [appliance.customerId, appliance.id, alert.id],
  );
  const openTickets = ticketShape.read(read!.tickets);
  return {
    windows: readWindows(read!.windows),
    facts: {
      tier: appliance.tier,
      serenity: appliance.serenity,
      parents: new Map(read!.parts.map((p) => [p.id, p.parentId])),
      correlationWindowMs: deps.config.CORRELATION_WINDOW_MINUTES * 60_000,
    } satisfies RouteFacts,
    related: {
      alerts: read!.others.map((o) => ({ id: o.id, component: o.component, status: o.status, suppressedBy: o.suppressedBy, ticketId: o.ticketId, startsAt: asDate(o.startsAt) })),
      tickets: openTickets.map((t) => ({ id: t.id, status: t.status, openedAt: t.openedAt })),
    } as Related,
    openTickets,
  };
}

/** Applies a routing decision to the alert (and the ticket it names), publishing what changed. */
async function applyRoute(tx: Tx, deps: CoreDeps, subject: AlertSubject, row: AlertRow, decision: RouteDecision, openTickets: TicketRow[], now: Date): Promise<AlertRow> {
  const at = now;
  const { appliance } = subject;
  const setAlert = async (suppressedBy: SuppressionReason | null, ticketId: string | null) => {
    const [updated] = await alertRows(tx, `update alerts set suppressed_by = $2::text, ticket_id = $3::text::uuid where id = $1::text::uuid returning ${alertColumns}`, [row.id, suppressedBy, ticketId]);
    return updated!;
  };

  switch (decision.reason) {
    case 'not_covered': {
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
      const updated = await setAlert('not_covered', null);
      await publishLive(tx, { type: 'alert.firing', customerId: updated.customerId, data: liveAlert(updated) });
      return updated;
    }
    case 'maintenance':
      return setAlert('maintenance', null);
    case 'dependency': {
      const updated = await setAlert('dependency', decision.ticketId);
      await addTimelineEvent(tx, decision.ticketId, {
        at,
        actorId: null,
        type: 'alert_attached',
        body: subject.title,
        data: { alertId: row.id, priority: row.priority, component: row.component, suppressedBy: 'dependency', parentAlertId: decision.parentAlertId },
      });
      await reopenClearedState(tx, decision.ticketId);
      await recomputeCandidates(tx, decision.ticketId, at, { alertId: row.id, rows: false });
      await publishLive(tx, { type: 'alert.firing', customerId: updated.customerId, data: liveAlert(updated) });
      return updated;
    }
    case 'correlated': {
      const correlated = openTickets.find((t) => t.id === decision.ticketId)!;
      // Independent writes sent together; the candidates then read the attached alert.
      const [updated, , reopened] = await Promise.all([
        setAlert(null, correlated.id),
        addTimelineEvent(tx, correlated.id, {
          at,
          actorId: null,
          type: 'alert_attached',
          body: subject.title,
          data: { alertId: row.id, priority: row.priority, component: row.component, reason: decision.match },
        }),
        correlated.allAlertsClearedAt !== null || correlated.suggestedResolution !== null ? reopenClearedState(tx, correlated.id) : null,
      ]);
      await recomputeCandidates(tx, correlated.id, at, { alertId: row.id, rows: false });
      const current = reopened ?? correlated;
      const raised = await raisePriority(tx, supportCalendar(tx, deps), current, row.priority, at, `alert ${subject.title} (${row.priority}) joined the ticket`);
      // Raised to P1/P2 outside business hours: the customer is asked about off-hours handling now, once.
      const ask = raised ? offHoursAsk(raised, raised.priority, at, await supportCalendar(tx, deps)()) : null;
      if (raised && ask && ask.effects.length > 0) await applyTicketOutcome(tx, raised, ask, at, null, deps.config.PUBLIC_URL);
      await publishLiveMany(tx, [
        ...(raised ? [] : [{ type: 'ticket.updated', customerId: current.customerId, data: liveTicket(current, 'alert_attached') } as const]),
        { type: 'alert.firing', customerId: updated.customerId, data: liveAlert(updated) },
      ]);
      // Engine-made ticket changes reach webhooks as they reach the live socket (SPEC §8); a raise sends its own.
      if (!raised) {
        await enqueueWebhooks(tx, at, [{ event: 'ticket.updated', customerId: current.customerId, payload: { ticket: liveTicket(current, 'alert_attached'), change: 'alert_attached' } }]);
      }
      return updated;
    }
    case 'open': {
      const ticket = await tracer.startActiveSpan('engine.ticket.open', async (span) => {
        try {
          // SPEC §7: a ticket opens when Vigil opens it (the clock's now), never back-dated to the
          // alert's start, which may be days old or stamped ahead; the start is the case's
          // "time the system became unavailable".
          const opened = await openTicket(
            tx,
            { receivedAt: deps.clock.now(), calendar: supportCalendar(tx, deps), ticketsOpened: deps.metrics.ticketsOpened, publicUrl: deps.config.PUBLIC_URL },
            {
              source: 'auto',
              applianceId: appliance.id,
              priority: row.priority,
              proposedPriority: row.priority,
              summary: subject.title,
              description: [
                `Detected by rule "${subject.rule.name}"${row.component ? ` on ${row.component}` : ''}.`,
                row.value !== null ? `Observed value: ${row.value}.` : '',
                subject.rule.remediationUrl ? `Remediation: ${subject.rule.remediationUrl}` : '',
              ]
                .filter(Boolean)
                .join('\n'),
              unavailableSince: row.startsAt,
            },
          );
          return opened.row;
        } finally {
          span.end();
        }
      });
      const updated = await setAlert(null, ticket.id);
      await recomputeCandidates(tx, ticket.id, at, { rows: false });
      await publishLive(tx, { type: 'alert.firing', customerId: updated.customerId, data: liveAlert(updated) });
      return updated;
    }
  }
}

/** The support calendar, read only when a response target is computed: a new ticket or a raised priority. */
function supportCalendar(tx: Tx, deps: CoreDeps) {
  return async () => calendarOf((await rawQuery<{ date: string }>(tx, 'select date::text as date from holidays order by date')).map((h) => h.date), deps.config.REPLACEMENT_CUTOFF);
}

/** A new alert on a ticket whose alerts had all cleared: the suggestion no longer stands. */
async function reopenClearedState(tx: Tx, ticketId: string): Promise<TicketRow | null> {
  const [row] = await tx.update(tickets).set({ allAlertsClearedAt: null, suggestedResolution: null }).where(eq(tickets.id, ticketId)).returning();
  return row ?? null;
}

/**
 * Resolves a firing alert. Always recorded and always carried to its ticket, whatever
 * suppressed it: `alert_resolved` on the timeline, and once every alert of the ticket has
 * resolved, `all_alerts_cleared` with a suggested resolution (the ticket stays open).
 */
export async function resolveAlert(deps: CoreDeps, fingerprint: string, at: Date, value: number | null, resolution: AlertResolution = 'cleared'): Promise<AlertRow | null> {
  return tracer.startActiveSpan('engine.alert.resolve', async (span) => {
    try {
      const row = await deps.database.db.transaction(async (tx) => {
        const [row] = await tx
          .update(alerts)
          .set({ status: 'resolved', resolution, endsAt: at, updatedAt: at, ...(value !== null ? { value } : {}) })
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
    else await resolveAlert(deps, alert.fingerprint, at, null, 'retired');
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
  if (ticket) {
    const live = liveTicket(ticket, 'all_alerts_cleared');
    await publishLive(tx, { type: 'ticket.updated', customerId: ticket.customerId, data: live });
    await enqueueWebhooks(tx, at, [{ event: 'ticket.updated', customerId: ticket.customerId, payload: { ticket: live, change: 'all_alerts_cleared' } }]);
  }
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
    kind: row.kind,
    state: row.state,
    occurrences: row.occurrences,
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
  filter: { kind?: FindingKind | undefined; state?: FindingState | undefined; applianceId?: string | undefined; customerId?: string | undefined; limit: number; cursor?: string | undefined },
) {
  const cursor = decodeCursor(filter.cursor);
  const rows = await db
    .select({ finding: findings, createdAt: findings.firstSeenAt })
    .from(findings)
    .where(
      and(
        customerScope(user, findings.customerId),
        filter.kind ? eq(findings.kind, filter.kind) : undefined,
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
