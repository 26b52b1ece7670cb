import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Db, Tx } from '../../../drizzle/client.ts';
import { appliances, attachments, inboundEmails, tickets, users, type InboundStatus } from '../../../drizzle/schema/index.ts';
import type { UserPrincipal } from '../../auth/principal.ts';
import { decodeCursor, encodeCursor } from '../../lib/cursor.ts';
import { DomainError, invalid } from '../../lib/errors.ts';
import { loadCalendar } from '../calendar.ts';
import { openTicket, type OpenTicketPorts } from '../tickets/open.ts';
import { applyActionIn, type ActionBody, type TicketContext } from '../tickets/service.ts';
import { isOwnMessageId, mailDomain, mailSettings, ticketIdFromMessageId } from './outbox.ts';
import { REPLY_MARKER } from './templates.ts';

/** Attachments of one e-mail are kept up to the appliance log-bundle limit in total (SPEC §8). */
export const MAX_INBOUND_ATTACHMENT_BYTES = 3 * 1024 * 1024;
/** The largest raw message accepted (the HTTP body limit of the route; IMAP messages above it are kept, not applied). */
export const MAX_INBOUND_MESSAGE_BYTES = 10 * 1024 * 1024;
const MAX_BODY_CHARS = 20_000;

/** Why an inbound message changed nothing (kept for admins). */
export type IgnoredReason =
  | 'loop'
  | 'auto_submitted'
  | 'missing_from'
  | 'duplicate'
  | 'unknown_sender'
  | 'sender_not_allowed'
  | 'unknown_ticket'
  | 'ticket_closed'
  | 'empty'
  | 'too_large'
  | 'not_allowed';

export interface InboundOutcome {
  id: string | null;
  status: InboundStatus;
  reason?: IgnoredReason;
  ticketId?: string;
  ticketNumber?: number;
  attachments?: number;
}

const quoteStarts: RegExp[] = [
  /^On\b.*\bwrote:\s*$/,
  /^Il\b.*\bha scritto:\s*$/,
  /^-{2,}\s*(Original Message|Messaggio originale)\s*-{2,}/i,
  /^_{10,}\s*$/,
  /^(From|Da):\s.+/,
];

/**
 * The new part of a reply: everything above our reply marker, the first "On … wrote:" (or
 * Italian "Il … ha scritto:", including Gmail's two-line form), an Outlook header block or
 * the signature delimiter; lines quoted with `>` (indented or not) are dropped.
 */
export function stripQuotedHistory(text: string): string {
  const markers = Object.values(REPLY_MARKER);
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const bare = line.replace(/^[>\s]+/, '').trim();
    if (markers.some((m) => bare.includes(m))) break;
    // The signature delimiter is exactly dash, dash, space (RFC 3676 §4.3).
    if (line === '-- ') break;
    if (quoteStarts.some((re) => re.test(line.trim()))) break;
    if (/^On\b/.test(line.trim()) && /\bwrote:\s*$/.test(lines[i + 1]?.trim() ?? '')) break;
    if (/^Il\b/.test(line.trim()) && /\bha scritto:\s*$/.test(lines[i + 1]?.trim() ?? '')) break;
    // Quoted lines, also when the client indents the quote (" > old text").
    if (line.trimStart().startsWith('>')) continue;
    kept.push(line);
  }
  return kept.join('\n').trim();
}

/** Headers that mark a message as machine-sent (RFC 3834 and common practice); such messages never change a ticket. */
function isAutomatic(mail: ParsedMail): boolean {
  const header = (name: string) => {
    const value = mail.headers.get(name);
    return typeof value === 'string' ? value.toLowerCase() : value ? String((value as { value?: unknown }).value ?? value).toLowerCase() : '';
  };
  const autoSubmitted = header('auto-submitted');
  if (autoSubmitted && autoSubmitted !== 'no') return true;
  if (['bulk', 'junk', 'list', 'auto_reply'].includes(header('precedence').trim())) return true;
  return mail.headers.has('x-autoreply') || mail.headers.has('x-autorespond') || mail.headers.has('x-vigil-kind');
}

function referencedIds(mail: ParsedMail): string[] {
  const refs = mail.references === undefined ? [] : Array.isArray(mail.references) ? mail.references : [mail.references];
  return [...(mail.inReplyTo ? [mail.inReplyTo] : []), ...refs];
}

