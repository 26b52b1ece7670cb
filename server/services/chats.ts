import { and, asc, count, eq, gt, inArray, ne, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db, Tx } from '../../drizzle/client.ts';
import { chatMessages, chats, customers, tickets, users, type ChatStatus } from '../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../auth/principal.ts';
import { customerScope, isStaff } from '../auth/scope.ts';
import { decodeSeqCursor, encodeCursor, decodeCursor, encodeSeqCursor } from '../lib/cursor.ts';
import { conflict, DomainError, invalid, notFound } from '../lib/errors.ts';
import { publishLiveMany, type LiveChat, type LiveChatMessage, type LiveEvent } from '../live/events.ts';
import { loadCalendar } from './calendar.ts';
import { firstResponseChanges } from './tickets/actions.ts';
import type { TicketRow } from './tickets/core.ts';
import { applyTicketOutcome, type TicketEffect } from './tickets/effects.ts';
import { openTicket } from './tickets/open.ts';
import type { TicketContext } from './tickets/service.ts';

/** What chat operations need besides the database: the instant, the limits and the ticket settings. */
export interface ChatContext extends TicketContext {
  /** CHAT_MESSAGES_PER_USER_MINUTE: messages one user may post per rolling 60 s (429 beyond). */
  messagesPerMinute: number;
  /** CHAT_MESSAGE_MAX_CHARS: characters (UTF-16 code units) per message (400 beyond). */
  maxChars: number;
  /** CHAT_OPEN_PER_USER: waiting or active chats one customer user may have at once (409 beyond). */
  openPerUser: number;
}

type ChatRow = typeof chats.$inferSelect;
type MessageRow = typeof chatMessages.$inferSelect;

const starter = alias(users, 'chat_starter');
const author = alias(users, 'chat_author');

/** How the summary of a ticket born from a chat is cut from the first message (characters). */
const SUMMARY_CHARS = 120;

// ---------------------------------------------------------------------------------------
// Views

function chatView(row: { chat: ChatRow; customerName: string; startedByName: string | null; ticketNumber: number | null }, change?: string): LiveChat {
  const { chat } = row;
  return {
    id: chat.id,
    customerId: chat.customerId,
    customerName: row.customerName,
    startedBy: chat.startedBy,
    startedByName: row.startedByName,
    origin: chat.origin,
    ticketId: chat.ticketId,
    ticketNumber: row.ticketNumber,
    status: chat.status,
    assigneeId: chat.assigneeId,
    createdAt: chat.createdAt.toISOString(),
    acceptedAt: chat.acceptedAt?.toISOString() ?? null,
    closedAt: chat.closedAt?.toISOString() ?? null,
    ...(change ? { change } : {}),
  };
}

export type ChatView = LiveChat;
export type ChatMessageView = Omit<LiveChatMessage, 'customerId'>;

function chatQuery(db: Db | Tx) {
  return db
    .select({ chat: chats, customerName: customers.name, startedByName: starter.name, ticketNumber: tickets.number })
    .from(chats)
    .innerJoin(customers, eq(customers.id, chats.customerId))
    .leftJoin(starter, eq(starter.id, chats.startedBy))
    .leftJoin(tickets, eq(tickets.id, chats.ticketId));
}

async function loadChatView(db: Db | Tx, id: string, change?: string): Promise<LiveChat> {
  const [row] = await chatQuery(db).where(eq(chats.id, id)).limit(1);
  if (!row) throw notFound('chat');
  return chatView(row, change);
}

/** A chat the user may see, optionally locked for update; 404 outside the scope (tenant rule, server/auth/scope.ts). */
async function chatInScope(db: Db | Tx, user: UserPrincipal, id: string, lock = false): Promise<ChatRow> {
  const query = db
    .select()
    .from(chats)
    .where(and(eq(chats.id, id), customerScope(user, chats.customerId)))
    .limit(1);
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw notFound('chat');
  return row;
}

function messageView(row: MessageRow, who: { name: string | null; role: string | null }): ChatMessageView {
  return {
    id: row.id,
    chatId: row.chatId,
    authorId: row.authorId,
    authorName: who.name,
    authorRole: who.role,
    body: row.body,
    at: row.at.toISOString(),
    cursor: encodeSeqCursor(row.seq),
  };
}

// ---------------------------------------------------------------------------------------
// Reading

export interface ChatFilter {
  status?: ChatStatus | undefined;
  limit: number;
  cursor?: string | undefined;
}

const statusRank = sql<number>`case ${chats.status} when 'waiting' then 0 when 'active' then 1 else 2 end`;

