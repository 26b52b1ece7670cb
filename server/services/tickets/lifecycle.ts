import type { Role, TicketStatus } from '../../../drizzle/schema/index.ts';

// The ticket lifecycle of SPEC §2.4 as data: which role may take which action from which
// status (and, for a few actions, which fact about the ticket), and where it leads. Who may
// see the ticket is the scope's job; what an action changes is in actions.ts.

export const ticketActions = [
  'acknowledge',
  'assign',
  'comment',
  'request-info',
  'contact-attempt',
  'reply',
  'customer-answered',
  'priority',
  'diagnosis-complete',
  'dispatch',
  'replacement-arrived',
  'resolve',
  'confirm',
  'reject',
  'propose-close',
  'agree-close',
  'close',
  'reopen',
  'request-remote-access',
  'off-hours',
] as const;
export type TicketAction = (typeof ticketActions)[number];

/** Who acts: support staff (engineers and admins) or the customer's own users. */
export type Actor = 'staff' | 'customer';

export function actorOf(role: Role): Actor | null {
  if (role === 'engineer' || role === 'admin') return 'staff';
  if (role === 'customer') return 'customer';
  return null;
}

/** The facts of a ticket the table's guards read, besides its status. */
export interface TicketFacts {
  status: TicketStatus;
  diagnosedAt?: Date | null;
  closeProposedAt?: Date | null;
  replacementDispatchedAt?: Date | null;
  replacementArrivedAt?: Date | null;
  offHoursAskedAt?: Date | null;
  offHoursExpiresAt?: Date | null;
  offHoursAnswer?: string | null;
  /** The instant the guards judge time-bound facts at (the off-hours question lapses); absent means none of those is open. */
  now?: Date;
}

interface Transition {
  action: TicketAction;
  actors: readonly Actor[];
  from: TicketStatus;
  to: TicketStatus;
  /** A condition on the ticket besides its status; absent means always. */
  when?: (t: TicketFacts) => boolean;
}

const STAFF = ['staff'] as const;
const CUSTOMER = ['customer'] as const;
const ANYONE = ['staff', 'customer'] as const;
const notClosed: TicketStatus[] = ['new', 'acknowledged', 'in_progress', 'waiting_on_customer', 'resolved'];
const working: TicketStatus[] = ['new', 'acknowledged', 'in_progress', 'waiting_on_customer'];

const row = (action: TicketAction, actors: readonly Actor[], from: TicketStatus, to: TicketStatus, when?: Transition['when']): Transition =>
  when ? { action, actors, from, to, when } : { action, actors, from, to };
const stays = (action: TicketAction, actors: readonly Actor[], statuses: TicketStatus[], when?: Transition['when']) =>
  statuses.map((s) => row(action, actors, s, s, when));

const notDiagnosed = (t: TicketFacts) => !t.diagnosedAt;
// A replacement goes out once diagnosis is complete (the clock has started), and arrives once.
const readyToDispatch = (t: TicketFacts) => Boolean(t.diagnosedAt) && !t.replacementDispatchedAt;
const awaitingArrival = (t: TicketFacts) => Boolean(t.replacementDispatchedAt) && !t.replacementArrivedAt;
const closeProposed = (t: TicketFacts) => Boolean(t.closeProposedAt);
const noCloseProposal = (t: TicketFacts) => !t.closeProposedAt;
// Asked, unanswered, and business hours not yet begun (server/services/tickets/off-hours.ts).
export const offHoursQuestionOpen = (t: TicketFacts): boolean =>
  Boolean(t.offHoursAskedAt && !t.offHoursAnswer && t.offHoursExpiresAt && t.now && t.now < t.offHoursExpiresAt);

