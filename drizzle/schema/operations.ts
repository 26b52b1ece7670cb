import { bigserial, boolean, date, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { reportKinds, webhookFormats } from './enums.ts';
import { customers } from './customers.ts';
import { users } from './users.ts';

// Public holidays (Europe/Rome calendar dates): not business days.
export const holidays = pgTable('holidays', {
  date: date('date', { mode: 'string' }).primaryKey(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

export const reports = pgTable(
  'reports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: reportKinds }).notNull(),
    periodFrom: timestamp('period_from', { withTimezone: true, precision: 3 }).notNull(),
    periodTo: timestamp('period_to', { withTimezone: true, precision: 3 }).notNull(),
    generatedAt: timestamp('generated_at', { withTimezone: true, precision: 3 }).notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    index('reports_customer_generated_idx').on(t.customerId, t.generatedAt),
    uniqueIndex('reports_weekly_once_idx').on(t.customerId, t.kind, t.periodFrom),
  ],
);

export const webhooks = pgTable('webhooks', {
  id: uuid('id').primaryKey().defaultRandom(),
  url: text('url').notNull(),
  // Used for the HMAC signature; shown once at creation.
  secret: text('secret').notNull(),
  events: text('events').array().notNull(),
  customerId: uuid('customer_id').references(() => customers.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled').notNull().default(true),
  // The body's shape: Vigil's signed JSON, or a chat or paging service's own (SPEC §8).
  format: text('format', { enum: webhookFormats }).notNull().default('vigil'),
  // PagerDuty Events API v2 integration key (format `pagerduty` only).
  routingKey: text('routing_key'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Insertion order, also within one transaction: deliveries to one webhook go out in this order. */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    event: text('event').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, precision: 3 }).notNull(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, precision: 3 }),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('webhook_deliveries_pending_idx').on(t.deliveredAt, t.nextAttemptAt), index('webhook_deliveries_hook_seq_idx').on(t.webhookId, t.seq)],
);

// Admin actions, remote-tunnel changes, priority changes, logins.
export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    actorRole: text('actor_role'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    customerId: uuid('customer_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    ip: text('ip'),
  },
  (t) => [index('audit_log_at_idx').on(t.at), index('audit_log_target_idx').on(t.targetType, t.targetId)],
);

// Scheduled work done once per key, whichever process ran it.
export const jobRuns = pgTable('job_runs', {
  key: text('key').primaryKey(),
  job: text('job').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true, precision: 3 }),
  result: jsonb('result').$type<Record<string, unknown>>(),
});
