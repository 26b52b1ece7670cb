import type { TicketAction } from './api.ts';
import type { Role, Ticket } from './types.ts';

const OPEN = new Set(['new', 'acknowledged', 'in_progress', 'waiting_on_customer']);

/**
 * The lifecycle actions a role may offer on a ticket in its current state
 * (SPEC §1, §2.4). The server enforces the same rules; this only hides buttons
 * that could not succeed.
 */
export function allowedActions(role: Role, t: Pick<Ticket, 'status' | 'sla'>): TicketAction[] {
  const open = OPEN.has(t.status);
  const actions: TicketAction[] = [];
  if (role === 'engineer' || role === 'admin') {
    if (t.status === 'new') actions.push('acknowledge');
    if (open) {
      actions.push('assign', 'comment', 'request-info', 'contact-attempt', 'priority');
      if (!t.sla.replacementDueAt && t.status !== 'new') actions.push('diagnosis-complete');
      actions.push('request-remote-access');
      if (t.status !== 'new') actions.push('resolve');
      actions.push('close');
    }
    if (t.status === 'resolved') actions.push('comment', 'close');
    if (t.status === 'closed') actions.push('reopen');
  } else if (role === 'customer') {
    if (open || t.status === 'resolved') actions.push('comment');
    if (t.status === 'waiting_on_customer') actions.push('reply');
    if (t.status === 'resolved') actions.push('confirm', 'reject');
    if (t.status === 'closed') actions.push('reopen');
  }
  return actions;
}

export function canRateRootCause(role: Role): boolean {
  return role === 'engineer' || role === 'admin';
}

export function canToggleRemoteTunnel(role: Role): boolean {
  return role === 'customer' || role === 'admin';
}

export function canOpenTicket(role: Role): boolean {
  return role !== 'account_manager';
}
