import { boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { customers } from './customers.ts';
import { inboundStatuses, outboxStatuses } from './enums.ts';
import { tickets } from './tickets.ts';
import { users } from './users.ts';

/**
 * The transactional outbox of e-mail (SPEC §8): a message is written in the transaction of
 * the change that causes it and delivered later by the mail-delivery job. `messageId` is
 * fixed at enqueue, so a retry after an uncertain send carries the same Message-ID and
 * receivers drop the copy. `dedupKey` makes once-only messages (escalations, reminders)
 * idempotent across processes and job runs.
 */
export const outboxMessages = pgTable(
  'outbox_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    ticketId: uuid('ticket_id').references(() => tickets.id, { onDelete: 'set null' }),
    recipientId: uuid('recipient_id').references(() => users.id, { onDelete: 'set null' }),
    to: text('to').notNull(),
    language: text('language').notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html').notNull(),
    messageId: text('message_id').notNull().unique(),
    inReplyTo: text('in_reply_to'),
    dedupKey: text('dedup_key').unique(),
    status: text('status', { enum: outboxStatuses }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, precision: 3 }).notNull(),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true, precision: 3 }),
  },
  (t) => [
    index('outbox_messages_due_idx').on(t.status, t.nextAttemptAt),
    index('outbox_messages_ticket_idx').on(t.ticketId),
    index('outbox_messages_created_idx').on(t.createdAt),
  ],
);

/** Every delivery attempt of an outbox message, with the SMTP server's answer or the error. */
export const outboxAttempts = pgTable(
  'outbox_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    messageId: uuid('message_id')
      .notNull()
      .references(() => outboxMessages.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    ok: boolean('ok').notNull(),
    response: text('response'),
  },
  (t) => [index('outbox_attempts_message_idx').on(t.messageId, t.at)],
);

/**
 * Every e-mail that reached `POST /inbound/email` or the IMAP poller, with what became of
 * it: applied to a ticket, opened a ticket, or kept for admins (`ignored`, with a reason)
 * without changing anything. The unique Message-ID makes a re-fed message a no-op.
 */
export const inboundEmails = pgTable(
  'inbound_emails',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    messageId: text('message_id').unique(),
    receivedAt: timestamp('received_at', { withTimezone: true, precision: 3 }).notNull(),
    from: text('from'),
    subject: text('subject'),
    status: text('status', { enum: inboundStatuses }).notNull(),
    reason: text('reason'),
    ticketId: uuid('ticket_id').references(() => tickets.id, { onDelete: 'set null' }),
    senderId: uuid('sender_id').references(() => users.id, { onDelete: 'set null' }),
    customerId: uuid('customer_id').references(() => customers.id, { onDelete: 'set null' }),
    sizeBytes: integer('size_bytes').notNull(),
    // The body as parsed (quotes kept), bounded; the raw message is not kept.
    body: text('body'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('inbound_emails_received_idx').on(t.receivedAt)],
);
