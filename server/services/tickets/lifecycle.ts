import type { Role, TicketStatus } from '../../../drizzle/schema/index.ts';

// The ticket lifecycle of SPEC §2.4 as data: which role may take which action from which
// status, and where it leads. Everything else (who may see the ticket, side effects) lives
// in the service; this module only answers "is this move allowed, and to what".

export const ticketActions = [
  'acknowledge',
  'assign',
  'comment',
  'request-info',
  'contact-attempt',
  'reply',
  'priority',
  'diagnosis-complete',
  'resolve',
  'confirm',
  'reject',
  'close',
  'reopen',
  'request-remote-access',
] as const;
export type TicketAction = (typeof ticketActions)[number];

/** Who acts: support staff (engineers and admins) or the customer's own users. */
export type Actor = 'staff' | 'customer';

export function actorOf(role: Role): Actor | null {
  if (role === 'engineer' || role === 'admin') return 'staff';
  if (role === 'customer') return 'customer';
  return null;
}

interface Transition {
  action: TicketAction;
  actors: readonly Actor[];
  from: TicketStatus;
  to: TicketStatus;
}

const STAFF = ['staff'] as const;
const CUSTOMER = ['customer'] as const;
const ANYONE = ['staff', 'customer'] as const;
const notClosed: TicketStatus[] = ['new', 'acknowledged', 'in_progress', 'waiting_on_customer', 'resolved'];
const working: TicketStatus[] = ['new', 'acknowledged', 'in_progress', 'waiting_on_customer'];

const row = (action: TicketAction, actors: readonly Actor[], from: TicketStatus, to: TicketStatus): Transition => ({ action, actors, from, to });
const stays = (action: TicketAction, actors: readonly Actor[], statuses: TicketStatus[]) => statuses.map((s) => row(action, actors, s, s));

/** action × from-status × actor → to-status. A missing row is a forbidden transition. */
export const transitions: readonly Transition[] = [
  row('acknowledge', STAFF, 'new', 'acknowledged'),

  // Taking ownership of an acknowledged ticket starts the work.
  row('assign', STAFF, 'new', 'new'),
  row('assign', STAFF, 'acknowledged', 'in_progress'),
  ...stays('assign', STAFF, ['in_progress', 'waiting_on_customer', 'resolved']),

  ...stays('comment', ANYONE, notClosed),

  row('request-info', STAFF, 'new', 'waiting_on_customer'),
  row('request-info', STAFF, 'acknowledged', 'waiting_on_customer'),
  row('request-info', STAFF, 'in_progress', 'waiting_on_customer'),

  row('contact-attempt', STAFF, 'waiting_on_customer', 'waiting_on_customer'),

  row('reply', CUSTOMER, 'waiting_on_customer', 'in_progress'),

  ...stays('priority', STAFF, notClosed),

  row('diagnosis-complete', STAFF, 'acknowledged', 'in_progress'),
  row('diagnosis-complete', STAFF, 'in_progress', 'in_progress'),

  row('resolve', STAFF, 'acknowledged', 'resolved'),
  row('resolve', STAFF, 'in_progress', 'resolved'),
  row('resolve', STAFF, 'waiting_on_customer', 'resolved'),

  row('confirm', CUSTOMER, 'resolved', 'closed'),
  row('reject', CUSTOMER, 'resolved', 'in_progress'),

  // By mutual agreement, without a resolution.
  ...notClosed.map((s) => row('close', STAFF, s, 'closed')),

  row('reopen', ANYONE, 'closed', 'in_progress'),

  ...stays('request-remote-access', STAFF, working),
];

export type TransitionCheck =
  | { ok: true; to: TicketStatus }
  | { ok: false; reason: 'role' }
  | { ok: false; reason: 'status'; allowedActions: TicketAction[] };

/** Whether `role` may take `action` on a ticket in `from`; a role never allowed the action gets 'role'. */
export function checkTransition(action: TicketAction, from: TicketStatus, role: Role): TransitionCheck {
  const actor = actorOf(role);
  const forAction = transitions.filter((t) => t.action === action && actor !== null && t.actors.includes(actor));
  if (forAction.length === 0) return { ok: false, reason: 'role' };
  const match = forAction.find((t) => t.from === from);
  if (!match) return { ok: false, reason: 'status', allowedActions: allowedActions(from, role) };
  return { ok: true, to: match.to };
}

/** The actions `role` may take on a ticket in `status`, in the order of `ticketActions`. */
export function allowedActions(status: TicketStatus, role: Role): TicketAction[] {
  const actor = actorOf(role);
  if (!actor) return [];
  const allowed = new Set(transitions.filter((t) => t.from === status && t.actors.includes(actor)).map((t) => t.action));
  return ticketActions.filter((a) => allowed.has(a));
}
