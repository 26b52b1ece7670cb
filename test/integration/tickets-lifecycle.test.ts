import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditLog, surveys, tickets } from '../../drizzle/schema/index.ts';
import type { Tier } from '../../drizzle/schema/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

// Monday 2 March 2026, 10:00 in Rome (CET, UTC+1): inside business hours.
const MONDAY_10 = '2026-03-02T09:00:00.000Z';

describe.each(backends)('ticket lifecycle on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let engineer: { user: { id: string }; apiKey: string };
  let engineer2: { user: { id: string }; apiKey: string };
  let manager: { apiKey: string };

  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    engineer = await f.user('engineer');
    engineer2 = await f.user('engineer');
    manager = await f.user('account_manager');
  });
  afterAll(async () => p?.stop());

  async function setup(tier: Tier = 'pro') {
    const customer = await f.customer({ tier });
    const { appliance } = await f.appliance(customer.id);
    const user = await f.user('customer', { customerId: customer.id });
    const other = await f.customer();
    const outsider = await f.user('customer', { customerId: other.id });
    p.clock.set(MONDAY_10);
    const res = await p.json('POST', '/api/v1/tickets', {
      key: user.apiKey,
      body: { applianceId: appliance.id, summary: 'Pool is slow', description: 'Latency spikes since this morning' },
    });
    expect(res.status).toBe(201);
    return { customer, appliance, user, outsider, ticket: res.body as { id: string; status: string } };
  }

  const act = (id: string, action: string, key: string, body: unknown = {}) => p.json('POST', `/api/v1/tickets/${id}/${action}`, { key, body });
  const row = async (id: string) => (await p.deps.database.db.select().from(tickets).where(eq(tickets.id, id)))[0]!;

  it('walks new → acknowledged → in_progress ⇄ waiting_on_customer → resolved → closed, each step on the timeline', async () => {
    const { ticket, user } = await setup();
    expect(ticket.status).toBe('new');

    const ack = await act(ticket.id, 'acknowledge', engineer.apiKey);
    expect(ack.status).toBe(200);
    expect(ack.body.status).toBe('acknowledged');

    const assigned = await act(ticket.id, 'assign', engineer.apiKey, { assigneeId: engineer.user.id });
    expect(assigned.body).toMatchObject({ status: 'in_progress', assigneeId: engineer.user.id });

    p.clock.advance(60_000);
    const info = await act(ticket.id, 'request-info', engineer.apiKey, { body: 'Which VMs are affected?' });
    expect(info.body.status).toBe('waiting_on_customer');
    expect(info.body.waitingSince).toBe(p.clock.now().toISOString());

    const attempt = await act(ticket.id, 'contact-attempt', engineer.apiKey, { channel: 'phone', note: 'voicemail' });
    expect(attempt.body.status).toBe('waiting_on_customer');

    const reply = await act(ticket.id, 'reply', user.apiKey, { body: 'All VMs on datastore ds1' });
    expect(reply.body).toMatchObject({ status: 'in_progress', waitingSince: null });

    const resolved = await act(ticket.id, 'resolve', engineer.apiKey, { resolution: 'Replaced the failing disk' });
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: 'Replaced the failing disk' });

    const confirmed = await act(ticket.id, 'confirm', user.apiKey);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ status: 'closed', closeReason: 'resolution_confirmed' });
    expect(confirmed.body.survey.url).toMatch(/\/survey\/vs_/);

    const detail = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: engineer.apiKey });
    const steps = detail.body.timeline.filter((e: { from: string | null; to: string | null }) => e.from && e.from !== e.to);
    expect(steps.map((e: { from: string; to: string }) => `${e.from}→${e.to}`)).toEqual([
      'new→acknowledged',
      'acknowledged→in_progress',
      'in_progress→waiting_on_customer',
      'waiting_on_customer→in_progress',
      'in_progress→resolved',
      'resolved→closed',
    ]);
    for (const step of steps) {
      expect(step.actorId).toBeTruthy();
      expect(step.actorName).toBeTruthy();
      expect(step.at).toMatch(/Z$/);
    }
    expect(detail.body.timeline.find((e: { type: string }) => e.type === 'closed').reason).toBe('resolution_confirmed');
  });

  it('rejecting a resolution sends the ticket back to in progress; reopen brings a closed ticket back', async () => {
    const { ticket, user } = await setup();
    await act(ticket.id, 'acknowledge', engineer.apiKey);
    await act(ticket.id, 'resolve', engineer.apiKey, { resolution: 'Firmware updated' });
    const rejected = await act(ticket.id, 'reject', user.apiKey, { reason: 'Still slow' });
    expect(rejected.body.status).toBe('in_progress');
    expect(rejected.body.timeline.at(-1)).toMatchObject({ type: 'resolution_rejected', reason: 'Still slow', from: 'resolved', to: 'in_progress' });

    const closed = await act(ticket.id, 'close', engineer.apiKey, { reason: 'closed_without_resolution', customerAgreement: 'Fine to close, thanks', channel: 'phone', note: 'Agreed by phone' });
    expect(closed.body).toMatchObject({ status: 'closed', closeReason: 'closed_without_resolution' });
    const reopened = await act(ticket.id, 'reopen', user.apiKey, { reason: 'It happened again' });
    expect(reopened.body).toMatchObject({ status: 'in_progress', closeReason: null, closedAt: null });
    const staffReopen = await act((await setup()).ticket.id, 'reopen', engineer.apiKey, { reason: 'x' });
    expect(staffReopen.status).toBe(403);
  });

  it('refuses actions not allowed in the ticket’s state with 403 forbidden_action listing the allowed actions, changing nothing', async () => {
    const { ticket, user } = await setup();
    const confirm = await act(ticket.id, 'confirm', user.apiKey);
    expect(confirm.status).toBe(403);
    expect(confirm.body.error.code).toBe('forbidden_action');
    expect(confirm.body.error.details.allowedActions).toEqual(['comment']);
    const staffAllowed = (await act(ticket.id, 'contact-attempt', engineer.apiKey, { channel: 'email' })).body.error.details.allowedActions;
    expect(staffAllowed).toEqual(expect.arrayContaining(['acknowledge', 'assign', 'request-info', 'priority', 'close']));
    expect(staffAllowed).not.toContain('resolve');
    expect((await act(ticket.id, 'reply', user.apiKey, { body: 'hi' })).status).toBe(403);
    expect((await act(ticket.id, 'reopen', user.apiKey, { reason: 'x' })).status).toBe(403);
    expect((await act(ticket.id, 'resolve', engineer.apiKey, { resolution: 'x' })).status).toBe(403);
    await act(ticket.id, 'acknowledge', engineer.apiKey);
    expect((await act(ticket.id, 'acknowledge', engineer.apiKey)).status).toBe(403);
    expect((await row(ticket.id)).status).toBe('acknowledged');
  });

  it('answers wrong roles on a visible ticket with 403 forbidden_action (issue 17 item 7), no credentials with 401 and another customer’s ticket with 404', async () => {
    const { ticket, user, outsider } = await setup();
    const ack = await act(ticket.id, 'acknowledge', user.apiKey);
    expect(ack.status).toBe(403);
    expect(ack.body.error).toMatchObject({ code: 'forbidden_action', details: { allowedActions: ['comment'] } });
    expect((await act(ticket.id, 'resolve', user.apiKey, { resolution: 'x' })).status).toBe(403);
    expect((await act(ticket.id, 'reply', engineer.apiKey, { body: 'x' })).status).toBe(403);
    expect((await act(ticket.id, 'confirm', engineer.apiKey)).status).toBe(403);
    // The account manager of another customer does not see the ticket at all.
    expect((await act(ticket.id, 'comment', manager.apiKey, { body: 'x', public: true })).status).toBe(404);
    expect((await act(ticket.id, 'comment', outsider.apiKey, { body: 'x', public: true })).status).toBe(404);
    expect((await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: outsider.apiKey })).status).toBe(404);
    const anonymous = await p.json('POST', `/api/v1/tickets/${ticket.id}/acknowledge`, { key: null, body: {} });
    expect(anonymous.status).toBe(401);
    expect((await row(ticket.id)).status).toBe('new');
  });

  it('validates action bodies with 400', async () => {
    const { ticket } = await setup();
    expect((await act(ticket.id, 'comment', engineer.apiKey, { body: '', public: true })).status).toBe(400);
    expect((await act(ticket.id, 'priority', engineer.apiKey, { priority: 'P9' })).status).toBe(400);
    expect((await act(ticket.id, 'close', engineer.apiKey, { reason: 'bored' })).status).toBe(400);
    expect((await act(ticket.id, 'assign', engineer.apiKey, { assigneeId: 'nope' })).status).toBe(400);
    const notAnEngineer = await f.user('customer', { customerId: (await f.customer()).id });
    expect((await act(ticket.id, 'assign', engineer.apiKey, { assigneeId: notAnEngineer.user.id })).status).toBe(400);
  });

  describe('first response', () => {
    it('an internal note does not count; a public engineer comment does, once', async () => {
      const { ticket } = await setup();
      p.clock.set('2026-03-02T09:10:00.000Z');
      const note = await act(ticket.id, 'comment', engineer.apiKey, { body: 'checking logs', public: false });
      expect(note.body.sla.firstResponseAt).toBeNull();
      expect(note.body.timeline.at(-1)).toMatchObject({ type: 'note', public: false });
      p.clock.set('2026-03-02T09:20:00.000Z');
      const comment = await act(ticket.id, 'comment', engineer.apiKey, { body: 'We are on it', public: true });
      expect(comment.body.sla.firstResponseAt).toBe('2026-03-02T09:20:00.000Z');
      p.clock.set('2026-03-02T09:30:00.000Z');
      const later = await act(ticket.id, 'comment', engineer2.apiKey, { body: 'Update', public: true });
      expect(later.body.sla.firstResponseAt).toBe('2026-03-02T09:20:00.000Z');
    });

    it('a customer comment and an acknowledgement without a message do not count; one with a message does', async () => {
      const { ticket, user } = await setup();
      const mine = await act(ticket.id, 'comment', user.apiKey, { body: 'Any news?', public: false });
      expect(mine.body.timeline.at(-1)).toMatchObject({ type: 'comment', public: true });
      expect(mine.body.sla.firstResponseAt).toBeNull();
      const silent = await act(ticket.id, 'acknowledge', engineer.apiKey);
      expect(silent.body.sla.firstResponseAt).toBeNull();

      const second = await setup();
      p.clock.set('2026-03-02T09:05:00.000Z');
      const ack = await act(second.ticket.id, 'acknowledge', engineer.apiKey, { message: 'Looking into it' });
      expect(ack.body.sla).toMatchObject({ firstResponseAt: '2026-03-02T09:05:00.000Z', breached: false });
    });

    it('an information request counts as the response', async () => {
      const { ticket } = await setup();
      p.clock.set('2026-03-02T09:45:00.000Z');
      const res = await act(ticket.id, 'request-info', engineer.apiKey, { body: 'Please send the logs' });
      expect(res.body.sla.firstResponseAt).toBe('2026-03-02T09:45:00.000Z');
    });

    it('customers see only public timeline entries, staff see all with actor names', async () => {
      const { ticket, user } = await setup();
      await act(ticket.id, 'comment', engineer.apiKey, { body: 'internal: suspect disk 3', public: false });
      await act(ticket.id, 'comment', engineer.apiKey, { body: 'We are investigating', public: true });
      const mine = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey });
      expect(mine.body.timeline.map((e: { body: string }) => e.body)).not.toContain('internal: suspect disk 3');
      expect(mine.body.timeline.every((e: { public: boolean }) => e.public)).toBe(true);
      const staff = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: engineer.apiKey });
      const note = staff.body.timeline.find((e: { body: string }) => e.body === 'internal: suspect disk 3');
      expect(note).toMatchObject({ public: false, actorName: 'Test engineer' });
    });
  });

  describe('priority', () => {
    it('recomputes the response target from the original opening time and audits the change', async () => {
      const { ticket } = await setup('pro');
      // Pro P3: 8 business hours from Monday 10:00 → Tuesday 10:00 (UTC 09:00).
      expect((await row(ticket.id)).responseDueAt.toISOString()).toBe('2026-03-03T09:00:00.000Z');
      p.clock.set('2026-03-02T13:00:00.000Z');
      const res = await act(ticket.id, 'priority', engineer.apiKey, { priority: 'P1', reason: 'Production down' });
      expect(res.status).toBe(200);
      // Pro P1: 1 business hour from Monday 10:00, not from the change at 14:00.
      expect(res.body.sla.responseDueAt).toBe('2026-03-02T10:00:00.000Z');
      expect(res.body.sla.breached).toBe(true);
      const stored = await row(ticket.id);
      expect(stored.breachedAt).not.toBeNull();
      expect(stored.priorityConfirmedAt?.toISOString()).toBe('2026-03-02T13:00:00.000Z');
      const audit = await p.deps.database.db.select().from(auditLog).where(and(eq(auditLog.action, 'ticket.priority'), eq(auditLog.targetId, ticket.id)));
      expect(audit).toHaveLength(1);
      expect(audit[0]!.details).toMatchObject({ from: 'P3', to: 'P1', reason: 'Production down' });

      const back = await act(ticket.id, 'priority', engineer.apiKey, { priority: 'P4', reason: 'Only a question' });
      // Pro P4: next business day 17:00 Rome → Tuesday 16:00 UTC; no longer breached.
      expect(back.body.sla).toMatchObject({ responseDueAt: '2026-03-03T16:00:00.000Z', breached: false });
      expect((await row(ticket.id)).breachedAt).toBeNull();
    });

    it('a change needs a reason; confirming the same priority does not', async () => {
      const { ticket } = await setup();
      expect((await act(ticket.id, 'priority', engineer.apiKey, { priority: 'P2' })).status).toBe(400);
      const confirmed = await act(ticket.id, 'priority', engineer.apiKey, { priority: 'P3' });
      expect(confirmed.status).toBe(200);
      expect(confirmed.body.timeline.at(-1).type).toBe('priority_confirmed');
    });
  });

  describe('assignment', () => {
    it('reassignment needs a reason and is recorded with it', async () => {
      const { ticket } = await setup();
      await act(ticket.id, 'assign', engineer.apiKey, { assigneeId: engineer.user.id });
      const noReason = await act(ticket.id, 'assign', engineer.apiKey, { assigneeId: engineer2.user.id });
      expect(noReason.status).toBe(400);
      const ok = await act(ticket.id, 'assign', engineer.apiKey, { assigneeId: engineer2.user.id, reason: 'time zone hand-off' });
      expect(ok.body.assigneeId).toBe(engineer2.user.id);
      expect(ok.body.timeline.at(-1)).toMatchObject({ type: 'reassigned', reason: 'time zone hand-off', public: false });
    });

    it('suggests senior engineers first for Mission Critical tickets', async () => {
      const senior = await f.user('engineer', { senior: true });
      const { ticket } = await setup('mission_critical');
      const res = await p.json('GET', `/api/v1/tickets/${ticket.id}/assignees`, { key: engineer.apiKey });
      expect(res.status).toBe(200);
      const items = res.body.items as { id: string; senior: boolean; suggested: boolean }[];
      const firstJunior = items.findIndex((u) => !u.senior);
      expect(items.findIndex((u) => u.id === senior.user.id)).toBeLessThan(firstJunior);
      expect(items.find((u) => u.id === senior.user.id)!.suggested).toBe(true);
      expect(items.find((u) => u.id === engineer.user.id)!.suggested).toBe(false);
      const { user } = await setup();
      expect((await p.json('GET', `/api/v1/tickets/${ticket.id}/assignees`, { key: user.apiKey })).status).toBe(404);
    });
  });

  it('diagnosis complete starts the replacement clock, once', async () => {
    const { ticket } = await setup('pro');
    await act(ticket.id, 'acknowledge', engineer.apiKey);
    // Monday 14:00 Rome, before the 15:00 cut-off → parts due Tuesday 17:00 Rome.
    p.clock.set('2026-03-02T13:00:00.000Z');
    const res = await act(ticket.id, 'diagnosis-complete', engineer.apiKey);
    expect(res.status).toBe(200);
    expect(res.body.sla.replacementDueAt).toBe('2026-03-03T16:00:00.000Z');
    expect(res.body.diagnosedAt).toBe('2026-03-02T13:00:00.000Z');
    const again = await act(ticket.id, 'diagnosis-complete', engineer.apiKey);
    expect(again.status).toBe(403);
    expect(again.body.error.details.allowedActions).not.toContain('diagnosis-complete');
    expect(res.body.allowedActions).not.toContain('diagnosis-complete');
  });

  it('closing creates exactly one survey; reopening and closing again does not create another', async () => {
    const { ticket, user } = await setup();
    const closed = await act(ticket.id, 'close', engineer.apiKey, { reason: 'closed_without_resolution', customerAgreement: 'Yes, please close it — M. Rossi', channel: 'phone' });
    expect(closed.status).toBe(200);
    // Staff never see the link (issue 17 item 3): not on their answer, not on the timeline.
    expect(closed.body.survey).toBeUndefined();
    expect(JSON.stringify(closed.body)).not.toContain('/survey/');
    const mine = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey });
    const url = mine.body.survey.url as string;
    expect(url).toMatch(/\/survey\/vs_[\w-]+$/);
    expect(JSON.stringify(mine.body.timeline)).not.toContain('/survey/');
    await act(ticket.id, 'reopen', user.apiKey, { reason: 'not a duplicate' });
    await act(ticket.id, 'close', engineer.apiKey, { reason: 'closed_without_resolution', customerAgreement: 'Yes, please close it — M. Rossi', channel: 'phone' });
    expect(await p.deps.database.db.$count(surveys, eq(surveys.ticketId, ticket.id))).toBe(1);
    const again = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey });
    expect(again.body.survey.url).toBe(url);
  });

  it('request-remote-access notifies the customer on the timeline and live', async () => {
    const { ticket, user } = await setup();
    const heard: string[] = [];
    const unlisten = await p.deps.database.listen('vigil_live', (payload) => heard.push(payload));
    const res = await act(ticket.id, 'request-remote-access', engineer.apiKey, { reason: 'Need to inspect the pool' });
    expect(res.status).toBe(200);
    expect(res.body.remoteAccessRequestedAt).not.toBeNull();
    const mine = await p.json('GET', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey });
    expect(mine.body.timeline.at(-1)).toMatchObject({ type: 'remote_access_requested', public: true, reason: 'Need to inspect the pool' });
    await new Promise((r) => setTimeout(r, 100));
    await unlisten();
    const events = heard.map((h) => JSON.parse(h) as { type: string; data: { id: string; change?: string } });
    expect(events).toContainEqual(expect.objectContaining({ type: 'ticket.updated', data: expect.objectContaining({ id: ticket.id, change: 'remote_access_requested' }) }));
    expect((await act(ticket.id, 'request-remote-access', user.apiKey, { reason: 'x' })).status).toBe(403);
  });
});
