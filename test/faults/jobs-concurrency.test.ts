import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reports, surveys, ticketEvents, webhookDeliveries } from '../../drizzle/schema/index.ts';
import { jobs } from '../../server/jobs/index.ts';
import { factories } from '../integration/factories.ts';
import { createTestPlatform, type TestPlatform } from '../integration/harness.ts';
import { startPrivateCluster, type PrivateCluster } from './support/cluster.ts';

const DAY = 24 * 3600_000;

// Two processes' worth of platform (each its own connection pool and job runner) on one
// database, running the scheduled jobs at the same instant: the work is done once.
describe('scheduled jobs on two processes at once', () => {
  let cluster: PrivateCluster;
  let a: TestPlatform;
  let b: TestPlatform;

  beforeAll(async () => {
    cluster = await startPrivateCluster();
    const url = await cluster.createDatabase('vigil_jobs');
    a = await createTestPlatform('postgres', { DATABASE_URL: url, WEBHOOK_ALLOW_PRIVATE: true });
    b = await createTestPlatform('postgres', { DATABASE_URL: url, WEBHOOK_ALLOW_PRIVATE: true });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    cluster?.destroy();
  });

  const at = (iso: string | Date) => {
    a.clock.set(iso);
    b.clock.set(iso);
  };
  /** Both runners at once, `rounds` times; then each job's run() directly on both, past the lock. */
  async function everywhere(name: string, rounds = 3) {
    const outcomes: boolean[] = [];
    for (let i = 0; i < rounds; i++) {
      const [x, y] = await Promise.all([a.jobs.runNow(name), b.jobs.runNow(name)]);
      outcomes.push(x.ran, y.ran);
    }
    const job = jobs.find((j) => j.name === name)!;
    await Promise.all([job.run({ deps: a.deps, now: a.clock.now() }), job.run({ deps: b.deps, now: b.clock.now() })]);
    return outcomes;
  }

  it('closes, marks and reports exactly once', async () => {
    const f = factories(a);
    const engineer = await f.user('engineer');
    const hook = await a.json('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['ticket.at_risk', 'ticket.breached', 'ticket.closed'] } });
    expect(hook.status).toBe(201);

    const open = async (tier: 'pro' | 'mission_critical', priority: string) => {
      const customer = await f.customer({ tier, serenity: true });
      const { appliance } = await f.appliance(customer.id);
      const res = await a.json('POST', '/api/v1/tickets', { body: { applianceId: appliance.id, summary: 'fault suite', description: 'two runners', priority, source: 'phone' } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };

    // Waiting on the customer since Monday 2 March with two contact attempts: due to auto-close.
    at('2026-03-02T09:00:00.000Z');
    const waiting: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = await open('pro', 'P3');
      expect((await a.json('POST', `/api/v1/tickets/${id}/request-info`, { key: engineer.apiKey, body: { body: 'Please send the logs' } })).status).toBe(200);
      for (const channel of ['phone', 'email']) {
        a.clock.advance(60_000);
        expect((await a.json('POST', `/api/v1/tickets/${id}/contact-attempt`, { key: engineer.apiKey, body: { channel } })).status).toBe(200);
      }
      waiting.push(id);
    }
    // Mission Critical P1 tickets opened Saturday 7 March 10:00 UTC: 30 minutes, 24/7.
    at('2026-03-07T10:00:00.000Z');
    const urgent: string[] = [];
    for (let i = 0; i < 4; i++) urgent.push(await open('mission_critical', 'P1'));

    at('2026-03-07T10:24:00.000Z');
    const atRiskRuns = await everywhere('sla-marks');
    at('2026-03-07T10:31:00.000Z');
    const breachedRuns = await everywhere('sla-marks');
    at(new Date(Date.parse('2026-03-02T09:10:00.000Z') + 5 * DAY));
    const closeRuns = await everywhere('auto-close');
    // Monday 9 March 06:00 Europe/Rome: last week's report for every customer.
    at('2026-03-09T05:00:00.000Z');
    const reportRuns = await everywhere('weekly-reports');

    const { db } = a.deps.database;
    const closedEvents = await db
      .select({ ticketId: ticketEvents.ticketId, n: sql<number>`count(*)::int` })
      .from(ticketEvents)
      .where(and(inArray(ticketEvents.ticketId, waiting), eq(ticketEvents.type, 'closed')))
      .groupBy(ticketEvents.ticketId);
    const surveyRows = await db
      .select({ ticketId: surveys.ticketId, n: sql<number>`count(*)::int` })
      .from(surveys)
      .where(inArray(surveys.ticketId, waiting))
      .groupBy(surveys.ticketId);
    const deliveries = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.body.webhook.id));
    const deliveriesFor = (event: string, ids: string[]) => {
      const counts = new Map(ids.map((id) => [id, 0]));
      for (const d of deliveries) {
        const id = (d.payload as { data: { ticket: { id: string } } }).data.ticket.id;
        if (d.event === event && counts.has(id)) counts.set(id, counts.get(id)! + 1);
      }
      return [...counts.values()];
    };
    const reportRows = await db
      .select({ customerId: reports.customerId, n: sql<number>`count(*)::int` })
      .from(reports)
      .where(eq(reports.kind, 'weekly'))
      .groupBy(reports.customerId);
    const [{ customers }] = (await a.deps.database.query<{ customers: number }>('select count(*)::int as customers from customers')) as [{ customers: number }];

    const lines = [
      '[faults] scheduled jobs on two processes at once (3 concurrent rounds through the runners, then run() on both past the lock)',
      `  sla-marks at risk: runs that took the lock ${atRiskRuns.filter(Boolean).length}/${atRiskRuns.length}; at_risk deliveries per ticket ${JSON.stringify(deliveriesFor('ticket.at_risk', urgent))}`,
      `  sla-marks breached: runs that took the lock ${breachedRuns.filter(Boolean).length}/${breachedRuns.length}; breached deliveries per ticket ${JSON.stringify(deliveriesFor('ticket.breached', urgent))}`,
      `  auto-close: runs that took the lock ${closeRuns.filter(Boolean).length}/${closeRuns.length}; closed events per ticket ${JSON.stringify(closedEvents.map((r) => r.n))}, surveys ${JSON.stringify(surveyRows.map((r) => r.n))}, closed deliveries ${JSON.stringify(deliveriesFor('ticket.closed', waiting))}`,
      `  weekly-reports: runs that took the lock ${reportRuns.filter(Boolean).length}/${reportRuns.length}; ${customers} customers, reports per customer ${JSON.stringify([...new Set(reportRows.map((r) => r.n))])} over ${reportRows.length} customers`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    expect(deliveriesFor('ticket.at_risk', urgent)).toEqual([1, 1, 1, 1]);
    expect(deliveriesFor('ticket.breached', urgent)).toEqual([1, 1, 1, 1]);
    expect(closedEvents).toHaveLength(4);
    expect(closedEvents.every((r) => r.n === 1)).toBe(true);
    expect(surveyRows).toHaveLength(4);
    expect(surveyRows.every((r) => r.n === 1)).toBe(true);
    expect(deliveriesFor('ticket.closed', waiting)).toEqual([1, 1, 1, 1]);
    expect(reportRows).toHaveLength(customers);
    expect(reportRows.every((r) => r.n === 1)).toBe(true);
    // Each concurrent round ran somewhere.
    for (const runs of [atRiskRuns, breachedRuns, closeRuns, reportRuns]) expect(runs.filter(Boolean).length).toBeGreaterThanOrEqual(3);
  });
});