export interface InboundContext {
  now: Date;
  replacementCutoff: string;
  publicUrl?: string | undefined;
  /** An integration limited to one customer accepts mail only from that customer's users (and engineers). */
  customerId: string | null;
  /** `vigil_tickets_opened_total`: a new message opens a ticket with source `email`. */
  ticketsOpened: OpenTicketPorts['ticketsOpened'];
}

interface Record_ {
  messageId: string | null;
  from: string | null;
  subject: string | null;
  sizeBytes: number;
  body: string | null;
}

async function record(db: Db | Tx, at: Date, base: Record_, outcome: Omit<InboundOutcome, 'id'>, extra: { senderId?: string | null; customerId?: string | null; details?: Record<string, unknown> } = {}): Promise<InboundOutcome> {
  const [row] = await db
    .insert(inboundEmails)
    .values({
      messageId: base.messageId,
      receivedAt: at,
      from: base.from,
      subject: base.subject,
      status: outcome.status,
      reason: outcome.reason ?? null,
      ticketId: outcome.ticketId ?? null,
      senderId: extra.senderId ?? null,
      customerId: extra.customerId ?? null,
      sizeBytes: base.sizeBytes,
      body: base.body,
      details: extra.details ?? {},
    })
    .onConflictDoNothing({ target: inboundEmails.messageId })
    .returning({ id: inboundEmails.id });
  return { id: row?.id ?? null, ...outcome };
}

/**
 * Takes one raw RFC 822 message (SPEC §8), from `POST /inbound/email` or the IMAP poller.
 * Machine-sent mail and our own messages coming back are kept and ignored (no mail loop).
 * A message with `[Vigil #n]` in the subject, or an In-Reply-To/References naming one of our
 * messages, from a user of that ticket's customer or an engineer, becomes a public message on
 * the ticket through the lifecycle (`reply` on a ticket waiting on the customer, which moves
 * it to `in_progress`; otherwise `comment`), quoted history stripped. A new message from a
 * known customer user opens a ticket with source `email` through `openTicket`, the path
 * every source takes. Anything else is kept for admins and changes nothing. Attachments are
 * stored up to MAX_INBOUND_ATTACHMENT_BYTES in total; the rest are listed as skipped.
 * Throws 400 only for a body that is not a message at all (empty, or unparsable).
 */
