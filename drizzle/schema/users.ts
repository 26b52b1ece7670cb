import { boolean, index, jsonb, pgTable, text, timestamp, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { languages, roles } from './enums.ts';

/**
 * A user's notification preferences (SPEC §8). `email: false` stops every e-mail; `muted`
 * lists message kinds the user does not want; `allTickets` (customer users) opts in to the
 * customer's tickets the user did not open.
 */
export interface NotificationPreferences {
  email?: boolean;
  muted?: string[];
  allTickets?: boolean;
}
import { customers } from './customers.ts';

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull().unique(),
    name: text('name').notNull(),
    role: text('role', { enum: roles }).notNull(),
    // Set for role `customer` only: the customer whose fleet the user sees.
    customerId: uuid('customer_id').references((): AnyPgColumn => customers.id, { onDelete: 'cascade' }),
    senior: boolean('senior').notNull().default(false),
    language: text('language', { enum: languages }).notNull().default('en'),
    notificationPreferences: jsonb('notification_preferences').$type<NotificationPreferences>().notNull().default({}),
    passwordHash: text('password_hash'),
    disabledAt: timestamp('disabled_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('users_customer_idx').on(t.customerId)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // SHA-256 of the key; the key itself is shown once at creation.
    keyHash: text('key_hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    name: text('name').notNull().default('default'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, precision: 3 }),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [index('api_keys_user_idx').on(t.userId)],
);

export const sessions = pgTable(
  'sessions',
  {
    // SHA-256 of the cookie value.
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

export const loginAttempts = pgTable(
  'login_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    ip: text('ip'),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    success: boolean('success').notNull(),
  },
  (t) => [index('login_attempts_email_at_idx').on(t.email, t.at), index('login_attempts_ip_at_idx').on(t.ip, t.at)],
);

/**
 * One-use tickets for the live WebSocket (SPEC §10): a client holding an API key asks for one
 * and opens the socket with `?ticket=`, so the key itself never appears in a URL. The ticket
 * names the credential that asked for it, and the socket lives only as long as that credential.
 */
export const liveTickets = pgTable('live_tickets', {
  // SHA-256 of the ticket.
  id: text('id').primaryKey(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  via: text('via', { enum: ['api_key', 'session'] }).notNull(),
  // The API key's hash or the session id the ticket was asked with.
  credential: text('credential').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
});
