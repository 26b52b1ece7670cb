import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { openDatabase } from '../../drizzle/client.ts';
import { reports } from '../../drizzle/schema/index.ts';
import { weeklyReportsJob } from '../../server/jobs/weekly-reports.ts';
import { jobs } from '../../server/jobs/index.ts';
import { generateWeeklyReports } from '../../server/services/reports/index.ts';
import { backends, createTestPlatform, type TestPlatform } from './harness.ts';
import { factories } from './factories.ts';
import { scriptMonth } from './reports-month.ts';

// Monday 9 March 2026, 06:00 in Rome (CET): the weekly run covers Monday 2 to Monday 9 March.
const MONDAY_RUN = '2026-03-09T05:00:00.000Z';
const WEEK = { from: '2026-03-01T23:00:00.000Z', to: '2026-03-08T23:00:00.000Z' };

describe.each(backends)('stored reports, weekly run and portfolio on %s', (backend) => {
  let p: TestPlatform;
  let f: ReturnType<typeof factories>;
  let am: { apiKey: string; user: { id: string } };
  let risky: { id: string; name: string };
  let calm: { id: string; name: string };
  let elsewhere: { id: string };

  beforeAll(async () => {
    p = await createTestPlatform(backend);
    f = factories(p);
    am = await f.user('account_manager');
    risky = await f.customer({ tier: 'pro', serenity: false, accountManagerId: am.user.id });
    calm = await f.customer({ tier: 'mission_critical', accountManagerId: am.user.id });
    elsewhere = await f.customer({ tier: 'basic' });
    await scriptMonth(p, f, risky.id);
    p.clock.set(MONDAY_RUN);
  });
  afterAll(async () => p?.stop());

  const weeklyOf = (customerId: string) =>
    p.deps.database.db.select().from(reports).where(and(eq(reports.customerId, customerId), eq(reports.kind, 'weekly')));

  describe('weekly job', () => {
    it('is scheduled Monday 06:00 Europe/Rome and registered with the scheduler', () => {
      expect(weeklyReportsJob).toMatchObject({ schedule: '0 6 * * 1', timezone: 'Europe/Rome' });
      expect(jobs.map((j) => j.name)).toContain('weekly-reports');
    });

    it('stores last week’s report once per customer, even when two processes run it together', async () => {
      const second = backend === 'postgres' ? openDatabase({ databaseUrl: p.deps.config.DATABASE_URL!, maxConnections: 2 }) : p.deps.database;
      try {
        const now = p.clock.now();
        const [a, b] = await Promise.all([generateWeeklyReports(p.deps.database, now), generateWeeklyReports(second, now)]);
        expect(a.period.from.toISOString()).toBe(WEEK.from);
        expect(a.period.to.toISOString()).toBe(WEEK.to);
        expect(a.stored + b.stored).toBeGreaterThanOrEqual(3);
      } finally {
        if (second !== p.deps.database) await second.close();
      }
      for (const c of [risky, calm, elsewhere]) {
        const rows = await weeklyOf(c.id);
        expect(rows).toHaveLength(1);
        expect(rows[0]!.periodFrom.toISOString()).toBe(WEEK.from);
      }
      // Running again the same week changes nothing.
      const again = await weeklyReportsJob.run({ deps: p.deps, now: p.clock.now() });
      expect(again).toMatchObject({ from: WEEK.from, stored: 0 });
      expect(await weeklyOf(risky.id)).toHaveLength(1);
      // The stored data is that week's report: box1 reported every minute (its outage is on 10 March),
      // box2 had not reported yet; T1 (5 March) is the week's only ticket.
      const [row] = await weeklyOf(risky.id);
      const data = row!.data as any;
      expect(data.period).toEqual(WEEK);
      expect(data.availability).toMatchObject({ expectedMinutes: 7 * 1440, upMinutes: 7 * 1440, uptimePercent: 100 });
      expect(data.tickets.opened).toBe(1);
    });
  });

  describe('GET /api/v1/reports and /api/v1/reports/:id', () => {
    it('lists only the account manager’s customers’ reports, newest first', async () => {
      const res = await p.json('GET', '/api/v1/reports?limit=500', { key: am.apiKey });
      expect(res.status).toBe(200);
      const customerIds = new Set(res.body.items.map((r: any) => r.customerId));
      expect(customerIds).toEqual(new Set([risky.id, calm.id]));
      const mine = res.body.items.find((r: any) => r.customerId === risky.id);
      expect(mine).toMatchObject({ kind: 'weekly', customerName: risky.name, periodFrom: WEEK.from, periodTo: WEEK.to, generatedAt: MONDAY_RUN });
      expect(mine.uptimePercent).toBeGreaterThan(98);
    });

    it('pages with a cursor', async () => {
      const first = await p.json('GET', `/api/v1/reports?limit=1&customerId=${risky.id}`, { key: am.apiKey });
      expect(first.body.items).toHaveLength(1);
      expect(first.body.nextCursor).toBeUndefined();
      const all = await p.json('GET', '/api/v1/reports?limit=1', { key: am.apiKey });
      expect(all.body.nextCursor).toBeTruthy();
      const next = await p.json('GET', `/api/v1/reports?limit=1&cursor=${all.body.nextCursor}`, { key: am.apiKey });
      expect(next.body.items[0].id).not.toBe(all.body.items[0].id);
    });

    it('serves a stored report as JSON, HTML and CSV', async () => {
      const [row] = await weeklyOf(risky.id);
      const json = await p.json('GET', `/api/v1/reports/${row!.id}`, { key: am.apiKey });
      expect(json.status).toBe(200);
      expect(json.body.customer.id).toBe(risky.id);
      expect(json.body.period).toEqual(WEEK);
      const html = await p.call('GET', `/api/v1/reports/${row!.id}?format=html`, { key: am.apiKey });
      expect(html.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await html.text()).toContain('<svg');
      const csv = await p.call('GET', `/api/v1/reports/${row!.id}?format=csv`, { key: am.apiKey });
      expect((await csv.text()).split('\r\n')).toContain(`report,${risky.name},period_from,${WEEK.from}`);
    });

    it('answers 400 for a bad id or cursor and 404 for an unknown one', async () => {
      expect((await p.json('GET', '/api/v1/reports/nope')).status).toBe(400);
      expect((await p.json('GET', '/api/v1/reports?cursor=garbage')).status).toBe(400);
      expect((await p.json('GET', '/api/v1/reports/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    });

    it('hides other customers’ reports: 404 for an account manager or customer outside scope, 401 without credentials', async () => {
      const [theirs] = await weeklyOf(elsewhere.id);
      expect((await p.json('GET', `/api/v1/reports/${theirs!.id}`, { key: am.apiKey })).status).toBe(404);
      const customerUser = await f.user('customer', { customerId: calm.id });
      expect((await p.json('GET', `/api/v1/reports/${theirs!.id}`, { key: customerUser.apiKey })).status).toBe(404);
      const own = await p.json('GET', '/api/v1/reports?limit=500', { key: customerUser.apiKey });
      expect(own.body.items.map((r: any) => r.customerId)).toEqual([calm.id]);
      expect((await p.json('GET', '/api/v1/reports', { key: null })).status).toBe(401);
      expect((await p.json('GET', `/api/v1/reports/${theirs!.id}`, { key: null })).status).toBe(401);
    });
  });

  describe('GET /api/v1/reports/portfolio', () => {
    it('ranks the account manager’s customers by risk, riskiest first, with the reasons', async () => {
      p.clock.set('2026-04-02T09:00:00Z');
      const res = await p.json('GET', '/api/v1/reports/portfolio?from=2026-03-01T00:00:00Z&to=2026-03-31T00:00:00Z', { key: am.apiKey });
      expect(res.status).toBe(200);
      expect(res.body.items.map((e: any) => e.customerId)).toEqual([risky.id, calm.id]);
      const [top, bottom] = res.body.items;
      expect(top.risks).toMatchObject({ poolsNear90: 1, appliancesOnOldSoftware: 1, responseTargetsMissed: 1, satisfactionAverage: 3.67, notCoveredFindings: 1 });
      expect(top.reasons.join(' ')).toMatch(/pool.*old software.*missed.*satisfaction.*SERENITY/s);
      expect(top.riskScore).toBeGreaterThan(bottom.riskScore);
      expect(bottom.riskScore).toBe(0);
    });

    it('shows staff every customer and refuses customer users (404) and anonymous callers (401)', async () => {
      const engineer = await f.user('engineer');
      const staff = await p.json('GET', '/api/v1/reports/portfolio', { key: engineer.apiKey });
      expect(staff.status).toBe(200);
      expect(staff.body.items.map((e: any) => e.customerId)).toEqual(expect.arrayContaining([risky.id, calm.id, elsewhere.id]));
      const customerUser = await f.user('customer', { customerId: risky.id });
      expect((await p.json('GET', '/api/v1/reports/portfolio', { key: customerUser.apiKey })).status).toBe(404);
      expect((await p.json('GET', '/api/v1/reports/portfolio', { key: null })).status).toBe(401);
      expect((await p.json('GET', '/api/v1/reports/portfolio?from=2026-03-10T00:00:00Z&to=2026-03-01T00:00:00Z', { key: am.apiKey })).status).toBe(400);
    });
  });
});
