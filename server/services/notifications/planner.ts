import type { Language, Priority, Role, Tier } from '../../../drizzle/schema/enums.ts';
import type { NotificationPreferences } from '../../../drizzle/schema/users.ts';
import { customerKinds, renderNotification, type DispatchNotice, type NotificationKind } from './templates.ts';

/** Someone who may receive e-mail. */
export interface Person {
  id: string;
  email: string;
  name: string;
  role: Role;
  language: Language;
  senior: boolean;
  preferences: NotificationPreferences;
}

/** What a notification is about. */
export interface TicketFacts {
  id: string;
  number: number;
  summary: string;
  priority: Priority;
  tier: Tier;
  responseDueAt: Date;
  assigneeId: string | null;
  /** When the replacement part is due, once diagnosis is complete (SPEC §2.2). */
  replacementDueAt?: Date | null;
}

/**
 * Something that happened to a ticket and may tell people (the i17 lifecycle's effect of
 * kind `notification` carries the same fields).
 */
export interface NotificationEvent {
  kind: NotificationKind;
  at: Date;
  /** Who caused it; never told about their own action. */
  actorId?: string | null;
  actorName?: string | null;
  body?: string | null;
  reason?: string | null;
  surveyUrl?: string | null;
  /** For `offhours.question`: when the question lapses. */
  expiresAt?: string | null;
  /** For `assigned`: the new assignee. */
  assigneeId?: string | null;
  /** For `replacement.dispatched`: how the part comes, where and when. */
  dispatch?: DispatchNotice | null;
  /** Makes a once-only message (escalation, reminder) idempotent: one message per key and recipient. */
  onceKey?: string;
}

/** The people around a ticket, loaded by `loadRecipients`. */
export interface Recipients {
  /** The customer user who asked (opened it, or first wrote on it); null for an automatic ticket nobody answered yet. */
  requester: Person | null;
  /** The customer's other users who opted in to all of the customer's tickets. */
  followers: Person[];
  /** Active engineers (role engineer). */
  engineers: Person[];
  /** Active senior engineers and admins marked senior. */
  seniors: Person[];
}

/** One message to write into the outbox. */
export interface OutboxMessage {
  kind: NotificationKind;
  ticketId: string;
  recipientId: string;
  to: string;
  language: Language;
  subject: string;
  text: string;
  html: string;
  dedupKey: string | null;
}

export interface PlanSettings {
  /** PUBLIC_URL without the trailing slash; links are relative when unset. */
  publicUrl: string;
}

function uniqueById(people: (Person | null | undefined)[]): Person[] {
  const seen = new Map<string, Person>();
  for (const p of people) if (p && !seen.has(p.id)) seen.set(p.id, p);
  return [...seen.values()];
}

/**
 * Who is told about `event` on `ticket` (SPEC §8): customer kinds go to the requester and
 * the customer users who opted in — the closing message with its survey link to the
 * requester only; `assigned` to the new assignee; a customer's reply and the at-risk mark to
 * the assignee, or every engineer while unassigned; a breach to them and the seniors; an
 * unacknowledged Mission Critical P1 to the seniors; the replacement target's at-risk and breach
 * marks like the response target's. The actor is never told about their own
 * action, and a user's preferences (e-mail off, muted kinds) are honoured. Pure.
 */
export function planNotifications(event: NotificationEvent, ticket: TicketFacts, people: Recipients, settings: PlanSettings): OutboxMessage[] {
  const assignee = ticket.assigneeId ? people.engineers.find((p) => p.id === ticket.assigneeId) ?? people.seniors.find((p) => p.id === ticket.assigneeId) : undefined;
  const assigneeOrAll = assignee ? [assignee] : people.engineers;
  let targets: Person[];
  switch (event.kind) {
    case 'ticket.closed':
      targets = people.requester ? [people.requester] : [];
      break;
    case 'assigned': {
      const next = [...people.engineers, ...people.seniors].find((p) => p.id === event.assigneeId);
      targets = next ? [next] : [];
      break;
    }
    case 'customer.replied':
    case 'at_risk':
    case 'replacement.at_risk':
      targets = assigneeOrAll;
      break;
    case 'breached':
    case 'replacement.breached':
      targets = uniqueById([...assigneeOrAll, ...people.seniors]);
      break;
    case 'unacknowledged':
      targets = people.seniors;
      break;
    default:
      targets = customerKinds.includes(event.kind) ? uniqueById([people.requester, ...people.followers]) : [];
  }
  const ticketUrl = `${settings.publicUrl}/#/tickets/${ticket.id}`;
  return targets
    .filter((p) => p.id !== event.actorId && p.preferences.email !== false && !(p.preferences.muted ?? []).includes(event.kind))
    .map((p) => {
      const rendered = renderNotification(event.kind, p.language, {
        number: ticket.number,
        summary: ticket.summary,
        priority: ticket.priority,
        tier: ticket.tier,
        responseDueAt: ticket.responseDueAt.toISOString(),
        ticketUrl,
        body: event.body ?? null,
        reason: event.reason ?? null,
        actorName: event.actorName ?? null,
        surveyUrl: event.surveyUrl ?? null,
        replacementDueAt: ticket.replacementDueAt?.toISOString() ?? null,
        dispatch: event.dispatch ?? null,
        expiresAt: event.expiresAt ?? null,
      });
      return {
        kind: event.kind,
        ticketId: ticket.id,
        recipientId: p.id,
        to: p.email,
        language: p.language,
        ...rendered,
        dedupKey: event.onceKey ? `${event.onceKey}:${p.id}` : null,
      };
    });
}