/**
 * The chats a user may see (`customerScope`: a customer user its own customer's, staff all),
 * waiting first, then active, then closed, oldest first within each — so the engineer's queue
 * starts with whoever has waited longest. Without `status` the closed ones are left out. Keyset
 * pages on (status rank, createdAt, id); the cursor is opaque.
 */
export async function listChats(db: Db, user: UserPrincipal, filter: ChatFilter): Promise<{ items: LiveChat[]; nextCursor?: string }> {
  let after: SQL | undefined;
  if (filter.cursor) {
    const match = /^([0-2])\.(.+)$/.exec(filter.cursor);
    if (!match) throw invalid('cursor is not valid');
    const rank = Number(match[1]);
    const position = decodeCursor(match[2])!;
    after = or(
      sql`${statusRank} > ${rank}`,
      and(sql`${statusRank} = ${rank}`, or(gt(chats.createdAt, position.createdAt), and(eq(chats.createdAt, position.createdAt), gt(chats.id, position.id)))),
    );
  }
  const statuses: ChatStatus[] = filter.status ? [filter.status] : ['waiting', 'active'];
  const rows = await chatQuery(db)
    .where(and(inArray(chats.status, statuses), customerScope(user, chats.customerId), after))
    .orderBy(statusRank, asc(chats.createdAt), asc(chats.id))
    .limit(filter.limit + 1);
  const more = rows.length > filter.limit;
  const pageRows = more ? rows.slice(0, filter.limit) : rows;
  const items = pageRows.map((r) => chatView(r));
  const last = pageRows.at(-1);
  if (!more || !last) return { items };
  const rank = last.chat.status === 'waiting' ? 0 : last.chat.status === 'active' ? 1 : 2;
  return { items, nextCursor: `${rank}.${encodeCursor(last.chat)}` };
}

/** One chat the user may see; 404 otherwise. */
export async function getChat(db: Db, user: UserPrincipal, id: string): Promise<LiveChat> {
  await chatInScope(db, user, id);
  return loadChatView(db, id);
}

/**
 * A chat's history after `after` (a message's `cursor`, or none for the start), oldest first,
 * at most `limit`; `nextCursor` when more follow. A client that reconnects asks again from the
 * last cursor it holds and gets every message it missed, once (chatMessages.seq, drizzle/schema/chats.ts).
 */
export async function listMessages(db: Db, user: UserPrincipal, chatId: string, after: string | undefined, limit: number) {
  await chatInScope(db, user, chatId);
  const from = decodeSeqCursor(after);
  const rows = await db
    .select({ message: chatMessages, name: author.name, role: author.role })
    .from(chatMessages)
    .leftJoin(author, eq(author.id, chatMessages.authorId))
    .where(and(eq(chatMessages.chatId, chatId), from !== undefined ? gt(chatMessages.seq, from) : undefined))
    .orderBy(asc(chatMessages.seq))
    .limit(limit + 1);
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map((r) => messageView(r.message, r));
  const last = items.at(-1);
  return more && last ? { items, nextCursor: last.cursor } : { items };
}

// ---------------------------------------------------------------------------------------
// The transcript on a ticket

/** A chat message as a public timeline entry of the ticket (the conversation stored on the ticket, issue 21). */
function transcriptEntry(chat: ChatRow, message: MessageRow): TicketEffect {
  return {
    kind: 'timeline',
    entry: { at: message.at, actorId: message.authorId, type: 'chat_message', public: true, body: message.body, data: { chatId: chat.id, messageId: message.id } },
  };
}

/**
 * Appends messages to the chat's ticket in the caller's transaction: one public `chat_message`
 * entry each, the live `ticket.updated` (change `chat`), and — when staff wrote one of them —
 * the ticket's first response (the guide: response time is the time for an engineer to contact
 * the customer; a chat message is that contact, SPEC §2.4).
 */
async function appendTranscript(tx: Tx, ctx: ChatContext, chat: ChatRow, messages: MessageRow[], staffAuthors: ReadonlySet<string>, actor: UserPrincipal | null): Promise<void> {
  if (!chat.ticketId || messages.length === 0) return;
  const [ticket] = await tx.select().from(tickets).where(eq(tickets.id, chat.ticketId)).for('update').limit(1);
  if (!ticket) return;
  const firstStaff = messages.find((m) => m.authorId !== null && staffAuthors.has(m.authorId));
  const changes = firstStaff ? firstResponseChanges(ticket, firstStaff.at) : {};
  const effects: TicketEffect[] = [...messages.map((m) => transcriptEntry(chat, m)), { kind: 'live', event: 'ticket.updated', change: 'chat' }];
  await applyTicketOutcome(tx, ticket, { changes, effects }, ctx.now, actor, ctx.publicUrl);
}

