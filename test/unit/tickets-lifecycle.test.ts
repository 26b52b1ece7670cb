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
    expect(checkTransition('acknowledge', 'new', 'customer')).toEqual({ ok: false, reason: 'role', allowedActions: ['comment'] });
    expect(checkTransition('confirm', 'resolved', 'engineer')).toMatchObject({ ok: false, reason: 'role' });
    expect(checkTransition('comment', 'new', 'account_manager')).toEqual({ ok: false, reason: 'role', allowedActions: [] });
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
      expect(customer.every((a) => ['comment', 'reply', 'confirm', 'reject', 'agree-close', 'reopen'].includes(a))).toBe(true);
      expect(allowedActions(status, 'engineer')).not.toContain('confirm');
      expect(allowedActions(status, 'account_manager')).toEqual([]);
    }
  });

  it('offers "Log contact attempt" only while waiting on the customer (issue 17 item 7)', () => {
    expect(allowedActions('new', 'engineer')).not.toContain('contact-attempt');
    expect(allowedActions('in_progress', 'engineer')).not.toContain('contact-attempt');
    expect(allowedActions('waiting_on_customer', 'engineer')).toContain('contact-attempt');
  });

  it('offers "Diagnosis complete" only while working the case, and only once (issue 17 item 7)', () => {
    expect(allowedActions('waiting_on_customer', 'engineer')).not.toContain('diagnosis-complete');
    expect(allowedActions('new', 'engineer')).not.toContain('diagnosis-complete');
    expect(allowedActions({ status: 'in_progress', diagnosedAt: null }, 'engineer')).toContain('diagnosis-complete');
    expect(allowedActions({ status: 'in_progress', diagnosedAt: new Date() }, 'engineer')).not.toContain('diagnosis-complete');
    expect(checkTransition('diagnosis-complete', { status: 'in_progress', diagnosedAt: new Date() }, 'engineer')).toMatchObject({ ok: false, reason: 'status' });
  });

  it('a customer comment on a waiting ticket is an answer: back to in progress (issue 17 item 1)', () => {
    expect(checkTransition('comment', 'waiting_on_customer', 'customer')).toEqual({ ok: true, to: 'in_progress' });
    expect(checkTransition('comment', 'waiting_on_customer', 'engineer')).toEqual({ ok: true, to: 'waiting_on_customer' });
    expect(checkTransition('customer-answered', 'waiting_on_customer', 'engineer')).toEqual({ ok: true, to: 'in_progress' });
    expect(checkTransition('customer-answered', 'in_progress', 'engineer')).toMatchObject({ ok: false, reason: 'status' });
    expect(checkTransition('customer-answered', 'waiting_on_customer', 'customer')).toMatchObject({ ok: false, reason: 'role' });
  });

  it('closing without resolution takes both parties (issue 17 item 6)', () => {
    // The customer cannot agree to a proposal nobody made; support proposes once.
    expect(allowedActions({ status: 'in_progress' }, 'customer')).not.toContain('agree-close');
    expect(allowedActions({ status: 'in_progress', closeProposedAt: new Date() }, 'customer')).toContain('agree-close');
    expect(checkTransition('agree-close', { status: 'in_progress', closeProposedAt: new Date() }, 'customer')).toEqual({ ok: true, to: 'closed' });
    expect(allowedActions({ status: 'in_progress', closeProposedAt: new Date() }, 'engineer')).not.toContain('propose-close');
    expect(checkTransition('agree-close', { status: 'in_progress', closeProposedAt: new Date() }, 'engineer')).toMatchObject({ ok: false, reason: 'role' });
  });
});