/** action × from-status × actor (× guard) → to-status. A missing row is a forbidden action. */
export const transitions: readonly Transition[] = [
  row('acknowledge', STAFF, 'new', 'acknowledged'),

  // Taking ownership of an acknowledged ticket starts the work.
  row('assign', STAFF, 'new', 'new'),
  row('assign', STAFF, 'acknowledged', 'in_progress'),
  ...stays('assign', STAFF, ['in_progress', 'waiting_on_customer', 'resolved']),

  // Any public message from the customer's side on a waiting ticket is an answer (SPEC §2.4).
  ...stays('comment', STAFF, notClosed),
  ...stays('comment', CUSTOMER, ['new', 'acknowledged', 'in_progress', 'resolved']),
  row('comment', CUSTOMER, 'waiting_on_customer', 'in_progress'),

  row('request-info', STAFF, 'new', 'waiting_on_customer'),
  row('request-info', STAFF, 'acknowledged', 'waiting_on_customer'),
  row('request-info', STAFF, 'in_progress', 'waiting_on_customer'),

  // Attempts count toward auto-close only while waiting on the customer (SPEC §2.4).
  row('contact-attempt', STAFF, 'waiting_on_customer', 'waiting_on_customer'),

  row('reply', CUSTOMER, 'waiting_on_customer', 'in_progress'),
  // The customer answered outside the portal (phone, chat): the engineer records it.
  row('customer-answered', STAFF, 'waiting_on_customer', 'in_progress'),

  ...stays('priority', STAFF, notClosed),

  // The hardware-replacement clock starts once, while the engineer works the case.
  row('diagnosis-complete', STAFF, 'acknowledged', 'in_progress', notDiagnosed),
  row('diagnosis-complete', STAFF, 'in_progress', 'in_progress', notDiagnosed),

  // Hardware replacement (support guide): the engineer records the dispatch after diagnosis,
  // then the part's arrival on site (also after proposing the resolution).
  ...stays('dispatch', STAFF, ['acknowledged', 'in_progress', 'waiting_on_customer'], readyToDispatch),
  ...stays('replacement-arrived', STAFF, ['acknowledged', 'in_progress', 'waiting_on_customer', 'resolved'], awaitingArrival),

  row('resolve', STAFF, 'acknowledged', 'resolved'),
  row('resolve', STAFF, 'in_progress', 'resolved'),
  row('resolve', STAFF, 'waiting_on_customer', 'resolved'),

  row('confirm', CUSTOMER, 'resolved', 'closed'),
  row('reject', CUSTOMER, 'resolved', 'in_progress'),

  // Closing without a resolution takes both parties (SPEC §2.4): support proposes and the
  // customer agrees, or the engineer closes quoting the customer's agreement.
  ...stays('propose-close', STAFF, working, noCloseProposal),
  ...working.map((s) => row('agree-close', CUSTOMER, s, 'closed', closeProposed)),
  ...working.map((s) => row('close', STAFF, s, 'closed')),

  row('reopen', ANYONE, 'closed', 'in_progress'),

  ...stays('request-remote-access', STAFF, working),

  // The off-hours question (support guide: off-hours support billed separately): the customer
  // answers in the portal, or staff record the answer given by phone; open until business hours begin.
  ...stays('off-hours', ANYONE, working, offHoursQuestionOpen),
];

export type TransitionCheck =
  | { ok: true; to: TicketStatus }
  | { ok: false; reason: 'role' | 'status'; allowedActions: TicketAction[] };

const asFacts = (t: TicketStatus | TicketFacts): TicketFacts => (typeof t === 'string' ? { status: t } : t);

/**
 * Whether `role` may take `action` on the ticket: 'role' when the role never may, 'status'
 * when not in the ticket's present state; both carry the actions the caller may take.
 */
export function checkTransition(action: TicketAction, ticket: TicketStatus | TicketFacts, role: Role): TransitionCheck {
  const facts = asFacts(ticket);
  const actor = actorOf(role);
  const forAction = transitions.filter((t) => t.action === action && actor !== null && t.actors.includes(actor));
  if (forAction.length === 0) return { ok: false, reason: 'role', allowedActions: allowedActions(facts, role) };
  const match = forAction.find((t) => t.from === facts.status && (!t.when || t.when(facts)));
  if (!match) return { ok: false, reason: 'status', allowedActions: allowedActions(facts, role) };
  return { ok: true, to: match.to };
}

/** The actions `role` may take on the ticket now, in the order of `ticketActions`. */
export function allowedActions(ticket: TicketStatus | TicketFacts, role: Role): TicketAction[] {
  const facts = asFacts(ticket);
  const actor = actorOf(role);
  if (!actor) return [];
  const allowed = new Set(
    transitions.filter((t) => t.from === facts.status && t.actors.includes(actor) && (!t.when || t.when(facts))).map((t) => t.action),
  );
  return ticketActions.filter((a) => allowed.has(a));
}