/** Users among `ids` who are staff (admin or engineer). */
async function staffAmong(tx: Tx, ids: (string | null)[]): Promise<Set<string>> {
  const known = [...new Set(ids.filter((id): id is string => id !== null))];
  if (known.length === 0) return new Set();
  const rows = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(inArray(users.id, known), inArray(users.role, ['admin', 'engineer'])));
  return new Set(rows.map((r) => r.id));
}

/**
 * Turns a portal chat into a ticket with source `chat` through `openTicket`, the one opening
 * path (so the response target, the `ticket.opened` event, webhook and notification follow as
 * for any ticket): no appliance, the chat's customer, priority P3 (the portal's default; the
 * engineer sets it like any other), summary from the first customer message, opened by the
 * customer user who started the chat at the chat's start time — the moment the customer asked
 * for help is when the response clock starts. Then the transcript so far is appended.
 */
async function ticketFromChat(tx: Tx, ctx: ChatContext, chat: ChatRow, actor: UserPrincipal): Promise<ChatRow> {
  const messages = await tx.select().from(chatMessages).where(eq(chatMessages.chatId, chat.id)).orderBy(asc(chatMessages.seq));
  const [who] = chat.startedBy ? await tx.select({ name: users.name }).from(users).where(eq(users.id, chat.startedBy)).limit(1) : [];
  const first = messages.find((m) => m.authorId === chat.startedBy) ?? messages[0];
  const firstLine = first?.body.replace(/\s+/g, ' ').trim() ?? '';
  const summary = firstLine ? (firstLine.length > SUMMARY_CHARS ? `${firstLine.slice(0, SUMMARY_CHARS - 1)}…` : firstLine) : `Chat with ${who?.name ?? 'a customer'}`;
  const calendar = await loadCalendar(tx, ctx.replacementCutoff);
  const opened = await openTicket(
    tx,
    { receivedAt: chat.createdAt, calendar, ticketsOpened: ctx.ticketsOpened, publicUrl: ctx.publicUrl },
    {
      source: 'chat',
      applianceId: null,
      customerId: chat.customerId,
      priority: 'P3',
      summary,
      description: `Opened from a chat started in the portal by ${who?.name ?? 'a customer user'}; the conversation is in the timeline.`,
      openedBy: chat.startedBy,
    },
  );
  const [linked] = await tx.update(chats).set({ ticketId: opened.row.id }).where(eq(chats.id, chat.id)).returning();
  const staff = await staffAmong(tx, messages.map((m) => m.authorId));
  await appendTranscript(tx, ctx, linked!, messages, staff, actor);
  return linked!;
}

// ---------------------------------------------------------------------------------------
// Changing

export interface StartChatInput {
  ticketId?: string | undefined;
  /** The first message, optional: the customer may open the chat and type afterwards. */
  message?: string | undefined;
}

function checkBody(ctx: ChatContext, body: string, field: string): string {
  if (body.trim() === '') throw invalid(`${field} must not be empty`, { field });
  if (body.length > ctx.maxChars) throw invalid(`${field} is longer than ${ctx.maxChars} characters`, { field, maxChars: ctx.maxChars });
  return body;
}

/**
 * The per-user message rate (SPEC §10 style, CHAT_MESSAGES_PER_USER_MINUTE): counted from the
 * stored messages of the last 60 s, so every process enforces the same limit; 429 with
 * Retry-After = the seconds until the oldest of them leaves the window.
 */
async function checkRate(tx: Tx, ctx: ChatContext, userId: string): Promise<void> {
  const since = new Date(ctx.now.getTime() - 60_000);
  const [row] = await tx
    .select({ n: count(), oldest: sql<string | null>`min(${chatMessages.at})` })
    .from(chatMessages)
    .where(and(eq(chatMessages.authorId, userId), gt(chatMessages.at, since)));
  if ((row?.n ?? 0) < ctx.messagesPerMinute) return;
  const oldest = row?.oldest ? new Date(row.oldest).getTime() : ctx.now.getTime();
  const wait = Math.max(1, Math.ceil((oldest + 60_000 - ctx.now.getTime()) / 1000));
  throw new DomainError('rate_limited', `at most ${ctx.messagesPerMinute} chat messages per minute`, { limit: ctx.messagesPerMinute }, wait);
}

