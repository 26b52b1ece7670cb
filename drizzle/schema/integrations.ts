import { bigint, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { customers } from './customers.ts';
import { integrationKinds } from './enums.ts';

/**
 * Integration tokens (SPEC §8, §9): one fleet-level Alertmanager or Prometheus, or the inbound
 * e-mail path, speaks for many appliances. Each alert or series goes to the appliance named by
 * its `applianceLabel` (default `serial`), limited to `customerId` when set.
 */
export const integrations = pgTable(
  'integrations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    kind: text('kind', { enum: integrationKinds }).notNull(),
    customerId: uuid('customer_id').references(() => customers.id, { onDelete: 'cascade' }),
    applianceLabel: text('appliance_label').notNull().default('serial'),
    // SHA-256 of the token; the token itself is shown once.
    tokenHash: text('token_hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
    // Points of accepted requests left out as invalid (NaN, too old, bad names, histograms…),
    // for the admin view: remote-write senders ignore the response body.
    skippedPoints: bigint('skipped_points', { mode: 'number' }).notNull().default(0),
    lastSkippedAt: timestamp('last_skipped_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [index('integrations_customer_idx').on(t.customerId)],
);

/**
 * What an integration sent for appliances Vigil does not know (SPEC §9): per value of its
 * appliance label, how many points or alerts were skipped and when last. A series or alert
 * without the label at all is counted under the empty serial. Outside the integration's
 * customer counts as unknown: the sender learns nothing about other customers' appliances.
 */
export const integrationUnknownAppliances = pgTable(
  'integration_unknown_appliances',
  {
    integrationId: uuid('integration_id')
      .notNull()
      .references(() => integrations.id, { onDelete: 'cascade' }),
    serial: text('serial').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true, precision: 3 }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.integrationId, t.serial] })],
);
