import { bigserial, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { chatStatuses } from './enums.ts';
import { customers } from './customers.ts';
import { tickets } from './tickets.ts';
import { users } from './users.ts';

/**
 * A live conversation between a customer user and support (issue 21; the guide: tickets can be
 * opened "via chat"). Started from the portal (`ticketId` null until an engineer accepts it, when
 * it becomes a ticket with source `chat`) or from one of the customer's tickets (`ticketId` set
 * from the start; the transcript is appended to that ticket's timeline).
 */
export const chats = pgTable(
  'chats',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    startedBy: uuid('started_by').references(() => users.id, { onDelete: 'set null' }),
    // Where it was started: `portal` (becomes a new ticket) or `ticket` (stored on that ticket).
    origin: text('origin', { enum: ['portal', 'ticket'] }).notNull(),
    ticketId: uuid('ticket_id').references(() => tickets.id, { onDelete: 'set null' }),
    status: text('status', { enum: chatStatuses }).notNull().default('waiting'),
    assigneeId: uuid('assignee_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true, precision: 3 }),
    closedAt: timestamp('closed_at', { withTimezone: true, precision: 3 }),
    closedBy: uuid('closed_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [index('chats_status_created_idx').on(t.status, t.createdAt), index('chats_customer_idx').on(t.customerId, t.createdAt), index('chats_started_by_idx').on(t.startedBy, t.status)],
);

/**
 * One message of a chat. `seq` orders a chat's messages and is the history cursor: messages are
 * inserted under a lock on their chat row, so within a chat `seq` grows in commit order and a
 * reader resuming after a cursor misses nothing (a timestamp or a random id could not promise it).
 */
export const chatMessages = pgTable(
  'chat_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    chatId: uuid('chat_id')
      .notNull()
      .references(() => chats.id, { onDelete: 'cascade' }),
    authorId: uuid('author_id').references(() => users.id, { onDelete: 'set null' }),
    body: text('body').notNull(),
    at: timestamp('at', { withTimezone: true, precision: 3 }).notNull(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
  },
  (t) => [index('chat_messages_chat_seq_idx').on(t.chatId, t.seq), index('chat_messages_author_at_idx').on(t.authorId, t.at)],
);