async function insertMessage(tx: Tx, ctx: ChatContext, chat: ChatRow, user: UserPrincipal, body: string): Promise<MessageRow> {
  // One user's messages (in any chat) are counted and written one at a time, so two at once
  // cannot both pass the rate.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`chat-rate:${user.id}`}))`);
  await checkRate(tx, ctx, user.id);
  const [row] = await tx.insert(chatMessages).values({ chatId: chat.id, authorId: user.id, body, at: ctx.now }).returning();
  return row!;
}

function liveMessage(chat: ChatRow, message: MessageRow, user: UserPrincipal): LiveEvent {
  return { type: 'chat.message', customerId: chat.customerId, data: { ...messageView(message, { name: user.name, role: user.role }), customerId: chat.customerId } };
}

async function liveChat(tx: Tx, id: string, change: string): Promise<LiveEvent> {
  const view = await loadChatView(tx, id, change);
  return { type: 'chat.updated', customerId: view.customerId, data: view };
}

/**
 * A customer user starts a chat (issue 21), from the portal or from one of their customer's
 * tickets (`ticketId`; another customer's is 404, a closed ticket 409). The chat waits for an
 * engineer; staff hear `chat.updated` (change `started`) live. At most CHAT_OPEN_PER_USER chats
 * of the user may be waiting or active (409 `conflict` beyond: closing one frees a place; it is
 * a count, not a rate, so not a 429). An optional first message is stored with it.
 */
export async function startChat(db: Db, user: UserPrincipal, ctx: ChatContext, input: StartChatInput): Promise<LiveChat> {
  if (user.role !== 'customer' || !user.customerId) throw notFound('route');
  const customerId = user.customerId;
  const message = input.message === undefined ? undefined : checkBody(ctx, input.message, 'message');
  const id = await db.transaction(async (tx) => {
    // One user's starts are serialized, so two at once cannot both pass the count.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`chat-start:${user.id}`}))`);
    const [open] = await tx
      .select({ n: count() })
      .from(chats)
      .where(and(eq(chats.startedBy, user.id), ne(chats.status, 'closed')));
    if ((open?.n ?? 0) >= ctx.openPerUser) {
      throw conflict(`you already have ${ctx.openPerUser} open chats; close one to start another`, { openChats: open?.n ?? 0, limit: ctx.openPerUser });
    }
    let ticket: TicketRow | undefined;
    if (input.ticketId) {
      [ticket] = await tx
        .select()
        .from(tickets)
        .where(and(eq(tickets.id, input.ticketId), customerScope(user, tickets.customerId)))
        .limit(1);
      if (!ticket) throw notFound('ticket');
      if (ticket.status === 'closed') throw conflict('this ticket is closed; reopen it or start a chat from the portal', { field: 'ticketId' });
    }
    const [chat] = await tx
      .insert(chats)
      .values({ customerId, startedBy: user.id, origin: ticket ? 'ticket' : 'portal', ticketId: ticket?.id ?? null, status: 'waiting', createdAt: ctx.now })
      .returning();
    const events: LiveEvent[] = [];
    if (message !== undefined) {
      const stored = await insertMessage(tx, ctx, chat!, user, message);
      await appendTranscript(tx, ctx, chat!, [stored], new Set(), user);
      events.push(liveMessage(chat!, stored, user));
    }
    if (ticket) {
      await applyTicketOutcome(
        tx,
        ticket,
        { changes: {}, effects: [{ kind: 'timeline', entry: { at: ctx.now, actorId: user.id, type: 'chat_started', public: true, data: { chatId: chat!.id } } }] },
        ctx.now,
        user,
        ctx.publicUrl,
      );
    }
    await publishLiveMany(tx, [await liveChat(tx, chat!.id, 'started'), ...events]);
    return chat!.id;
  });
  return loadChatView(db, id);
}

/**
 * Posts a message. Customers write in their own chats while waiting or active; staff only once
 * the chat is active (an engineer accepts it first). A closed chat is 409. Limits: the body's
 * length (400) and the user's rate (429, Retry-After). On a chat with a ticket the message is
 * appended to the ticket's timeline at once; all who may see the chat hear `chat.message`.
 */
export async function postMessage(db: Db, user: UserPrincipal, ctx: ChatContext, chatId: string, body: string): Promise<ChatMessageView> {
  const staff = isStaff(user);
  if (!staff && user.role !== 'customer') throw notFound('route');
  checkBody(ctx, body, 'body');
  return db.transaction(async (tx) => {
    // The chat row's lock orders its messages: `seq` grows in commit order (the history cursor).
    const chat = await chatInScope(tx, user, chatId, true);
    if (chat.status === 'closed') throw conflict('this chat is closed', { status: chat.status });
    if (staff && chat.status !== 'active') throw conflict('accept the chat before writing in it', { status: chat.status });
    const stored = await insertMessage(tx, ctx, chat, user, body);
    await appendTranscript(tx, ctx, chat, [stored], staff ? new Set([user.id]) : new Set(), user);
    await publishLiveMany(tx, [liveMessage(chat, stored, user)]);
    return messageView(stored, { name: user.name, role: user.role });
  });
}

