import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** The products whose versions appliances report in their heartbeat. */
export const releaseProducts = ['synetoos', 'hypervisor'] as const;
export type ReleaseProduct = (typeof releaseProducts)[number];

// The release catalogue (SPEC §7 "The current version is declared, not inferred"): admins
// declare which version of each product is current; the version rule, the health score and
// the health report compare appliances against it, never against what the fleet reports.
export const releases = pgTable(
  'releases',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    product: text('product', { enum: releaseProducts }).notNull(),
    version: text('version').notNull(),
    releasedAt: timestamp('released_at', { withTimezone: true, precision: 3 }).notNull(),
    current: boolean('current').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('releases_product_version_idx').on(t.product, t.version),
    // At most one current release per product, whichever process writes.
    uniqueIndex('releases_current_idx').on(t.product).where(sql`${t.current}`),
    index('releases_product_released_idx').on(t.product, t.releasedAt),
  ],
);
