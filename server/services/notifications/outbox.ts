import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { outboxAttempts, outboxMessages, ticketEvents, tickets, users, type OutboxStatus } from '../../../drizzle/schema/index.ts';
import { decodeCursor, encodeCursor } from '../../lib/cursor.ts';
import { notFound } from '../../lib/errors.ts';
import { planNotifications, type NotificationEvent, type OutboxMessage, type Person, type Recipients, type TicketFacts } from './planner.ts';

/** Process-wide mail settings from the configuration (SPEC §8), set once by `configureMail` at start. */
export interface MailSettings {
  publicUrl: string;
  mailFrom: string;
  /** The host part of Message-IDs: MAIL_FROM's domain. */
  domain: string;
  retryBaseMs: number;
}

let settings: MailSettings = { publicUrl: '', mailFrom: 'Vigil Support <vigil@localhost>', domain: 'localhost', retryBaseMs: 30_000 };

/** The domain of an address like `Name <a@b.example>` or `a@b.example`. */
export function mailDomain(from: string): string {
  const match = /@([^>\s]+)>?\s*$/.exec(from);
  return match?.[1]?.toLowerCase() ?? 'localhost';
}

/** Records PUBLIC_URL, MAIL_FROM and the retry base; the platform calls it before serving. */
export function configureMail(input: { publicUrl?: string | undefined; mailFrom: string; retrySeconds: number }): void {
  settings = {
    publicUrl: (input.publicUrl ?? '').replace(/\/+$/, ''),
    mailFrom: input.mailFrom,
    domain: mailDomain(input.mailFrom),
    retryBaseMs: input.retrySeconds * 1000,
  };
}

export function mailSettings(): MailSettings {
  return settings;
}

/**
 * Our Message-IDs name the ticket and the outbox row (`<vigil.<ticket>.<row>@domain>`), so a
 * reply's In-Reply-To or References leads back to its ticket without a lookup, and a message
 * of ours coming back in is recognised as a loop.
 */
export const ticketThreadId = (ticketId: string) => `<vigil.${ticketId}@${settings.domain}>`;
const messageIdFor = (ticketId: string, rowId: string) => `<vigil.${ticketId}.${rowId}@${settings.domain}>`;

const OUR_ID = /<?vigil\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.[0-9a-f-]{36})?@([^>\s]+)>?/i;

/** The ticket a Message-ID of ours names, or null. */
export function ticketIdFromMessageId(id: string): string | null {
  const match = OUR_ID.exec(id);
  return match && match[2]!.toLowerCase() === settings.domain ? match[1]!.toLowerCase() : null;
}

/** Whether a Message-ID is one Vigil generated (a message of ours coming back). */
export function isOwnMessageId(id: string): boolean {
  return ticketIdFromMessageId(id) !== null;
}

/**
 * Writes messages into the outbox in the caller's transaction, so a message exists exactly
 * when the change that caused it committed. Each gets its Message-ID now, so every attempt
 * sends the same one. A message whose `dedupKey` is already there is skipped.
 */
export async function enqueue(tx: Db | Tx, at: Date, messages: OutboxMessage[]): Promise<number> {
  if (messages.length === 0) return 0;
  const rows = messages.map((m) => {
    const id = randomUUID();
    return {
      id,
      kind: m.kind,
      ticketId: m.ticketId,
      recipientId: m.recipientId,
      to: m.to,
      language: m.language,
      subject: m.subject,
      text: m.text,
      html: m.html,
      messageId: messageIdFor(m.ticketId, id),
      inReplyTo: ticketThreadId(m.ticketId),
      dedupKey: m.dedupKey,
      status: 'queued' as const,
      nextAttemptAt: at,
      createdAt: at,
    };
  });
  const written = await tx.insert(outboxMessages).values(rows).onConflictDoNothing({ target: outboxMessages.dedupKey }).returning({ id: outboxMessages.id });
  return written.length;
}

const personColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  language: users.language,
  senior: users.senior,
  preferences: users.notificationPreferences,
  customerId: users.customerId,
};

/**
 * The people around a ticket: the requester (the customer user who opened it, else the first
 * customer user who wrote on it), the customer's users who opted in, the active engineers and
 * the seniors. Disabled users receive nothing.
 */
