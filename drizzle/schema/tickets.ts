import {
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { candidateKinds, closeReasons, dispatchKinds, offHoursAnswers, offHoursChannels, priorities, responseOutcomes, ticketSources, ticketStatuses, tiers, verdicts } from './enums.ts';
import { appliances } from './appliances.ts';
import { customers, sites } from './customers.ts';
import { users } from './users.ts';
import { fleetIncidents } from './engine.ts';

// What every ticket carries (support guide, "Collect information to expedite resolution").
export interface CaseInfo {
  serialNumber?: string | null;
  hardwareId?: string | null;
  osVersion?: string | null;
  hypervisorVersion?: string | null;
  unavailableSince?: string | null;
  reproducible?: boolean | null;
  stepsTaken?: string | null;
}

export const tickets = pgTable(
  'tickets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    number: bigserial('number', { mode: 'number' }).notNull().unique(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    applianceId: uuid('appliance_id').references(() => appliances.id, { onDelete: 'set null' }),
    // The customer's tier when the ticket opened: the contract the response target follows.
    tier: text('tier', { enum: tiers }).notNull(),
    priority: text('priority', { enum: priorities }).notNull(),
    proposedPriority: text('proposed_priority', { enum: priorities }),
    priorityConfirmedAt: timestamp('priority_confirmed_at', { withTimezone: true, precision: 3 }),
    status: text('status', { enum: ticketStatuses }).notNull().default('new'),
    source: text('source', { enum: ticketSources }).notNull(),
    summary: text('summary').notNull(),
    description: text('description').notNull().default(''),
    caseInfo: jsonb('case_info').$type<CaseInfo>().notNull().default({}),
    openedAt: timestamp('opened_at', { withTimezone: true, precision: 3 }).notNull(),
    openedBy: uuid('opened_by').references(() => users.id, { onDelete: 'set null' }),
    assigneeId: uuid('assignee_id').references(() => users.id, { onDelete: 'set null' }),
    responseDueAt: timestamp('response_due_at', { withTimezone: true, precision: 3 }).notNull(),
    firstResponseAt: timestamp('first_response_at', { withTimezone: true, precision: 3 }),
    // The response target's outcome, recorded when the first public response is given (or the
    // target passes unanswered): the target then in force, met or missed and by how many seconds.
    // Later priority changes recompute responseDueAt but never these (SPEC §2.4).
    responseOutcome: text('response_outcome', { enum: responseOutcomes }),
    responseOutcomeDueAt: timestamp('response_outcome_due_at', { withTimezone: true, precision: 3 }),
    responseOutcomePriority: text('response_outcome_priority', { enum: priorities }),
    responseMissedBySeconds: integer('response_missed_by_seconds'),
    atRiskAt: timestamp('at_risk_at', { withTimezone: true, precision: 3 }),
    breachedAt: timestamp('breached_at', { withTimezone: true, precision: 3 }),
    diagnosedAt: timestamp('diagnosed_at', { withTimezone: true, precision: 3 }),
    replacementDueAt: timestamp('replacement_due_at', { withTimezone: true, precision: 3 }),
    // The replacement (SPEC §2.2): when the part was dispatched and when it arrived on site; the
    // outcome is recorded with the arrival against the due time then in force and never rewritten.
    replacementDispatchedAt: timestamp('replacement_dispatched_at', { withTimezone: true, precision: 3 }),
    replacementArrivedAt: timestamp('replacement_arrived_at', { withTimezone: true, precision: 3 }),
    replacementOutcome: text('replacement_outcome', { enum: responseOutcomes }),
    replacementOutcomeDueAt: timestamp('replacement_outcome_due_at', { withTimezone: true, precision: 3 }),
    replacementMissedBySeconds: integer('replacement_missed_by_seconds'),
    // Warnings to engineers, set once by the SLA marks job while the part has not arrived.
    replacementAtRiskAt: timestamp('replacement_at_risk_at', { withTimezone: true, precision: 3 }),
    replacementBreachedAt: timestamp('replacement_breached_at', { withTimezone: true, precision: 3 }),
    waitingSince: timestamp('waiting_since', { withTimezone: true, precision: 3 }),
    // The day-3 reminder of the current waiting period was sent (cleared when waiting ends).
    waitingReminderAt: timestamp('waiting_reminder_at', { withTimezone: true, precision: 3 }),
    // Support proposed closing without a resolution; the customer's agreement closes it.
    closeProposedAt: timestamp('close_proposed_at', { withTimezone: true, precision: 3 }),
    closeProposedBy: uuid('close_proposed_by').references(() => users.id, { onDelete: 'set null' }),
    allAlertsClearedAt: timestamp('all_alerts_cleared_at', { withTimezone: true, precision: 3 }),
    suggestedResolution: text('suggested_resolution'),
    resolution: text('resolution'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, precision: 3 }),
    closedAt: timestamp('closed_at', { withTimezone: true, precision: 3 }),
    closeReason: text('close_reason', { enum: closeReasons }),
    remoteAccessRequestedAt: timestamp('remote_access_requested_at', { withTimezone: true, precision: 3 }),
    // The off-hours question (Basic/Pro P1–P2 opened outside business hours; support guide
    // "Off-hours support will be billed separately"): when it was asked, when it lapses (the next
    // opening), the rate text shown, and the answer — who gave it, when, how. An accepted answer
    // runs the response clock 24/7 from `offHoursAnsweredAt` (server/sla/off-hours.ts).
    offHoursAskedAt: timestamp('off_hours_asked_at', { withTimezone: true, precision: 3 }),
    offHoursExpiresAt: timestamp('off_hours_expires_at', { withTimezone: true, precision: 3 }),
    offHoursRate: text('off_hours_rate'),
    offHoursAnswer: text('off_hours_answer', { enum: offHoursAnswers }),
    offHoursAnsweredAt: timestamp('off_hours_answered_at', { withTimezone: true, precision: 3 }),
    offHoursRecordedBy: uuid('off_hours_recorded_by').references(() => users.id, { onDelete: 'set null' }),
    offHoursChannel: text('off_hours_channel', { enum: offHoursChannels }),
    // Who on the customer's side gave the answer, as staff recorded it (phone); null from the portal.
    offHoursGivenBy: text('off_hours_given_by'),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index('tickets_customer_status_idx').on(t.customerId, t.status),
    index('tickets_appliance_status_idx').on(t.applianceId, t.status),
    index('tickets_status_due_idx').on(t.status, t.responseDueAt),
    // Fleet summary: open tickets per tier and priority, answered from the index alone.
    index('tickets_open_summary_idx')
      .on(t.tier, t.priority, t.customerId, t.firstResponseAt, t.atRiskAt, t.breachedAt)
      .where(sql`${t.status} not in ('resolved', 'closed')`),
    index('tickets_assignee_idx').on(t.assigneeId),
  ],
);

