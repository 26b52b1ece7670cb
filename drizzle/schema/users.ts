import { sql } from 'drizzle-orm';
import { boolean, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
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
    // A customer user who may approve sign-ups proving an appliance of their own customer (issue 21); set by admins.
    customerAdmin: boolean('customer_admin').notNull().default(false),
    // Profile (the guide: "keep your profile and location up to date"): phone as typed, IANA time zone.
    phone: text('phone'),
    timeZone: text('time_zone'),
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

export const signupStatuses = ['pending_verification', 'pending_approval', 'approved', 'rejected'] as const;
export type SignupStatus = (typeof signupStatuses)[number];

/**
 * A public sign-up (the guide: "click 'Sign Up' … create a Customer Profile"): the pending
 * user. It cannot log in — no `users` row exists until an approver accepts it into a customer.
 * The verification token is stored as its SHA-256 and cleared when used. The serial is the
 * applicant's proof; its owner is looked up when an approver reads the list, never shown to
 * the applicant. One open sign-up per email (a newer unverified one supersedes an older).
 */
export const signups = pgTable(
  'signups',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    company: text('company').notNull(),
    serial: text('serial').notNull(),
    language: text('language', { enum: languages }).notNull().default('en'),
    passwordHash: text('password_hash').notNull(),
    status: text('status', { enum: signupStatuses }).notNull(),
    verifyTokenHash: text('verify_token_hash').unique(),
    verifyExpiresAt: timestamp('verify_expires_at', { withTimezone: true, precision: 3 }),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true, precision: 3 }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
    decidedAt: timestamp('decided_at', { withTimezone: true, precision: 3 }),
    decidedBy: uuid('decided_by').references(() => users.id, { onDelete: 'set null' }),
    decisionReason: text('decision_reason'),
    // The user an approval created, and the customer it joined.
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    customerId: uuid('customer_id').references((): AnyPgColumn => customers.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('signups_status_idx').on(t.status, t.createdAt),
    uniqueIndex('signups_open_email_idx')
      .on(t.email)
      .where(sql`status in ('pending_verification', 'pending_approval')`),
  ],
);

/** Sign-up requests per client address and per email, for the rate limit (like `login_attempts`). */
export const signupAttempts = pgTable(
  'signup_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    ip: text('ip').notNull(),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [index('signup_attempts_email_at_idx').on(t.email, t.at), index('signup_attempts_ip_at_idx').on(t.ip, t.at)],
);
