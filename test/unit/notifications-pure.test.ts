import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionNotification } from '../../server/services/notifications/actions.ts';
import { stripQuotedHistory } from '../../server/services/notifications/inbound.ts';
import { planNotifications, type Person, type Recipients, type TicketFacts } from '../../server/services/notifications/planner.ts';
import { notificationKinds, renderNotification, REPLY_MARKER } from '../../server/services/notifications/templates.ts';
import { endsIncident, formatWebhookBody } from '../../server/services/notifications/webhook-formats.ts';

const person = (id: string, over: Partial<Person> = {}): Person => ({ id, email: `${id}@x.example`, name: id, role: 'engineer', language: 'en', senior: false, preferences: {}, ...over });
const ticket: TicketFacts = { id: '00000000-0000-4000-8000-000000000001', number: 42, summary: 'Pool DEGRADED', priority: 'P1', tier: 'mission_critical', responseDueAt: new Date('2026-11-30T10:30:00Z'), assigneeId: null };
const people: Recipients = {
  requester: person('req', { role: 'customer' }),
  followers: [person('fol', { role: 'customer', language: 'it', preferences: { allTickets: true } })],
  engineers: [person('e1'), person('e2'), person('sen', { senior: true })],
  seniors: [person('sen', { senior: true }), person('adm', { role: 'admin', senior: true })],
};
const plan = (kind: Parameters<typeof planNotifications>[0]['kind'], t: TicketFacts = ticket, extra = {}) =>
  planNotifications({ kind, at: new Date('2026-11-30T10:00:00Z'), ...extra }, t, people, { publicUrl: 'https://v.example' }).map((m) => m.recipientId).sort();

describe('planNotifications (SPEC §8 recipients)', () => {
  it('customer kinds go to the requester and followers; closing to the requester only', () => {
    expect(plan('ticket.received')).toEqual(['fol', 'req']);
    expect(plan('info.requested')).toEqual(['fol', 'req']);
    expect(plan('ticket.closed')).toEqual(['req']);
  });
  it('at risk to the assignee or every engineer; breach adds the seniors; unacknowledged to the seniors', () => {
    expect(plan('at_risk')).toEqual(['e1', 'e2', 'sen']);
    expect(plan('at_risk', { ...ticket, assigneeId: 'e2' })).toEqual(['e2']);
    expect(plan('breached', { ...ticket, assigneeId: 'e2' })).toEqual(['adm', 'e2', 'sen']);
    expect(plan('unacknowledged')).toEqual(['adm', 'sen']);
    expect(plan('assigned', ticket, { assigneeId: 'e1' })).toEqual(['e1']);
  });
  it('never tells the actor about their own action, and honours e-mail off and muted kinds', () => {
    expect(plan('engineer.message', ticket, { actorId: 'req' })).toEqual(['fol']);
    const quiet: Recipients = { ...people, followers: [person('fol', { role: 'customer', preferences: { email: false } })], requester: person('req', { role: 'customer', preferences: { muted: ['engineer.message'] } }) };
    expect(planNotifications({ kind: 'engineer.message', at: new Date() }, ticket, quiet, { publicUrl: '' })).toEqual([]);
    expect(planNotifications({ kind: 'ticket.received', at: new Date() }, ticket, quiet, { publicUrl: '' }).map((m) => m.recipientId)).toEqual(['req']);
  });
  it('renders in the recipient language, subject with [Vigil #n], a once-key per recipient', () => {
    const messages = planNotifications({ kind: 'ticket.received', at: new Date(), onceKey: 'k' }, ticket, people, { publicUrl: 'https://v.example' });
    const it_ = messages.find((m) => m.recipientId === 'fol')!;
    expect(it_.language).toBe('it');
    expect(it_.subject).toBe('[Vigil #42] Ticket ricevuto: Pool DEGRADED');
    expect(it_.text).toContain('ora di Roma');
    expect(it_.dedupKey).toBe('k:fol');
  });
});

describe('templates', () => {
  it('every kind renders in both languages with the number in the subject and escaped HTML', () => {
    for (const kind of notificationKinds) {
      for (const lang of ['en', 'it'] as const) {
        const r = renderNotification(kind, lang, { number: 7, summary: '<script>x</script>', priority: 'P2', tier: 'pro', responseDueAt: '2026-11-30T10:00:00Z', ticketUrl: 'https://v.example/#/tickets/1', body: 'a & b', surveyUrl: 'https://v.example/survey/vs_x' });
        expect(r.subject.startsWith('[Vigil #7] ')).toBe(true);
        expect(r.html).not.toContain('<script>');
        expect(r.text.length).toBeGreaterThan(20);
      }
    }
    expect(renderNotification('ticket.closed', 'en', { number: 1, summary: 's', priority: 'P3', tier: 'basic', responseDueAt: '2026-11-30T10:00:00Z', ticketUrl: 'u', surveyUrl: 'https://v.example/survey/vs_1' }).text).toContain('https://v.example/survey/vs_1');
    // Response target written in the support calendar's zone: 10:00Z is 11:00 in Rome in winter.
    // The close reason reaches the customer as a sentence in their language, never as its code.
    for (const [lang, words] of [['en', 'without an answer'], ['it', 'senza risposta']] as const) {
      const closed = renderNotification('ticket.closed', lang, { number: 1, summary: 's', priority: 'P3', tier: 'basic', responseDueAt: '2026-11-30T10:00:00Z', ticketUrl: 'u', body: 'no_customer_response' }).text;
      expect(closed).toContain(words);
      expect(closed).not.toContain('no_customer_response');
    }
    expect(renderNotification('ticket.received', 'en', { number: 1, summary: 's', priority: 'P3', tier: 'basic', responseDueAt: '2026-11-30T10:00:00Z', ticketUrl: 'u' }).text).toMatch(/11:00 \(Rome time\)/);
  });
});