/**
 * An engineer (or admin) accepts a waiting chat (409 when it is not waiting: someone else was
 * first, or it closed). It becomes active and theirs. A portal chat becomes a new ticket with
 * source `chat` here (`ticketFromChat`), assigned to the engineer who accepted it; a ticket's
 * chat is recorded on its ticket. Everyone who may see it hears `chat.updated` (`accepted`).
 */
export async function acceptChat(db: Db, user: UserPrincipal, ctx: ChatContext, chatId: string): Promise<LiveChat> {
  if (!isStaff(user)) throw notFound('route');
  await db.transaction(async (tx) => {
    let chat = await chatInScope(tx, user, chatId, true);
    if (chat.status !== 'waiting') throw conflict(`this chat is ${chat.status}, not waiting`, { status: chat.status });
    [chat] = (await tx.update(chats).set({ status: 'active', assigneeId: user.id, acceptedAt: ctx.now }).where(eq(chats.id, chat.id)).returning()) as [ChatRow];
    if (chat.ticketId === null) chat = await ticketFromChat(tx, ctx, chat, user);
    const [ticket] = await tx.select().from(tickets).where(eq(tickets.id, chat.ticketId!)).for('update').limit(1);
    if (ticket) {
      const assign = ticket.assigneeId === null && ticket.status !== 'closed';
      const effects: TicketEffect[] = [
        { kind: 'timeline', entry: { at: ctx.now, actorId: user.id, type: 'chat_accepted', public: true, data: { chatId: chat.id } } },
        ...(assign
          ? [{ kind: 'timeline', entry: { at: ctx.now, actorId: user.id, type: 'assigned', public: false, data: { fromAssigneeId: null, toAssigneeId: user.id, assigneeName: user.name, via: 'chat' } } } as const]
          : []),
        { kind: 'live', event: 'ticket.updated', change: 'chat' },
      ];
      await applyTicketOutcome(tx, ticket, { changes: assign ? { assigneeId: user.id } : {}, effects }, ctx.now, user, ctx.publicUrl);
    }
    await publishLiveMany(tx, [await liveChat(tx, chat.id, 'accepted')]);
  });
  return loadChatView(db, chatId);
}

/**
 * Closes a chat (its customer or staff; 409 when already closed). A portal chat that nobody
 * accepted still becomes a ticket when the customer wrote something in it — the request for
 * help is not lost and its response clock runs from the chat's start; an empty one just closes.
 * The ticket's timeline records the close.
 */
export async function closeChat(db: Db, user: UserPrincipal, ctx: ChatContext, chatId: string): Promise<LiveChat> {
  const staff = isStaff(user);
  if (!staff && user.role !== 'customer') throw notFound('route');
  await db.transaction(async (tx) => {
    let chat = await chatInScope(tx, user, chatId, true);
    if (chat.status === 'closed') throw conflict('this chat is already closed', { status: chat.status });
    if (chat.ticketId === null) {
      const [written] = await tx
        .select({ n: count() })
        .from(chatMessages)
        .where(and(eq(chatMessages.chatId, chat.id), chat.startedBy ? eq(chatMessages.authorId, chat.startedBy) : undefined));
      if ((written?.n ?? 0) > 0) chat = await ticketFromChat(tx, ctx, chat, user);
    }
    await tx.update(chats).set({ status: 'closed', closedAt: ctx.now, closedBy: user.id }).where(eq(chats.id, chat.id));
    if (chat.ticketId) {
      const [ticket] = await tx.select().from(tickets).where(eq(tickets.id, chat.ticketId)).for('update').limit(1);
      if (ticket) {
        await applyTicketOutcome(
          tx,
          ticket,
          {
            changes: {},
            effects: [
              { kind: 'timeline', entry: { at: ctx.now, actorId: user.id, type: 'chat_closed', public: true, data: { chatId: chat.id } } },
              { kind: 'live', event: 'ticket.updated', change: 'chat' },
            ],
          },
          ctx.now,
          user,
          ctx.publicUrl,
        );
      }
    }
    await publishLiveMany(tx, [await liveChat(tx, chat.id, 'closed')]);
  });
  return loadChatView(db, chatId);
}
