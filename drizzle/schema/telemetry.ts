import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  pgView,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { eventSeverities, eventStatuses } from './enums.ts';
import { appliances } from './appliances.ts';

// One row per (appliance, metric, label set). Samples reference it by a narrow id. Every batch
// moves last_ts/last_value of its series, so migration 0005 gives the table fillfactor 50
// (room for in-place updates); drizzle-kit does not model table storage parameters.
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
    // Bumped by every batch write that stores points of the series (in the write's own
    // statement): a process holding the series' recent points in memory serves them only while
    // this equals the count of writes it applied (docs/decisions/0010).
    writeSeq: bigint('write_seq', { mode: 'number' }).notNull().default(0),
  },
  // By metric across the fleet: the scheduled rules (absence, forecast, PromQL) read one or a
  // few metrics for every appliance. By label containment: a PromQL selector's equality
  // matchers (`node_cpu_seconds_total{mode="idle"}`) read a quarter of the metric's series
  // instead of filtering all of them (the bitmaps of both indexes are ANDed). `metric` and
  // `labels` never change, so updates of last_ts/last_value stay in-place (HOT).
  (t) => [
    uniqueIndex('series_identity_idx').on(t.applianceId, t.metric, t.labelsKey),
    index('series_metric_idx').on(t.metric),
    index('series_labels_idx').using('gin', sql`${t.labels} jsonb_path_ops`),
  ],
);

/** Every chunk lies within one UTC hour (aligned on the epoch): readers bound their index ranges by it. */
export const sampleChunkSpanMs = 3_600_000;

// Samples are stored as chunks: one row per series and hour holds that hour's points as two
// parallel arrays (time offsets, values). Ingest writes one chunk per series and hour of
// each batch; the compaction job merges the chunks of a series' past hour into one. "One
// appliance, one metric, time range" = series lookup + (series_id, last_ts) range scan bounded
// by the chunk span; "latest value" = series.last_ts/last_value. See docs/decisions/0004.
export const sampleChunks = pgTable(
  'sample_chunks',
  {
    seriesId: bigint('series_id', { mode: 'number' }).notNull(),
    firstTs: timestamp('first_ts', { withTimezone: true, precision: 3 }).notNull(),
    lastTs: timestamp('last_ts', { withTimezone: true, precision: 3 }).notNull(),
    pointCount: integer('point_count').notNull(),
    // Written by ingest (false) or the merge of its hour (true); fresh chunks are what compaction looks for.
    compacted: boolean('compacted').notNull().default(false),
    // Each point's time as milliseconds after first_ts (exact, and small: a chunk spans at most
    // an hour), ascending; equal times keep their arrival order. point_values[i] goes with it.
    pointOffsets: integer('point_offsets').array().notNull(),
    pointValues: doublePrecision('point_values').array().notNull(),
  },
  (t) => [
    index('sample_chunks_series_last_idx').on(t.seriesId, t.lastTs),
    index('sample_chunks_fresh_idx').on(t.lastTs).where(sql`not ${t.compacted}`),
  ],
);

// The points one by one, for tests and ad-hoc SQL. It unnests every chunk it touches: the
// product's readers query sample_chunks with chunk bounds instead.
export const samples = pgView('samples', {
  seriesId: bigint('series_id', { mode: 'number' }).notNull(),
  ts: timestamp('ts', { withTimezone: true, precision: 3 }).notNull(),
  value: doublePrecision('value').notNull(),
}).as(
  sql`select c.series_id, c.first_ts + p.o * interval '1 millisecond' as ts, p.v as value from sample_chunks c cross join lateral unnest(c.point_offsets, c.point_values) as p(o, v)`,
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
