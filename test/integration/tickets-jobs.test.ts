import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { surveys, tickets, webhookDeliveries } from '../../drizzle/schema/index.ts';
import { jobs } from '../../server/jobs/index.ts';
import { startJobs, type JobRunner } from '../../server/jobs/runner.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';

const DAY = 24 * 3600_000;

describe.each(backends)('scheduled ticket jobs on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let runner: JobRunner;
  let engineer: { apiKey: string };

  beforeAll(async () => {
    p = await createTestPlatform(backend, { WEBHOOK_ALLOW_PRIVATE: true });
    f = factories(p);
    runner = startJobs(p.deps, jobs, { schedule: false });
    engineer = await f.user('engineer');
  });
  afterAll(async () => {
    await runner?.stop();
    await p?.stop();
  });

  async function openTicket(tier: 'basic' | 'pro' | 'mission_critical', priority: string, at: string) {
    const customer = await f.customer({ tier });
    const { appliance } = await f.appliance(customer.id);
    p.clock.set(at);
    const res = await p.json('POST', '/api/v1/tickets', { body: { applianceId: appliance.id, summary: 'x', description: 'y', priority, source: 'phone' } });
    expect(res.status).toBe(201);
    return { id: res.body.id as string, customerId: customer.id };
  }
  const row = async (id: string) => (await p.deps.database.db.select().from(tickets).where(eq(tickets.id, id)))[0]!;

  describe('SLA marks', () => {
    it('marks a ticket at risk under 25 % of its target, then breached, each once, with webhooks', async () => {
      const hook = await p.json('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['ticket.at_risk', 'ticket.breached'] } });
      expect(hook.status).toBe(201);
      // Mission Critical P1: 30 minutes elapsed from 2026-03-07 (a Saturday) 10:00 UTC.
      const t = await openTicket('mission_critical', 'P1', '2026-03-07T10:00:00.000Z');
      p.clock.set('2026-03-07T10:22:00.000Z'); // 8 min left of 30: not yet at risk
      await runner.runNow('sla-marks');
      expect((await row(t.id)).atRiskAt).toBeNull();

      p.clock.set('2026-03-07T10:23:00.000Z'); // 7 min left < 7.5
      const first = await runner.runNow('sla-marks');
      expect(first.ran).toBe(true);
      expect((await row(t.id)).atRiskAt?.toISOString()).toBe('2026-03-07T10:23:00.000Z');
      p.clock.set('2026-03-07T10:24:00.000Z');
      await runner.runNow('sla-marks');
      expect((await row(t.id)).atRiskAt?.toISOString()).toBe('2026-03-07T10:23:00.000Z');

      p.clock.set('2026-03-07T10:31:00.000Z');
      await runner.runNow('sla-marks');
      p.clock.set('2026-03-07T10:35:00.000Z');
      await runner.runNow('sla-marks');
      const marked = await row(t.id);
      expect(marked.breachedAt?.toISOString()).toBe('2026-03-07T10:31:00.000Z');

      const deliveries = await p.deps.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.body.webhook.id));
      const forTicket = deliveries.filter((d) => (d.payload as { data: { ticket: { id: string } } }).data.ticket.id === t.id);
      expect(forTicket.map((d) => d.event).sort()).toEqual(['ticket.at_risk', 'ticket.breached']);
      await p.json('DELETE', `/api/v1/webhooks/${hook.body.webhook.id}`);
    });

    it('counts business hours: a Basic P1 opened Friday 15:00 is not at risk over the weekend', async () => {
      // Friday 6 March 15:00 Rome (14:00 UTC) → due Monday 11:00 Rome; 1 h is 25 % of 4 h.
      const t = await openTicket('basic', 'P1', '2026-03-06T14:00:00.000Z');
      p.clock.set('2026-03-08T12:00:00.000Z'); // Sunday: still 2 business hours left
      await runner.runNow('sla-marks');
      expect((await row(t.id)).atRiskAt).toBeNull();
      p.clock.set('2026-03-09T09:05:00.000Z'); // Monday 10:05 Rome: 55 min left
      await runner.runNow('sla-marks');
      expect((await row(t.id)).atRiskAt?.toISOString()).toBe('2026-03-09T09:05:00.000Z');
    });

    it('leaves tickets that already had their first response alone', async () => {
      const t = await openTicket('mission_critical', 'P1', '2026-03-07T12:00:00.000Z');
      p.clock.set('2026-03-07T12:05:00.000Z');
      await p.json('POST', `/api/v1/tickets/${t.id}/acknowledge`, { key: engineer.apiKey, body: { message: 'On it' } });
      p.clock.set('2026-03-07T13:00:00.000Z');
      await runner.runNow('sla-marks');
      const r = await row(t.id);
      expect(r.atRiskAt).toBeNull();
      expect(r.breachedAt).toBeNull();
    });
  });

  describe('auto-close', () => {
    async function waitingTicket(attempts: number) {
      const t = await openTicket('pro', 'P3', '2026-03-02T09:00:00.000Z');
      await p.json('POST', `/api/v1/tickets/${t.id}/request-info`, { key: engineer.apiKey, body: { body: 'Please send logs' } });
      for (let i = 0; i < attempts; i++) {
        p.clock.advance(3600_000);
        const res = await p.json('POST', `/api/v1/tickets/${t.id}/contact-attempt`, { key: engineer.apiKey, body: { channel: 'phone' } });
        expect(res.status).toBe(200);
      }
      return t;
    }

    it('does not close before 5 days (4 days 23 h)', async () => {
      const t = await waitingTicket(2);
      p.clock.set(new Date(Date.parse('2026-03-02T09:00:00.000Z') + 5 * DAY - 3600_000));
      await runner.runNow('auto-close');
      expect((await row(t.id)).status).toBe('waiting_on_customer');
    });

    it('does not close after 5 days with only 1 contact attempt', async () => {
      const t = await waitingTicket(1);
      p.clock.set(new Date(Date.parse('2026-03-02T09:00:00.000Z') + 5 * DAY));
      await runner.runNow('auto-close');
      expect((await row(t.id)).status).toBe('waiting_on_customer');
    });

    it('closes after 5 days with 2 contact attempts, reason no_customer_response, with a survey', async () => {
      const t = await waitingTicket(2);
      p.clock.set(new Date(Date.parse('2026-03-02T09:00:00.000Z') + 5 * DAY));
      const result = await runner.runNow('auto-close');
      expect(result.ran).toBe(true);
      const r = await row(t.id);
      expect(r).toMatchObject({ status: 'closed', closeReason: 'no_customer_response' });
      expect(await p.deps.database.db.$count(surveys, eq(surveys.ticketId, t.id))).toBe(1);
      const detail = await p.json('GET', `/api/v1/tickets/${t.id}`);
      expect(detail.body.timeline.find((e: { type: string }) => e.type === 'closed')).toMatchObject({ from: 'waiting_on_customer', to: 'closed', reason: 'no_customer_response' });
      // Running again changes nothing.
      await runner.runNow('auto-close');
      expect(await p.deps.database.db.$count(surveys, eq(surveys.ticketId, t.id))).toBe(1);
    });

    it('counts only attempts since the ticket started waiting again', async () => {
      const customer = await f.customer();
      const user = await f.user('customer', { customerId: customer.id });
      const { appliance } = await f.appliance(customer.id);
      p.clock.set('2026-04-01T08:00:00.000Z');
      const t = (await p.json('POST', '/api/v1/tickets', { key: user.apiKey, body: { applianceId: appliance.id, summary: 'a', description: 'b' } })).body;
      await p.json('POST', `/api/v1/tickets/${t.id}/request-info`, { key: engineer.apiKey, body: { body: 'logs?' } });
      await p.json('POST', `/api/v1/tickets/${t.id}/contact-attempt`, { key: engineer.apiKey, body: { channel: 'email' } });
      await p.json('POST', `/api/v1/tickets/${t.id}/contact-attempt`, { key: engineer.apiKey, body: { channel: 'phone' } });
      p.clock.advance(3600_000);
      await p.json('POST', `/api/v1/tickets/${t.id}/reply`, { key: user.apiKey, body: { body: 'here' } });
      p.clock.advance(3600_000);
      await p.json('POST', `/api/v1/tickets/${t.id}/request-info`, { key: engineer.apiKey, body: { body: 'more logs?' } });
      p.clock.advance(6 * DAY);
      await runner.runNow('auto-close');
      expect((await row(t.id)).status).toBe('waiting_on_customer');
    });
  });
});
