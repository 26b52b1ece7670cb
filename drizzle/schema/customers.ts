import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tiers } from './enums.ts';
import { users } from './users.ts';

export const customers = pgTable(
  'customers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull().unique(),
    tier: text('tier', { enum: tiers }).notNull(),
    // The SERENITY pro-active monitoring add-on; Mission Critical includes it regardless.
    serenity: boolean('serenity').notNull().default(false),
    accountManagerId: uuid('account_manager_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('customers_tier_idx').on(t.tier), index('customers_account_manager_idx').on(t.accountManagerId)],
);

export const sites = pgTable(
  'sites',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    // Where replacement parts and field engineers go (support guide, hardware replacement):
    // the postal address, and who to ask for on arrival. All optional, since a site may first
    // appear as a bare name on an appliance; a dispatch needs the address.
    addressLines: text('address_lines').array().notNull().default(sql`'{}'::text[]`),
    postalCode: text('postal_code'),
    city: text('city'),
    // ISO 3166-1 alpha-2.
    country: text('country'),
    contactName: text('contact_name'),
    contactPhone: text('contact_phone'),
    notes: text('notes'),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('sites_customer_idx').on(t.customerId)],
);