// The ticket timeline and its audit trail: every transition, comment, note and change.
export const ticketEvents = pgTable(
  'ticket_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    // Null for the system (rule engine, scheduler).
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    type: text('type').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status'),
    reason: text('reason'),
    body: text('body'),
    // Visible to the customer.
    public: boolean('public').notNull().default(false),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    // Insertion order: several entries of one action share the same instant.
    seq: bigserial('seq', { mode: 'number' }).notNull(),
  },
  (t) => [index('ticket_events_ticket_at_idx').on(t.ticketId, t.at)],
);

export const attachments = pgTable(
  'attachments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    content: text('content').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('attachments_ticket_idx').on(t.ticketId)],
);

export const rootCauseCandidates = pgTable(
  'root_cause_candidates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: candidateKinds }).notNull(),
    subject: text('subject').notNull(),
    score: doublePrecision('score').notNull(),
    rank: integer('rank').notNull(),
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull().default({}),
    fleetIncidentId: uuid('fleet_incident_id').references(() => fleetIncidents.id, { onDelete: 'set null' }),
    verdict: text('verdict', { enum: verdicts }),
    verdictBy: uuid('verdict_by').references(() => users.id, { onDelete: 'set null' }),
    verdictAt: timestamp('verdict_at', { withTimezone: true, precision: 3 }),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('root_cause_candidates_ticket_subject_idx').on(t.ticketId, t.kind, t.subject)],
);

export const surveys = pgTable('surveys', {
  id: uuid('id').primaryKey().defaultRandom(),
  ticketId: uuid('ticket_id')
    .notNull()
    .unique()
    .references(() => tickets.id, { onDelete: 'cascade' }),
  tokenHash: text('token_hash').notNull().unique(),
  // The link's token, kept so the customer's own view of the ticket can show the link again;
  // it is never put on the timeline nor shown to staff (SPEC §2.4 survey integrity).
  token: text('token'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
  answeredAt: timestamp('answered_at', { withTimezone: true, precision: 3 }),
  rating: integer('rating'),
  comment: text('comment'),
});

/** The site a replacement went to, as it was when dispatched (the site may change or go later). */
export interface DispatchSite {
  name: string;
  addressLines: string[];
  postalCode: string | null;
  city: string | null;
  country: string | null;
  contactName: string | null;
  contactPhone: string | null;
}

/**
 * A hardware replacement's dispatch (support guide): by courier (carrier, tracking number,
 * when shipped) or with a field engineer (who, planned visit), to a site of the ticket's
 * customer. One per ticket; the arrival and the outcome are on the ticket.
 */
export const replacementDispatches = pgTable(
  'replacement_dispatches',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ticketId: uuid('ticket_id')
      .notNull()
      .unique()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: dispatchKinds }).notNull(),
    siteId: uuid('site_id').references(() => sites.id, { onDelete: 'set null' }),
    site: jsonb('site').$type<DispatchSite>().notNull(),
    carrier: text('carrier'),
    trackingNumber: text('tracking_number'),
    shippedAt: timestamp('shipped_at', { withTimezone: true, precision: 3 }),
    engineerName: text('engineer_name'),
    engineerUserId: uuid('engineer_user_id').references(() => users.id, { onDelete: 'set null' }),
    plannedVisitAt: timestamp('planned_visit_at', { withTimezone: true, precision: 3 }),
    note: text('note'),
    dispatchedAt: timestamp('dispatched_at', { withTimezone: true, precision: 3 }).notNull(),
    dispatchedBy: uuid('dispatched_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [index('replacement_dispatches_customer_idx').on(t.customerId)],
);

// Work time engineers log on a ticket. `billableOffHoursMinutes` is the part of [at, at + minutes]
// outside business hours after the customer accepted off-hours handling: billed separately
// (support guide), fixed when logged so a later holiday edit does not rewrite a bill.
export const workLogs = pgTable(
  'work_logs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id, { onDelete: 'cascade' }),
    engineerId: uuid('engineer_id').references(() => users.id, { onDelete: 'set null' }),
    // When the work started; it lasted `minutes`.
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    minutes: integer('minutes').notNull(),
    note: text('note').notNull().default(''),
    billableOffHoursMinutes: integer('billable_off_hours_minutes').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [index('work_logs_ticket_idx').on(t.ticketId, t.at)],
);