export async function receiveEmail(db: Db, ctx: InboundContext, raw: Buffer): Promise<InboundOutcome> {
  if (raw.length === 0) throw invalid('the message is empty');
  let mail: ParsedMail;
  try {
    mail = await simpleParser(raw, { skipImageLinks: true, maxHtmlLengthToParse: 2 * 1024 * 1024 });
  } catch (err) {
    throw invalid('the message is not valid RFC 822', { reason: err instanceof Error ? err.message : String(err) });
  }
  if (mail.headers.size === 0) throw invalid('the message has no headers; expected a raw RFC 822 message');
  const fromAddress = mail.from?.value.find((a) => a.address)?.address?.toLowerCase() ?? null;
  const text = (mail.text ?? '').replaceAll('\u0000', '');
  const base: Record_ = {
    messageId: mail.messageId ?? null,
    from: fromAddress,
    subject: mail.subject?.replaceAll('\u0000', '').slice(0, 500) ?? null,
    sizeBytes: raw.length,
    body: text.slice(0, MAX_BODY_CHARS),
  };
  const ignore = (reason: IgnoredReason, extra: Parameters<typeof record>[4] = {}) => record(db, ctx.now, base, { status: 'ignored', reason }, extra);
  // The change a message makes, its attachments and the row recording it commit together: a
  // crash between them cannot leave a reply applied but unrecorded, and the same message fed
  // twice at once (IMAP and the route, or two pollers) is applied once — the second insert of
  // its Message-ID finds the first and rolls its own change back.
  const once = async (apply: (tx: Tx) => Promise<InboundOutcome>): Promise<InboundOutcome> => {
    try {
      return await db.transaction(async (tx) => {
        const outcome = await apply(tx);
        if (outcome.id === null && base.messageId) throw new AlreadyReceived();
        return outcome;
      });
    } catch (err) {
      if (!(err instanceof AlreadyReceived)) throw err;
      const [seen] = await db.select({ id: inboundEmails.id }).from(inboundEmails).where(eq(inboundEmails.messageId, base.messageId!)).limit(1);
      return { id: seen?.id ?? null, status: 'ignored', reason: 'duplicate' };
    }
  };

  if (base.messageId) {
    const [seen] = await db.select({ id: inboundEmails.id }).from(inboundEmails).where(eq(inboundEmails.messageId, base.messageId)).limit(1);
    if (seen) return { id: seen.id, status: 'ignored', reason: 'duplicate' };
    if (isOwnMessageId(base.messageId)) return ignore('loop');
  }
  if (fromAddress && fromAddress === mailDomainAddress()) return ignore('loop');
  if (isAutomatic(mail)) return ignore('auto_submitted');
  if (!fromAddress) return ignore('missing_from');

  const [sender] = await db
    .select({ id: users.id, email: users.email, name: users.name, role: users.role, customerId: users.customerId, senior: users.senior, language: users.language })
    .from(users)
    .where(and(eq(users.email, fromAddress), isNull(users.disabledAt)))
    .limit(1);
  if (!sender || sender.role === 'account_manager') return ignore('unknown_sender');
  if (ctx.customerId && sender.role === 'customer' && sender.customerId !== ctx.customerId) return ignore('not_allowed', { senderId: sender.id });

  const numberMatch = /\[Vigil #(\d{1,15})\]/i.exec(mail.subject ?? '');
  const referenced = referencedIds(mail).map(ticketIdFromMessageId).find((id): id is string => id !== null);
  const threaded = numberMatch !== null || referenced !== undefined;
  const [ticket] = numberMatch
    ? await db.select().from(tickets).where(eq(tickets.number, Number(numberMatch[1]))).limit(1)
    : referenced
      ? await db.select().from(tickets).where(eq(tickets.id, referenced)).limit(1)
      : [];
  const principal: UserPrincipal = { kind: 'user', id: sender.id, email: sender.email, name: sender.name, role: sender.role, customerId: sender.customerId, senior: sender.senior, language: sender.language, via: 'api_key' };
  const ticketCtx: TicketContext = { now: ctx.now, replacementCutoff: ctx.replacementCutoff, publicUrl: ctx.publicUrl, ticketsOpened: ctx.ticketsOpened };
  const files = mail.attachments.filter((a) => a.contentDisposition !== 'inline' || !a.related);
  const body = stripQuotedHistory(text).slice(0, MAX_BODY_CHARS);

  if (threaded) {
    if (!ticket) return ignore('unknown_ticket', { senderId: sender.id });
    const staff = sender.role === 'engineer' || sender.role === 'admin';
    if (!staff && sender.customerId !== ticket.customerId) return ignore('sender_not_allowed', { senderId: sender.id, customerId: ticket.customerId });
    if (ctx.customerId && ticket.customerId !== ctx.customerId) return ignore('not_allowed', { senderId: sender.id });
    if (ticket.status === 'closed') return ignore('ticket_closed', { senderId: sender.id, customerId: ticket.customerId });
    if (body === '' && files.length === 0) return ignore('empty', { senderId: sender.id, customerId: ticket.customerId });
    const text = body === '' ? `(${files.length} attachment${files.length === 1 ? '' : 's'} by e-mail)` : body;
    const action: ActionBody = !staff && ticket.status === 'waiting_on_customer' ? { action: 'reply', body: text } : { action: 'comment', body: text, public: true };
    try {
      return await once(async (tx) => {
        await applyActionIn(tx, principal, ticketCtx, ticket.id, action);
        const stored = await storeAttachments(tx, ticket.id, ctx.now, files);
        return record(tx, ctx.now, base, { status: 'applied', ticketId: ticket.id, ticketNumber: ticket.number, attachments: stored.stored }, { senderId: sender.id, customerId: ticket.customerId, details: stored.details });
      });
    } catch (err) {
      if (err instanceof DomainError && (err.code === 'conflict' || err.code === 'not_found' || err.code === 'invalid_request' || err.code === 'forbidden_action')) {
        return ignore('not_allowed', { senderId: sender.id, customerId: ticket.customerId, details: { error: err.message } });
      }
      throw err;
    }
  }

  if (sender.role !== 'customer' || !sender.customerId) return ignore('unknown_ticket', { senderId: sender.id });
  const customerId = sender.customerId;
  const summary = (mail.subject ?? '').replaceAll('\u0000', '').replace(/^\s*((re|fw|fwd|r|i)\s*:\s*)+/i, '').trim().slice(0, 200) || '(no subject)';
  return once(async (tx) => {
    const fleet = await tx.select().from(appliances).where(eq(appliances.customerId, customerId));
    const haystack = `${summary}\n${body}`.toLowerCase();
    const appliance = fleet.find((a) => haystack.includes(a.serial.toLowerCase())) ?? (fleet.length === 1 ? fleet[0] : undefined);
    const calendar = await loadCalendar(tx, ctx.replacementCutoff);
    const { row: opened } = await openTicket(
      tx,
      { receivedAt: ctx.now, calendar, publicUrl: ctx.publicUrl, ticketsOpened: ctx.ticketsOpened },
      { source: 'email', applianceId: appliance?.id ?? null, customerId, priority: 'P3', summary, description: body, openedBy: sender.id },
    );
    const stored = await storeAttachments(tx, opened.id, ctx.now, files);
    return record(tx, ctx.now, base, { status: 'opened', ticketId: opened.id, ticketNumber: opened.number, attachments: stored.stored }, { senderId: sender.id, customerId, details: stored.details });
  });
}

/** Thrown inside a message's transaction when another delivery of it was recorded first. */
class AlreadyReceived extends Error {}

function mailDomainAddress(): string {
  const from = mailSettings().mailFrom;
  const match = /<([^>]+)>/.exec(from);
  const address = (match?.[1] ?? from).trim().toLowerCase();
  return address.includes('@') ? address : `vigil@${mailDomain(from)}`;
}

async function storeAttachments(db: Db | Tx, ticketId: string, at: Date, files: ParsedMail['attachments']) {
  let budget = MAX_INBOUND_ATTACHMENT_BYTES;
  const skipped: { name: string; sizeBytes: number }[] = [];
  const rows: (typeof attachments.$inferInsert)[] = [];
  for (const [i, file] of files.entries()) {
    const name = (file.filename ?? `attachment-${i + 1}`).replace(/[/\\]/g, '_').replace(/\p{Cc}/gu, '_').slice(0, 200);
    if (file.size > budget) {
      skipped.push({ name, sizeBytes: file.size });
      continue;
    }
    budget -= file.size;
    const contentType = /^[\w.+-]+\/[\w.+-]+$/.test(file.contentType) ? file.contentType.slice(0, 100) : 'application/octet-stream';
    const textual = /^text\/|json|xml/i.test(contentType);
    // The ticket's attachment route reads text types as UTF-8 and everything else as base64.
    rows.push({ ticketId, name, contentType, sizeBytes: file.size, content: textual ? file.content.toString('utf8').replaceAll('\u0000', '') : file.content.toString('base64'), createdAt: at });
  }
  if (rows.length > 0) await db.insert(attachments).values(rows);
  return { stored: rows.length, details: skipped.length ? { skippedAttachments: skipped, limitBytes: MAX_INBOUND_ATTACHMENT_BYTES } : {} };
}

/** Records a message the IMAP poller refused to read because of its size. */
export async function recordOversized(db: Db, at: Date, input: { messageId: string | null; from: string | null; subject: string | null; sizeBytes: number }): Promise<InboundOutcome> {
  return record(db, at, { ...input, body: null }, { status: 'ignored', reason: 'too_large' });
}

type InboundRow = typeof inboundEmails.$inferSelect;

export function inboundView(row: InboundRow) {
  return {
    id: row.id,
    messageId: row.messageId,
    receivedAt: row.receivedAt.toISOString(),
    from: row.from,
    subject: row.subject,
    status: row.status,
    reason: row.reason,
    ticketId: row.ticketId,
    senderId: row.senderId,
    customerId: row.customerId,
    sizeBytes: row.sizeBytes,
    body: row.body,
    details: row.details,
  };
}

/** Inbound e-mail for admins, newest first; `status=ignored` is what was kept without changing anything. */
export async function listInbound(db: Db, filter: { status?: InboundStatus | undefined; limit: number; cursor?: string | undefined }) {
  const cursor = decodeCursor(filter.cursor);
  const rows = await db
    .select()
    .from(inboundEmails)
    .where(
      and(
        filter.status ? eq(inboundEmails.status, filter.status) : undefined,
        cursor ? sql`(${inboundEmails.receivedAt}, ${inboundEmails.id}) < (${cursor.createdAt.toISOString()}::timestamptz, ${cursor.id}::uuid)` : undefined,
      ),
    )
    .orderBy(desc(inboundEmails.receivedAt), desc(inboundEmails.id))
    .limit(filter.limit + 1);
  const more = rows.length > filter.limit;
  const items = rows.slice(0, filter.limit);
  const last = items[items.length - 1];
  return more && last ? { items: items.map(inboundView), nextCursor: encodeCursor({ createdAt: last.receivedAt, id: last.id }) } : { items: items.map(inboundView) };
}