export async function loadRecipients(tx: Db | Tx, ticket: { id: string; customerId: string; openedBy: string | null }): Promise<Recipients> {
  const rows = await tx
    .select(personColumns)
    .from(users)
    .where(and(isNull(users.disabledAt), or(and(eq(users.role, 'customer'), eq(users.customerId, ticket.customerId)), inArray(users.role, ['engineer', 'admin']))));
  const person = ({ customerId: _c, ...p }: (typeof rows)[number]): Person => p;
  const customerUsers = rows.filter((r) => r.role === 'customer');
  let requester = customerUsers.find((u) => u.id === ticket.openedBy) ?? null;
  if (!requester && customerUsers.length > 0) {
    const [first] = await tx
      .select({ actorId: ticketEvents.actorId })
      .from(ticketEvents)
      .where(and(eq(ticketEvents.ticketId, ticket.id), inArray(ticketEvents.actorId, customerUsers.map((u) => u.id))))
      .orderBy(asc(ticketEvents.at), asc(ticketEvents.seq))
      .limit(1);
    requester = customerUsers.find((u) => u.id === first?.actorId) ?? null;
  }
  return {
    requester: requester ? person(requester) : null,
    followers: customerUsers.filter((u) => u.preferences.allTickets === true && u.id !== requester?.id).map(person),
    engineers: rows.filter((r) => r.role === 'engineer').map(person),
    seniors: rows.filter((r) => r.senior && r.role !== 'customer').map(person),
  };
}

type TicketRowLike = TicketFacts & { customerId: string; openedBy: string | null };

/**
 * Tells the right people about a ticket event: loads the recipients, plans the messages and
 * writes them to the outbox in the caller's transaction. The one entry point the ticket code
 * calls; returns how many messages were queued.
 */
export async function notifyTicket(tx: Db | Tx, ticket: TicketRowLike, event: NotificationEvent): Promise<number> {
  const people = await loadRecipients(tx, ticket);
  return enqueue(tx, event.at, planNotifications(event, ticket, people, settings));
}

// ---------------------------------------------------------------------------------------
// Delivery

/** After this many failed attempts a message is marked `failed` and kept for admins. */
export const MAX_MAIL_ATTEMPTS = 10;
const BACKOFF_MAX_MS = 60 * 60_000;

/** Delay before attempt `attempts + 1`: the base (MAIL_RETRY_SECONDS), doubling, capped at an hour. */
export function mailBackoffMs(attempts: number, baseMs = settings.retryBaseMs): number {
  return Math.min(BACKOFF_MAX_MS, baseMs * 2 ** Math.max(0, attempts - 1));
}

const transports = new Map<string, Transporter>();

/** One pooled nodemailer transport per SMTP_URL (the URL carries the credentials; it is never logged). */
export function smtpTransport(smtpUrl: string): Transporter {
  let transport = transports.get(smtpUrl);
  if (!transport) {
    transport = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
    transports.set(smtpUrl, transport);
  }
  return transport;
}

export interface MailDeliveryOutcome {
  attempted: number;
  sent: number;
  failed: number;
}

/** Keeps an SMTP error readable and free of credentials. */
function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\/\/[^@\s/]*@/g, '//***@').slice(0, 500);
}

/**
 * Sends the outbox messages that are due through `transport`. Each is claimed with a lease
 * (its next attempt moved past the send timeout, rows locked by another process skipped),
 * so two processes never send the same attempt; every attempt is recorded with the server's
 * answer; a temporary failure (no connection, 4xx) is retried with backoff, and after
 * MAX_MAIL_ATTEMPTS the message is `failed`; a permanent one (5xx) is `failed` at once. The Message-ID was fixed at enqueue, so even a retry after an uncertain send
 * (accepted, then the process died) is recognised by the receiving side as the same message.
 */
