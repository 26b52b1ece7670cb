import { boolean, doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { alertResolutions, alertStatuses, findingKinds, findingStates, priorities, ruleKinds, suppressionReasons, tiers } from './enums.ts';
import { appliances } from './appliances.ts';
import { customers } from './customers.ts';

/**
 * A label matcher as stored (SPEC §9): the string form (`tank`, `=~tmpfs|overlay`, `!~…`,
 * `!=…`; plain text is equality) or an explicit `{op, value}`. Compiled by server/engine/matchers.ts.
 */
export type StoredMatcher = string | { op: '=' | '!=' | '=~' | '!~'; value: string };

export interface RuleSelector {
  tiers?: (typeof tiers)[number][];
  customerIds?: string[];
  models?: string[];
  // Label matchers applied to the sample or event labels.
  labels?: Record<string, StoredMatcher>;
}

export const rules = pgTable(
  'rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // Stable key of a shipped default rule (null for rules written by admins).
    key: text('key').unique(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    kind: text('kind', { enum: ruleKinds }).notNull(),
    enabled: boolean('enabled').notNull().default(true),
    // The metric for sample rules, the event name pattern for event rules.
    metric: text('metric'),
    selector: jsonb('selector').$type<RuleSelector>().notNull().default({}),
    // Kind-specific parameters (threshold, operator, recovery, window, horizon, ...).
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    forSeconds: integer('for_seconds').notNull().default(0),
    keepFiringForSeconds: integer('keep_firing_for_seconds').notNull().default(0),
    priority: text('priority', { enum: priorities }).notNull(),
    // Label whose value names the component, with the component kind: e.g. {label:'pool', kind:'pool'}.
    componentFrom: jsonb('component_from').$type<{ label?: string; kind: string } | null>(),
    titleTemplate: text('title_template').notNull(),
    remediationUrl: text('remediation_url'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('rules_kind_metric_idx').on(t.kind, t.metric)],
);

export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // rule + appliance + component: the identity of "the same problem".
    fingerprint: text('fingerprint').notNull(),
    ruleId: uuid('rule_id').references(() => rules.id, { onDelete: 'set null' }),
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    priority: text('priority', { enum: priorities }).notNull(),
    component: text('component'),
    status: text('status', { enum: alertStatuses }).notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    value: doublePrecision('value'),
    summary: text('summary').notNull().default(''),
    startsAt: timestamp('starts_at', { withTimezone: true, precision: 3 }).notNull(),
    firingAt: timestamp('firing_at', { withTimezone: true, precision: 3 }),
    endsAt: timestamp('ends_at', { withTimezone: true, precision: 3 }),
    // Last time the condition held; keep_firing_for counts from here.
    lastActiveAt: timestamp('last_active_at', { withTimezone: true, precision: 3 }).notNull(),
    // When the condition last stopped holding while firing; null while it holds.
    clearedAt: timestamp('cleared_at', { withTimezone: true, precision: 3 }),
    // Why no ticket was opened: maintenance, dependency, not_covered.
    suppressedBy: text('suppressed_by', { enum: suppressionReasons }),
    // Why it resolved: cleared, upstream, stale, superseded, retired.
    resolution: text('resolution', { enum: alertResolutions }),
    ticketId: uuid('ticket_id'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // At most one open alert per fingerprint, whichever process evaluates it.
    uniqueIndex('alerts_open_fingerprint_idx')
      .on(t.fingerprint)
      .where(sql`${t.status} <> 'resolved'`),
    index('alerts_appliance_status_idx').on(t.applianceId, t.status),
    index('alerts_ticket_idx').on(t.ticketId),
    index('alerts_rule_starts_idx').on(t.ruleId, t.startsAt),
  ],
);

/**
 * Per appliance, a counter bumped (by the trigger of migration `alert-state-versions`) whenever
 * one of its alerts opens, changes status, is deleted, or starts or stops clearing
 * (keep_firing_for): the rule engine keeps the appliance's open alerts in memory and reloads
 * them only when this number moved (docs/decisions/0008-rule-evaluation-state.md).
 */
export const alertStateVersions = pgTable('alert_state_versions', {
  // No foreign key: the trigger runs while an appliance's alerts are deleted with it.
  applianceId: uuid('appliance_id').primaryKey(),
  version: integer('version').notNull().default(0),
});

// Detections on appliances without SERENITY entitlement: an upsell signal, never a ticket.
export const findings = pgTable(
  'findings',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    ruleId: uuid('rule_id').references(() => rules.id, { onDelete: 'set null' }),
    alertId: uuid('alert_id').references(() => alerts.id, { onDelete: 'set null' }),
    kind: text('kind', { enum: findingKinds }).notNull().default('not_covered'),
    state: text('state', { enum: findingStates }).notNull().default('not_covered'),
    /** For limit findings: how often the limit was hit while the finding was open. */
    occurrences: integer('occurrences').notNull().default(1),
    priority: text('priority', { enum: priorities }).notNull(),
    summary: text('summary').notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true, precision: 3 }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, precision: 3 }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    index('findings_customer_idx').on(t.customerId, t.firstSeenAt),
    index('findings_alert_idx').on(t.alertId),
    // One open limit finding per appliance and limit: hitting it again updates that one.
    uniqueIndex('findings_open_limit_uidx').on(t.applianceId, t.kind).where(sql`${t.state} = 'open'`),
  ],
);

export interface WeeklyRecurrence {
  // ISO weekdays, 1 = Monday … 7 = Sunday.
  days: number[];
  start: string; // 'HH:MM' local
  end: string; // 'HH:MM' local; an end before start crosses midnight
}

export const maintenanceWindows = pgTable(
  'maintenance_windows',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    customerId: uuid('customer_id').references(() => customers.id, { onDelete: 'cascade' }),
    applianceId: uuid('appliance_id').references(() => appliances.id, { onDelete: 'cascade' }),
    labels: jsonb('labels').$type<Record<string, StoredMatcher>>(),
    // One-off windows use startsAt/endsAt; recurring ones bound their validity with them (optional).
    startsAt: timestamp('starts_at', { withTimezone: true, precision: 3 }),
    endsAt: timestamp('ends_at', { withTimezone: true, precision: 3 }),
    recurrence: jsonb('recurrence').$type<WeeklyRecurrence | null>(),
    timezone: text('timezone').notNull().default('Europe/Rome'),
    createdBy: uuid('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('maintenance_windows_customer_idx').on(t.customerId), index('maintenance_windows_appliance_idx').on(t.applianceId)],
);

// A fleet-wide incident: the same rule firing on several appliances that share a version or model.
export const fleetIncidents = pgTable(
  'fleet_incidents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ruleId: uuid('rule_id').references(() => rules.id, { onDelete: 'set null' }),
    dimension: text('dimension', { enum: ['os_version', 'hypervisor_version', 'model'] }).notNull(),
    value: text('value').notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true, precision: 3 }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, precision: 3 }).notNull(),
    applianceCount: integer('appliance_count').notNull(),
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('fleet_incidents_rule_idx').on(t.ruleId, t.dimension, t.value)],
);
