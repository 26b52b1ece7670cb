import {
  bigint,
  bigserial,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { eventSeverities, eventStatuses } from './enums.ts';
import { appliances } from './appliances.ts';

// One row per (appliance, metric, label set). Samples reference it by a narrow id so the
// hot ingest path writes three columns per sample.
export const series = pgTable(
  'series',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    metric: text('metric').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    // Canonical `k=v` text of the sorted labels; with appliance and metric it identifies the series.
    labelsKey: text('labels_key').notNull(),
    lastTs: timestamp('last_ts', { withTimezone: true, precision: 3 }),
    lastValue: doublePrecision('last_value'),
  },
  (t) => [uniqueIndex('series_identity_idx').on(t.applianceId, t.metric, t.labelsKey)],
);

// "One appliance, one metric, time range" = series lookup + (series_id, ts) range scan;
// "latest value" = series.last_ts/last_value.
export const samples = pgTable(
  'samples',
  {
    seriesId: bigint('series_id', { mode: 'number' }).notNull(),
    ts: timestamp('ts', { withTimezone: true, precision: 3 }).notNull(),
    value: doublePrecision('value').notNull(),
  },
  (t) => [index('samples_series_ts_idx').on(t.seriesId, t.ts)],
);

// Idempotency of metric batches: a retried batchId is a no-op.
export const ingestBatches = pgTable(
  'ingest_batches',
  {
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    batchId: text('batch_id').notNull(),
    sampleCount: integer('sample_count').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.applianceId, t.batchId] }), index('ingest_batches_received_idx').on(t.receivedAt)],
);

// Alerts raised by the appliance itself or an upstream Alertmanager.
export const events = pgTable(
  'events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    externalId: text('external_id').notNull(),
    name: text('name').notNull(),
    severity: text('severity', { enum: eventSeverities }).notNull(),
    status: text('status', { enum: eventStatuses }).notNull(),
    component: text('component'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    summary: text('summary').notNull().default(''),
    startsAt: timestamp('starts_at', { withTimezone: true, precision: 3 }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true, precision: 3 }),
    receivedAt: timestamp('received_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('events_appliance_external_idx').on(t.applianceId, t.externalId),
    index('events_appliance_starts_idx').on(t.applianceId, t.startsAt),
  ],
);