export async function deliverDueMail(db: Db, now: Date, transport: Transporter, options: { batch?: number; leaseMs?: number } = {}): Promise<MailDeliveryOutcome> {
  const batch = options.batch ?? 50;
  const lease = new Date(now.getTime() + (options.leaseMs ?? 5 * 60_000));
  const claimed = await db.transaction(async (tx) => {
    const due = await tx
      .select({ id: outboxMessages.id })
      .from(outboxMessages)
      .where(and(eq(outboxMessages.status, 'queued'), sql`${outboxMessages.nextAttemptAt} <= ${now.toISOString()}::timestamptz`))
      .orderBy(asc(outboxMessages.nextAttemptAt), asc(outboxMessages.createdAt))
      .limit(batch)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    return tx
      .update(outboxMessages)
      .set({ attempts: sql`${outboxMessages.attempts} + 1`, nextAttemptAt: lease })
      .where(and(inArray(outboxMessages.id, due.map((d) => d.id)), eq(outboxMessages.status, 'queued')))
      .returning();
  });
  let sent = 0;
  let failed = 0;
  // One at a time: an SMTP server is a shared peer, and order within a ticket matters to readers.
  for (const message of claimed) {
    let error: string | null = null;
    let response: string | null = null;
    let permanent = false;
    try {
      const info = await transport.sendMail({
        from: settings.mailFrom,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: message.messageId,
        ...(message.inReplyTo ? { inReplyTo: message.inReplyTo, references: [message.inReplyTo] } : {}),
        date: message.createdAt,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All', 'X-Vigil-Kind': message.kind },
      });
      response = typeof info.response === 'string' ? info.response.slice(0, 500) : 'accepted';
    } catch (err) {
      error = describeError(err);
      // A 5xx answer (unknown mailbox, policy refusal) will not change on retry (RFC 5321 §4.2.1).
      const code = (err as { responseCode?: unknown }).responseCode;
      permanent = typeof code === 'number' && code >= 500 && code < 600;
    }
    await db.transaction(async (tx) => {
      await tx.insert(outboxAttempts).values({ messageId: message.id, at: now, ok: error === null, response: error ?? response });
      if (error === null) {
        sent++;
        await tx.update(outboxMessages).set({ status: 'sent', sentAt: now, lastError: null }).where(eq(outboxMessages.id, message.id));
      } else {
        failed++;
        const giveUp = permanent || message.attempts >= MAX_MAIL_ATTEMPTS;
        await tx
          .update(outboxMessages)
          .set({ status: giveUp ? 'failed' : 'queued', lastError: error, nextAttemptAt: new Date(now.getTime() + mailBackoffMs(message.attempts)) })
          .where(eq(outboxMessages.id, message.id));
      }
    });
  }
  return { attempted: claimed.length, sent, failed };
}

// ---------------------------------------------------------------------------------------
// Reading (admins)

type OutboxRow = typeof outboxMessages.$inferSelect;

export function outboxView(row: OutboxRow) {
  return {
    id: row.id,
    kind: row.kind,
    ticketId: row.ticketId,
    recipientId: row.recipientId,
    to: row.to,
    language: row.language,
    subject: row.subject,
    text: row.text,
    html: row.html,
    messageId: row.messageId,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'queued' ? row.nextAttemptAt.toISOString() : null,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    sentAt: row.sentAt?.toISOString() ?? null,
  };
}

export interface OutboxFilter {
  status?: OutboxStatus | undefined;
  ticketId?: string | undefined;
  to?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** The outbox, newest first (keyset on createdAt, id). */
export async function listOutbox(db: Db, filter: OutboxFilter) {
  const cursor = decodeCursor(filter.cursor);
  const rows = await db
    .select()
    .from(outboxMessages)
    .where(
      and(
        filter.status ? eq(outboxMessages.status, filter.status) : undefined,
        filter.ticketId ? eq(outboxMessages.ticketId, filter.ticketId) : undefined,
        filter.to ? sql`lower(${outboxMessages.to}) = lower(${filter.to})` : undefined,
        cursor ? or(lt(outboxMessages.createdAt, cursor.createdAt), and(eq(outboxMessages.createdAt, cursor.createdAt), lt(outboxMessages.id, cursor.id))) : undefined,
      ),
    )
    .orderBy(desc(outboxMessages.createdAt), desc(outboxMessages.id))
    .limit(filter.limit + 1);
  const more = rows.length > filter.limit;
  const items = rows.slice(0, filter.limit);
  const last = items[items.length - 1];
  return more && last ? { items: items.map(outboxView), nextCursor: encodeCursor(last) } : { items: items.map(outboxView) };
}

/** One message with its delivery attempts. */
export async function getOutboxMessage(db: Db, id: string) {
  const [row] = await db.select().from(outboxMessages).where(eq(outboxMessages.id, id)).limit(1);
  if (!row) throw notFound('message');
  const attempts = await db.select().from(outboxAttempts).where(eq(outboxAttempts.messageId, id)).orderBy(asc(outboxAttempts.at), asc(outboxAttempts.id));
  return {
    ...outboxView(row),
    deliveryAttempts: attempts.map((a) => ({ at: a.at.toISOString(), ok: a.ok, response: a.response })),
  };
}

/** The ticket facts a notification needs, from a ticket row. */
export function ticketFacts(row: typeof tickets.$inferSelect): TicketRowLike {
  return {
    id: row.id,
    number: row.number,
    summary: row.summary,
    priority: row.priority,
    tier: row.tier,
    responseDueAt: row.responseDueAt,
    replacementDueAt: row.replacementDueAt,
    assigneeId: row.assigneeId,
    customerId: row.customerId,
    openedBy: row.openedBy,
  };
}
