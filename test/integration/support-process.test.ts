import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../server/jobs/index.ts';
import { startJobs, type JobRunner } from '../../server/jobs/runner.ts';
import { ensureFirstAdmin } from '../../server/services/bootstrap.ts';
import { autoCloseWaitingTickets } from '../../server/services/tickets/auto-close.ts';
import { box, createRule, pushEvents, pushSamples, ticketsOf, uniqueMetric } from './engine-helpers.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

// Issue 17: the support process around the response targets. Every numbered failure has its
// smallest input here, read back through the API as the customer, engineer or manager would.

const DAY = 24 * 3600_000;
// Monday 2 March 2026, 10:00 in Rome (CET, UTC+1).
const MONDAY_10 = '2026-03-02T09:00:00.000Z';

type Json = Record<string, any>;

// /metrics is served to loopback clients or with this bearer (SPEC §10).
const METRICS_TOKEN = 'metrics-token-for-the-support-process-test';

describe.each(backends)('support process (issue 17) on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let runner: JobRunner;
  let engineer: { user: { id: string }; apiKey: string };

  beforeAll(async () => {
    p = await createTestPlatform(backend, { METRICS_TOKEN });
    f = factories(p);
    runner = startJobs(p.deps, jobs, { schedule: false });
    engineer = await f.user('engineer');
  });
  afterAll(async () => {
    await runner?.stop();
    await p?.stop();
  });

  async function setup(tier: 'basic' | 'pro' | 'mission_critical' = 'pro', at = MONDAY_10, priority = 'P3') {
    const customer = await f.customer({ tier });
    const { appliance } = await f.appliance(customer.id);
    const user = await f.user('customer', { customerId: customer.id });
    p.clock.set(at);
    const res = await p.json('POST', '/api/v1/tickets', {
      key: user.apiKey,
      body: { applianceId: appliance.id, summary: 'Pool is slow', description: 'Latency spikes', priority },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { customer, appliance, user, ticket: res.body as Json };
  }
  const act = (id: string, action: string, key: string, body: unknown = {}) => p.json('POST', `/api/v1/tickets/${id}/${action}`, { key, body });
  const view = async (id: string, key: string) => (await p.json('GET', `/api/v1/tickets/${id}`, { key })).body as Json;
  const at = (iso: string, plusMs = 0) => p.clock.set(new Date(Date.parse(iso) + plusMs).toISOString());

  /** A ticket waiting on the customer since MONDAY_10 with two contact attempts logged. */
  async function waitingTicket() {
    const s = await setup();
    expect((await act(s.ticket.id, 'request-info', engineer.apiKey, { body: 'Please send the output of zpool status' })).status).toBe(200);
    at(MONDAY_10, 1 * DAY);
    await act(s.ticket.id, 'contact-attempt', engineer.apiKey, { channel: 'email' });
    at(MONDAY_10, 2 * DAY);
    await act(s.ticket.id, 'contact-attempt', engineer.apiKey, { channel: 'phone' });
    return s;
  }

  describe('item 1: any answer from the customer counts', () => {
    it('a public comment on day 3 of waiting moves the ticket back to in progress; day 5 does not close it', async () => {
      const { ticket, user } = await waitingTicket();
      at(MONDAY_10, 3 * DAY);
      const answered = await act(ticket.id, 'comment', user.apiKey, { body: 'Here is zpool status: …', public: true });
      expect(answered.status).toBe(200);
      expect(answered.body).toMatchObject({ status: 'in_progress', waitingSince: null });
      expect(answered.body.timeline.at(-1)).toMatchObject({ type: 'comment', from: 'waiting_on_customer', to: 'in_progress', public: true });
      at(MONDAY_10, 5 * DAY + 60_000);
      await runner.runNow('auto-close');
      const after = await view(ticket.id, user.apiKey);
      expect(after.status).toBe('in_progress');
      expect(after.closeReason).toBeNull();
      expect(after.timeline.some((e: Json) => e.type === 'closed')).toBe(false);
    });

    it('the engineer records an answer given by phone: back in progress, on the customer’s timeline, and the 5-day count restarts', async () => {
      const { ticket, user } = await waitingTicket();
      at(MONDAY_10, 4 * DAY);
      const res = await act(ticket.id, 'customer-answered', engineer.apiKey, { channel: 'phone', body: 'Customer read the zpool status over the phone: all ONLINE' });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('in_progress');
      const mine = await view(ticket.id, user.apiKey);
      expect(mine.timeline.at(-1)).toMatchObject({ type: 'customer_answered', public: true, data: { channel: 'phone' } });
      // Waiting again from day 4: two new attempts, and 5 days from day 4 is needed, not from Monday.
      expect((await act(ticket.id, 'request-info', engineer.apiKey, { body: 'And the SMART log please' })).status).toBe(200);
      at(MONDAY_10, 4 * DAY + 3_600_000);
      await act(ticket.id, 'contact-attempt', engineer.apiKey, { channel: 'email' });
      await act(ticket.id, 'contact-attempt', engineer.apiKey, { channel: 'phone' });
      at(MONDAY_10, 8 * DAY);
      await runner.runNow('auto-close');
      expect((await view(ticket.id, user.apiKey)).status).toBe('waiting_on_customer');
      at(MONDAY_10, 9 * DAY + 60_000);
      await runner.runNow('auto-close');
      expect(await view(ticket.id, user.apiKey)).toMatchObject({ status: 'closed', closeReason: 'no_customer_response' });
    });

    it('the customer-answered action is staff-only and only while waiting', async () => {
      const { ticket, user } = await waitingTicket();
      const mine = await act(ticket.id, 'customer-answered', user.apiKey, { channel: 'phone', body: 'x' });
      expect(mine.status).toBe(403);
      expect(mine.body.error.code).toBe('forbidden_action');
      await act(ticket.id, 'reply', user.apiKey, { body: 'done' });
      expect((await act(ticket.id, 'customer-answered', engineer.apiKey, { channel: 'phone', body: 'x' })).status).toBe(403);
      expect((await act(ticket.id, 'customer-answered', engineer.apiKey, { channel: 'carrier pigeon', body: 'x' })).status).toBe(400);
    });

    it('reminds the customer once after 3 days of waiting, with a waiting.reminder notification', async () => {
      const { ticket, user } = await waitingTicket();
      at(MONDAY_10, 3 * DAY - 60_000);
      expect((await autoCloseWaitingTickets(p.deps.database.db, p.clock.now())).notifications.filter((n) => n.ticketId === ticket.id)).toEqual([]);
      at(MONDAY_10, 3 * DAY + 60_000);
      const first = await autoCloseWaitingTickets(p.deps.database.db, p.clock.now());
      expect(first.notifications.filter((n) => n.ticketId === ticket.id)).toEqual([
        expect.objectContaining({ kind: 'notification', message: 'waiting.reminder', recipients: 'requester', actorId: null }),
      ]);
      const mine = await view(ticket.id, user.apiKey);
      expect(mine.waitingReminderAt).toBe(p.clock.now().toISOString());
      expect(mine.timeline.at(-1)).toMatchObject({ type: 'waiting_reminder', public: true });
      at(MONDAY_10, 4 * DAY);
      const second = await autoCloseWaitingTickets(p.deps.database.db, p.clock.now());
      expect(second.notifications.filter((n) => n.ticketId === ticket.id)).toEqual([]);
    });
  });

  describe('item 2: recorded SLA outcomes', () => {
    it('a Pro P1 answered an hour late stays missed after being lowered to P4, and the report counts the miss', async () => {
      const am = await f.user('account_manager');
      const customer = await f.customer({ tier: 'pro', accountManagerId: am.user.id });
      const { appliance } = await f.appliance(customer.id);
      p.clock.set(MONDAY_10);
      const opened = await p.json('POST', '/api/v1/tickets', { key: engineer.apiKey, body: { applianceId: appliance.id, summary: 'Down', description: '', priority: 'P1', source: 'phone' } });
      const id = opened.body.id as string;
      expect(opened.body.sla.responseDueAt).toBe('2026-03-02T10:00:00.000Z');
      // Answered at 12:00 Rome: one hour after the 11:00 target.
      at('2026-03-02T11:00:00.000Z');
      const answered = await act(id, 'comment', engineer.apiKey, { body: 'On it', public: true });
      expect(answered.body.sla).toMatchObject({ breached: true, outcome: { result: 'missed', dueAt: '2026-03-02T10:00:00.000Z', missedBySeconds: 3600 } });
      // Next day the priority is lowered: the target moves, the outcome does not.
      at('2026-03-03T09:00:00.000Z');
      const lowered = await act(id, 'priority', engineer.apiKey, { priority: 'P4', reason: 'Only a question in the end' });
      expect(lowered.status).toBe(200);
      expect(lowered.body.priority).toBe('P4');
      expect(lowered.body.sla.responseDueAt).toBe('2026-03-03T16:00:00.000Z');
      expect(lowered.body.sla).toMatchObject({ breached: true, outcome: { result: 'missed', dueAt: '2026-03-02T10:00:00.000Z', missedBySeconds: 3600 } });

      const report = await p.json('GET', `/api/v1/reports/health?customerId=${customer.id}&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&format=json`, { key: am.apiKey });
      expect(report.status).toBe(200);
      expect(report.body.responseTargets).toMatchObject({ due: 1, met: 0, missed: 1, compliancePercent: 0 });
      expect(report.body.responseTargets.byPriority.find((x: Json) => x.priority === 'P1')).toMatchObject({ due: 1, met: 0 });
    });

    it('a miss the scheduler recorded unanswered survives a priority change made before the response', async () => {
      const { ticket } = await setup('mission_critical', '2026-03-07T10:00:00.000Z', 'P1');
      at('2026-03-07T10:31:00.000Z');
      await runner.runNow('sla-marks');
      const lowered = await act(ticket.id, 'priority', engineer.apiKey, { priority: 'P4', reason: 'not urgent' });
      expect(lowered.body.sla.breached).toBe(true);
      at('2026-03-07T10:40:00.000Z');
      const answered = await act(ticket.id, 'comment', engineer.apiKey, { body: 'Hello', public: true });
      expect(answered.body.sla.outcome).toEqual({ result: 'missed', dueAt: '2026-03-07T10:30:00.000Z', missedBySeconds: 600 });
    });

    it('a response in time is recorded met', async () => {
      const { ticket } = await setup('pro', MONDAY_10, 'P2');
      at(MONDAY_10, 30 * 60_000);
      const res = await act(ticket.id, 'acknowledge', engineer.apiKey, { message: 'Looking into it' });
      expect(res.body.sla).toMatchObject({ breached: false, outcome: { result: 'met', missedBySeconds: null } });
    });
  });

  describe('item 5: case information', () => {
    it('the customer and the engineer edit it after opening; each change is audited and on the timeline', async () => {
      const { ticket, user } = await setup();
      expect(ticket.missingCaseInfo).toEqual(expect.arrayContaining(['unavailableSince', 'reproducible', 'stepsTaken']));
      const mine = await p.json('PATCH', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey, body: { caseInfo: { reproducible: true, stepsTaken: 'Rebooted twice' } } });
      expect(mine.status).toBe(200);
      expect(mine.body.caseInfo).toMatchObject({ reproducible: true, stepsTaken: 'Rebooted twice' });
      // No heartbeat yet, so the versions are missing too.
      expect(mine.body.missingCaseInfo).toEqual(['osVersion', 'hypervisorVersion', 'unavailableSince']);
      const theirs = await p.json('PATCH', `/api/v1/tickets/${ticket.id}`, { key: engineer.apiKey, body: { caseInfo: { unavailableSince: '2026-03-02T08:15:00+01:00', stepsTaken: null } } });
      expect(theirs.status).toBe(200);
      expect(theirs.body.caseInfo).toMatchObject({ unavailableSince: '2026-03-02T08:15:00+01:00', stepsTaken: null, reproducible: true });
      expect(theirs.body.timeline.filter((e: Json) => e.type === 'case_info_updated').map((e: Json) => e.data.fields)).toEqual([['reproducible', 'stepsTaken'], ['unavailableSince', 'stepsTaken']]);
      const audit = await p.json('GET', `/api/v1/audit?limit=500`);
      const entries = (audit.body.items as Json[]).filter((a) => a.action === 'ticket.case_info' && a.targetId === ticket.id);
      expect(entries).toHaveLength(2);
      expect(entries.find((a) => a.details.fields.includes('unavailableSince'))).toMatchObject({ details: { before: { stepsTaken: 'Rebooted twice' }, after: { stepsTaken: null } } });
    });

    it('refuses bad fields (400), other customers (404), account managers (404) and closed tickets (403)', async () => {
      const { ticket, user } = await setup();
      expect((await p.json('PATCH', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey, body: { caseInfo: { colour: 'red' } } })).status).toBe(400);
      expect((await p.json('PATCH', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey, body: { caseInfo: { unavailableSince: 'yesterday' } } })).status).toBe(400);
      const outsider = await f.user('customer', { customerId: (await f.customer()).id });
      expect((await p.json('PATCH', `/api/v1/tickets/${ticket.id}`, { key: outsider.apiKey, body: { caseInfo: { reproducible: false } } })).status).toBe(404);
      const am = await f.user('account_manager');
      expect((await p.json('PATCH', `/api/v1/tickets/${ticket.id}`, { key: am.apiKey, body: { caseInfo: { reproducible: false } } })).status).toBe(404);
      expect((await p.json('PATCH', `/api/v1/tickets/${ticket.id}`, { key: null, body: { caseInfo: {} } })).status).toBe(401);
      await act(ticket.id, 'close', engineer.apiKey, { reason: 'closed_without_resolution', customerAgreement: 'ok to close', channel: 'email' });
      const closed = await p.json('PATCH', `/api/v1/tickets/${ticket.id}`, { key: user.apiKey, body: { caseInfo: { reproducible: false } } });
      expect(closed.status).toBe(403);
      expect(closed.body.error.code).toBe('forbidden_action');
      expect((await view(ticket.id, user.apiKey)).caseInfo.reproducible).toBeUndefined();
    });
  });

  describe('item 6: closing without resolution takes both parties', () => {
    it('an engineer alone cannot close: the customer’s agreement must be quoted', async () => {
      const { ticket } = await setup();
      const alone = await act(ticket.id, 'close', engineer.apiKey, { reason: 'closed_without_resolution', note: 'no longer needed' });
      expect(alone.status).toBe(400);
      expect((await view(ticket.id, engineer.apiKey)).status).toBe('new');
      const agreed = await act(ticket.id, 'close', engineer.apiKey, { reason: 'closed_without_resolution', customerAgreement: '“Yes, you can close it.” — mail of 2 March', channel: 'email' });
      expect(agreed.status).toBe(200);
      expect(agreed.body).toMatchObject({ status: 'closed', closeReason: 'closed_without_resolution' });
      expect(agreed.body.timeline.find((e: Json) => e.type === 'closed')).toMatchObject({ data: { agreement: { by: 'engineer', channel: 'email', quote: '“Yes, you can close it.” — mail of 2 March' } } });
    });

    it('support proposes, the customer agrees in the portal; the customer cannot agree to nothing', async () => {
      const { ticket, user } = await setup();
      const early = await act(ticket.id, 'agree-close', user.apiKey, {});
      expect(early.status).toBe(403);
      expect(early.body.error.details.allowedActions).not.toContain('agree-close');
      const proposed = await act(ticket.id, 'propose-close', engineer.apiKey, { reason: 'The issue went away after the update' });
      expect(proposed.body).toMatchObject({ status: 'new', closeProposedAt: p.clock.now().toISOString() });
      expect(proposed.body.allowedActions).not.toContain('propose-close');
      expect((await act(ticket.id, 'agree-close', engineer.apiKey, {})).status).toBe(403);
      const mine = await view(ticket.id, user.apiKey);
      expect(mine.allowedActions).toContain('agree-close');
      const closed = await act(ticket.id, 'agree-close', user.apiKey, {});
      expect(closed.status).toBe(200);
      expect(closed.body).toMatchObject({ status: 'closed', closeReason: 'closed_without_resolution' });
      expect(closed.body.timeline.find((e: Json) => e.type === 'closed')).toMatchObject({ data: { agreement: { by: 'customer', channel: 'portal' } } });
      expect(closed.body.survey.url).toMatch(/\/survey\/vs_/);
    });
  });

  describe('item 7: allowedActions per caller and state', () => {
    it('lists exactly what each caller may do, and refuses the rest with 403 forbidden_action', async () => {
      const { ticket, user } = await setup();
      const staff = await view(ticket.id, engineer.apiKey);
      expect(staff.allowedActions).toEqual(['acknowledge', 'assign', 'comment', 'request-info', 'priority', 'propose-close', 'close', 'request-remote-access']);
      expect(staff.allowedActions).not.toContain('contact-attempt');
      const attempt = await act(ticket.id, 'contact-attempt', engineer.apiKey, { channel: 'phone' });
      expect(attempt.status).toBe(403);
      expect(attempt.body.error.details.allowedActions).toEqual(staff.allowedActions);
      expect((await view(ticket.id, user.apiKey)).allowedActions).toEqual(['comment']);
      await act(ticket.id, 'request-info', engineer.apiKey, { body: 'logs please' });
      const waiting = await view(ticket.id, engineer.apiKey);
      expect(waiting.allowedActions).toContain('contact-attempt');
      expect(waiting.allowedActions).toContain('customer-answered');
      expect(waiting.allowedActions).not.toContain('diagnosis-complete');
      expect((await act(ticket.id, 'diagnosis-complete', engineer.apiKey)).status).toBe(403);
      expect((await view(ticket.id, user.apiKey)).allowedActions).toEqual(['comment', 'reply']);
    });
  });

  describe('item 9 and issue 15 item 4: one opening path, opened at receipt', () => {
    async function openedTotal(source: string): Promise<number> {
      const text = await (await p.call('GET', '/metrics', { key: METRICS_TOKEN })).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('vigil_tickets_opened_total{') && l.includes(`source="${source}"`))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    }

    it('counts tickets of every source in vigil_tickets_opened_total', async () => {
      const before = { portal: await openedTotal('portal'), phone: await openedTotal('phone'), appliance: await openedTotal('appliance'), email: await openedTotal('email') };
      const { appliance, user } = await setup();
      await p.json('POST', '/api/v1/tickets', { key: engineer.apiKey, body: { applianceId: appliance.id, summary: 'Called in', description: '', source: 'phone' } });
      const b = await box(p, 'pro', true);
      const sent = await p.json('POST', '/api/v1/ingest/support-request', { key: b.token, body: { summary: 'From the box', description: '' } });
      expect(sent.status).toBe(201);
      // A new e-mail from a customer user opens a ticket with source email (the replay found it uncounted).
      const mta = (await p.json('POST', '/api/v1/integrations', { body: { name: p.unique('mta'), kind: 'email' } })).body.token as string;
      const raw = [`From: ${user.user.email}`, 'Subject: Fans are loud', `Message-ID: <${p.unique('m')}@customer.example>`, 'MIME-Version: 1.0', 'Content-Type: text/plain', '', 'Since this morning.'].join('\r\n');
      const mailed = await p.json('POST', '/api/v1/inbound/email', { key: mta, raw, headers: { 'content-type': 'message/rfc822' } });
      expect(mailed.body).toMatchObject({ status: 'opened' });
      expect(await openedTotal('email')).toBe(before.email + 1);
      expect(await openedTotal('portal')).toBe(before.portal + 1);
      expect(await openedTotal('phone')).toBe(before.phone + 1);
      expect(await openedTotal('appliance')).toBe(before.appliance + 1);
    });

    it('an automatic ticket is opened at receipt, with the alert’s start as "time the system became unavailable", whatever the start', async () => {
      const now = '2026-03-09T09:00:00.000Z'; // Monday 10:00 Rome
      const cases = [
        { name: 'running since Friday', startsAt: '2026-03-06T17:30:00.000Z', unavailableSince: '2026-03-06T17:30:00.000Z' },
        { name: 'start of 2020', startsAt: '2020-01-01T00:00:00.000Z', unavailableSince: '2020-01-01T00:00:00.000Z' },
        // Events more than 5 min ahead are refused at ingest; within the skew the start is clamped.
        { name: 'stamped 4 minutes ahead', startsAt: '2026-03-09T09:04:00.000Z', unavailableSince: now },
      ];
      const autoBefore = await openedTotal('auto');
      for (const c of cases) {
        const b = await box(p, 'pro', true);
        const name = p.unique('ZpoolDegraded');
        await createRule(p, b, { kind: 'event', priority: 'P2', params: { name, severities: ['critical'] }, titleTemplate: c.name });
        p.clock.set(now);
        await pushEvents(p, b, [{ id: p.unique('ev'), name, severity: 'critical', status: 'firing', component: 'pool:tank', startsAt: c.startsAt }]);
        const [row] = await ticketsOf(p, b.applianceId);
        expect(row, c.name).toBeDefined();
        const detail = await view(row!.id, engineer.apiKey);
        expect(detail.openedAt, c.name).toBe(now);
        expect(detail.source).toBe('auto');
        expect(detail.priority).toBe('P2');
        expect(detail.caseInfo.unavailableSince, c.name).toBe(c.unavailableSince);
        // Item 5: an automatic P2 no longer lists the unavailability time as missing.
        expect(detail.missingCaseInfo, c.name).not.toContain('unavailableSince');
        // Pro P2: 4 business hours from receipt, Monday 10:00 → 14:00 Rome.
        expect(detail.sla.responseDueAt, c.name).toBe('2026-03-09T13:00:00.000Z');
      }
      expect(await openedTotal('auto')).toBe(autoBefore + cases.length);
    });

    it('a two-hour agent backlog opens the ticket at receipt, not at the samples’ time', async () => {
      const b = await box(p, 'pro', true);
      const metric = uniqueMetric(p);
      await createRule(p, b, { kind: 'threshold', metric, params: { op: '>', value: 10 }, priority: 'P3' });
      p.clock.set('2026-03-09T13:00:00.000Z');
      await pushSamples(p, b, [{ metric, labels: { pool: 'tank' }, value: 50, ts: Date.parse('2026-03-09T11:00:00.000Z') }]);
      const [row] = await ticketsOf(p, b.applianceId);
      const detail = await view(row!.id, engineer.apiKey);
      expect(detail.openedAt).toBe('2026-03-09T13:00:00.000Z');
      expect(detail.caseInfo.unavailableSince).toBe('2026-03-09T11:00:00.000Z');
    });

    it('an appliance request is opened at receipt; its own unavailability time is case information', async () => {
      const b = await box(p, 'basic');
      p.clock.set('2026-03-09T09:00:00.000Z');
      const res = await p.json('POST', '/api/v1/ingest/support-request', { key: b.token, body: { summary: 'VM will not boot', description: '', priority: 'P2', unavailableSince: '2026-03-08T22:00:00Z' } });
      expect(res.status).toBe(201);
      const detail = await view(res.body.ticketId, engineer.apiKey);
      expect(detail).toMatchObject({ source: 'appliance', openedAt: '2026-03-09T09:00:00.000Z', caseInfo: { unavailableSince: '2026-03-08T22:00:00.000Z', serialNumber: b.serial } });
    });
  });

  describe('item 8: maintenance windows', () => {
    it('refuses a window whose only scope is an empty label set (it would silence the whole fleet), and accepts `timezone`', async () => {
      const base = { name: p.unique('window'), startsAt: '2026-03-10T08:00:00Z', endsAt: '2026-03-10T10:00:00Z' };
      const empty = await p.json('POST', '/api/v1/maintenance-windows', { body: { ...base, labels: {} } });
      expect(empty.status).toBe(400);
      expect(JSON.stringify(empty.body.error)).toContain('labels');
      const camel = await p.json('POST', '/api/v1/maintenance-windows', { body: { ...base, labels: { site: 'Milano' }, timeZone: 'Europe/Rome' } });
      expect(camel.status).toBe(400);
      const ok = await p.json('POST', '/api/v1/maintenance-windows', { body: { ...base, labels: { site: 'Milano' }, timezone: 'Europe/Rome' } });
      expect(ok.status).toBe(201);
      expect(ok.body).toMatchObject({ labels: { site: 'Milano' }, timezone: 'Europe/Rome' });
    });
  });

  describe('item 8: administering users and account managers', () => {
    it('an admin edits a user’s name and senior flag, disables and re-enables it; others get 404', async () => {
      const someone = await f.user('engineer');
      const edited = await p.json('PATCH', `/api/v1/users/${someone.user.id}`, { body: { name: 'Giulia Bianchi', senior: true } });
      expect(edited.status).toBe(200);
      expect(edited.body).toMatchObject({ name: 'Giulia Bianchi', senior: true, disabledAt: null });
      const disabled = await p.json('PATCH', `/api/v1/users/${someone.user.id}`, { body: { disabled: true } });
      expect(disabled.body.disabledAt).not.toBeNull();
      expect((await p.json('GET', '/api/v1/tickets', { key: someone.apiKey })).status).toBe(401);
      expect((await p.json('PATCH', `/api/v1/users/${someone.user.id}`, { body: { disabled: false } })).body.disabledAt).toBeNull();
      expect((await p.json('PATCH', `/api/v1/users/${someone.user.id}`, { body: {} })).status).toBe(400);
      expect((await p.json('PATCH', `/api/v1/users/${someone.user.id}`, { key: engineer.apiKey, body: { name: 'x' } })).status).toBe(404);
      const customerUser = await f.user('customer', { customerId: (await f.customer()).id });
      expect((await p.json('PATCH', `/api/v1/users/${customerUser.user.id}`, { body: { senior: true } })).status).toBe(400);
    });

    it('assigning an account manager to a customer lets them see it', async () => {
      const am = await f.user('account_manager');
      const customer = await f.customer();
      expect((await p.json('GET', `/api/v1/customers/${customer.id}`, { key: am.apiKey })).status).toBe(404);
      const assigned = await p.json('PATCH', `/api/v1/customers/${customer.id}`, { body: { accountManagerId: am.user.id } });
      expect(assigned.status).toBe(200);
      expect(assigned.body.accountManagerId).toBe(am.user.id);
      expect((await p.json('GET', `/api/v1/customers/${customer.id}`, { key: am.apiKey })).status).toBe(200);
    });
  });

  describe('item 8: ADMIN_TOKEN on a database that already has an admin', () => {
    it('is reported as ignored, unless it is already one of the admin keys', async () => {
      expect(await ensureFirstAdmin(p.deps.database, `vk_${'x'.repeat(30)}`)).toEqual({ created: false, adminTokenIgnored: true });
      expect(await ensureFirstAdmin(p.deps.database, p.adminKey)).toEqual({ created: false });
      expect(await ensureFirstAdmin(p.deps.database, undefined)).toEqual({ created: false });
    });
  });
});