describe('stripQuotedHistory', () => {
  it.each([
    ['Thanks, done.\n\nOn Mon, 30 Nov 2026 at 10:00, Vigil <s@v.example> wrote:\n> old', 'Thanks, done.'],
    ['Fatto.\n\nIl giorno lun 30 nov 2026 alle 10:00 Vigil ha scritto:\n> vecchio', 'Fatto.'],
    ['Yes\nOn Mon, 30 Nov 2026 at 10:00, Vigil Support <s@v.example>\nwrote:\n> old', 'Yes'],
    [`ok\n> ${REPLY_MARKER.en}\n> text`, 'ok'],
    ['answer\n\n-----Original Message-----\nFrom: Vigil', 'answer'],
    ['answer\n\nFrom: Vigil Support\nSent: Monday', 'answer'],
    ['line 1\n> quoted\nline 2\n-- \nsignature', 'line 1\nline 2'],
  ])('%j → %j', (input, expected) => {
    expect(stripQuotedHistory(input)).toBe(expected);
  });
  it('never grows the text and never keeps a quoted line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const out = stripQuotedHistory(s);
        expect(out.length).toBeLessThanOrEqual(s.length);
        expect(out.split('\n').some((l) => l.trimStart().startsWith('>'))).toBe(false);
      }),
      // Found by this property: an indented quote (" >") was kept.
      { examples: [[' >'], ['answer\n  > quoted']] },
    );
  });
});

describe('actionNotification', () => {
  const entry = (type: string, over = {}) => ({ at: new Date(), actorId: 'u', type, body: 'b', reason: 'r', public: true, data: {}, ...over });
  it('maps lifecycle entries to kinds', () => {
    expect(actionNotification(entry('comment'), true, 'E', null)?.kind).toBe('engineer.message');
    expect(actionNotification(entry('note', { public: false }), true, 'E', null)).toBeNull();
    expect(actionNotification(entry('comment', { public: false }), true, 'E', null)).toBeNull();
    expect(actionNotification(entry('acknowledged', { body: null }), true, 'E', null)).toBeNull();
    expect(actionNotification(entry('info_requested'), true, 'E', null)?.kind).toBe('info.requested');
    expect(actionNotification(entry('resolved'), true, 'E', null)?.kind).toBe('resolution.proposed');
    expect(actionNotification(entry('closed'), false, 'C', 'https://s')).toMatchObject({ kind: 'ticket.closed', surveyUrl: 'https://s', actorId: null });
    expect(actionNotification(entry('customer_reply'), false, 'C', null)?.kind).toBe('customer.replied');
    expect(actionNotification(entry('reassigned', { data: { toAssigneeId: 'e9' } }), true, 'A', null)).toMatchObject({ kind: 'assigned', assigneeId: 'e9' });
  });
});

describe('webhook formats', () => {
  const payload = { event: 'ticket.updated', at: '2026-11-30T10:00:00Z', data: { ticket: { id: 't1', number: 9, summary: 'Fan', priority: 'P3', status: 'in_progress', tier: 'pro' }, change: 'priority' } };
  it('vigil keeps the queued payload; pagerduty resolves on resolved or closed', () => {
    expect(formatWebhookBody('vigil', { id: 'd', payload }, { publicUrl: '', routingKey: null })).toEqual({ id: 'd', ...payload });
    expect(formatWebhookBody('pagerduty', { id: 'd', payload }, { publicUrl: '', routingKey: 'k' })).toMatchObject({ event_action: 'trigger', dedup_key: 'vigil-ticket-t1', payload: { severity: 'warning' } });
    const closed = { ...payload, event: 'ticket.closed', data: { ...payload.data, ticket: { ...payload.data.ticket, status: 'closed' } } };
    expect(endsIncident(closed)).toBe(true);
    expect(formatWebhookBody('pagerduty', { id: 'd', payload: closed }, { publicUrl: '', routingKey: 'k' })).toEqual({ routing_key: 'k', event_action: 'resolve', dedup_key: 'vigil-ticket-t1' });
  });
});
