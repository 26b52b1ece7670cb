import { describe, expect, it } from 'vitest';
import { roles, ticketStatuses } from '../../drizzle/schema/enums.ts';
import { allowedActions, checkTransition, ticketActions, transitions } from '../../server/services/tickets/lifecycle.ts';

describe('ticket lifecycle table', () => {
  it('follows SPEC §2.4: new → acknowledged → in_progress ⇄ waiting_on_customer → resolved → closed', () => {
    expect(checkTransition('acknowledge', 'new', 'engineer')).toEqual({ ok: true, to: 'acknowledged' });
    expect(checkTransition('assign', 'acknowledged', 'engineer')).toEqual({ ok: true, to: 'in_progress' });
    expect(checkTransition('request-info', 'in_progress', 'engineer')).toEqual({ ok: true, to: 'waiting_on_customer' });
    expect(checkTransition('reply', 'waiting_on_customer', 'customer')).toEqual({ ok: true, to: 'in_progress' });
    expect(checkTransition('resolve', 'in_progress', 'admin')).toEqual({ ok: true, to: 'resolved' });
    expect(checkTransition('confirm', 'resolved', 'customer')).toEqual({ ok: true, to: 'closed' });
    expect(checkTransition('reject', 'resolved', 'customer')).toEqual({ ok: true, to: 'in_progress' });
    expect(checkTransition('reopen', 'closed', 'customer')).toEqual({ ok: true, to: 'in_progress' });
    expect(checkTransition('reopen', 'closed', 'engineer')).toEqual({ ok: true, to: 'in_progress' });
  });

  it('separates wrong roles from wrong statuses', () => {
    expect(checkTransition('acknowledge', 'new', 'customer')).toEqual({ ok: false, reason: 'role' });
    expect(checkTransition('confirm', 'resolved', 'engineer')).toEqual({ ok: false, reason: 'role' });
    expect(checkTransition('comment', 'new', 'account_manager')).toEqual({ ok: false, reason: 'role' });
    const wrong = checkTransition('confirm', 'new', 'customer');
    expect(wrong).toEqual({ ok: false, reason: 'status', allowedActions: ['comment'] });
  });

  it('allows nothing but reopen on a closed ticket', () => {
    for (const role of roles) {
      expect(allowedActions('closed', role).filter((a) => a !== 'reopen')).toEqual([]);
    }
  });

  it('never leads out of the known statuses, and every action appears in the table', () => {
    for (const t of transitions) expect(ticketStatuses).toContain(t.to);
    for (const action of ticketActions) expect(transitions.some((t) => t.action === action)).toBe(true);
  });

  it('lets only customers reply, confirm and reject, and only staff the rest of the work', () => {
    for (const status of ticketStatuses) {
      const customer = allowedActions(status, 'customer');
      expect(customer.every((a) => ['comment', 'reply', 'confirm', 'reject', 'reopen'].includes(a))).toBe(true);
      expect(allowedActions(status, 'engineer')).not.toContain('confirm');
      expect(allowedActions(status, 'account_manager')).toEqual([]);
    }
  });
});
