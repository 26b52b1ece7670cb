import {
  bigint,
  boolean,
  index,
  integer,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { applianceStatuses, changeKinds, componentKinds } from './enums.ts';
import { customers, sites } from './customers.ts';

export const appliances = pgTable(
  'appliances',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    siteId: uuid('site_id').references(() => sites.id, { onDelete: 'set null' }),
    serial: text('serial').notNull().unique(),
    hardwareId: text('hardware_id').notNull(),
    model: text('model').notNull(),
    osVersion: text('os_version'),
    hypervisorVersion: text('hypervisor_version'),
    uptimeSeconds: bigint('uptime_seconds', { mode: 'number' }),
    lastHeartbeatAt: timestamp('last_heartbeat_at', { withTimezone: true, precision: 3 }),
    remoteTunnel: boolean('remote_tunnel').notNull().default(false),
    status: text('status', { enum: applianceStatuses }).notNull().default('unknown'),
    healthScore: integer('health_score'),
    statusChangedAt: timestamp('status_changed_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index('appliances_customer_idx').on(t.customerId),
    index('appliances_status_idx').on(t.status),
    // Covers the fleet summary's per-tier grouping (index-only scan).
    index('appliances_fleet_summary_idx').on(t.customerId, t.status, t.healthScore),
    index('appliances_os_version_idx').on(t.osVersion),
  ],
);

export const applianceTokens = pgTable(
  'appliance_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    // SHA-256 of the token; the token itself is shown once.
    tokenHash: text('token_hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [index('appliance_tokens_appliance_idx').on(t.applianceId)],
);

// The topology reported in heartbeats: disks → pools → datastores → VMs; PSUs, fans, NICs,
// replication targets. Component ids follow `${kind}:${name}` (e.g. `pool:tank`).
export const components = pgTable(
  'components',
  {
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    kind: text('kind', { enum: componentKinds }).notNull(),
    parentId: text('parent_id'),
    name: text('name'),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.applianceId, t.id] })],
);

// Software and configuration changes, kept with their time for change root-cause candidates.
export const applianceChanges = pgTable(
  'appliance_changes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: changeKinds }).notNull(),
    fromValue: text('from_value'),
    toValue: text('to_value'),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [index('appliance_changes_appliance_at_idx').on(t.applianceId, t.at)],
);

// Health score history, one row per recomputation that changed the score or status.
export const healthScores = pgTable(
  'health_scores',
  {
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    score: integer('score').notNull(),
    status: text('status', { enum: applianceStatuses }).notNull(),
    factors: real('factors').array(),
  },
  (t) => [primaryKey({ columns: [t.applianceId, t.at] })],
);

// Heartbeat arrivals, kept per minute for availability reports.
export const heartbeats = pgTable(
  'heartbeats',
  {
    applianceId: uuid('appliance_id')
      .notNull()
      .references(() => appliances.id, { onDelete: 'cascade' }),
    minute: timestamp('minute', { withTimezone: true, precision: 3 }).notNull(),
    uptimeSeconds: bigint('uptime_seconds', { mode: 'number' }),
  },
  (t) => [primaryKey({ columns: [t.applianceId, t.minute] })],
);
